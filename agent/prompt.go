package agent

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"time"
	"unicode"

	"github.com/cloudwego/eino/schema"

	"k8s-manage/agent/builtin"
	"k8s-manage/internal/textutil"
	"k8s-manage/internal/toolname"
	"k8s-manage/platform/tenant"
	"k8s-manage/tools"
)

// promptFile is the system prompt, a template operators can read in the repository.
//
//go:embed prompt.tmpl
var promptFile string

type promptTemplate = template.Template

func loadPrompt() (*promptTemplate, error) {
	t, err := template.New("prompt").Funcs(template.FuncMap{"join": strings.Join}).Option("missingkey=error").Parse(promptFile)
	if err != nil {
		return nil, fmt.Errorf("agent: system prompt template: %w", err)
	}
	return t, nil
}

// promptContext is what the system prompt tells the model about the turn.
type promptContext struct {
	tools.Caller
	Surface  string
	Envs     []string
	Date     time.Time
	Apps     []string
	Approval []string // tools the caller may call that wait for an approval
	More     []string // tools the caller may call whose schemas this turn does not carry
}

// formats says how each surface renders text.
var formats = map[string]string{
	"slack":    "Slack mrkdwn: *bold*, _italic_, `code`, ``` blocks, bullet lines; no # headings, no tables.",
	"dingtalk": "DingTalk Markdown: # headings, **bold**, lists, `code`; no tables, no HTML.",
	"web":      "Markdown: headings, lists, `code` and ``` blocks, tables.",
}

// systemPrompt renders the system prompt.
func systemPrompt(t *promptTemplate, pc promptContext) (string, error) {
	var b strings.Builder
	data := map[string]any{"User": pc.User, "Tenant": pc.Tenant, "Env": pc.Env, "Role": string(pc.Role), "Surface": pc.Surface,
		"Envs": pc.Envs, "Apps": pc.Apps, "Approval": pc.Approval, "More": pc.More, "Date": pc.Date.Format("2006-01-02 (Monday)"),
		"Format": cmp.Or(formats[pc.Surface], "plain text; short lines.")}
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("agent: render system prompt: %w", err)
	}
	return b.String(), nil
}

// buildMessages is the model's input for a turn: the system prompt, the newest earlier messages
// (tool calls and their results included, so "and its logs?" can follow up) within budget
// estimated tokens, and the user's message. It is a pure function of its arguments.
func buildMessages(t *promptTemplate, pc promptContext, hist []Message, text string, budget int) ([]*schema.Message, error) {
	sys, err := systemPrompt(t, pc)
	if err != nil {
		return nil, err
	}
	earlier := historyMessages(hist)
	// The newest messages that fit the budget, never more.
	start, used := len(earlier), 0
	for start > 0 {
		n := messageTokens(earlier[start-1])
		if used+n > budget {
			break
		}
		used += n
		start--
	}
	earlier = earlier[start:]
	// Begin at a user message, so no tool result is kept without its call.
	for len(earlier) > 0 && earlier[0].Role != schema.User {
		earlier = earlier[1:]
	}
	out := make([]*schema.Message, 0, len(earlier)+2)
	out = append(out, schema.SystemMessage(sys))
	out = append(out, earlier...)
	return append(out, schema.UserMessage(text)), nil
}

// storedCall is how a tool call and its result are kept in the conversation.
type storedCall struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Args   string `json:"args,omitempty"`
	Result string `json:"result,omitempty"`
}

// historyMessages turns stored messages into model messages; a tool call without its result (or
// the other way round) is left out, since models refuse unpaired calls.
func historyMessages(hist []Message) []*schema.Message {
	// A call recorded while it waited for approval is recorded again once decided: the last wins.
	last := map[string]int{}
	for i, h := range hist {
		var call storedCall
		if h.Role == "tool_call" && json.Unmarshal([]byte(h.Content), &call) == nil {
			last[call.ID] = i
		}
	}
	var out []*schema.Message
	for i := 0; i < len(hist); i++ {
		h := hist[i]
		switch h.Role {
		case "user":
			out = append(out, schema.UserMessage(h.Content))
		case "assistant":
			out = append(out, schema.AssistantMessage(h.Content, nil))
		case "tool_call":
			var call, res storedCall
			if i+1 >= len(hist) || hist[i+1].Role != "tool" || json.Unmarshal([]byte(h.Content), &call) != nil ||
				json.Unmarshal([]byte(hist[i+1].Content), &res) != nil || res.ID != call.ID {
				continue
			}
			if last[call.ID] != i {
				i++
				continue
			}
			i++
			out = append(out, schema.AssistantMessage("", []schema.ToolCall{{ID: call.ID, Type: "function",
				Function: schema.FunctionCall{Name: call.Name, Arguments: call.Args}}}),
				schema.ToolMessage(res.Result, call.ID, schema.WithToolName(call.Name)))
		}
	}
	return out
}

// maxStoredResult bounds a tool result kept for later turns.
const maxStoredResult = 2000

// EstimateTokens estimates the tokens of text: a CJK character is about one token, other text
// about four bytes a token.
func EstimateTokens(s string) int {
	cjk, other := 0, 0
	for _, r := range s {
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) {
			cjk++
		} else {
			other += len(string(r))
		}
	}
	return cjk + (other+3)/4
}

func messageTokens(m *schema.Message) int {
	n := 4 + EstimateTokens(m.Content)
	for _, tc := range m.ToolCalls {
		n += 4 + EstimateTokens(tc.Function.Name) + EstimateTokens(tc.Function.Arguments)
	}
	return n
}

// appsOf lists the apps in the caller's environment (name, image, desired replicas).
func (s *Service) appsOf(ctx context.Context, c tools.Caller) []builtin.App {
	if c.Tenant == "" || !c.Role.AtLeast(tenant.Viewer) {
		return nil
	}
	out, err := s.opts.Tools.Run(ctx, toolname.ListApps, c, "{}")
	if err != nil {
		return nil
	}
	var list []struct {
		Name    string `json:"name"`
		Image   string `json:"image"`
		Desired int    `json:"desired"`
	}
	if json.Unmarshal([]byte(out), &list) != nil {
		return nil
	}
	apps := make([]builtin.App, 0, len(list))
	for _, a := range list {
		apps = append(apps, builtin.App{Name: a.Name, Image: a.Image, Replicas: a.Desired})
	}
	return apps
}

// appNames are the names the system prompt lists: at most 40.
func appNames(apps []builtin.App) []string {
	names := make([]string, 0, min(len(apps), 41))
	for i, a := range apps {
		if i == 40 {
			names = append(names, fmt.Sprintf("… %d more", len(apps)-40))
			break
		}
		names = append(names, a.Name)
	}
	return names
}

// remember keeps a tool call and its (capped) result in the conversation for later turns.
func (s *Service) remember(ctx context.Context, convID, callID, name, args, result string) {
	call, _ := json.Marshal(storedCall{ID: callID, Name: name, Args: tools.RedactArgs(name, args)})
	res, _ := json.Marshal(storedCall{ID: callID, Name: name, Result: textutil.Truncate(result, maxStoredResult)})
	for _, m := range []struct{ role, content string }{{"tool_call", string(call)}, {"tool", string(res)}} {
		if err := s.convs.append(context.WithoutCancel(ctx), convID, m.role, m.content); err != nil {
			s.opts.Log.Error("remember tool call", "conversation", convID, "err", err)
		}
	}
}
