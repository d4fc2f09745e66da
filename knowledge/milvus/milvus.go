// Package milvus is the production vector store on Milvus (github.com/milvus-io/milvus-sdk-go/v2).
// One collection holds id (primary key), content, title, section, tags, source, kind, tenant,
// hash and the dense vector; search filters by tenant in the query expression. It implements
// eino's indexer.Indexer and retriever.Retriever and passes knowledge/vectortest.
package milvus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cloudwego/eino/components/embedding"
	"github.com/cloudwego/eino/components/indexer"
	"github.com/cloudwego/eino/components/retriever"
	"github.com/cloudwego/eino/schema"
	"github.com/milvus-io/milvus-sdk-go/v2/client"
	"github.com/milvus-io/milvus-sdk-go/v2/entity"

	"k8s-manage/knowledge"
)

// Options configure the store.
type Options struct {
	// Address is host:port of Milvus (or milvus-lite's gRPC server).
	Address string
	// Username and Password, when Milvus has authentication on. Never logged.
	Username, Password string
	// DBName selects a database (default "default").
	DBName string
	// Collection name (default "k8s_manage_knowledge").
	Collection string
	// Dim is the vector length; an existing collection must match.
	Dim int
	// Index is FLAT (default, exact), IVF_FLAT or HNSW.
	Index string
}

// Store is a Milvus-backed vector store.
type Store struct {
	c    client.Client
	emb  embedding.Embedder
	opts Options
}

var (
	_ indexer.Indexer     = (*Store)(nil)
	_ retriever.Retriever = (*Store)(nil)
)

const maxQuery = 16384 // Milvus caps offset+limit of a query

// fields of the collection.
const (
	fID, fContent, fTitle, fSection, fTags, fSource, fKind, fTenant, fHash, fVector = "id", "content", "title", "section", "tags", "source", "kind", "tenant", "hash", "vector"
)

var scalarFields = []string{fContent, fTitle, fSection, fTags, fSource, fKind, fTenant, fHash}

// New connects, creates the collection and index when missing, and loads the collection.
func New(ctx context.Context, opts Options, emb embedding.Embedder) (*Store, error) {
	if opts.Address == "" {
		return nil, errors.New("milvus: address is required")
	}
	if opts.Dim <= 0 {
		return nil, errors.New("milvus: dim is required")
	}
	if opts.Collection == "" {
		opts.Collection = "k8s_manage_knowledge"
	}
	if opts.Index == "" {
		opts.Index = "FLAT"
	}
	c, err := client.NewClient(ctx, client.Config{Address: opts.Address, Username: opts.Username, Password: opts.Password, DBName: opts.DBName})
	if err != nil {
		return nil, fmt.Errorf("milvus: connect to %s: %w", opts.Address, redact(err, opts.Password))
	}
	s := &Store{c: c, emb: emb, opts: opts}
	if err := s.ensure(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

// redact removes a password from an error text.
func redact(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[redacted]"))
}

// Drop deletes the collection and everything in it.
func (s *Store) Drop(ctx context.Context) error {
	if err := s.c.DropCollection(ctx, s.opts.Collection); err != nil {
		return fmt.Errorf("milvus: drop %s: %w", s.opts.Collection, err)
	}
	return nil
}

// Close closes the connection.
func (s *Store) Close() error { return s.c.Close() }

func (s *Store) ensure(ctx context.Context) error {
	name := s.opts.Collection
	has, err := s.c.HasCollection(ctx, name)
	if err != nil {
		return fmt.Errorf("milvus: has collection %s: %w", name, err)
	}
	if has {
		coll, err := s.c.DescribeCollection(ctx, name)
		if err != nil {
			return fmt.Errorf("milvus: describe %s: %w", name, err)
		}
		for _, f := range coll.Schema.Fields {
			if f.Name == fVector {
				if dim := f.TypeParams[entity.TypeParamDim]; dim != fmt.Sprint(s.opts.Dim) {
					return fmt.Errorf("milvus: collection %s has vectors of dim %s, the embedder makes %d: re-ingest into a new collection", name, dim, s.opts.Dim)
				}
			}
		}
	} else {
		varchar := func(n string, max int) *entity.Field {
			return entity.NewField().WithName(n).WithDataType(entity.FieldTypeVarChar).WithMaxLength(int64(max))
		}
		sch := entity.NewSchema().WithName(name).WithDescription("k8s-manage knowledge chunks").
			WithField(varchar(fID, 512).WithIsPrimaryKey(true)).
			WithField(varchar(fContent, 65535)).WithField(varchar(fTitle, 1024)).WithField(varchar(fSection, 2048)).
			WithField(varchar(fTags, 1024)).WithField(varchar(fSource, 1024)).WithField(varchar(fKind, 64)).
			WithField(varchar(fTenant, 128)).WithField(varchar(fHash, 64)).
			WithField(entity.NewField().WithName(fVector).WithDataType(entity.FieldTypeFloatVector).WithDim(int64(s.opts.Dim)))
		if err := s.c.CreateCollection(ctx, sch, 1); err != nil {
			return fmt.Errorf("milvus: create collection %s: %w", name, err)
		}
		idx, err := s.index()
		if err != nil {
			return err
		}
		if err := s.c.CreateIndex(ctx, name, fVector, idx, false); err != nil {
			return fmt.Errorf("milvus: create index on %s: %w", name, err)
		}
	}
	if err := s.c.LoadCollection(ctx, name, false); err != nil {
		return fmt.Errorf("milvus: load %s: %w", name, err)
	}
	return nil
}

func (s *Store) index() (entity.Index, error) {
	switch strings.ToUpper(s.opts.Index) {
	case "FLAT":
		return entity.NewIndexFlat(entity.IP)
	case "IVF_FLAT":
		return entity.NewIndexIvfFlat(entity.IP, 128)
	case "HNSW":
		return entity.NewIndexHNSW(entity.IP, 16, 200)
	default:
		return nil, fmt.Errorf("milvus: index must be FLAT, IVF_FLAT or HNSW, got %q", s.opts.Index)
	}
}

func (s *Store) searchParam() (entity.SearchParam, error) {
	switch strings.ToUpper(s.opts.Index) {
	case "IVF_FLAT":
		return entity.NewIndexIvfFlatSearchParam(16)
	case "HNSW":
		return entity.NewIndexHNSWSearchParam(64)
	default:
		return entity.NewIndexFlatSearchParam()
	}
}

func toF32(v []float64) []float32 {
	out := make([]float32, len(v))
	var n float64
	for _, x := range v {
		n += x * x
	}
	scale := 1.0
	if n > 0 {
		scale = 1 / math.Sqrt(n)
	}
	for i, x := range v {
		out[i] = float32(x * scale)
	}
	return out
}

// Store embeds and upserts documents.
func (s *Store) Store(ctx context.Context, docs []*schema.Document, opts ...indexer.Option) ([]string, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	vecs, err := knowledge.EmbedDocuments(ctx, s.emb, docs, opts)
	if err != nil {
		return nil, fmt.Errorf("milvus: %w", err)
	}
	cols := map[string][]string{}
	var vectors [][]float32
	ids := make([]string, len(docs))
	for i, d := range docs {
		c := knowledge.FromDocument(d)
		ids[i] = d.ID
		row := map[string]string{fID: d.ID, fContent: c.Content, fTitle: c.Title, fSection: strings.Join(c.Section, " > "),
			fTags: strings.Join(c.Tags, ","), fSource: c.Source, fKind: c.Kind, fTenant: c.Tenant, fHash: c.Hash()}
		for k, v := range row {
			cols[k] = append(cols[k], v)
		}
		vectors = append(vectors, toF32(vecs[i]))
	}
	columns := []entity.Column{entity.NewColumnVarChar(fID, cols[fID])}
	for _, f := range scalarFields {
		columns = append(columns, entity.NewColumnVarChar(f, cols[f]))
	}
	columns = append(columns, entity.NewColumnFloatVector(fVector, s.opts.Dim, vectors))
	if _, err := s.c.Upsert(ctx, s.opts.Collection, "", columns...); err != nil {
		return nil, fmt.Errorf("milvus: upsert: %w", err)
	}
	return ids, nil
}

// quote makes a string literal for a Milvus boolean expression.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func inList(field string, values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = quote(v)
	}
	return field + " in [" + strings.Join(q, ", ") + "]"
}

// Delete removes chunks by id.
func (s *Store) Delete(ctx context.Context, ids []string) error {
	for i := 0; i < len(ids); i += 500 {
		batch := ids[i:min(i+500, len(ids))]
		if err := s.c.Delete(ctx, s.opts.Collection, "", inList(fID, batch)); err != nil {
			return fmt.Errorf("milvus: delete: %w", err)
		}
	}
	return nil
}

func (s *Store) query(ctx context.Context, fields []string) ([]map[string]string, error) {
	res, err := s.c.Query(ctx, s.opts.Collection, nil, fID+` != ""`, fields,
		client.WithLimit(maxQuery), client.WithSearchQueryConsistencyLevel(entity.ClStrong))
	if err != nil {
		return nil, fmt.Errorf("milvus: query: %w", err)
	}
	var rows []map[string]string
	for _, col := range res {
		vc, ok := col.(*entity.ColumnVarChar)
		if !ok {
			continue
		}
		for i, v := range vc.Data() {
			for len(rows) <= i {
				rows = append(rows, map[string]string{})
			}
			rows[i][col.Name()] = v
		}
	}
	if len(rows) >= maxQuery {
		return nil, fmt.Errorf("milvus: more than %d chunks: listing them needs a query iterator", maxQuery)
	}
	return rows, nil
}

// Manifest returns every chunk's hash and source.
func (s *Store) Manifest(ctx context.Context) (map[string]knowledge.ManifestEntry, error) {
	rows, err := s.query(ctx, []string{fID, fHash, fSource})
	if err != nil {
		return nil, err
	}
	out := make(map[string]knowledge.ManifestEntry, len(rows))
	for _, r := range rows {
		out[r[fID]] = knowledge.ManifestEntry{Hash: r[fHash], Source: r[fSource]}
	}
	return out, nil
}

// Revision is a digest of the manifest: it changes whenever a chunk is added, changed or removed.
func (s *Store) Revision(ctx context.Context) (string, error) {
	m, err := s.Manifest(ctx)
	if err != nil {
		return "", err
	}
	keys := make([]string, 0, len(m))
	for id, e := range m {
		keys = append(keys, id+"\x00"+e.Hash)
	}
	slices.Sort(keys)
	h := sha256.Sum256([]byte(strings.Join(keys, "\x01")))
	return hex.EncodeToString(h[:8]), nil
}

func docFrom(row map[string]string) *schema.Document {
	c := knowledge.Chunk{ID: row[fID], Content: row[fContent], Title: row[fTitle], Source: row[fSource], Kind: row[fKind], Tenant: row[fTenant]}
	if row[fSection] != "" {
		c.Section = strings.Split(row[fSection], " > ")
	}
	if row[fTags] != "" {
		c.Tags = strings.Split(row[fTags], ",")
	}
	return c.Document()
}

// All returns every chunk (for the lexical index).
func (s *Store) All(ctx context.Context) ([]*schema.Document, error) {
	rows, err := s.query(ctx, append([]string{fID}, scalarFields...))
	if err != nil {
		return nil, err
	}
	out := make([]*schema.Document, len(rows))
	for i, r := range rows {
		out[i] = docFrom(r)
	}
	slices.SortFunc(out, func(a, b *schema.Document) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Retrieve searches by inner product of normalised vectors (cosine) among the chunks the
// tenant may see.
func (s *Store) Retrieve(ctx context.Context, query string, opts ...retriever.Option) ([]*schema.Document, error) {
	pq, err := knowledge.PrepareQuery(ctx, s.emb, query, opts)
	if err != nil {
		return nil, fmt.Errorf("milvus: %w", err)
	}
	topK, threshold, tenant := pq.TopK, pq.Threshold, pq.Tenant
	sp, err := s.searchParam()
	if err != nil {
		return nil, err
	}
	expr := inList(fTenant, []string{""})
	if tenant != "" {
		expr = inList(fTenant, []string{"", tenant})
	}
	res, err := s.c.Search(ctx, s.opts.Collection, nil, expr, append([]string{fID}, scalarFields...),
		[]entity.Vector{entity.FloatVector(toF32(pq.Vector))}, fVector, entity.IP, topK, sp,
		client.WithSearchQueryConsistencyLevel(entity.ClStrong))
	if err != nil {
		return nil, fmt.Errorf("milvus: search: %w", err)
	}
	var out []*schema.Document
	for _, r := range res {
		for i := 0; i < r.ResultCount; i++ {
			row := map[string]string{}
			id, err := r.IDs.GetAsString(i)
			if err != nil {
				return nil, err
			}
			row[fID] = id
			for _, f := range scalarFields {
				if col := r.Fields.GetColumn(f); col != nil {
					if v, err := col.GetAsString(i); err == nil {
						row[f] = v
					}
				}
			}
			score := float64(r.Scores[i])
			if threshold != nil && score < *threshold {
				continue
			}
			out = append(out, docFrom(row).WithScore(score))
		}
	}
	return out, nil
}
