package hashembed

import (
	"context"
	"math"
	"testing"
)

func cos(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestSimilarityOrdersMeaning(t *testing.T) {
	corpus := []string{
		"Pod 一直 CrashLoopBackOff：容器启动后立刻退出，查看上一个容器的日志和退出码",
		"OOMKilled 退出码 137：容器内存超过 limits，调大 memory limit 或排查内存泄漏",
		"如何扩容：scale_app 把副本数调到目标值，需要审批",
		"证书过期：检查 TLS Secret 和 cert-manager 的续期",
		"账单：按 CPU 核时、内存 GiB 时计费",
	}
	idf := Fit(corpus)
	e, err := New(Options{Dim: 256, IDF: idf})
	if err != nil {
		t.Fatal(err)
	}
	vs := make([][]float32, len(corpus))
	for i, c := range corpus {
		vs[i] = e.Embed(c)
	}
	tests := []struct {
		q    string
		want int
	}{
		{"my pod keeps restarting, crash loop", 0},
		{"container killed exit 137 out of memory", 1},
		{"scale nginx to 5 replicas", 2},
		{"how to renew an expired certificate", 3},
		{"how much did we spend this month cost", 4},
	}
	for _, tc := range tests {
		q := e.Embed(tc.q)
		best, bestS := -1, -2.0
		for i, v := range vs {
			if s := cos(q, v); s > bestS {
				best, bestS = i, s
			}
		}
		if best != tc.want {
			t.Errorf("%q: nearest = %d (%q), want %d", tc.q, best, corpus[best], tc.want)
		}
	}
	// Normalised, deterministic.
	v := e.Embed(corpus[0])
	if n := cos(v, v); math.Abs(n-1) > 1e-5 {
		t.Errorf("norm^2 = %f", n)
	}
	f, _ := e.EmbedStrings(context.Background(), []string{corpus[0]})
	if math.Abs(f[0][3]-float64(v[3])) > 1e-9 {
		t.Error("EmbedStrings differs from Embed")
	}
}

func TestIDFRoundTrip(t *testing.T) {
	idf := Fit([]string{"a b c", "扩容 副本", "b c d"})
	data, _ := idf.MarshalBinary()
	var back IDF
	if err := back.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if back.N != idf.N {
		t.Fatal("N differs")
	}
	for i := range idf.DF {
		if idf.DF[i] != back.DF[i] {
			t.Fatalf("bucket %d differs", i)
		}
	}
	e1, _ := New(Options{IDF: idf})
	e2, _ := New(Options{IDF: &back})
	if e1.Fingerprint() != e2.Fingerprint() {
		t.Error("fingerprint differs after round trip")
	}
	if err := back.UnmarshalBinary([]byte{0xff}); err == nil {
		t.Error("corrupt table accepted")
	}
}
