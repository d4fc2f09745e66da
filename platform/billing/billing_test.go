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

	"k8s-manage/hack/sandbox"
	"k8s-manage/internal/store"
	"k8s-manage/internal/store/storetest"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/billing"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
	"k8s-manage/platform/usage"
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

// A simulated day metered with usage beside requests: pods that use less CPU and more memory than
// they request (kwok's usage from their annotations, through metrics-server). Each basis charges
// what it says; the half day metered without a metrics API falls back to requests, and the bill
// says so.
func TestBillOnUsageAndRequests(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev := platformtest.Email("dev")
	name := w.Tenant(t, "billuse", []tenant.Member{{Email: dev, Role: tenant.Developer}})
	ns := tenant.Namespace(name, "dev")
	// 2 replicas x (250m, 256Mi) requested; each uses 100m and 512Mi.
	if _, err := apps.NewService(w.Kube).Create(ctx, apps.Target{As: tenant.Identity(dev), Namespace: ns},
		apps.Spec{Name: "api", Image: "nginx", Replicas: 2, Resources: apps.Resources{CPURequest: "250m", MemoryRequest: "256Mi"},
			PodAnnotations: map[string]string{sandbox.UsageCPUAnnotation: "100m", sandbox.UsageMemoryAnnotation: "512Mi"}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitScheduled(t, w, ns, 2)
	src := usage.NewService(w.Kube)
	platformtest.Eventually(t, 2*time.Minute, func() (bool, string) {
		u, err := src.PodUsage(ctx, ns)
		return err == nil && len(u) == 2, fmt.Sprintf("%v %v", u, err)
	})

	t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	now := func() time.Time { return time.UnixMilli(clock.Load()) }
	withUsage := billing.NewMeter(w.Store, w.Env.Client, now).WithUsage(src)
	requestsOnly := billing.NewMeter(w.Store, w.Env.Client, now) // as on a cluster without a metrics API
	for h := 0; h <= 24; h++ {
		clock.Store(t0.Add(time.Duration(h) * time.Hour).UnixMilli())
		m := withUsage
		if h > 12 {
			m = requestsOnly
		}
		if _, err := m.Sample(ctx); err != nil {
			t.Fatal(err)
		}
	}
	bill := func(basis string, from, to time.Time) *billing.Bill {
		t.Helper()
		b, err := billing.NewBills(w.Store, billing.Prices{CoreHour: 0.05, GiBHour: 0.01, Currency: "USD", Basis: basis}).For(ctx, name, from, to)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	line := func(b *billing.Bill, res string) billing.Line {
		for _, l := range b.Lines {
			if l.App == "api" && l.Resource == res {
				return l
			}
		}
		t.Fatalf("no %s line: %+v", res, b.Lines)
		return billing.Line{}
	}
	near := func(got, want, tol float64) bool { return math.Abs(got-want) <= tol*want }

	firstHalf := t0.Add(12 * time.Hour)
	tests := []struct {
		basis          string
		cpu, mem, tolC float64
	}{
		{billing.BasisRequests, 0.5 * 12, 0.5 * 12, 0.001},
		{billing.BasisUsage, 0.2 * 12, 1.0 * 12, 0.15}, // CPU is a rate over kwok's counter
		{billing.BasisMax, 0.5 * 12, 1.0 * 12, 0.001},
	}
	for _, tc := range tests {
		t.Run(tc.basis, func(t *testing.T) {
			b := bill(tc.basis, t0, firstHalf)
			cpu, mem := line(b, "cpu"), line(b, "memory")
			if b.Basis != tc.basis || b.Note != "" || !near(cpu.Usage, tc.cpu, tc.tolC) || !near(mem.Usage, tc.mem, 0.001) {
				t.Fatalf("charged cpu %.4f (want %.4f), memory %.4f (want %.4f); basis %q note %q", cpu.Usage, tc.cpu, mem.Usage, tc.mem, b.Basis, b.Note)
			}
			if cpu.Used == nil || !near(*cpu.Used, 0.2*12, 0.15) || !near(cpu.Requested, 6, 0.001) || mem.Used == nil || !near(*mem.Used, 12, 0.001) {
				t.Fatalf("both shown: cpu %+v memory %+v", cpu, mem)
			}
		})
	}
	t.Run("without a metrics API, requests", func(t *testing.T) {
		b := bill(billing.BasisUsage, t0, t0.Add(24*time.Hour))
		mem := line(b, "memory")
		// 12 h on usage (1 GiB) and 12 h on requests (0.5 GiB).
		if b.Note == "" || !near(mem.Usage, 12+6, 0.001) || mem.Used == nil || !near(*mem.Used, 12, 0.001) {
			t.Fatalf("memory %+v (used %v), note %q", mem, mem.Used, b.Note)
		}
		if csv := b.CSV(); !strings.Contains(csv, ",requested,used,basis") || !strings.Contains(csv, ",usage\n") {
			t.Fatalf("csv:\n%s", csv)
		}
	})
}
