// Package lexical is an in-memory BM25 index over chunks, with the Chinese/English tokenizer
// and thesaurus concepts of knowledge/text.
package lexical

import (
	"math"
	"sort"

	"github.com/cloudwego/eino/schema"

	"k8s-manage/knowledge"
	"k8s-manage/knowledge/text"
)

// BM25 parameters.
const (
	k1 = 1.2
	b  = 0.75
)

type posting struct {
	doc int
	tf  float32
}

// Index is immutable once built; safe for concurrent searches.
type Index struct {
	docs   []*schema.Document
	tenant []string
	length []float32
	avgLen float32
	terms  map[string][]posting
}

// terms weights a text's tokens: words count 1, thesaurus concepts 1 too (so they matter about
// as much as one shared word).
func terms(s string) map[string]float32 {
	tf := map[string]float32{}
	for _, t := range text.Tokens(s) {
		tf[t]++
	}
	for _, c := range text.Concepts(s) {
		tf[c]++
	}
	return tf
}

// Build indexes documents (their title, section, tags and content).
func Build(docs []*schema.Document) *Index {
	ix := &Index{docs: docs, terms: map[string][]posting{}, tenant: make([]string, len(docs)), length: make([]float32, len(docs))}
	var total float32
	for i, d := range docs {
		c := knowledge.FromDocument(d)
		ix.tenant[i] = c.Tenant
		for t, n := range terms(c.Text()) {
			ix.terms[t] = append(ix.terms[t], posting{i, n})
			ix.length[i] += n
		}
		total += ix.length[i]
	}
	if len(docs) > 0 {
		ix.avgLen = total / float32(len(docs))
	}
	return ix
}

// Len is the number of indexed documents.
func (ix *Index) Len() int { return len(ix.docs) }

// Hit is one scored document.
type Hit struct {
	Doc   *schema.Document
	Score float64
}

// Search returns up to k documents visible to tenant, best first; only documents sharing a term score.
func (ix *Index) Search(query, tenant string, k int) []Hit {
	n := float64(len(ix.docs))
	scores := map[int]float64{}
	for t, qtf := range terms(query) {
		ps := ix.terms[t]
		if len(ps) == 0 {
			continue
		}
		idf := math.Log(1 + (n-float64(len(ps))+0.5)/(float64(len(ps))+0.5))
		for _, p := range ps {
			if !knowledge.Visible(ix.tenant[p.doc], tenant) {
				continue
			}
			tf := float64(p.tf)
			norm := tf * (k1 + 1) / (tf + k1*(1-b+b*float64(ix.length[p.doc]/ix.avgLen)))
			scores[p.doc] += idf * norm * float64(min(qtf, 2))
		}
	}
	hits := make([]Hit, 0, len(scores))
	for i, s := range scores {
		hits = append(hits, Hit{ix.docs[i], s})
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		return hits[i].Doc.ID < hits[j].Doc.ID
	})
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits
}
