package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/internal/config"
)

// evalConfig writes a config for eval runs on the sandbox (kubeconfig mode) plus extra YAML.
func evalConfig(t *testing.T, env *sandboxtest.Env, extra string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "k8s-manage.yaml")
	cfg := fmt.Sprintf("cluster: {mode: kubeconfig, kubeconfig: %q}\nknowledge: {docs_root: \"../..\"}\n%s", env.Sandbox.KubeconfigPath(), extra)
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type summaryJSON struct {
	Cases  int `json:"cases"`
	Passed int `json:"passed"`
	ByKind map[string]struct {
		Cases  int     `json:"cases"`
		Passed int     `json:"passed"`
		Rate   float64 `json:"rate"`
	} `json:"by_kind"`
	Retrieval struct {
		RecallAt1 float64 `json:"recall_at_1"`
		RecallAt5 float64 `json:"recall_at_5"`
		MRR       float64 `json:"mrr"`
	} `json:"retrieval"`
	Models  []string `json:"models"`
	ByModel map[string]struct {
		Passed   int   `json:"passed"`
		TokensIn int64 `json:"tokens_in"`
		Bound    int   `json:"bound_first_step"`
		BoundOf  int   `json:"bound_first_step_of"`
	} `json:"by_model"`
}

func readSummary(t *testing.T, dir string) summaryJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s summaryJSON
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// The CI smoke run: the first cases of every kind plus the k8s-ai-bench tasks, with the builtin
// model on the sandbox, against the thresholds the builtin model must meet.
func TestEvalSmoke(t *testing.T) {
	env := sandboxtest.Start(t)
	cfg := evalConfig(t, env, "")
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--config", cfg, "eval", "--dataset", "../../evals/datasets", "--dataset", "../../evals/tasks",
		"--limit-per-kind", "6", "--id", "retrieval", "--id", "chat", "--id", "diagnosis-01", "--id", "diagnosis-11", "--id", "safety-0", "--id", "safety-2",
		"--id", "safety-3", "--id", "task/", "--out", out,
		"--min-pass", "chat=0.95", "--min-pass", "safety=1", "--min-pass", "diagnosis=0.9", "--min-pass", "retrieval=0.9"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("eval exit %d\nstdout:\n%s\nstderr (tail):\n%s", code, stdout.String(), tail(stderr.String(), 3000))
	}
	s := readSummary(t, out)
	for _, k := range []string{"retrieval", "chat", "diagnosis", "safety"} {
		if s.ByKind[k].Cases == 0 {
			t.Errorf("no %s cases ran: %+v", k, s.ByKind)
		}
	}
	if s.Cases != s.Passed || s.Models[0] != "builtin" || s.Retrieval.RecallAt5 == 0 {
		t.Fatalf("summary: %+v", s)
	}
	for _, f := range []string{"results.jsonl", "report.md", "report.html"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s missing", f)
		}
	}
	if !strings.Contains(stdout.String(), "builtin") || !strings.Contains(stdout.String(), "recall@5") {
		t.Fatalf("no table on stdout:\n%s", stdout.String())
	}
	html, _ := os.ReadFile(filepath.Join(out, "report.html"))
	if !strings.Contains(string(html), "<svg") || strings.Contains(string(html), "<script") {
		t.Fatal("the HTML report has no chart or is not self-contained")
	}
	t.Logf("smoke run:\n%s", stdout.String())
}

// A missed threshold exits 1 after writing the reports, the failure with its transcript; bad
// flags and bad datasets name the problem.
func TestEvalThresholdsAndBadInput(t *testing.T) {
	env := sandboxtest.Start(t)
	cfg := evalConfig(t, env, "")
	dir := t.TempDir()
	ds := filepath.Join(dir, "cases.jsonl")
	os.WriteFile(ds, []byte(`{"id":"c1","kind":"chat","lang":"en","user":"dev-a@example.com","input":"list apps","expect":{"tool_calls":[{"name":"list_apps"}]}}
{"id":"c2","kind":"chat","lang":"en","user":"dev-a@example.com","input":"list apps","expect":{"answer_keywords_any":["zzz-never-there"]}}
`), 0o600)
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--config", cfg, "eval", "--dataset", ds, "--out", out, "--min-pass", "chat=0.9"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "chat pass rate 0.500 is below 0.90") {
		t.Fatalf("exit %d, stderr:\n%s", code, tail(stderr.String(), 2000))
	}
	s := readSummary(t, out)
	if s.Cases != 2 || s.Passed != 1 || s.ByKind["chat"].Rate != 0.5 {
		t.Fatalf("summary: %+v", s)
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(md), "### c2") || !strings.Contains(string(md), "zzz-never-there") || !strings.Contains(string(md), "tool list_apps") {
		t.Fatalf("report.md lacks the failure and its transcript:\n%s", md)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"id":"b1","kind":"chitchat","input":"x","expect":{"no_mutation":true}}`+"\n"), 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--dataset", bad, "--out", out}, "bad.jsonl:1 (b1): kind: must be one of"},
		{[]string{"--dataset", ds, "--out", out, "--min-pass", "chat=2"}, `--min-pass "chat=2"`},
		{[]string{"--dataset", ds}, "--out is required"},
		{[]string{"--dataset", ds, "--out", out, "--model", "gpt-9"}, `--model "gpt-9"`},
	} {
		stderr.Reset()
		if code := run(context.Background(), append([]string{"--config", cfg, "eval"}, c.args...), &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q", c.args, code, tail(stderr.String(), 500))
		}
	}
}

// Two models side by side: the builtin one and an OpenAI-compatible endpoint (the protocol fake),
// with its tokens counted and priced from eval.prices.
func TestEvalComparesOpenAICompatibleModel(t *testing.T) {
	env := sandboxtest.Start(t)
	fake := &fakeOpenAI{}
	fake.failed.Store(true) // no injected 503 here
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg := evalConfig(t, env, fmt.Sprintf(`eval:
  models:
    fake: {provider: openai, base_url: %q, model: fake-1, api_key: %s}
  prices:
    fake: {input_per_1k: 0.5, output_per_1k: 1.5}
`, srv.URL, fakeKey))
	dir := t.TempDir()
	ds := filepath.Join(dir, "cases.jsonl")
	// The second case's tool (get_bill) is outside the core a hosted model always gets: its schema
	// is on the first step only if the intents bound it. The fake answers with get_app_status, so
	// that case fails for it; the bound column is about the schemas it was given.
	os.WriteFile(ds, []byte(`{"id":"status-nginx","kind":"chat","lang":"en","user":"dev-a@example.com","input":"status of nginx","expect":{"tool_calls":[{"name":"get_app_status","args":{"app":"nginx"}}],"approval_required":false}}`+"\n"+
		`{"id":"spend","kind":"chat","lang":"en","user":"dev-a@example.com","input":"how much have we spent this month?","expect":{"tool_calls":[{"name":"get_bill"}]}}`+"\n"), 0o600)
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--config", cfg, "eval", "--dataset", ds, "--model", "builtin", "--model", "fake", "--repeat", "2",
		"--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, tail(stderr.String(), 2000))
	}
	s := readSummary(t, out)
	if len(s.Models) != 2 || s.Cases != 8 || s.ByModel["builtin"].Passed != 4 || s.ByModel["fake"].Passed != 2 {
		t.Fatalf("summary: %+v", s)
	}
	for _, m := range []string{"builtin", "fake"} { // both cases' tools were on the first step, for both models
		if b := s.ByModel[m]; b.Bound != 4 || b.BoundOf != 4 {
			t.Fatalf("%s: needed tool bound on the first step %d/%d", m, b.Bound, b.BoundOf)
		}
	}
	if !strings.Contains(stdout.String(), "bound@1") {
		t.Fatalf("table:\n%s", stdout.String())
	}
	if s.ByModel["fake"].TokensIn == 0 || fake.requests.Load() < 2 {
		t.Fatalf("the hosted model's tokens were not counted (%d requests): %+v", fake.requests.Load(), s.ByModel)
	}
	if !strings.Contains(stdout.String(), "fake") {
		t.Fatalf("table:\n%s", stdout.String())
	}
	if b, _ := os.ReadFile(filepath.Join(out, "results.jsonl")); strings.Contains(string(b), fakeKey) {
		t.Fatal("the API key is in the results")
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// Building the app for anything but serve (the eval, admin commands) leaves ./data and the
// sandbox's demo tenant alone: no seeding is even attempted.
func TestOnlyServeSeedsTheDemo(t *testing.T) {
	sandboxtest.Start(t)
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	_, statErr := os.Stat("data")
	hadData := statErr == nil
	knowledgeEnv(t)
	t.Setenv("K8SM_KNOWLEDGE_DOCS_ROOT", root)
	cfg, err := config.Load(config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cluster.Mode, cfg.Cluster.SandboxDir = config.ClusterSandbox, filepath.Join(root, ".sandbox")
	var logs bytes.Buffer
	a, err := newApp(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if strings.Contains(logs.String(), "demo") {
		t.Fatalf("building the app touched the demo tenant:\n%s", logs.String())
	}
	if _, err := os.Stat("data"); !hadData && !os.IsNotExist(err) {
		t.Fatalf("building the app wrote ./data: %v", err)
	}
}
