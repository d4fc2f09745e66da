package billing_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/internal/store"
	"k8s-manage/internal/store/storetest"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/billing"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

// A simulated day on an injected clock: the bill equals requests x hours x price within 0.1%,
// across a restart of the metering loop, a repeated sample and a three-hour gap.
func TestBillOfASimulatedDay(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev := platformtest.Email("dev")
	name := w.Tenant(t, "bill", []tenant.Member{{Email: dev, Role: tenant.Developer}})
	ns := tenant.Namespace(name, "dev")
	// 2 replicas x (250m CPU, 256Mi) = 0.5 cores and 0.5 GiB.
	if _, err := apps.NewService(w.Kube).Create(ctx, apps.Target{As: tenant.Identity(dev), Namespace: ns},
		apps.Spec{Name: "api", Image: "nginx", Replicas: 2, Resources: apps.Resources{CPURequest: "250m", MemoryRequest: "256Mi"}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// A small service catalog instance, billed by plan.
	one := int32(1)
	lbl := map[string]string{"k8s-manage.io/service-instance": "cache", "k8s-manage.io/service-plan": "small"}
	if _, err := w.Env.Client.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "cache", Labels: lbl},
		Spec: appsv1.StatefulSetSpec{Replicas: &one, ServiceName: "cache", Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "redis", Image: "redis",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("256Mi")}}}}}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	waitScheduled(t, w, ns, 3)

	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(t0.UnixMilli())
	now := func() time.Time { return time.UnixMilli(clock.Load()) }
	at := func(h int) { clock.Store(t0.Add(time.Duration(h) * time.Hour).UnixMilli()) }

	meter := billing.NewMeter(w.Store, w.Env.Client, now)
	if _, err := meter.Sample(ctx); err != nil { // first sample: records the time only
		t.Fatal(err)
	}
	for h := 1; h <= 12; h++ {
		at(h)
		if _, err := meter.Sample(ctx); err != nil {
			t.Fatal(err)
		}
	}
	restarted := billing.NewMeter(w.Store, w.Env.Client, now) // the loop restarts mid-period
	for h := 13; h <= 24; h++ {
		if h >= 20 && h <= 22 {
			continue // down for three hours: the next sample covers the gap
		}
		at(h)
		if _, err := restarted.Sample(ctx); err != nil {
			t.Fatal(err)
		}
		if h == 18 { // a repeated sample of the same moment charges nothing
			if n, err := restarted.Sample(ctx); err != nil || n != 0 {
				t.Fatalf("repeated sample wrote %d rows (%v)", n, err)
			}
		}
	}

	prices := billing.Prices{CoreHour: 0.05, GiBHour: 0.01, StorageGiBMonth: 0.1, PlanMonth: map[string]float64{"small": 73}, Currency: "USD"}
	bill, err := billing.NewBills(w.Store, prices).For(ctx, name, t0, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// api 0.5 cores + 0.5 GiB, the instance's pod 0.2 cores + 0.25 GiB, and the instance's plan.
	want := 0.7*24*prices.CoreHour + 0.75*24*prices.GiBHour + 24.0/730*73
	if math.Abs(bill.Total-want)/want > 0.001 {
		t.Fatalf("bill total %.4f, want %.4f (within 0.1%%): %+v", bill.Total, want, bill.Lines)
	}
	var cpu float64
	for _, l := range bill.Lines {
		if l.App == "api" && l.Resource == "cpu" {
			cpu = l.Usage
		}
	}
	if math.Abs(cpu-12) > 0.012 {
		t.Fatalf("cpu usage %.4f core-hours, want 12", cpu)
	}
	// A half-day period is prorated.
	half, _ := billing.NewBills(w.Store, prices).For(ctx, name, t0, t0.Add(12*time.Hour))
	if math.Abs(half.Total-want/2)/(want/2) > 0.001 {
		t.Fatalf("half-day total %.4f, want %.4f", half.Total, want/2)
	}
	if csv := bill.CSV(); !strings.Contains(csv, "api,cpu,12.0000,core-hours,0.6000,USD") {
		t.Fatalf("csv:\n%s", csv)
	}
}

// Three replicas meter one PostgreSQL store at once (each its own connection pool, sampling at
// its own phase of the interval, concurrently) for a simulated day: the tenant's bill is the one
// replica's bill, and no interval is charged twice.
func TestThreeMetersBillLikeOne(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev := platformtest.Email("dev")
	name := w.Tenant(t, "bill3", []tenant.Member{{Email: dev, Role: tenant.Developer}})
	ns := tenant.Namespace(name, "dev")
	if _, err := apps.NewService(w.Kube).Create(ctx, apps.Target{As: tenant.Identity(dev), Namespace: ns},
		apps.Spec{Name: "api", Image: "nginx", Replicas: 2, Resources: apps.Resources{CPURequest: "250m", MemoryRequest: "256Mi"}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitScheduled(t, w, ns, 2)
	t0 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	day, step := 24*time.Hour, 15*time.Minute

	shared := storetest.DSN(t, storetest.Postgres)
	var meters []*billing.Meter
	var clocks []*atomic.Int64
	for range 3 {
		st, err := store.Open(ctx, store.Options{DSN: shared})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		c := &atomic.Int64{}
		clocks = append(clocks, c)
		meters = append(meters, billing.NewMeter(st, w.Env.Client, func() time.Time { return time.UnixMilli(c.Load()) }))
	}
	single := storetest.Open(t, storetest.Postgres)
	var one atomic.Int64
	alone := billing.NewMeter(single, w.Env.Client, func() time.Time { return time.UnixMilli(one.Load()) })

	for at := time.Duration(0); at <= day+step; at += step {
		one.Store(t0.Add(at).UnixMilli())
		if _, err := alone.Sample(ctx); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i, m := range meters {
			clocks[i].Store(t0.Add(at + time.Duration(i)*97*time.Second).UnixMilli()) // each replica's own phase
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := m.Sample(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	prices := billing.Prices{CoreHour: 0.05, GiBHour: 0.01, Currency: "USD"}
	st3, err := store.Open(ctx, store.Options{DSN: shared})
	if err != nil {
		t.Fatal(err)
	}
	defer st3.Close()
	got, err := billing.NewBills(st3, prices).For(ctx, name, t0, t0.Add(day))
	if err != nil {
		t.Fatal(err)
	}
	want, err := billing.NewBills(single, prices).For(ctx, name, t0, t0.Add(day))
	if err != nil {
		t.Fatal(err)
	}
	exact := 0.5*24*prices.CoreHour + 0.5*24*prices.GiBHour
	if math.Abs(got.Total-want.Total)/want.Total > 0.001 || math.Abs(want.Total-exact)/exact > 0.001 {
		t.Fatalf("three replicas billed %.4f, one replica %.4f, requests x hours %.4f", got.Total, want.Total, exact)
	}
	// No interval was charged twice: the ledger's intervals for the app do not overlap.
	rows, err := st3.QueryContext(ctx, "SELECT from_ms, to_ms FROM usage_ledger WHERE tenant = ? AND app = 'api' AND resource = 'cpu' ORDER BY from_ms", name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var prevTo int64
	n := 0
	for rows.Next() {
		var from, to int64
		if err := rows.Scan(&from, &to); err != nil {
			t.Fatal(err)
		}
		if from < prevTo {
			t.Fatalf("interval [%d, %d) overlaps the previous one ending %d", from, to, prevTo)
		}
		prevTo, n = to, n+1
	}
	t.Logf("three replicas: %.4f over %d intervals; one replica: %.4f", got.Total, n, want.Total)
}

// waitScheduled waits until n pods of ns are on a node.
func waitScheduled(t *testing.T, w *platformtest.World, ns string, n int) {
	t.Helper()
	platformtest.Eventually(t, 30*time.Second, func() (bool, string) {
		pods, _ := w.Env.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		scheduled := 0
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" {
				scheduled++
			}
		}
		return scheduled == n, fmt.Sprintf("%d of %d pods scheduled", scheduled, n)
	})
}
