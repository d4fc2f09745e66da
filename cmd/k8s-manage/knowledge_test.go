package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"k8s-manage/knowledge/hashembed"
)

func runCmd(t testing.TB, args ...string) (string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

func knowledgeEnv(t testing.TB) {
	t.Setenv("K8SM_STORE_DSN", "sqlite://"+filepath.Join(t.TempDir(), "k.db"))
	t.Setenv("K8SM_KNOWLEDGE_DOCS_ROOT", filepath.Join("..", ".."))
	t.Setenv("K8SM_CONFIG_CENTER_GENERATED_KEY_FILE", filepath.Join(t.TempDir(), "cc.key"))
}

func TestIngestIsIncrementalAndRunbooksArePrivate(t *testing.T) {
	knowledgeEnv(t)
	out, progress := runCmd(t, "ingest")
	if !strings.Contains(out, "138 changed") || !strings.Contains(progress, "138/138 chunks") {
		t.Fatalf("first ingest:\n%s\n%s", out, progress)
	}
	out, _ = runCmd(t, "ingest")
	if !strings.Contains(out, "0 changed") {
		t.Fatalf("second ingest should change nothing:\n%s", out)
	}

	runbook := filepath.Join(t.TempDir(), "failover.md")
	os.WriteFile(runbook, []byte("# 订单库故障切换 {#failover}\n\n订单库 orders-db 主节点故障时，执行 failover 切到 orders-db-standby，并通知 DBA 值班。\n"), 0o600)
	out, _ = runCmd(t, "ingest", "runbook", "--tenant", "team-a", runbook)
	if !strings.Contains(out, "1 changed") {
		t.Fatalf("runbook ingest:\n%s", out)
	}
	q := "orders-db 主节点挂了怎么切换"
	out, _ = runCmd(t, "knowledge", "search", q, "--tenant", "team-a", "--top", "3")
	if !strings.Contains(out, "runbook/team-a/failover/failover") {
		t.Fatalf("team-a does not see its runbook:\n%s", out)
	}
	for _, tenant := range []string{"team-b", ""} {
		out, _ = runCmd(t, "knowledge", "search", q, "--tenant", tenant, "--top", "10")
		if strings.Contains(out, "runbook/team-a") {
			t.Fatalf("tenant %q sees team-a's runbook:\n%s", tenant, out)
		}
	}
	// Re-ingesting the docs leaves the tenant's runbook alone; removing it deletes it.
	out, _ = runCmd(t, "ingest")
	if !strings.Contains(out, "0 changed") {
		t.Fatalf("docs ingest touched the runbook:\n%s", out)
	}
	out, _ = runCmd(t, "ingest", "runbook", "--tenant", "team-a", "--remove", runbook)
	if !strings.Contains(out, "1 changed") {
		t.Fatalf("runbook removal:\n%s", out)
	}
	out, _ = runCmd(t, "knowledge", "search", q, "--tenant", "team-a", "--top", "10")
	if strings.Contains(out, "runbook/team-a") {
		t.Fatalf("removed runbook still found:\n%s", out)
	}
}

// An OpenAI-compatible embeddings endpoint, as served by OpenAI, vLLM, Ollama /v1 or DeepSeek:
// the eino-ext client speaks the real protocol to it.
func TestIngestWithOpenAICompatibleEmbedder(t *testing.T) {
	knowledgeEnv(t)
	const key = "sk-test-secret-key-123"
	emb, _ := hashembed.New(hashembed.Options{Dim: 256})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/embeddings" || r.Header.Get("Authorization") != "Bearer "+key {
			http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusUnauthorized)
			return
		}
		calls.Add(1)
		var req struct {
			Input []string `json:"input"`
			Model string   `json:"model"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "text-embedding-test" {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		type item struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		resp := struct {
			Object string `json:"object"`
			Data   []item `json:"data"`
			Model  string `json:"model"`
			Usage  struct {
				PromptTokens int `json:"prompt_tokens"`
				TotalTokens  int `json:"total_tokens"`
			} `json:"usage"`
		}{Object: "list", Model: req.Model}
		for i, in := range req.Input {
			resp.Data = append(resp.Data, item{Object: "embedding", Index: i, Embedding: emb.Embed(in)})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	}))
	defer srv.Close()
	t.Setenv("K8SM_KNOWLEDGE_EMBEDDER", "openai")
	t.Setenv("K8SM_KNOWLEDGE_BASE_URL", srv.URL)
	t.Setenv("K8SM_KNOWLEDGE_MODEL", "text-embedding-test")
	t.Setenv("K8SM_KNOWLEDGE_API_KEY", key)
	t.Setenv("K8SM_KNOWLEDGE_DIM", "256")

	runbook := filepath.Join(t.TempDir(), "rb.md")
	os.WriteFile(runbook, []byte("# 缓存雪崩处理 {#cache}\n\nredis 缓存雪崩时先限流再预热热点 key。\n"), 0o600)
	out, _ := runCmd(t, "ingest")
	runCmd(t, "ingest", "runbook", "--tenant", "team-a", runbook)
	if !strings.Contains(out, "138 changed") || calls.Load() == 0 {
		t.Fatalf("ingest through the OpenAI-compatible endpoint (calls=%d):\n%s", calls.Load(), out)
	}
	out, errOut := runCmd(t, "knowledge", "search", "pod keeps crashing in a loop", "--mode", "dense", "--top", "3")
	if !strings.Contains(out, "faq-001") {
		t.Fatalf("dense search through the hosted embedder:\n%s", out)
	}
	if strings.Contains(out+errOut, key) {
		t.Fatal("API key printed")
	}
	// Switching embedders changes the vector space: everything is re-embedded.
	t.Setenv("K8SM_KNOWLEDGE_EMBEDDER", "builtin")
	out, _ = runCmd(t, "ingest")
	if !strings.Contains(out, "re-embedded") || !strings.Contains(out, "139 changed") {
		t.Fatalf("embedder change did not re-embed everything (docs and the runbook):\n%s", out)
	}
	out, _ = runCmd(t, "knowledge", "search", "redis 缓存雪崩", "--tenant", "team-a", "--mode", "dense", "--top", "3")
	if !strings.Contains(out, "runbook/team-a/rb/cache") {
		t.Fatalf("the runbook was lost when the embedding space changed:\n%s", out)
	}
}
