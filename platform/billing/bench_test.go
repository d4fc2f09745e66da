package billing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"k8s-manage/internal/store/storetest"
	"k8s-manage/platform/billing"
	"k8s-manage/platform/tenant"
	"k8s-manage/platform/usage"
)

// usageOf is a metrics API answer for the benchmark: every pod uses 100m and 200Mi.
type usageOf map[string][]string

func (u usageOf) PodUsage(_ context.Context, ns string) (map[string]usage.Amount, error) {
	out := map[string]usage.Amount{}
	for _, p := range u[ns] {
		out[p] = usage.Amount{CPUMilli: 100, MemoryBytes: 200 << 20}
	}
	return out, nil
}

// BenchmarkMeterSample1000Pods: one sample (requests and usage) of 1,000 pods in 10 tenant
// namespaces, 50 apps, written to a SQLite ledger. The API server is client-go's fake clientset,
// so the figure is the meter's own cost per sample.
func BenchmarkMeterSample1000Pods(b *testing.B) {
	var objs []runtime.Object
	used := usageOf{}
	for n := range 10 {
		ns := fmt.Sprintf("t%d-dev", n)
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{tenant.LabelTenant: fmt.Sprintf("t%d", n), tenant.LabelEnv: "dev"}}})
		for p := range 100 {
			name := fmt.Sprintf("app%d-%d", p%5, p)
			objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/name": fmt.Sprintf("app%d", p%5)}},
				Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")}}}}},
				Status: corev1.PodStatus{Phase: corev1.PodRunning}})
			used[ns] = append(used[ns], name)
		}
	}
	cs := fake.NewClientset(objs...)
	st := storetest.Open(b, storetest.SQLite)
	var at time.Time
	meter := billing.NewMeter(st, cs, func() time.Time { return at }).WithUsage(used)
	ctx := context.Background()
	at = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if _, err := meter.Sample(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		at = at.Add(time.Minute)
		n, err := meter.Sample(ctx)
		if err != nil || n == 0 {
			b.Fatalf("sample %d: %d rows, %v", i, n, err)
		}
	}
}
