// Package knowledgetest is test support: the repository's help docs ingested into an embedded
// store over a test's database, behind the hybrid retriever, as the service builds them.
package knowledgetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"k8s-manage/internal/store"
	"k8s-manage/knowledge"
	"k8s-manage/knowledge/corpus"
	"k8s-manage/knowledge/embedded"
	"k8s-manage/knowledge/hashembed"
	"k8s-manage/knowledge/ingest"
	"k8s-manage/knowledge/retrieve"
	"k8s-manage/knowledge/split"
)

// RepoRoot is the folder holding go.mod, above the test's working folder.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's folder")
		}
		dir = parent
	}
}

// Runbook is a tenant's private runbook (Markdown) as chunks, for Docs.
func Runbook(t testing.TB, tenant, name, markdown string) []knowledge.Chunk {
	t.Helper()
	cs, err := split.Markdown(markdown, split.Options{IDPrefix: "runbook/" + tenant + "/" + name + "/", Source: "runbook:" + tenant + "/" + name + ".md",
		Kind: "runbook", Tenant: tenant})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// Docs ingests docs/ (and extra chunks, e.g. runbooks) into st with the builtin embedder and
// returns the hybrid retriever.
func Docs(t testing.TB, st *store.Store, extra ...knowledge.Chunk) *retrieve.Retriever {
	t.Helper()
	chunks, err := corpus.Load(RepoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	all := append(chunks, extra...)
	texts := make([]string, len(all))
	for i, c := range all {
		texts[i] = c.Text()
	}
	emb, err := hashembed.New(hashembed.Options{IDF: hashembed.Fit(texts)})
	if err != nil {
		t.Fatal(err)
	}
	kb := embedded.New(st, emb)
	if _, err := ingest.Run(context.Background(), chunks, kb, ingest.Options{Scope: knowledge.SourceScope(corpus.SourcePrefix)}); err != nil {
		t.Fatal(err)
	}
	if len(extra) > 0 {
		if _, err := ingest.Run(context.Background(), extra, kb, ingest.Options{Scope: knowledge.SourceScope("runbook:")}); err != nil {
			t.Fatal(err)
		}
	}
	return retrieve.New(kb, retrieve.Options{})
}
