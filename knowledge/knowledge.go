// Package knowledge turns the team's documents into retrievable chunks: loaders and a
// Markdown-aware splitter, embedders (a built-in one that needs no network or model files, and
// hosted ones through eino-ext), vector stores (embedded by default, Milvus in production) and
// hybrid retrieval (BM25 + dense, fused by reciprocal rank) with tenant-aware visibility.
// It knows nothing of chat or Kubernetes.
package knowledge

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"strings"

	"github.com/cloudwego/eino/schema"
)

// Metadata keys of a chunk's schema.Document.
const (
	MetaTitle   = "title"
	MetaSection = "section" // section path, " > " separated
	MetaSource  = "source"  // source file, relative to the docs root
	MetaTags    = "tags"    // comma-separated
	MetaTenant  = "tenant"  // "" for shared documents, else the tenant that owns it
	MetaHash    = "hash"    // content hash: what re-ingesting compares
	MetaKind    = "kind"    // manual, faq, runbook
)

// Chunk is one retrievable piece of a document.
type Chunk struct {
	// ID is stable across edits (from a heading anchor or a FAQ id), so evaluation labels and
	// citations survive; Hash changes when the content does.
	ID      string
	Title   string
	Section []string
	Content string
	Tags    []string
	Source  string
	Kind    string
	// Tenant is empty for documents every tenant may see; otherwise only that tenant sees it.
	Tenant string
}

// Hash is the content hash of everything retrieval sees of the chunk.
func (c Chunk) Hash() string {
	h := sha256.New()
	for _, s := range []string{c.Title, strings.Join(c.Section, "\x1f"), c.Content, strings.Join(c.Tags, ","), c.Source, c.Kind, c.Tenant} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Text is what embedders and the lexical index see: title, section path, tags and content.
func (c Chunk) Text() string {
	var b strings.Builder
	b.WriteString(c.Title)
	if len(c.Section) > 0 {
		b.WriteString("\n" + strings.Join(c.Section, " > "))
	}
	if len(c.Tags) > 0 {
		b.WriteString("\n" + strings.Join(c.Tags, " "))
	}
	b.WriteString("\n" + c.Content)
	return b.String()
}

// Document converts the chunk to eino's document shape.
func (c Chunk) Document() *schema.Document {
	return &schema.Document{ID: c.ID, Content: c.Content, MetaData: map[string]any{
		MetaTitle: c.Title, MetaSection: strings.Join(c.Section, " > "), MetaSource: c.Source,
		MetaTags: strings.Join(c.Tags, ","), MetaTenant: c.Tenant, MetaHash: c.Hash(), MetaKind: c.Kind,
	}}
}

// FromDocument converts back; unknown metadata is ignored.
func FromDocument(d *schema.Document) Chunk {
	str := func(k string) string { s, _ := d.MetaData[k].(string); return s }
	c := Chunk{ID: d.ID, Content: d.Content, Title: str(MetaTitle), Source: str(MetaSource), Tenant: str(MetaTenant), Kind: str(MetaKind)}
	if s := str(MetaSection); s != "" {
		c.Section = strings.Split(s, " > ")
	}
	if s := str(MetaTags); s != "" {
		c.Tags = strings.Split(s, ",")
	}
	return c
}

// CloneDocument copies a document and its metadata map, so scoring a cached document
// (WithScore writes into MetaData) never changes the cache.
func CloneDocument(d *schema.Document) *schema.Document {
	out := *d
	out.MetaData = maps.Clone(d.MetaData)
	return &out
}

// Visible says whether a chunk owned by owner may be shown to tenant.
func Visible(owner, tenant string) bool { return owner == "" || owner == tenant }
