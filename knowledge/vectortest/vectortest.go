// Package vectortest is the conformance suite every vector store passes: upsert by id with
// content hashes, dense retrieval with top-k, score threshold and tenant visibility, deletion,
// revisions, and persistence across reopening.
package vectortest

import (
	"context"
	"slices"
	"testing"

	"github.com/cloudwego/eino/components/retriever"
	"github.com/cloudwego/eino/schema"

	"k8s-manage/knowledge"
	"k8s-manage/knowledge/ingest"
	"k8s-manage/knowledge/retrieve"
)

// Store is what a vector store offers.
type Store interface {
	ingest.Target
	retrieve.Source
}

// Opener opens the store under test; calling it again must reopen the same data (a restart).
type Opener func(t *testing.T) Store

// Chunks is the fixture: shared docs and one private runbook per tenant.
var Chunks = []knowledge.Chunk{
	{ID: "faq/crash", Title: "Pod 一直 CrashLoopBackOff 怎么办", Content: "容器启动后立即退出，kubelet 反复重启。先看上一个容器的日志 (logs --previous) 和退出码 exit code。", Source: "faq.jsonl", Kind: "faq"},
	{ID: "faq/oom", Title: "容器被 OOMKilled，退出码 137", Content: "内存超过 memory limit 被内核杀掉。调大 limits 或排查内存泄漏。", Source: "faq.jsonl", Kind: "faq"},
	{ID: "manual/scale", Title: "手动扩缩容", Content: "把应用的副本数 replicas 调到目标值，例如 扩容 nginx 到 5 个副本。需要审批。", Source: "manual.md", Kind: "manual"},
	{ID: "manual/tls", Title: "域名与 TLS 证书", Content: "绑定域名后配置 TLS Secret；cert-manager 会在证书过期前自动续期 renew。", Source: "manual.md", Kind: "manual"},
	{ID: "manual/bill", Title: "账单与计费", Content: "按 CPU 核时、内存 GiB 时和存储计费，每月出账单 billing。", Source: "manual.md", Kind: "manual"},
	{ID: "runbook/team-a/db", Title: "团队 A 数据库故障切换手册", Content: "team-a 的 MySQL 主库故障时，执行 failover 切换到备库 replica-2。", Source: "runbook:team-a/db.md", Kind: "runbook", Tenant: "team-a"},
	{ID: "runbook/team-b/db", Title: "团队 B 数据库故障切换手册", Content: "team-b 的 PostgreSQL 主库故障时，执行 failover 切换到备库 pg-standby。", Source: "runbook:team-b/db.md", Kind: "runbook", Tenant: "team-b"},
}

func docs(cs []knowledge.Chunk) []*schema.Document {
	out := make([]*schema.Document, len(cs))
	for i, c := range cs {
		out[i] = c.Document()
	}
	return out
}

func ids(ds []*schema.Document) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	rev0, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Store(ctx, docs(Chunks))
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(Chunks) {
		t.Fatalf("stored %d ids, want %d", len(stored), len(Chunks))
	}

	t.Run("manifest has hashes and sources", func(t *testing.T) {
		m, err := s.Manifest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range Chunks {
			if e, ok := m[c.ID]; !ok || e.Hash != c.Hash() || e.Source != c.Source {
				t.Errorf("manifest[%s] = %+v, want hash %s source %s", c.ID, e, c.Hash(), c.Source)
			}
		}
	})

	t.Run("revision moves on write", func(t *testing.T) {
		rev, err := s.Revision(ctx)
		if err != nil || rev == rev0 {
			t.Fatalf("revision %q -> %q (%v)", rev0, rev, err)
		}
	})

	t.Run("dense retrieval ranks the relevant chunk first", func(t *testing.T) {
		tests := map[string]string{
			"pod keeps crashing and restarting": "faq/crash",
			"容器内存超了被杀 137":                      "faq/oom",
			"把 nginx 扩容到 5 个副本":                 "manual/scale",
			"证书快过期了怎么续期":                        "manual/tls",
		}
		for q, want := range tests {
			got, err := s.Retrieve(ctx, q, retriever.WithTopK(3))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 || got[0].ID != want {
				t.Errorf("%q: top = %v, want %s first", q, ids(got), want)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Score() > got[i-1].Score() {
					t.Errorf("%q: scores not descending: %v", q, ids(got))
				}
			}
			if len(got) > 3 {
				t.Errorf("%q: %d results for top-3", q, len(got))
			}
		}
	})

	t.Run("score threshold drops weak matches", func(t *testing.T) {
		got, err := s.Retrieve(ctx, "扩容 副本 replicas", retriever.WithTopK(10), retriever.WithScoreThreshold(0.2))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || len(got) == 7 {
			t.Fatalf("threshold kept %d of 7", len(got))
		}
		for _, d := range got {
			if d.Score() < 0.2 {
				t.Errorf("%s scored %f under the threshold", d.ID, d.Score())
			}
		}
	})

	t.Run("tenant visibility", func(t *testing.T) {
		q := "数据库主库故障 failover 切换备库"
		for tenant, want := range map[string][]string{
			"team-a": {"runbook/team-a/db"}, "team-b": {"runbook/team-b/db"}, "": nil, "team-c": nil,
		} {
			got, err := s.Retrieve(ctx, q, retriever.WithTopK(10), knowledge.WithTenant(tenant))
			if err != nil {
				t.Fatal(err)
			}
			var runbooks []string
			for _, d := range got {
				if owner := knowledge.FromDocument(d).Tenant; owner != "" {
					if owner != tenant {
						t.Errorf("tenant %q was shown %s owned by %s", tenant, d.ID, owner)
					}
					runbooks = append(runbooks, d.ID)
				}
			}
			if !slices.Equal(runbooks, want) {
				t.Errorf("tenant %q runbooks = %v, want %v", tenant, runbooks, want)
			}
		}
	})

	t.Run("upsert replaces content", func(t *testing.T) {
		c := Chunks[4]
		c.Content = "账单 billing：新的价格表，按 GPU 卡时计费。"
		if _, err := s.Store(ctx, docs([]knowledge.Chunk{c})); err != nil {
			t.Fatal(err)
		}
		m, _ := s.Manifest(ctx)
		if m[c.ID].Hash != c.Hash() {
			t.Errorf("hash not updated")
		}
		got, err := s.Retrieve(ctx, "GPU 卡时 价格", retriever.WithTopK(1))
		if err != nil || len(got) != 1 || got[0].ID != c.ID || got[0].Content != c.Content {
			t.Fatalf("after upsert: %v %v", got, err)
		}
		all, _ := s.All(ctx)
		if len(all) != len(Chunks) {
			t.Errorf("upsert duplicated: %d chunks", len(all))
		}
	})

	t.Run("delete removes", func(t *testing.T) {
		if err := s.Delete(ctx, []string{"faq/oom"}); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Retrieve(ctx, "OOMKilled 137 内存", retriever.WithTopK(10))
		if slices.Contains(ids(got), "faq/oom") {
			t.Error("deleted chunk still retrieved")
		}
		m, _ := s.Manifest(ctx)
		if _, ok := m["faq/oom"]; ok {
			t.Error("deleted chunk still in manifest")
		}
	})

	t.Run("persists across reopen", func(t *testing.T) {
		again := open(t)
		all, err := again.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(Chunks)-1 {
			t.Fatalf("after reopen %d chunks, want %d", len(all), len(Chunks)-1)
		}
		got, err := again.Retrieve(ctx, "pod keeps crashing and restarting", retriever.WithTopK(1))
		if err != nil || len(got) != 1 || got[0].ID != "faq/crash" {
			t.Fatalf("after reopen: %v %v", got, err)
		}
	})
}
