// Package retrieve is the hybrid retriever: BM25 over every chunk and dense search in the
// vector store, fused by reciprocal rank (RRF). It implements eino's retriever.Retriever and
// honours knowledge.WithTenant: a tenant sees shared chunks and its own.
package retrieve

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/cloudwego/eino/components/retriever"
	"github.com/cloudwego/eino/schema"

	"k8s-manage/knowledge"
	"k8s-manage/knowledge/lexical"
)

// Source is the vector store the retriever reads: dense search plus every chunk for BM25.
type Source interface {
	retriever.Retriever
	All(ctx context.Context) ([]*schema.Document, error)
	Revision(ctx context.Context) (string, error)
}

// Mode selects the retrieval method (hybrid by default; the others exist for evaluation).
type Mode int

const (
	Hybrid Mode = iota
	LexicalOnly
	DenseOnly
)

func (m Mode) String() string { return [...]string{"hybrid", "lexical", "dense"}[m] }

// RRFK is the reciprocal rank fusion constant.
const RRFK = 60

// Retriever fuses lexical and dense results.
type Retriever struct {
	src  Source
	mode Mode
	// weights scale each method's reciprocal-rank contribution.
	lexWeight, denseWeight float64

	revisionTTL time.Duration

	mu      sync.Mutex
	rev     string
	checked time.Time
	lex     *lexical.Index
}

var _ retriever.Retriever = (*Retriever)(nil)

// DefaultDenseWeight is the dense side's RRF weight relative to BM25 (1.0). With the built-in
// hashing embedder BM25 is the stronger ranker, so dense results count for less; measured on
// evals/datasets/retrieval.jsonl (see the README's retrieval table).
const DefaultDenseWeight = 0.5

// Options configure a Retriever.
type Options struct {
	Mode Mode
	// DenseWeight scales dense ranks in the fusion (0 means DefaultDenseWeight); BM25 weighs 1.
	DenseWeight float64
	// RevisionTTL is how long a freshness check of the BM25 index is reused (0 means 2s; negative
	// checks on every call). Asking Milvus for its revision reads the whole manifest.
	RevisionTTL time.Duration
}

// New builds a Retriever over src.
func New(src Source, opts Options) *Retriever {
	if opts.DenseWeight <= 0 {
		opts.DenseWeight = DefaultDenseWeight
	}
	if opts.RevisionTTL == 0 {
		opts.RevisionTTL = 2 * time.Second
	}
	return &Retriever{src: src, mode: opts.Mode, lexWeight: 1, denseWeight: opts.DenseWeight, revisionTTL: opts.RevisionTTL}
}

// index returns the BM25 index, rebuilt when the store's revision moved.
func (r *Retriever) index(ctx context.Context) (*lexical.Index, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lex != nil && r.revisionTTL > 0 && time.Since(r.checked) < r.revisionTTL {
		return r.lex, nil
	}
	rev, err := r.src.Revision(ctx)
	if err != nil {
		return nil, err
	}
	r.checked = time.Now()
	if r.lex != nil && rev == r.rev {
		return r.lex, nil
	}
	docs, err := r.src.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("retrieve: load chunks for the lexical index: %w", err)
	}
	r.lex, r.rev = lexical.Build(docs), rev
	return r.lex, nil
}

// Retrieve returns the top-k chunks. Each document's score is its fused RRF score; the
// metadata keys "lexical_rank" and "dense_rank" say where each method placed it (0 = not found).
// ScoreThreshold applies to the dense cosine score: chunks only the lexical side found are kept.
func (r *Retriever) Retrieve(ctx context.Context, query string, opts ...retriever.Option) ([]*schema.Document, error) {
	topK, _ := knowledge.CommonOptions(opts)
	tenant := knowledge.GetRetrieveOptions(opts).Tenant
	candidates := max(topK*4, 20)

	type fused struct {
		doc            *schema.Document
		score          float64
		lexRank, dRank int
	}
	byID := map[string]*fused{}
	add := func(d *schema.Document, rank int, lexical bool) {
		f, ok := byID[d.ID]
		if !ok {
			f = &fused{doc: knowledge.CloneDocument(d)}
			byID[d.ID] = f
		}
		w := r.denseWeight
		if lexical {
			w = r.lexWeight
		}
		f.score += w / float64(RRFK+rank)
		if lexical {
			f.lexRank = rank
		} else {
			f.dRank = rank
		}
	}
	if r.mode != DenseOnly {
		ix, err := r.index(ctx)
		if err != nil {
			return nil, err
		}
		for i, h := range ix.Search(query, tenant, candidates) {
			add(h.Doc, i+1, true)
		}
	}
	if r.mode != LexicalOnly {
		dopts := append(append([]retriever.Option{}, opts...), retriever.WithTopK(candidates))
		dense, err := r.src.Retrieve(ctx, query, dopts...)
		if err != nil {
			return nil, fmt.Errorf("retrieve: dense search: %w", err)
		}
		for i, d := range dense {
			if knowledge.Visible(knowledge.FromDocument(d).Tenant, tenant) {
				add(d, i+1, false)
			}
		}
	}
	all := make([]*fused, 0, len(byID))
	for _, f := range byID {
		all = append(all, f)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].score != all[j].score {
			return all[i].score > all[j].score
		}
		return all[i].doc.ID < all[j].doc.ID
	})
	if len(all) > topK {
		all = all[:topK]
	}
	out := make([]*schema.Document, len(all))
	for i, f := range all {
		f.doc.MetaData["lexical_rank"] = f.lexRank
		f.doc.MetaData["dense_rank"] = f.dRank
		out[i] = f.doc.WithScore(f.score)
	}
	return out, nil
}
