package usage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"k8s-manage/hack/sandbox"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
	"k8s-manage/platform/usage"
)

// TestTopOnTheSandbox reads the usage kwok reports for pods (from their annotations, through
// metrics-server) as a viewer, against requests and limits; another tenant's member is refused.
func TestTopOnTheSandbox(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev, viewer, outsider := platformtest.Email("dev"), platformtest.Email("viewer"), platformtest.Email("outsider")
	name := w.Tenant(t, "top", []tenant.Member{{Email: dev, Role: tenant.Developer}, {Email: viewer, Role: tenant.Viewer}})
	w.Tenant(t, "other", []tenant.Member{{Email: outsider, Role: tenant.Admin}})
	ns := tenant.Namespace(name, "dev")
	as := func(who string) apps.Target { return apps.Target{As: tenant.Identity(who), Namespace: ns} }
	create := func(app, cpu, mem string, replicas int32) {
		t.Helper()
		if _, err := apps.NewService(w.Kube).Create(ctx, as(dev), apps.Spec{Name: app, Image: "nginx", Replicas: replicas,
			Resources:      apps.Resources{CPURequest: "200m", MemoryRequest: "256Mi", CPULimit: "500m", MemoryLimit: "512Mi"},
			PodAnnotations: map[string]string{sandbox.UsageCPUAnnotation: cpu, sandbox.UsageMemoryAnnotation: mem}}, apps.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create("payment", "150m", "100Mi", 2)
	create("report", "20m", "400Mi", 1)
	svc := usage.NewService(w.Kube)

	var rep *usage.Report
	platformtest.Eventually(t, 2*time.Minute, func() (bool, string) {
		var err error
		rep, err = svc.Top(ctx, as(viewer), usage.Options{})
		if err != nil {
			return false, err.Error()
		}
		return rep.Total.Measured == 3 && rep.Unavailable == "", fmt.Sprintf("%+v", rep)
	})
	if len(rep.Apps) != 2 || rep.Apps[0].Name != "payment" {
		t.Fatalf("by cpu, payment first: %+v", rep.Apps)
	}
	pay := rep.Apps[0]
	// CPU is a rate over kwok's cumulative counter: near 2 x 150m.
	if pay.Usage.CPUMilli < 240 || pay.Usage.CPUMilli > 360 || pay.Usage.MemoryBytes != 200<<20 ||
		pay.Requests.CPUMilli != 400 || pay.Limits.MemoryBytes != 1<<30 || pay.CPUOfRequest < 60 || pay.CPUOfRequest > 90 {
		t.Fatalf("payment: %+v", pay)
	}
	if rep.Total.Pods != 3 || rep.Total.Usage.MemoryBytes != 600<<20 || rep.Window == "" || rep.At.IsZero() {
		t.Fatalf("total: %+v window %q at %v", rep.Total, rep.Window, rep.At)
	}

	byMem, err := svc.Top(ctx, as(viewer), usage.Options{SortBy: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	if byMem.Apps[0].Name != "report" {
		t.Fatalf("by memory, report first: %+v", byMem.Apps)
	}
	one, err := svc.Top(ctx, as(viewer), usage.Options{App: "payment"})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Apps) != 1 || len(one.Pods) != 2 || one.Pods[0].App != "payment" {
		t.Fatalf("one app, with its pods: %+v", one)
	}

	for _, tc := range []struct {
		name string
		who  string
		o    usage.Options
		want error
	}{
		{"another tenant's member", outsider, usage.Options{}, perr.ErrForbidden},
		{"an app that does not exist", viewer, usage.Options{App: "nope"}, perr.ErrNotFound},
		{"a sort that does not exist", viewer, usage.Options{SortBy: "disk"}, perr.ErrInvalid},
	} {
		if _, err := svc.Top(ctx, as(tc.who), tc.o); !errors.Is(err, tc.want) {
			t.Errorf("%s: want %v, got %v", tc.name, tc.want, err)
		}
	}
}
