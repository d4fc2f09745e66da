package metrics_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"k8s-manage/hack/sandbox"
	"k8s-manage/hack/sandbox/promtest"
	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/platform/metrics"
	"k8s-manage/platform/platformtest"
)

// deploy runs an app whose pods report the given usage (kwok's usage annotations).
func deploy(t testing.TB, env *sandboxtest.Env, ns, app string, replicas int32, ann map[string]string) {
	t.Helper()
	labels := map[string]string{"app": app}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: ann},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: app, Image: "nginx:1.27"}}},
			},
		},
	}
	ctx := context.Background()
	if _, err := env.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, time.Minute, func() (bool, string) {
		pods, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil {
			return false, err.Error()
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == int(replicas), fmt.Sprintf("%s/%s: %d of %d pods running", ns, app, running, replicas)
	})
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol*math.Abs(want) }

// TestQueryMetricsAgainstPrometheus: a real Prometheus scrapes the sandbox's fake kubelets and a
// small HTTP app; each named query answers with the values the test staged, and only for the
// namespace asked about.
func TestQueryMetricsAgainstPrometheus(t *testing.T) {
	env := sandboxtest.Start(t)
	ns := env.Namespace(t, "metrics", nil)
	other := env.Namespace(t, "metrics-other", nil)
	deploy(t, env, ns, "payment", 2, map[string]string{sandbox.UsageCPUAnnotation: "250m", sandbox.UsageMemoryAnnotation: "300Mi",
		sandbox.UsageNetworkReceiveAnnotation: "1Mi", sandbox.UsageNetworkTransmitAnnotation: "256Ki"})
	// The same app name in another tenant's namespace uses far more: never in the answer.
	deploy(t, env, other, "payment", 1, map[string]string{sandbox.UsageCPUAnnotation: "3", sandbox.UsageMemoryAnnotation: "2Gi"})
	deploy(t, env, ns, "worker", 1, map[string]string{sandbox.FaultAnnotation: sandbox.FaultCrashLoop})

	app := promtest.StartApp(t, 20, 30*time.Millisecond)
	app.SetErrorPercent(10)
	prom := promtest.Start(t, env, promtest.Target{Job: "checkout", Addr: app.Addr,
		// What a cluster's pod relabeling gives an app's series: its namespace and pod.
		Labels: map[string]string{"namespace": ns, "pod": "checkout-7d9f8b6c5d-x2x9q"}})
	// Wait until rates have four scrapes of history.
	prom.WaitFor(t, fmt.Sprintf(`count(rate(container_cpu_usage_seconds_total{namespace=%q}[4s]) > 0)`, ns), 90*time.Second,
		func(s []promtest.Sample) bool { return len(s) == 1 && s[0].Value >= 3 })
	prom.WaitFor(t, fmt.Sprintf(`sum(rate(http_requests_total{namespace=%q}[4s]))`, ns), 60*time.Second,
		func(s []promtest.Sample) bool { return len(s) == 1 && s[0].Value > 5 })
	// kube-state-metrics has seen the crash-looping worker restart (kwok restarts it every few seconds).
	prom.WaitFor(t, fmt.Sprintf(`sum(increase(kube_pod_container_status_restarts_total{namespace=%q,pod=~"worker-.*"}[20s]))`, ns), 90*time.Second,
		func(s []promtest.Sample) bool { return len(s) == 1 && s[0].Value > 0 })
	time.Sleep(4 * time.Second)

	c, err := metrics.New(metrics.Options{URL: prom.URL, ScrapeInterval: promtest.ScrapeInterval})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		app, query string
		want, tol  float64
	}{
		{"payment", "cpu", 0.5, 0.1},                // 2 pods × 250m
		{"payment", "memory", 600 << 20, 0.01},      // 2 × 300Mi
		{"payment", "network_in", 2 << 20, 0.15},    // 2 × 1Mi/s
		{"payment", "network_out", 512 << 10, 0.15}, // 2 × 256Ki/s
		{"checkout", "request_rate", 20, 0.3},       // the load's 20 req/s
		{"checkout", "error_ratio", 0.10, 0.35},     // one in ten answers 500
		{"checkout", "latency_p95", 0.05, 0},        // 30ms requests land in the ≤50ms bucket
		{"worker", "restarts", 0, 0},                // checked below: above zero
	}
	for _, tc := range cases {
		t.Run(tc.app+"/"+tc.query, func(t *testing.T) {
			s, err := c.Query(ctx, metrics.Request{Namespace: ns, App: tc.app, Query: tc.query, Range: 30 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Points) == 0 {
				t.Fatalf("no points: %s", s.Summary)
			}
			switch tc.query {
			case "restarts":
				if s.Max <= 0 {
					t.Errorf("restarts of a crash-looping app: max %g/min, want above 0 (%s)", s.Max, s.Summary)
				}
			case "latency_p95":
				// 30ms requests: the (25ms, 50ms] bucket, or (50ms, 100ms] on a loaded machine.
				if s.Last <= 0.025 || s.Last > 0.1 {
					t.Errorf("p95 = %g, want within (25ms, 100ms] (%s)", s.Last, s.Summary)
				}
			default:
				if !near(s.Last, tc.want, tc.tol) {
					t.Errorf("%s = %g, want %g ±%.0f%% (%s)", tc.query, s.Last, tc.want, tc.tol*100, s.Summary)
				}
			}
			if s.Summary == "" || s.Trend == "" || s.Min > s.Avg || s.Avg > s.Max {
				t.Errorf("summary %q trend %q min %g avg %g max %g", s.Summary, s.Trend, s.Min, s.Avg, s.Max)
			}
		})
	}

	// The app's HTTP metrics where it exposes none: an empty series that says why.
	s, err := c.Query(ctx, metrics.Request{Namespace: ns, App: "payment", Query: "latency_p95", Range: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Points) != 0 || !strings.Contains(s.NoData, "http_request_duration_seconds") {
		t.Errorf("payment p95 without HTTP metrics: %d points, no_data %q", len(s.Points), s.NoData)
	}
	// The other namespace's payment is its own: 3 cores there, never in ns's answer above.
	s, err = c.Query(ctx, metrics.Request{Namespace: other, App: "payment", Query: "cpu", Range: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !near(s.Last, 3, 0.1) {
		t.Errorf("other namespace's cpu = %g, want 3", s.Last)
	}
}
