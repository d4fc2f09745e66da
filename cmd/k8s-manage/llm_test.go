package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s-manage/agent"
	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/internal/config"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

// scriptedLLM speaks the streaming chat-completions protocol. Each request gets the reply its
// script function returns for the request's messages: a text, or one tool call. It records what
// every request carried (bytes, tool schemas) for the cost measurements.
type scriptedLLM struct {
	script func(msgs []llmMessage) (text, tool, args string)
	mu     sync.Mutex
	steps  []llmStep
}

type llmMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type llmStep struct {
	Bytes, Tools, ToolBytes int
	Names                   []string // the tool schemas the step carried
	Last                    llmMessage
}

func (f *scriptedLLM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req struct {
		Model    string            `json:"model"`
		Messages []llmMessage      `json:"messages"`
		Tools    []json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	st := llmStep{Bytes: len(body), Tools: len(req.Tools), Last: req.Messages[len(req.Messages)-1]}
	for _, t := range req.Tools {
		st.ToolBytes += len(t)
		var fn struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		_ = json.Unmarshal(t, &fn)
		st.Names = append(st.Names, fn.Function.Name)
	}
	f.mu.Lock()
	f.steps = append(f.steps, st)
	f.mu.Unlock()
	text, tool, args := f.script(req.Messages)
	w.Header().Set("Content-Type", "text/event-stream")
	send := func(delta map[string]any, finish any) {
		chunk := map[string]any{"id": "c1", "object": "chat.completion.chunk", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
		if finish != nil {
			chunk["usage"] = map[string]int{"prompt_tokens": len(body) / 4, "completion_tokens": 9, "total_tokens": len(body)/4 + 9}
		}
		b, _ := json.Marshal(chunk)
		fmt.Fprintf(w, "data: %s\n\n", b)
	}
	if tool != "" {
		send(map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"index": 0, "id": fmt.Sprintf("call_%d", len(f.steps)),
			"type": "function", "function": map[string]any{"name": tool, "arguments": args}}}}, nil)
		send(map[string]any{}, "tool_calls")
	} else {
		send(map[string]any{"role": "assistant", "content": text}, nil)
		send(map[string]any{}, "stop")
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// llmWorld is the service with a hosted (scripted) model on the sandbox: a tenant with a
// developer and nginx.
func llmWorld(t *testing.T, script func([]llmMessage) (string, string, string)) (*app, *scriptedLLM, string, string) {
	t.Helper()
	env := sandboxtest.Start(t)
	ctx := context.Background()
	fake := &scriptedLLM{script: script}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	knowledgeEnv(t)
	runCmd(t, "ingest")
	cfg, err := config.Load(config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cluster.Mode, cfg.Cluster.Kubeconfig = config.ClusterKubeconfig, env.Sandbox.KubeconfigPath()
	cfg.Agent.Model = config.Model{Provider: "openai", BaseURL: srv.URL, Model: "gpt-test", APIKey: fakeKey, Timeout: config.Duration(10e9)}
	a, err := newApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	dev := platformtest.Email("dev")
	name := sandboxtest.Name("llm")
	if _, _, err := a.tenants.Create(ctx, tenant.Spec{Name: name, Environments: []string{"dev"},
		Members: []tenant.Member{{Email: dev, Role: tenant.Developer}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.tenants.Delete(context.Background(), name) })
	if _, err := apps.NewService(a.kube).Create(ctx, apps.Target{As: tenant.Identity(dev), Namespace: tenant.Namespace(name, "dev")},
		apps.Spec{Name: "nginx", Image: "nginx:1.27", Replicas: 2, Ports: []apps.Port{{Port: 80}}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return a, fake, dev, name
}

func turn(t *testing.T, a *app, user, tenantName, thread, text string) []agent.Event {
	t.Helper()
	ch, err := a.agent.Send(context.Background(), agent.Turn{Surface: "web", Thread: thread, User: user, Tenant: tenantName, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	var out []agent.Event
	for e := range ch {
		out = append(out, e)
	}
	return out
}

// A hosted model calls a tool with a bad argument: the validation error, naming the field, goes
// back to the model as the tool's result; the model's corrected call runs.
func TestModelCorrectsABadToolArgument(t *testing.T) {
	a, fake, dev, name := llmWorld(t, func(msgs []llmMessage) (string, string, string) {
		last := msgs[len(msgs)-1]
		switch {
		case last.Role == "user":
			return "", "search_knowledge", `{"query":"canary release","top_k":50,"reason":"user asked"}`
		case last.Role == "tool" && strings.Contains(last.Content, "top_k: must be at most 10"):
			return "", "search_knowledge", `{"query":"canary release","top_k":3}`
		default:
			return "The manual explains canary releases.", "", ""
		}
	})
	es := turn(t, a, dev, name, "fix-args", "find the docs about canary releases")
	var finished []string
	for _, e := range es {
		if e.Type == agent.EventToolFinished {
			finished = append(finished, e.Result)
		}
	}
	if len(finished) != 2 || !strings.Contains(finished[0], "top_k") || !strings.Contains(finished[1], `"id":"`) {
		t.Fatalf("tool results: %q", finished)
	}
	if f := eventOf(es, agent.EventFinal); f == nil || f.Text != "The manual explains canary releases." {
		t.Fatalf("events %+v", es)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.steps) != 3 || fake.steps[1].Last.Role != "tool" || !strings.Contains(fake.steps[1].Last.Content, "top_k") {
		t.Fatalf("model steps: %+v", fake.steps)
	}
}

// A hosted model that lacks the tool a task needs asks find_tools: the tools it answers are bound
// from the next step on, and the model calls one.
func TestFindToolsBindsTheNextStep(t *testing.T) {
	a, fake, dev, name := llmWorld(t, func(msgs []llmMessage) (string, string, string) {
		last := msgs[len(msgs)-1]
		switch {
		case last.Role == "user":
			return "", "find_tools", `{"task":"list recent builds"}`
		case last.Role == "tool" && strings.Contains(last.Content, "list_builds"):
			return "", "list_builds", `{}`
		default:
			return "No builds yet.", "", ""
		}
	})
	es := turn(t, a, dev, name, "discover", "anything new from ci today?")
	if f := eventOf(es, agent.EventFinal); f == nil {
		t.Fatalf("events %+v", es)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.steps) != 3 {
		t.Fatalf("model steps: %+v", fake.steps)
	}
	if slices.Contains(fake.steps[0].Names, "list_builds") || !slices.Contains(fake.steps[0].Names, "find_tools") {
		t.Fatalf("first step carried %v", fake.steps[0].Names)
	}
	if !slices.Contains(fake.steps[1].Names, "list_builds") {
		t.Fatalf("after find_tools the step carried %v", fake.steps[1].Names)
	}
	ran := false
	for _, e := range es {
		ran = ran || e.Type == agent.EventToolFinished && e.Tool == "list_builds"
	}
	if !ran {
		t.Fatalf("list_builds did not run: %+v", es)
	}
}

// The input a hosted model gets per step, for a how-to question, a status question and a change
// request: with the turn's tools (core plus the groups the message is about) it is at most half
// of what it is with every tool's schema on every step. The table is printed with -v.
func TestStepInputCost(t *testing.T) {
	script := func(msgs []llmMessage) (string, string, string) {
		last := msgs[len(msgs)-1]
		if last.Role == "tool" {
			return "Done.", "", ""
		}
		switch {
		case strings.Contains(last.Content, "how do I"):
			return "See the manual.", "", ""
		case strings.Contains(last.Content, "doing"):
			return "", "get_app_status", `{"app":"nginx"}`
		default:
			return "", "scale_app", `{"app":"nginx","replicas":3}`
		}
	}
	a, fake, dev, name := llmWorld(t, script)
	questions := []struct{ kind, text string }{
		{"how-to", "how do I set up a canary release?"},
		{"status", "how is nginx doing?"},
		{"change", "scale nginx to 3 replicas"},
	}
	measure := func(label string) map[string]llmStep {
		out := map[string]llmStep{}
		for _, q := range questions {
			fake.mu.Lock()
			fake.steps = nil
			fake.mu.Unlock()
			turn(t, a, dev, name, label+"-"+q.kind, q.text)
			fake.mu.Lock()
			out[q.kind] = fake.steps[0]
			fake.mu.Unlock()
		}
		return out
	}
	selective := measure("selective")
	o := a.agent.Options()
	o.BindAllTools, o.Registry = true, nil
	all, err := agent.New(o)
	if err != nil {
		t.Fatal(err)
	}
	a.agent = all
	every := measure("every")
	t.Logf("%-8s %14s %14s %8s", "turn", "every tool", "turn's tools", "ratio")
	for _, q := range questions {
		s, e := selective[q.kind], every[q.kind]
		t.Logf("%-8s %7d B %2d tl %7d B %2d tl %7.2f   (~%d -> ~%d tokens; schemas %d -> %d B)", q.kind, e.Bytes, e.Tools, s.Bytes, s.Tools,
			float64(s.Bytes)/float64(e.Bytes), e.Bytes/4, s.Bytes/4, e.ToolBytes, s.ToolBytes)
		if s.Bytes*2 > e.Bytes {
			t.Errorf("%s: the first step sends %d bytes, more than half of %d", q.kind, s.Bytes, e.Bytes)
		}
	}
}
