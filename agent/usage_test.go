package agent_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/agent"
	"k8s-manage/hack/sandbox"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/autoscale"
	"k8s-manage/platform/billing"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/quota"
	"k8s-manage/platform/tenant"
	"k8s-manage/platform/usage"
	"k8s-manage/tools"
)

// TestRightsizeAppliedThroughApproval: an app requests 500m and 512Mi and uses 50m and 100Mi
// (kwok's usage through metrics-server); eight metered hours later "right-size payment" suggests
// smaller requests, "apply it" proposes the update_app call with its dry-run diff, and after the
// approval the Deployment has them. A LimitRange the suggestion would break refuses it first, with
// the reason.
func TestRightsizeAppliedThroughApproval(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	appsSvc := apps.NewService(w.Kube)
	if _, err := appsSvc.Create(ctx, apps.Target{As: tenant.Identity(w.dev), Namespace: w.ns}, apps.Spec{Name: "payment", Image: "registry.local/payment:3.1.2", Replicas: 2,
		Resources:      apps.Resources{CPURequest: "500m", MemoryRequest: "512Mi"},
		PodAnnotations: map[string]string{sandbox.UsageCPUAnnotation: "50m", sandbox.UsageMemoryAnnotation: "100Mi"}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	use := usage.NewService(w.Kube)
	platformtest.Eventually(t, 2*time.Minute, func() (bool, string) {
		u, err := use.PodUsage(ctx, w.ns)
		n := 0
		for name := range u {
			if strings.HasPrefix(name, "payment-") {
				n++
			}
		}
		return err == nil && n == 2, "payment's pods have no usage sample yet"
	})
	// Eight metered hours, on the meter's own clock.
	var clock atomic.Int64
	start := time.Now().Add(-8 * time.Hour)
	meter := billing.NewMeter(w.Store, w.Env.Client, func() time.Time { return time.UnixMilli(clock.Load()) }).WithUsage(use)
	for h := 0; h <= 8; h++ {
		clock.Store(start.Add(time.Duration(h) * time.Hour).UnixMilli())
		if _, err := meter.Sample(ctx); err != nil {
			t.Fatal(err)
		}
	}
	bills := billing.NewBills(w.Store, billing.Prices{})
	o := w.opts
	o.Tools = tools.NewRegistry(tools.Deps{Kube: w.Kube, Apps: appsSvc, Autoscale: autoscale.NewService(w.Kube), Quota: quota.NewService(w.Kube),
		Tenants: w.Tenants, Knowledge: w.opts.Knowledge, Usage: use, Sizer: usage.NewSizer(use, appsSvc, bills, usage.SizerOptions{}), WaitReady: 30 * time.Second})
	svc, err := agent.New(o)
	if err != nil {
		t.Fatal(err)
	}

	// One conversation for every step.
	say := func(t *testing.T, text string) []agent.Event {
		t.Helper()
		ch, err := svc.Send(ctx, agent.Turn{Surface: "test", Thread: "rightsize", User: w.dev, Tenant: w.tenant, Env: "dev", Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return drain(t, ch)
	}
	var suggestion string
	t.Run("suggest", func(t *testing.T) {
		suggestion = final(t, say(t, "right-size payment"))
		// CPU: 50m used of 500m → 50m x 1.15 = 60m; memory: 100Mi peak x 1.15 = 115Mi.
		for _, want := range []string{"500m", "→ 60m", "512Mi", "→ 115Mi", "lower", "apply it"} {
			if !strings.Contains(suggestion, want) {
				t.Fatalf("suggestion lacks %q:\n%s", want, suggestion)
			}
		}
	})
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "floor"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type: corev1.LimitTypeContainer, Min: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}}
	t.Run("a LimitRange refuses it, saying why", func(t *testing.T) {
		if _, err := w.Env.Client.CoreV1().LimitRanges(w.ns).Create(ctx, lr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		es := say(t, "apply it")
		if find(es, agent.EventApprovalRequested) != nil {
			t.Fatal("an approval was requested for a sizing the LimitRange refuses")
		}
		if answer := final(t, es); !strings.Contains(answer, "below the minimum 100m cpu per container that LimitRange floor allows") {
			t.Fatalf("refusal: %q", answer)
		}
		if err := w.Env.Client.CoreV1().LimitRanges(w.ns).Delete(ctx, "floor", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("apply it through approval", func(t *testing.T) {
		say(t, "right-size payment")
		es := say(t, "apply it")
		req := find(es, agent.EventApprovalRequested)
		if req == nil || req.Approval == nil {
			t.Fatalf("no approval requested: %+v", es)
		}
		if a := req.Approval; a.Tool != "update_app" || !strings.Contains(a.Preview, "60m") || !strings.Contains(a.Preview, "115Mi") {
			t.Fatalf("approval: tool %s preview %s", a.Tool, a.Preview)
		}
		ch, err := svc.Decide(ctx, req.Approval.ID, w.ops, true, "")
		if err != nil {
			t.Fatal(err)
		}
		final(t, drain(t, ch))
		d, err := w.Env.Client.AppsV1().Deployments(w.ns).Get(ctx, "payment", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r := d.Spec.Template.Spec.Containers[0].Resources
		if r.Requests.Cpu().String() != "60m" || r.Requests.Memory().String() != "115Mi" {
			t.Fatalf("deployment requests %v after the approval", r.Requests)
		}
	})
}

// TestSlowAppDiagnosisNamesThrottling: payment's pods run at their CPU limit (kwok's usage through
// metrics-server); "为什么 payment 变慢了" and "why is payment slow?" get a diagnosis that names the
// throttling.
func TestSlowAppDiagnosisNamesThrottling(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	appsSvc := apps.NewService(w.Kube)
	if _, err := appsSvc.Create(ctx, apps.Target{As: tenant.Identity(w.dev), Namespace: w.ns}, apps.Spec{Name: "payment", Image: "registry.local/payment:3.1.2", Replicas: 2,
		Resources:      apps.Resources{CPURequest: "100m", CPULimit: "200m", MemoryRequest: "128Mi", MemoryLimit: "256Mi"},
		PodAnnotations: map[string]string{sandbox.UsageCPUAnnotation: "200m", sandbox.UsageMemoryAnnotation: "100Mi"}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	use := usage.NewService(w.Kube)
	platformtest.Eventually(t, 2*time.Minute, func() (bool, string) {
		rep, err := use.Top(ctx, apps.Target{As: tenant.Identity(w.viewer), Namespace: w.ns}, usage.Options{App: "payment"})
		if err != nil {
			return false, err.Error()
		}
		return rep.Total.Measured == 2 && rep.Total.CPUOfLimit >= 90, fmt.Sprintf("%+v", rep.Total)
	})
	o := w.opts
	o.Tools = tools.NewRegistry(tools.Deps{Kube: w.Kube, Apps: appsSvc, Autoscale: autoscale.NewService(w.Kube), Quota: quota.NewService(w.Kube),
		Tenants: w.Tenants, Knowledge: w.opts.Knowledge, Usage: use, WaitReady: 30 * time.Second})
	svc, err := agent.New(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"为什么 payment 变慢了", "why is payment slow?"} {
		t.Run(q, func(t *testing.T) {
			es := w.send(t, svc, w.viewer, q)
			if e := find(es, agent.EventToolStarted); e == nil || e.Tool != "diagnose" {
				t.Fatalf("no diagnosis: %+v", es)
			}
			if answer := final(t, es); !strings.Contains(answer, "CPU at its limit") || !strings.Contains(answer, "throttled") {
				t.Fatalf("answer does not name the throttling:\n%s", answer)
			}
		})
	}
}
