// Package embedded is the default vector store: chunks and their vectors live in the service's
// own store (SQLite or PostgreSQL), so nothing else has to run, and stay across restarts. The
// vectors are held in memory for search: exact cosine top-k over the chunks a tenant may see,
// reloaded when another process (an ingest run) changed the store.
package embedded

import (
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudwego/eino/components/embedding"
	"github.com/cloudwego/eino/components/indexer"
	"github.com/cloudwego/eino/components/retriever"
	"github.com/cloudwego/eino/schema"

	"k8s-manage/internal/store"
	"k8s-manage/knowledge"
)

const revisionKey = "embedded/revision"

// Store is the embedded vector store. It implements eino's indexer.Indexer and retriever.Retriever.
type Store struct {
	db   *store.Store
	emb  embedding.Embedder
	meta knowledge.Meta

	mu      sync.RWMutex
	rev     string
	entries []entry
}

type entry struct {
	doc    *schema.Document
	tenant string
	vec    []float32
}

var (
	_ indexer.Indexer     = (*Store)(nil)
	_ retriever.Retriever = (*Store)(nil)
)

// New builds a Store over the service store with the embedder used for documents and queries.
func New(db *store.Store, emb embedding.Embedder) *Store {
	return &Store{db: db, emb: emb, meta: knowledge.Meta{DB: db}}
}

// WithEmbedder returns a Store sharing the data but embedding with emb (e.g. after refitting).
func (s *Store) WithEmbedder(emb embedding.Embedder) *Store { return New(s.db, emb) }

func encode(v []float64) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(x)))
	}
	return b
}

func decode(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func normalize(v []float32) {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		return
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
}

// Store embeds and upserts documents (by id) in one transaction.
func (s *Store) Store(ctx context.Context, docs []*schema.Document, opts ...indexer.Option) ([]string, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	vecs, err := knowledge.EmbedDocuments(ctx, s.emb, docs, opts)
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	now := time.Now().UnixMilli()
	ids := make([]string, len(docs))
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		for i, d := range docs {
			c := knowledge.FromDocument(d)
			if _, err := tx.ExecContext(ctx, `INSERT INTO kb_chunks (id, source, tenant, kind, hash, title, section, tags, content, vector, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET source = excluded.source, tenant = excluded.tenant, kind = excluded.kind,
				hash = excluded.hash, title = excluded.title, section = excluded.section, tags = excluded.tags,
				content = excluded.content, vector = excluded.vector, updated_at = excluded.updated_at`,
				d.ID, c.Source, c.Tenant, c.Kind, c.Hash(), c.Title, strings.Join(c.Section, " > "), strings.Join(c.Tags, ","),
				c.Content, encode(vecs[i]), now); err != nil {
				return fmt.Errorf("embedded store: upsert %s: %w", d.ID, err)
			}
			ids[i] = d.ID
		}
		return s.bump(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// bump changes the store revision so every process reloads its in-memory copy.
func (s *Store) bump(ctx context.Context, tx *store.Tx) error {
	return s.meta.Set(ctx, tx, revisionKey, []byte(strconv.FormatInt(time.Now().UnixNano(), 10)))
}

// Delete removes chunks by id.
func (s *Store) Delete(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, "DELETE FROM kb_chunks WHERE id = ?", id); err != nil {
				return fmt.Errorf("embedded store: delete %s: %w", id, err)
			}
		}
		return s.bump(ctx, tx)
	})
}

// Manifest returns every chunk's content hash and source.
func (s *Store) Manifest(ctx context.Context) (map[string]knowledge.ManifestEntry, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, hash, source FROM kb_chunks")
	if err != nil {
		return nil, fmt.Errorf("embedded store: manifest: %w", err)
	}
	defer rows.Close()
	out := map[string]knowledge.ManifestEntry{}
	for rows.Next() {
		var id string
		var e knowledge.ManifestEntry
		if err := rows.Scan(&id, &e.Hash, &e.Source); err != nil {
			return nil, err
		}
		out[id] = e
	}
	return out, rows.Err()
}

// Revision changes whenever the stored chunks change.
func (s *Store) Revision(ctx context.Context) (string, error) {
	v, err := s.meta.Get(ctx, revisionKey)
	return string(v), err
}

// load refreshes the in-memory copy when the revision moved.
func (s *Store) load(ctx context.Context) error {
	rev, err := s.Revision(ctx)
	if err != nil {
		return err
	}
	s.mu.RLock()
	fresh := s.entries != nil && rev == s.rev
	s.mu.RUnlock()
	if fresh {
		return nil
	}
	rows, err := s.db.QueryContext(ctx, "SELECT id, source, tenant, kind, title, section, tags, content, vector FROM kb_chunks ORDER BY id")
	if err != nil {
		return fmt.Errorf("embedded store: load: %w", err)
	}
	defer rows.Close()
	entries := []entry{}
	for rows.Next() {
		var c knowledge.Chunk
		var section, tags string
		var vec []byte
		if err := rows.Scan(&c.ID, &c.Source, &c.Tenant, &c.Kind, &c.Title, &section, &tags, &c.Content, &vec); err != nil {
			return err
		}
		if section != "" {
			c.Section = strings.Split(section, " > ")
		}
		if tags != "" {
			c.Tags = strings.Split(tags, ",")
		}
		v := decode(vec)
		normalize(v)
		entries = append(entries, entry{doc: c.Document(), tenant: c.Tenant, vec: v})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.entries, s.rev = entries, rev
	s.mu.Unlock()
	return nil
}

// All returns every chunk (for the lexical index), as copies.
func (s *Store) All(ctx context.Context) ([]*schema.Document, error) {
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*schema.Document, len(s.entries))
	for i, e := range s.entries {
		out[i] = knowledge.CloneDocument(e.doc)
	}
	return out, nil
}

type hit struct {
	i     int
	score float32
}
type minHeap []hit

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return h[i].score < h[j].score }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(hit)) }
func (h *minHeap) Pop() any          { old := *h; x := old[len(old)-1]; *h = old[:len(old)-1]; return x }

// Retrieve returns the top-k chunks by cosine similarity that the tenant may see, with
// scores (schema.Document.Score); ScoreThreshold drops weaker ones.
func (s *Store) Retrieve(ctx context.Context, query string, opts ...retriever.Option) ([]*schema.Document, error) {
	pq, err := knowledge.PrepareQuery(ctx, s.emb, query, opts)
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	topK, threshold, tenant := pq.TopK, pq.Threshold, pq.Tenant
	q := make([]float32, len(pq.Vector))
	for i, x := range pq.Vector {
		q[i] = float32(x)
	}
	normalize(q)
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	h := make(minHeap, 0, topK+1)
	for i := range s.entries {
		e := &s.entries[i]
		if !knowledge.Visible(e.tenant, tenant) || len(e.vec) != len(q) {
			continue
		}
		score := dot(q, e.vec)
		if threshold != nil && float64(score) < *threshold {
			continue
		}
		if len(h) < topK {
			heap.Push(&h, hit{i, score})
		} else if score > h[0].score {
			h[0] = hit{i, score}
			heap.Fix(&h, 0)
		}
	}
	out := make([]*schema.Document, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		top := heap.Pop(&h).(hit)
		d := knowledge.CloneDocument(s.entries[top.i].doc)
		out[i] = d.WithScore(float64(top.score))
	}
	return out, nil
}

func dot(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(a) &^ 3
	for i := 0; i < n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for i := n; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}
