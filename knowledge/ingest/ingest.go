// Package ingest brings a vector store in line with a set of chunks: only added or changed
// chunks (by content hash) are embedded and written, chunks that disappeared from the sources
// this run owns are deleted, and a change of embedding space re-embeds everything.
package ingest

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cloudwego/eino/components/indexer"
	"github.com/cloudwego/eino/schema"

	"k8s-manage/knowledge"
)

// Target is the store written to.
type Target interface {
	indexer.Indexer
	Delete(ctx context.Context, ids []string) error
	Manifest(ctx context.Context) (map[string]knowledge.ManifestEntry, error)
	// All returns every stored chunk: after a change of embedding space, chunks this run does
	// not own (other tenants' runbooks) are re-embedded from their stored content.
	All(ctx context.Context) ([]*schema.Document, error)
}

// Options configure Run.
type Options struct {
	// Scope says which stored sources this run owns: stored chunks of these sources that are not
	// in the run's chunks are deleted. Nil owns the sources of the given chunks only.
	Scope func(source string) bool
	// TargetName and Fingerprint identify the embedding space of the target's vectors; when the
	// stored fingerprint differs, every chunk is re-embedded. Meta stores it.
	TargetName  string
	Fingerprint string
	Meta        *knowledge.Meta
	// BatchSize is how many chunks are embedded per write (default 64).
	BatchSize int
	// Progress receives a progress bar; nil is silent.
	Progress io.Writer
}

// Counts are per-source results.
type Counts struct{ Added, Updated, Unchanged, Deleted int }

// Summary is what a run did.
type Summary struct {
	Counts
	Sources    map[string]*Counts
	Reembedded bool
	Elapsed    time.Duration
}

// Changed is how many chunks were written or deleted.
func (s Summary) Changed() int { return s.Added + s.Updated + s.Deleted }

// Run ingests chunks into t.
func Run(ctx context.Context, chunks []knowledge.Chunk, t Target, opts Options) (Summary, error) {
	start := time.Now()
	if opts.BatchSize <= 0 {
		opts.BatchSize = 64
	}
	sum := Summary{Sources: map[string]*Counts{}}
	src := func(s string) *Counts {
		if sum.Sources[s] == nil {
			sum.Sources[s] = &Counts{}
		}
		return sum.Sources[s]
	}
	ids := map[string]bool{}
	own := map[string]bool{}
	for _, c := range chunks {
		if ids[c.ID] {
			return sum, fmt.Errorf("ingest: chunk id %q appears twice (source %s)", c.ID, c.Source)
		}
		ids[c.ID] = true
		own[c.Source] = true
	}
	scope := opts.Scope
	if scope == nil {
		scope = func(s string) bool { return own[s] }
	}

	fpKey := "fingerprint/" + opts.TargetName
	if opts.Meta != nil && opts.Fingerprint != "" {
		stored, err := opts.Meta.Get(ctx, fpKey)
		if err != nil {
			return sum, err
		}
		sum.Reembedded = stored != nil && string(stored) != opts.Fingerprint
	}
	manifest, err := t.Manifest(ctx)
	if err != nil {
		return sum, fmt.Errorf("ingest: read manifest: %w", err)
	}
	var write []*schema.Document
	for _, c := range chunks {
		old, exists := manifest[c.ID]
		switch {
		case !exists:
			sum.Added++
			src(c.Source).Added++
		case old.Hash != c.Hash() || sum.Reembedded:
			sum.Updated++
			src(c.Source).Updated++
		default:
			sum.Unchanged++
			src(c.Source).Unchanged++
			continue
		}
		write = append(write, c.Document())
	}
	var remove []string
	keep := map[string]bool{} // stored chunks outside this run to re-embed
	for _, id := range slices.Sorted(maps.Keys(manifest)) {
		e := manifest[id]
		switch {
		case ids[id]:
		case scope(e.Source):
			remove = append(remove, id)
			sum.Deleted++
			src(e.Source).Deleted++
		case sum.Reembedded:
			keep[id] = true
		}
	}
	if len(keep) > 0 {
		stored, err := t.All(ctx)
		if err != nil {
			return sum, fmt.Errorf("ingest: read chunks to re-embed: %w", err)
		}
		for _, d := range stored {
			if keep[d.ID] {
				write = append(write, d)
				sum.Updated++
				src(knowledge.FromDocument(d).Source).Updated++
			}
		}
	}
	bar := newBar(opts.Progress, len(write))
	for i := 0; i < len(write); i += opts.BatchSize {
		batch := write[i:min(i+opts.BatchSize, len(write))]
		if _, err := t.Store(ctx, batch); err != nil {
			return sum, fmt.Errorf("ingest: store chunks %d-%d: %w", i, i+len(batch), err)
		}
		bar.add(len(batch))
	}
	bar.done()
	if err := t.Delete(ctx, remove); err != nil {
		return sum, fmt.Errorf("ingest: delete removed chunks: %w", err)
	}
	if opts.Meta != nil && opts.Fingerprint != "" {
		if err := opts.Meta.Set(ctx, opts.Meta.DB, fpKey, []byte(opts.Fingerprint)); err != nil {
			return sum, err
		}
	}
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// Table renders the summary as a table, one row per source and a total.
func (s Summary) Table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "source\tadded\tupdated\tunchanged\tdeleted\t")
	for _, name := range slices.Sorted(maps.Keys(s.Sources)) {
		c := s.Sources[name]
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t\n", name, c.Added, c.Updated, c.Unchanged, c.Deleted)
	}
	fmt.Fprintf(w, "total\t%d\t%d\t%d\t%d\t\n", s.Added, s.Updated, s.Unchanged, s.Deleted)
	w.Flush()
	note := ""
	if s.Reembedded {
		note = " (embedding space changed: everything re-embedded)"
	}
	fmt.Fprintf(&b, "%d changed in %s%s\n", s.Changed(), s.Elapsed.Round(time.Millisecond), note)
	return b.String()
}

type bar struct {
	w          io.Writer
	total, cur int
	start      time.Time
}

func newBar(w io.Writer, total int) *bar { return &bar{w: w, total: total, start: time.Now()} }

func (b *bar) add(n int) {
	b.cur += n
	if b.w == nil || b.total == 0 {
		return
	}
	const width = 30
	filled := width * b.cur / b.total
	rate := float64(b.cur) / max(time.Since(b.start).Seconds(), 1e-9)
	fmt.Fprintf(b.w, "\rembedding [%s%s] %d/%d chunks  %.0f/s", strings.Repeat("#", filled), strings.Repeat(".", width-filled), b.cur, b.total, rate)
}

func (b *bar) done() {
	if b.w != nil && b.total > 0 {
		fmt.Fprintln(b.w)
	}
}
