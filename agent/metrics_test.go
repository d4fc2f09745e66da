package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s-manage/agent"
	"k8s-manage/hack/sandbox"
	"k8s-manage/hack/sandbox/promtest"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/autoscale"
	"k8s-manage/platform/metrics"
	"k8s-manage/platform/quota"
	"k8s-manage/platform/tenant"
	"k8s-manage/tools"
)

// TestMetricsFromChatAndTheErrorJump: a real Prometheus scrapes the sandbox and checkout (an
// HTTP app with the usual server metrics, labeled as checkout's pod in the tenant's namespace).
// "checkout p95 latency over the last 5 minutes" and "payment 用了多少 CPU 的趋势" answer from it;
// then checkout is rolled out to a new image and starts answering 5xx, and "why is checkout
// failing?" names the jump with the rollout just before it, and offers the rollback.
func TestMetricsFromChatAndTheErrorJump(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	appsSvc := apps.NewService(w.Kube)
	dev := apps.Target{As: tenant.Identity(w.dev), Namespace: w.ns}
	for _, a := range []apps.Spec{
		{Name: "checkout", Image: "registry.local/checkout:1.4.0", Replicas: 1},
		{Name: "payment", Image: "registry.local/payment:3.1.2", Replicas: 2, PodAnnotations: map[string]string{sandbox.UsageCPUAnnotation: "150m"}},
	} {
		if _, err := appsSvc.Create(ctx, dev, a, apps.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	app := promtest.StartApp(t, 20, 20*time.Millisecond)
	prom := promtest.Start(t, w.Env, promtest.Target{Job: "checkout", Addr: app.Addr,
		Labels: map[string]string{"namespace": w.ns, "pod": "checkout-5d8f7c9b6d-q8x2n"}})
	prom.WaitFor(t, fmt.Sprintf(`sum(rate(http_requests_total{namespace=%q}[4s]))`, w.ns), 90*time.Second,
		func(s []promtest.Sample) bool { return len(s) == 1 && s[0].Value > 5 })
	prom.WaitFor(t, fmt.Sprintf(`sum(rate(container_cpu_usage_seconds_total{namespace=%q,pod=~"payment-.*"}[4s]))`, w.ns), 90*time.Second,
		func(s []promtest.Sample) bool { return len(s) == 1 && s[0].Value > 0.2 })
	time.Sleep(10 * time.Second) // a few points of history for each series

	mc, err := metrics.New(metrics.Options{URL: prom.URL, ScrapeInterval: promtest.ScrapeInterval, TrendRange: 80 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	o := w.opts
	o.Tools = tools.NewRegistry(tools.Deps{Kube: w.Kube, Apps: appsSvc, Autoscale: autoscale.NewService(w.Kube), Quota: quota.NewService(w.Kube),
		Tenants: w.Tenants, Knowledge: w.opts.Knowledge, Metrics: mc, WaitReady: 30 * time.Second})
	svc, err := agent.New(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q, metric, want string
		last, tol       float64 // the series' last value, within tol of it
	}{
		// 20ms requests: in the (10ms, 25ms] bucket, or (25ms, 50ms] when the machine is loaded.
		{"checkout p95 latency over the last 5 minutes", "latency_p95", "p95 latency of checkout over 5m: now", 0.03, 0.67},
		{"payment cpu trend for the past 2 minutes", "cpu", "CPU of payment over 2m: now", 0.3, 0.2}, // 2 pods × 150m
		{"checkout 最近 2 分钟的请求量", "request_rate", "checkout 的请求量（过去 2m）：当前", 20, 0.3},
	} {
		t.Run(tc.q, func(t *testing.T) {
			es := w.send(t, svc, w.viewer, tc.q)
			e := find(es, agent.EventToolStarted)
			if e == nil || e.Tool != "query_metrics" || !strings.Contains(e.Args, `"metric":"`+tc.metric+`"`) {
				t.Fatalf("want query_metrics %s, got %+v", tc.metric, e)
			}
			done := find(es, agent.EventToolFinished)
			if answer := final(t, es); !strings.Contains(answer, tc.want) {
				t.Fatalf("answer %q lacks %q (result %+v)", answer, tc.want, done)
			}
			var s metrics.Series
			if err := json.Unmarshal([]byte(done.Result), &s); err != nil {
				t.Fatal(err)
			}
			if lo, hi := tc.last*(1-tc.tol), tc.last*(1+tc.tol); s.Last < lo-1e-9 || s.Last > hi+1e-9 {
				t.Errorf("%s now %g, want %g ±%.0f%% (%s)", tc.metric, s.Last, tc.last, tc.tol*100, s.Summary)
			}
		})
	}

	// Forty seconds of clean traffic, a rollout, and then one request in three fails.
	time.Sleep(40 * time.Second)
	if _, err := appsSvc.SetImage(ctx, dev, "checkout", "registry.local/checkout:1.5.0", apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	app.SetErrorPercent(33)
	time.Sleep(30 * time.Second)
	es := w.send(t, svc, w.viewer, "why is checkout failing?")
	if e := find(es, agent.EventToolStarted); e == nil || e.Tool != "diagnose" {
		t.Fatalf("no diagnosis: %+v", es)
	}
	answer := final(t, es)
	for _, want := range []string{"5xx ratio jumped", "revision 2", "rollback"} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer lacks %q:\n%s", want, answer)
		}
	}
}
