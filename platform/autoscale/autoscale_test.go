package autoscale_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"k8s-manage/hack/sandbox"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/autoscale"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

func TestHPALifecycle(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev, viewer := platformtest.Email("dev"), platformtest.Email("viewer")
	name := w.Tenant(t, "hpa", []tenant.Member{{Email: dev, Role: tenant.Developer}, {Email: viewer, Role: tenant.Viewer}})
	tg := apps.Target{As: tenant.Identity(dev), Namespace: tenant.Namespace(name, "dev")}
	if _, err := apps.NewService(w.Kube).Create(ctx, tg, apps.Spec{Name: "api", Image: "nginx", Replicas: 2,
		Resources: apps.Resources{CPURequest: "200m", MemoryRequest: "128Mi"}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := autoscale.NewService(w.Kube)

	for _, bad := range []struct {
		spec  autoscale.Spec
		field string
	}{
		{autoscale.Spec{MinReplicas: 0, MaxReplicas: 3, CPUTargetPercent: 50}, "min_replicas"},
		{autoscale.Spec{MinReplicas: 4, MaxReplicas: 3, CPUTargetPercent: 50}, "max_replicas"},
		{autoscale.Spec{MinReplicas: 1, MaxReplicas: 3}, "cpu_target_percent"},
	} {
		var pe *perr.Error
		if _, err := svc.Set(ctx, tg, "api", bad.spec, apps.WriteOptions{}); !errors.As(err, &pe) || pe.Field != bad.field {
			t.Errorf("%+v: want invalid %s, got %v", bad.spec, bad.field, err)
		}
	}

	viewerTarget := apps.Target{As: tenant.Identity(viewer), Namespace: tg.Namespace}
	if _, err := svc.Set(ctx, viewerTarget, "api", autoscale.Spec{MinReplicas: 2, MaxReplicas: 5, CPUTargetPercent: 70}, apps.WriteOptions{}); !errors.Is(err, perr.ErrForbidden) {
		t.Fatalf("viewer set HPA: want Forbidden, got %v", err)
	}
	if _, err := svc.Set(ctx, tg, "api", autoscale.Spec{MinReplicas: 2, MaxReplicas: 5, CPUTargetPercent: 70}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ch, err := svc.Set(ctx, tg, "api", autoscale.Spec{MinReplicas: 2, MaxReplicas: 8, CPUTargetPercent: 70, MemoryTargetPercent: 80}, apps.WriteOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := ch.Render(); !strings.Contains(r, "maxReplicas: 5 -> 8") {
		t.Errorf("update preview:\n%s", r)
	}
	// The sandbox serves the metrics API: the real HPA controller reads the pods' CPU, and Get
	// reports it.
	platformtest.Eventually(t, 90*time.Second, func() (bool, string) {
		st, err := svc.Get(ctx, viewerTarget, "api")
		if err != nil {
			return false, err.Error()
		}
		return !st.MissingMetrics && st.Current["cpu"] != "" && st.Spec.MaxReplicas == 5 && st.Spec.CPUTargetPercent == 70,
			fmt.Sprintf("%+v", st)
	})
	if _, err := svc.Delete(ctx, tg, "api", apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Get(ctx, tg, "api"); !errors.Is(err, perr.ErrNotFound) {
		t.Fatalf("after delete: want NotFound, got %v", err)
	}
}

// TestHPAScalesOnUsage: pods that report high CPU (kwok's usage from a pod annotation, served
// through metrics-server) make the real HPA controller scale the app to its maximum; when their
// usage drops it scales back to the minimum.
func TestHPAScalesOnUsage(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev := platformtest.Email("dev")
	name := w.Tenant(t, "hpascale", []tenant.Member{{Email: dev, Role: tenant.Developer}})
	tg := apps.Target{As: tenant.Identity(dev), Namespace: tenant.Namespace(name, "dev")}
	if _, err := apps.NewService(w.Kube).Create(ctx, tg, apps.Spec{Name: "busy", Image: "nginx", Replicas: 1,
		Resources:      apps.Resources{CPURequest: "100m", MemoryRequest: "64Mi"},
		PodAnnotations: map[string]string{sandbox.UsageCPUAnnotation: "200m"}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := autoscale.NewService(w.Kube)
	if _, err := svc.Set(ctx, tg, "busy", autoscale.Spec{MinReplicas: 1, MaxReplicas: 4, CPUTargetPercent: 50}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	replicas := func() (int32, string) {
		st, err := svc.Get(ctx, tg, "busy")
		if err != nil {
			return -1, err.Error()
		}
		return st.CurrentReplicas, fmt.Sprintf("current %d desired %d metrics %v conditions %+v", st.CurrentReplicas, st.DesiredReplicas, st.Current, st.Conditions)
	}
	t.Run("scale up to max", func(t *testing.T) {
		platformtest.Eventually(t, 3*time.Minute, func() (bool, string) {
			n, why := replicas()
			return n == 4, why
		})
	})
	t.Run("scale down when usage drops", func(t *testing.T) {
		cs := w.Kube.Admin()
		pods, err := cs.CoreV1().Pods(tg.Namespace).List(ctx, metav1.ListOptions{LabelSelector: apps.LabelApp + "=busy"})
		if err != nil {
			t.Fatal(err)
		}
		patch := []byte(`{"metadata":{"annotations":{"` + sandbox.UsageCPUAnnotation + `":"5m"}}}`)
		for _, p := range pods.Items {
			if _, err := cs.CoreV1().Pods(tg.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		platformtest.Eventually(t, 3*time.Minute, func() (bool, string) {
			n, why := replicas()
			return n == 1, why
		})
	})
}
