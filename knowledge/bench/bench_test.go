// Package bench measures the knowledge pipeline at 1k, 10k and 100k synthetic chunks: ingest
// throughput (chunks/s) and retrieval latency percentiles for the embedded store (dense and
// hybrid), and the same at 1k for Milvus. Run: make bench (or go test -bench . ./knowledge/bench).
package bench

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/eino/components/retriever"

	"k8s-manage/evals/retrieval"
	"k8s-manage/internal/store/storetest"
	"k8s-manage/knowledge"
	"k8s-manage/knowledge/corpus"
	"k8s-manage/knowledge/embedded"
	"k8s-manage/knowledge/hashembed"
	"k8s-manage/knowledge/ingest"
	"k8s-manage/knowledge/milvus"
	"k8s-manage/knowledge/retrieve"
)

const root = "../.."

// synthetic makes n chunks by recombining paragraphs of the real corpus with app names and numbers.
func synthetic(b *testing.B, n int) []knowledge.Chunk {
	b.Helper()
	base, err := corpus.Load(root)
	if err != nil {
		b.Fatal(err)
	}
	var paras []string
	for _, c := range base {
		for _, p := range strings.Split(c.Content, "\n\n") {
			if len(p) > 40 {
				paras = append(paras, p)
			}
		}
	}
	apps := []string{"nginx", "web-api", "order-service", "payment", "checkout", "user-center", "search-api"}
	r := rand.New(rand.NewSource(int64(n)))
	out := make([]knowledge.Chunk, n)
	for i := range out {
		var body strings.Builder
		for range 3 {
			body.WriteString(paras[r.Intn(len(paras))] + "\n\n")
		}
		fmt.Fprintf(&body, "适用于 %s，编号 %d。", apps[r.Intn(len(apps))], r.Intn(100000))
		out[i] = knowledge.Chunk{ID: fmt.Sprintf("syn/%06d", i), Title: base[r.Intn(len(base))].Title,
			Content: body.String(), Source: fmt.Sprintf("synthetic/%d.md", i/100), Kind: "manual"}
	}
	return out
}

func queries(b *testing.B) []string {
	cases, err := retrieval.Load(filepath.Join(root, "evals/datasets/retrieval.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	out := make([]string, len(cases))
	for i, c := range cases {
		out[i] = c.Input
	}
	return out
}

func embedder(b *testing.B, chunks []knowledge.Chunk) *hashembed.Embedder {
	texts := make([]string, len(chunks))
	for i, c := range chunks {
		texts[i] = c.Text()
	}
	e, err := hashembed.New(hashembed.Options{IDF: hashembed.Fit(texts)})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

var sizes = []int{1_000, 10_000, 100_000}

// BenchmarkIngest reports chunks/s through the whole pipeline (embed + write) into the embedded store.
func BenchmarkIngest(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("embedded/%dk", n/1000), func(b *testing.B) {
			chunks := synthetic(b, n)
			emb := embedder(b, chunks)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				st := embedded.New(storetest.Open(b, storetest.SQLite), emb)
				b.StartTimer()
				if _, err := ingest.Run(context.Background(), chunks, st, ingest.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "chunks/s")
		})
	}
}

// latency runs the queries round-robin and reports p50/p99 in milliseconds.
func latency(b *testing.B, r retriever.Retriever, qs []string) {
	ctx := context.Background()
	// Warm caches (the embedded store's vectors, the BM25 index).
	if _, err := r.Retrieve(ctx, qs[0], retriever.WithTopK(5)); err != nil {
		b.Fatal(err)
	}
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if _, err := r.Retrieve(ctx, qs[i%len(qs)], retriever.WithTopK(5)); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(durs)
	pct := func(p float64) float64 { return float64(durs[int(p*float64(len(durs)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

func heapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// BenchmarkRetrieve reports latency of dense (exact cosine) and hybrid (BM25 + dense + RRF)
// retrieval over the embedded store, and the heap in use with the data loaded.
func BenchmarkRetrieve(b *testing.B) {
	qs := queries(b)
	for _, n := range sizes {
		chunks := synthetic(b, n)
		emb := embedder(b, chunks)
		st := embedded.New(storetest.Open(b, storetest.SQLite), emb)
		if _, err := ingest.Run(context.Background(), chunks, st, ingest.Options{}); err != nil {
			b.Fatal(err)
		}
		for _, mode := range []retrieve.Mode{retrieve.DenseOnly, retrieve.Hybrid} {
			b.Run(fmt.Sprintf("embedded/%s/%dk", mode, n/1000), func(b *testing.B) {
				latency(b, retrieve.New(st, retrieve.Options{Mode: mode}), qs)
				b.ReportMetric(heapMB(), "heap-MB")
			})
		}
	}
}

// BenchmarkMilvus measures the Milvus store at 1k chunks against the Milvus in K8SM_TEST_MILVUS_ADDR.
func BenchmarkMilvus(b *testing.B) {
	addr := os.Getenv("K8SM_TEST_MILVUS_ADDR")
	if addr == "" {
		b.Fatal("K8SM_TEST_MILVUS_ADDR is not set: run `make bench` (it starts milvus-lite)")
	}
	ctx := context.Background()
	chunks := synthetic(b, 1_000)
	emb := embedder(b, chunks)
	st, err := milvus.New(ctx, milvus.Options{Address: addr, Collection: fmt.Sprintf("bench_%d", time.Now().UnixNano()), Dim: emb.Dim()}, emb)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Drop(ctx) //nolint:errcheck
	start := time.Now()
	if _, err := ingest.Run(ctx, chunks, st, ingest.Options{}); err != nil {
		b.Fatal(err)
	}
	rate := float64(len(chunks)) / time.Since(start).Seconds()
	qs := queries(b)
	b.Run("ingest/1k", func(b *testing.B) { b.ReportMetric(rate, "chunks/s") })
	for _, mode := range []retrieve.Mode{retrieve.DenseOnly, retrieve.Hybrid} {
		b.Run(fmt.Sprintf("%s/1k", mode), func(b *testing.B) {
			latency(b, retrieve.New(st, retrieve.Options{Mode: mode}), qs)
		})
	}
}
