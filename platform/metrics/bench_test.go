package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s-manage/hack/sandbox"
	"k8s-manage/hack/sandbox/promtest"
	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/platform/metrics"
)

// BenchmarkQueryMetrics: one named query of an app (10 pods), from the request to the summarized
// series, against the real Prometheus scraping the sandbox; a 1h range in 60 points.
func BenchmarkQueryMetrics(b *testing.B) {
	env := sandboxtest.Start(b)
	ns := env.Namespace(b, "metrics-bench", nil)
	deploy(b, env, ns, "payment", 10, map[string]string{sandbox.UsageCPUAnnotation: "250m", sandbox.UsageMemoryAnnotation: "300Mi"})
	prom := promtest.Start(b, env)
	prom.WaitFor(b, fmt.Sprintf(`count(rate(container_cpu_usage_seconds_total{namespace=%q}[4s]) > 0)`, ns), 90*time.Second,
		func(s []promtest.Sample) bool { return len(s) == 1 && s[0].Value >= 10 })
	c, err := metrics.New(metrics.Options{URL: prom.URL, ScrapeInterval: promtest.ScrapeInterval})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, q := range []string{"cpu", "memory"} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				s, err := c.Query(ctx, metrics.Request{Namespace: ns, App: "payment", Query: q, Range: time.Hour})
				if err != nil || len(s.Points) == 0 {
					b.Fatalf("%v %+v", err, s)
				}
			}
		})
	}
}
