package retrieval_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"k8s-manage/evals/retrieval"
	"k8s-manage/internal/store/storetest"
	"k8s-manage/knowledge"
	"k8s-manage/knowledge/corpus"
	"k8s-manage/knowledge/embedded"
	"k8s-manage/knowledge/hashembed"
	"k8s-manage/knowledge/ingest"
	"k8s-manage/knowledge/retrieve"
)

const root = "../.."

// TestRetrievalEval ingests the real docs into a fresh embedded store with the built-in
// embedder and scores lexical, dense and hybrid retrieval on the labelled question set.
func TestRetrievalEval(t *testing.T) {
	ctx := context.Background()
	cases, err := retrieval.Load(filepath.Join(root, "evals/datasets/retrieval.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 50 { // the dev half; the held-out half is in evals/heldout, run by make eval-heldout
		t.Fatalf("%d retrieval cases, want at least 50", len(cases))
	}
	chunks, err := corpus.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	texts := make([]string, len(chunks))
	for i, c := range chunks {
		known[c.ID] = true
		texts[i] = c.Text()
	}
	for _, c := range cases {
		for _, id := range c.Expect.RetrievedIDsAny {
			if !known[id] {
				t.Fatalf("case %s is labelled with unknown chunk %s", c.ID, id)
			}
		}
	}
	emb, err := hashembed.New(hashembed.Options{IDF: hashembed.Fit(texts)})
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.Open(t, storetest.SQLite)
	st := embedded.New(db, emb)
	if _, err := ingest.Run(ctx, chunks, st, ingest.Options{Scope: knowledge.SourceScope(corpus.SourcePrefix)}); err != nil {
		t.Fatal(err)
	}
	var ms []retrieval.Metrics
	for _, mode := range []retrieve.Mode{retrieve.LexicalOnly, retrieve.DenseOnly, retrieve.Hybrid} {
		m, err := retrieval.Evaluate(ctx, mode.String(), retrieve.New(st, retrieve.Options{Mode: mode}), cases)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	fmt.Printf("\nretrieval eval: %d questions (zh+en), builtin embedder dim %d, %d chunks\n%s", len(cases), emb.Dim(), len(chunks), retrieval.Table(ms))
	for _, w := range []float64{0.25, 0.75, 1.0} {
		m, err := retrieval.Evaluate(ctx, fmt.Sprintf("hybrid (dense weight %.2f)", w), retrieve.New(st, retrieve.Options{Mode: retrieve.Hybrid, DenseWeight: w}), cases)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Print(retrieval.Table([]retrieval.Metrics{m}))
	}
	hybrid := ms[2]
	fmt.Printf("hybrid misses at 5: %v\n", hybrid.Misses)
	if hybrid.RecallAt5 < 0.90 {
		t.Errorf("hybrid recall@5 = %.3f, target >= 0.90", hybrid.RecallAt5)
	}
}
