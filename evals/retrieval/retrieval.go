// Package retrieval evaluates knowledge retrieval on a labelled question set: recall@1,
// recall@5 and MRR per retrieval method.
package retrieval

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/cloudwego/eino/components/retriever"
	"github.com/cloudwego/eino/schema"

	"k8s-manage/evals/dataset"
)

// Case is a retrieval case of an eval dataset (kind "retrieval").
type Case = dataset.Case

// Load reads the retrieval cases of a dataset file or folder (other kinds are skipped).
func Load(path string) ([]Case, error) {
	cs, err := dataset.Load(path)
	if err != nil {
		return nil, err
	}
	return dataset.Filter(cs, []string{dataset.Retrieval}), nil
}

// Metrics are the scores of one method over a case set.
type Metrics struct {
	Method    string
	Cases     int
	RecallAt1 float64
	RecallAt5 float64
	MRR       float64
	Misses    []string // case ids with no relevant chunk in the top 5
}

// rank is the 1-based position of the first relevant document, 0 when none is.
func rank(c Case, docs []*schema.Document) int {
	for i, d := range docs {
		for _, id := range c.Expect.RetrievedIDsAny {
			if d.ID == id {
				return i + 1
			}
		}
		text := strings.ToLower(d.Content + " " + fmt.Sprint(d.MetaData["title"]))
		for _, kw := range c.Expect.RetrievedKeywordsAny {
			if strings.Contains(text, strings.ToLower(kw)) {
				return i + 1
			}
		}
	}
	return 0
}

// Evaluate runs every case against r (top 5) and scores it.
func Evaluate(ctx context.Context, method string, r retriever.Retriever, cases []Case, opts ...retriever.Option) (Metrics, error) {
	m := Metrics{Method: method, Cases: len(cases)}
	for _, c := range cases {
		docs, err := r.Retrieve(ctx, c.Input, append([]retriever.Option{retriever.WithTopK(5)}, opts...)...)
		if err != nil {
			return m, fmt.Errorf("case %s: %w", c.ID, err)
		}
		switch k := rank(c, docs); {
		case k == 0:
			m.Misses = append(m.Misses, c.ID)
		default:
			if k == 1 {
				m.RecallAt1++
			}
			m.RecallAt5++
			m.MRR += 1 / float64(k)
		}
	}
	if n := float64(len(cases)); n > 0 {
		m.RecallAt1, m.RecallAt5, m.MRR = m.RecallAt1/n, m.RecallAt5/n, m.MRR/n
	}
	return m, nil
}

// Table renders metrics side by side.
func Table(ms []Metrics) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "method\tcases\trecall@1\trecall@5\tMRR")
	for _, m := range ms {
		fmt.Fprintf(w, "%s\t%d\t%.3f\t%.3f\t%.3f\n", m.Method, m.Cases, m.RecallAt1, m.RecallAt5, m.MRR)
	}
	w.Flush()
	return b.String()
}
