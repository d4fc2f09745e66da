package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"k8s-manage/agent"
)

// chatClient talks to a running server's API.
type chatClient struct {
	server, token, tenant, env string
	conversation               string
	http                       *http.Client
	out                        io.Writer
}

func (c *chatClient) post(path string, body any, sse bool) (*http.Response, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, strings.TrimRight(c.server, "/")+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	if sse {
		req.Header.Set("Accept", "text/event-stream")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp, nil
}

// render prints a stream of events as a person reads them.
func (c *chatClient) render(body io.Reader) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e agent.Event
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			return err
		}
		if e.Conversation != "" {
			c.conversation = e.Conversation
		}
		switch e.Type {
		case agent.EventTextDelta:
			fmt.Fprint(c.out, e.Text)
		case agent.EventFinal:
			fmt.Fprintln(c.out)
		case agent.EventToolStarted:
			fmt.Fprintf(c.out, "  ▶ %s %s\n", e.Tool, e.Args)
		case agent.EventApprovalRequested:
			a := e.Approval
			fmt.Fprintf(c.out, "\n  ⏸ approval %s needed: %s (%s, requested by %s)\n", a.ID, a.Summary, a.Risk, a.Requester)
			fmt.Fprintf(c.out, "     someone with the approver role types: /approve %s   or   /reject %s <reason>\n", a.ID, a.ID)
		case agent.EventApprovalDecided:
			fmt.Fprintf(c.out, "  %s\n", e.Text)
		case agent.EventError:
			fmt.Fprintf(c.out, "  error: %s\n", e.Error)
		}
	}
	return sc.Err()
}

// line handles one input line: a message, or /approve ID, /reject ID REASON.
func (c *chatClient) line(text string) error {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	var resp *http.Response
	var err error
	if f := strings.Fields(text); len(f) >= 2 && (f[0] == "/approve" || f[0] == "/reject") {
		reason := strings.TrimSpace(strings.Join(f[2:], " "))
		resp, err = c.post("/api/v1/approvals/"+f[1]+"/decision", map[string]any{"approve": f[0] == "/approve", "reason": reason}, true)
	} else {
		resp, err = c.post("/api/v1/chat", map[string]any{"message": text, "conversation_id": c.conversation, "tenant": c.tenant, "env": c.env}, true)
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return c.render(resp.Body)
}

func newChatCmd() *cobra.Command {
	c := &chatClient{http: &http.Client{Timeout: 5 * time.Minute}}
	cmd := &cobra.Command{
		Use:   "chat [MESSAGE]",
		Short: "Chat with the agent in the terminal (against a running k8s-manage serve)",
		Long: "Reads messages from the terminal (or one MESSAGE) and prints the streamed answer, tool steps and approval\n" +
			"requests. /approve ID and /reject ID REASON decide approvals. The token comes from --token or K8SM_TOKEN.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.out = cmd.OutOrStdout()
			if c.token == "" {
				c.token = os.Getenv("K8SM_TOKEN")
			}
			if c.token == "" {
				return errors.New("--token (or K8SM_TOKEN) is required: create one with `k8s-manage token create --user EMAIL`")
			}
			if len(args) == 1 {
				return c.line(args[0])
			}
			in := bufio.NewScanner(cmd.InOrStdin())
			fmt.Fprint(c.out, "k8s-manage chat — type a message, /approve ID, /reject ID REASON, or Ctrl-D to quit\n> ")
			for in.Scan() {
				if err := c.line(in.Text()); err != nil {
					fmt.Fprintln(c.out, "  error:", err)
				}
				fmt.Fprint(c.out, "> ")
			}
			fmt.Fprintln(c.out)
			return in.Err()
		},
	}
	cmd.Flags().StringVar(&c.server, "server", "http://127.0.0.1:8080", "the k8s-manage server")
	cmd.Flags().StringVar(&c.token, "token", "", "API token (default $K8SM_TOKEN)")
	cmd.Flags().StringVar(&c.tenant, "tenant", "", "default tenant of the conversation")
	cmd.Flags().StringVar(&c.env, "env", "dev", "default environment")
	return cmd
}
