package knowledge

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudwego/eino/components/embedding"
	"github.com/cloudwego/eino/components/indexer"
	"github.com/cloudwego/eino/components/retriever"
	"github.com/cloudwego/eino/schema"

	"k8s-manage/internal/store"
)

// RetrieveOptions are the store-independent options of this package's retrievers.
type RetrieveOptions struct {
	// Tenant sees shared chunks plus its own; empty sees shared chunks only.
	Tenant string
}

// WithTenant makes a retrieval tenant-aware: shared documents plus the tenant's private runbooks.
func WithTenant(tenant string) retriever.Option {
	return retriever.WrapImplSpecificOptFn(func(o *RetrieveOptions) { o.Tenant = tenant })
}

// GetRetrieveOptions reads this package's options from a retriever call.
func GetRetrieveOptions(opts []retriever.Option) RetrieveOptions {
	return *retriever.GetImplSpecificOptions(&RetrieveOptions{}, opts...)
}

// CommonOptions reads eino's common retriever options with defaults (TopK 5).
func CommonOptions(opts []retriever.Option) (topK int, threshold *float64) {
	o := retriever.GetCommonOptions(&retriever.Options{}, opts...)
	topK = 5
	if o.TopK != nil && *o.TopK > 0 {
		topK = *o.TopK
	}
	return topK, o.ScoreThreshold
}

// EmbedText is the text a store embeds for a document: title, section, tags and content.
func EmbedText(d *schema.Document) string { return FromDocument(d).Text() }

// ManifestEntry is what a store holds of a chunk for incremental ingest.
type ManifestEntry struct {
	Hash   string
	Source string
}

// Meta stores small knowledge metadata (IDF tables, vector fingerprints) in the service store.
type Meta struct{ DB *store.Store }

// Get returns a value, or nil when absent.
func (m Meta) Get(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := m.DB.QueryRowContext(ctx, "SELECT value FROM kb_meta WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("knowledge meta %s: %w", key, err)
	}
	return v, nil
}

// Set writes a value.
func (m Meta) Set(ctx context.Context, q store.Querier, key string, value []byte) error {
	_, err := q.ExecContext(ctx, `INSERT INTO kb_meta (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("knowledge meta %s: %w", key, err)
	}
	return nil
}

// SourceScope returns a predicate for the sources an ingest run owns.
func SourceScope(prefixes ...string) func(string) bool {
	return func(src string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(src, p) {
				return true
			}
		}
		return false
	}
}

// Query is a retrieval request as a store sees it: options resolved and the query embedded.
type Query struct {
	Vector    []float64
	TopK      int
	Threshold *float64
	Tenant    string
}

// PrepareQuery resolves a store's retrieval options (eino's common ones and WithTenant) and
// embeds the query with the option's embedder or def.
func PrepareQuery(ctx context.Context, def embedding.Embedder, query string, opts []retriever.Option) (Query, error) {
	if strings.TrimSpace(query) == "" {
		return Query{}, errors.New("empty query")
	}
	q := Query{Tenant: GetRetrieveOptions(opts).Tenant}
	q.TopK, q.Threshold = CommonOptions(opts)
	emb := def
	if o := retriever.GetCommonOptions(&retriever.Options{}, opts...); o.Embedding != nil {
		emb = o.Embedding
	}
	vs, err := emb.EmbedStrings(ctx, []string{query})
	if err != nil {
		return Query{}, fmt.Errorf("embed query: %w", err)
	}
	if len(vs) != 1 {
		return Query{}, fmt.Errorf("embed query: the embedder returned %d vectors", len(vs))
	}
	q.Vector = vs[0]
	return q, nil
}

// EmbedDocuments embeds documents for storing (their EmbedText), with the option's embedder or def.
func EmbedDocuments(ctx context.Context, def embedding.Embedder, docs []*schema.Document, opts []indexer.Option) ([][]float64, error) {
	emb := def
	if o := indexer.GetCommonOptions(&indexer.Options{}, opts...); o.Embedding != nil {
		emb = o.Embedding
	}
	texts := make([]string, len(docs))
	for i, d := range docs {
		if d.ID == "" {
			return nil, fmt.Errorf("document %d has no id", i)
		}
		texts[i] = EmbedText(d)
	}
	vecs, err := emb.EmbedStrings(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	if len(vecs) != len(docs) {
		return nil, fmt.Errorf("embedder returned %d vectors for %d documents", len(vecs), len(docs))
	}
	return vecs, nil
}
