package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cloudwego/eino/schema"
	"github.com/prometheus/client_golang/prometheus"

	"k8s-manage/agent"
	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/internal/config"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

const fakeKey = "sk-fake-provider-key-0001"

// fakeOpenAI speaks the chat-completions protocol: with tools offered and no tool result yet it
// calls get_app_status; after a tool result it answers in text; stream=true answers as SSE chunks.
// The first request fails with 503 to exercise retries.
type fakeOpenAI struct {
	mu       sync.Mutex
	lastBody string
	requests atomic.Int32
	toolMsgs []string
	failed   atomic.Bool
}

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/chat/completions" || r.Header.Get("Authorization") != "Bearer "+fakeKey {
		http.Error(w, `{"error":{"message":"unauthorized"}}`, http.StatusUnauthorized)
		return
	}
	f.requests.Add(1)
	if f.failed.CompareAndSwap(false, true) {
		http.Error(w, `{"error":{"message":"overloaded"}}`, http.StatusServiceUnavailable)
		return
	}
	var req struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
		Tools []json.RawMessage `json:"tools"`
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.lastBody = string(body)
	f.mu.Unlock()
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	last := req.Messages[len(req.Messages)-1]
	if last.Role == "tool" {
		f.mu.Lock()
		f.toolMsgs = append(f.toolMsgs, last.Content)
		f.mu.Unlock()
	}
	text := "nginx is healthy: all replicas are ready (from get_app_status)."
	usage := map[string]int{"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49}
	if req.Stream {
		w.Header().Set("Content-Type", "text/event-stream")
		send := func(delta map[string]any, finish any) {
			chunk := map[string]any{"id": "c1", "object": "chat.completion.chunk", "model": req.Model,
				"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
			if finish != nil {
				chunk["usage"] = usage
			}
			b, _ := json.Marshal(chunk)
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		if len(req.Tools) > 0 && last.Role == "user" {
			// Text first, then the tool call in pieces: the branch must look past the first chunk.
			send(map[string]any{"role": "assistant", "content": "Let me check. "}, nil)
			send(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "id": "call_1", "type": "function",
				"function": map[string]any{"name": "get_app_status", "arguments": ""}}}}, nil)
			for _, piece := range []string{`{"app":`, `"nginx"}`} {
				send(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": piece}}}}, nil)
			}
			send(map[string]any{}, "tool_calls")
		} else {
			for _, part := range []string{"nginx is ", "healthy", "."} {
				send(map[string]any{"role": "assistant", "content": part}, nil)
			}
			send(map[string]any{}, "stop")
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
		return
	}
	msg := map[string]any{"role": "assistant", "content": text}
	finish := "stop"
	if len(req.Tools) > 0 && last.Role == "user" {
		msg = map[string]any{"role": "assistant", "content": "", "tool_calls": []any{map[string]any{
			"id": "call_1", "type": "function", "function": map[string]any{"name": "get_app_status", "arguments": `{"app":"nginx"}`}}}}
		finish = "tool_calls"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": req.Model, "usage": usage,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}}})
}

func TestOpenAICompatibleProvider(t *testing.T) {
	fake := &fakeOpenAI{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	temp := 0.2
	m, err := buildModel(ctx, config.Model{Provider: "openai", BaseURL: srv.URL, Model: "gpt-test", APIKey: fakeKey,
		Timeout: config.Duration(10e9), MaxRetries: 2, Temperature: &temp, MaxTokens: 512}, reg)
	if err != nil {
		t.Fatal(err)
	}
	bound, err := m.WithTools([]*schema.ToolInfo{{Name: "get_app_status", Desc: "status",
		ParamsOneOf: schema.NewParamsOneOfByParams(map[string]*schema.ParameterInfo{"app": {Type: schema.String, Required: true}})}})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := bound.Generate(ctx, []*schema.Message{schema.UserMessage("status of nginx?")})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != "get_app_status" || msg.ToolCalls[0].Function.Arguments != `{"app":"nginx"}` {
		t.Fatalf("tool call = %+v", msg)
	}
	if fake.requests.Load() != 2 {
		t.Errorf("requests = %d, want 2 (one 503 retried)", fake.requests.Load())
	}
	sr, err := m.Stream(ctx, []*schema.Message{schema.UserMessage("hi")})
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for {
		chunk, err := sr.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, chunk.Content)
	}
	if strings.Join(parts, "") != "nginx is healthy." || len(parts) < 3 {
		t.Fatalf("stream parts = %q", parts)
	}
	// The knobs reached the provider, and the streamed call was measured like the other one:
	// latency observed twice (Generate after its retry, Stream), the stream's usage counted.
	fake.mu.Lock()
	if !strings.Contains(fake.lastBody, `"temperature":0.2`) || !strings.Contains(fake.lastBody, `"max_tokens":512`) {
		t.Errorf("request lacks the knobs: %s", fake.lastBody)
	}
	fake.mu.Unlock()
	okCalls, prompt := 0.0, 0.0
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range mt.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch {
			case mf.GetName() == "k8sm_agent_model_latency_seconds" && labels["outcome"] == "ok":
				okCalls += float64(mt.GetHistogram().GetSampleCount())
			case mf.GetName() == "k8sm_agent_model_tokens_total" && labels["kind"] == "prompt":
				prompt += mt.GetCounter().GetValue()
			}
		}
	}
	if okCalls != 2 || prompt != 84 {
		t.Errorf("metrics: %v successful calls timed (want 2), %v prompt tokens (want 42 + 42)", okCalls, prompt)
	}
}

// The agent with a hosted model, streaming: the model's streamed tool call (after some text) runs
// on the sandbox, its result goes back to the model, the model's streamed answer arrives as text
// deltas and is the turn's answer, and the key appears nowhere.
func TestAgentTurnWithOpenAICompatibleProvider(t *testing.T) {
	env := sandboxtest.Start(t)
	ctx := context.Background()
	fake := &fakeOpenAI{}
	fake.failed.Store(true)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	knowledgeEnv(t)
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
	defer a.Close()
	viewer := platformtest.Email("viewer")
	name := sandboxtest.Name("llm")
	if _, _, err := a.tenants.Create(ctx, tenant.Spec{Name: name, Environments: []string{"dev"},
		Members: []tenant.Member{{Email: viewer, Role: tenant.Viewer}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.tenants.Delete(context.Background(), name) })
	// The app the model asks about (get_app_status runs as the viewer, who may read it).
	if _, err := apps.NewService(a.kube).Create(ctx, apps.Target{As: tenant.Identity(viewer), Namespace: tenant.Namespace(name, "dev")},
		apps.Spec{Name: "nginx", Image: "nginx:1.27", Replicas: 1}, apps.WriteOptions{}); err == nil {
		t.Fatal("a viewer could create an app")
	}
	if _, err := apps.NewService(a.kube).Create(ctx, apps.Target{As: tenant.Identity("ops@cluster.local"), Namespace: tenant.Namespace(name, "dev")},
		apps.Spec{Name: "nginx", Image: "nginx:1.27", Replicas: 1}, apps.WriteOptions{}); err == nil {
		t.Fatal("a non-member could create an app")
	}
	if _, err := a.tenants.SetMember(ctx, name, "ops@example.com", tenant.Operator); err != nil {
		t.Fatal(err)
	}
	if _, err := apps.NewService(a.kube).Create(ctx, apps.Target{As: tenant.Identity("ops@example.com"), Namespace: tenant.Namespace(name, "dev")},
		apps.Spec{Name: "nginx", Image: "nginx:1.27", Replicas: 1}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	events, err := a.agent.Send(ctx, agent.Turn{Surface: "test", Thread: name, User: viewer, Tenant: name, Text: "how is nginx doing?"})
	if err != nil {
		t.Fatal(err)
	}
	var all []agent.Event
	for e := range events {
		all = append(all, e)
	}
	final := eventOf(all, agent.EventFinal)
	if final == nil || final.Text != "nginx is healthy." || len(all) < 4 {
		t.Fatalf("events %+v", all)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.toolMsgs) != 1 || !strings.Contains(fake.toolMsgs[0], "nginx") {
		t.Fatalf("the model did not get the tool result: %q", fake.toolMsgs)
	}
	b, _ := json.Marshal(all)
	if strings.Contains(string(b), fakeKey) {
		t.Fatal("API key in events")
	}
}
