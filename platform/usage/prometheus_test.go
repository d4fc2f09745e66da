package usage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s-manage/hack/sandbox"
	"k8s-manage/hack/sandbox/promtest"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/billing"
	"k8s-manage/platform/metrics"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
	"k8s-manage/platform/usage"
)

// TestRightsizeFromPrometheus: with Prometheus configured, right-sizing reads the app's usage
// against its requests from it (cAdvisor's CPU and memory, kube-state-metrics' requests), with
// no metering history at all: requests 500m and 512Mi, usage 50m and 100Mi → about 60m and
// 115Mi. When Prometheus does not answer it falls back to the meter, which has nothing yet.
func TestRightsizeFromPrometheus(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev := platformtest.Email("dev")
	name := w.Tenant(t, "promsize", []tenant.Member{{Email: dev, Role: tenant.Developer}})
	ns := tenant.Namespace(name, "dev")
	target := apps.Target{As: tenant.Identity(dev), Namespace: ns}
	appsSvc := apps.NewService(w.Kube)
	if _, err := appsSvc.Create(ctx, target, apps.Spec{Name: "ledger", Image: "nginx", Replicas: 2,
		Resources:      apps.Resources{CPURequest: "500m", MemoryRequest: "512Mi", CPULimit: "1", MemoryLimit: "1Gi"},
		PodAnnotations: map[string]string{sandbox.UsageCPUAnnotation: "50m", sandbox.UsageMemoryAnnotation: "100Mi"}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	prom := promtest.Start(t, w.Env)
	prom.WaitFor(t, fmt.Sprintf(`count(count_over_time(kube_pod_container_resource_requests{namespace=%q,resource="cpu"}[20s]) >= 10)`, ns), 2*time.Minute,
		func(s []promtest.Sample) bool { return len(s) == 1 && s[0].Value == 2 })
	mc, err := metrics.New(metrics.Options{URL: prom.URL, ScrapeInterval: promtest.ScrapeInterval})
	if err != nil {
		t.Fatal(err)
	}
	bills := billing.NewBills(w.Store, billing.Prices{})
	sizer := usage.NewSizer(usage.NewService(w.Kube), appsSvc, usage.PrometheusHistory{Metrics: mc, Fallback: bills},
		usage.SizerOptions{Window: 15 * time.Second})
	sug, err := sizer.Suggest(ctx, usage.Where{Target: target, Tenant: name, Env: "dev"}, "ledger")
	if err != nil {
		t.Fatal(err)
	}
	if sug.CPU.SuggestedRequest != "60m" || !strings.HasPrefix(sug.Memory.SuggestedRequest, "11") || sug.Samples < 6 {
		t.Fatalf("suggestion from Prometheus: %s (cpu %+v memory %+v)", sug.Summary, sug.CPU, sug.Memory)
	}
	// A Prometheus that does not answer: the meter's history is read instead, which has nothing yet.
	down, err := metrics.New(metrics.Options{URL: "http://127.0.0.1:1", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fallback := usage.NewSizer(usage.NewService(w.Kube), appsSvc, usage.PrometheusHistory{Metrics: down, Fallback: bills},
		usage.SizerOptions{Window: 15 * time.Second})
	if _, err := fallback.Suggest(ctx, usage.Where{Target: target, Tenant: name, Env: "dev"}, "ledger"); err == nil ||
		!strings.Contains(err.Error(), "not enough usage history") {
		t.Fatalf("with Prometheus down: %v, want the meter's answer", err)
	}
}
