package vpa_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/autoscale"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
	"k8s-manage/platform/vpa"
)

// TestVPAOnTheSandbox: set and get a VPA over the sandbox's CRD, a recommender-like status read
// back as recommendations, and an HPA and a VPA on CPU for one app refused from either side.
func TestVPAOnTheSandbox(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev, viewer := platformtest.Email("dev"), platformtest.Email("viewer")
	name := w.Tenant(t, "vpa", []tenant.Member{{Email: dev, Role: tenant.Developer}, {Email: viewer, Role: tenant.Viewer}})
	ns := tenant.Namespace(name, "dev")
	tg := apps.Target{As: tenant.Identity(dev), Namespace: ns}
	vt := apps.Target{As: tenant.Identity(viewer), Namespace: ns}
	for _, app := range []string{"api", "worker"} {
		if _, err := apps.NewService(w.Kube).Create(ctx, tg, apps.Spec{Name: app, Image: "nginx", Replicas: 1,
			Resources: apps.Resources{CPURequest: "200m", MemoryRequest: "128Mi"}}, apps.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	svc := vpa.NewService(w.Kube)
	hpa := autoscale.NewService(w.Kube).WithVPA(svc)

	t.Run("bad input names the field", func(t *testing.T) {
		for _, tc := range []struct {
			spec  vpa.Spec
			field string
		}{
			{vpa.Spec{Mode: "Sometimes"}, "update_mode"},
			{vpa.Spec{Mode: "Off", MaxCPU: "lots"}, "max_cpu"},
			{vpa.Spec{Mode: "Off", Controlled: "disk"}, "controlled_resources"},
		} {
			var pe *perr.Error
			if _, err := svc.Set(ctx, tg, "api", tc.spec, apps.WriteOptions{}); !errors.As(err, &pe) || pe.Field != tc.field {
				t.Errorf("%+v: want invalid %s, got %v", tc.spec, tc.field, err)
			}
		}
	})
	t.Run("set and get, with a recommendation", func(t *testing.T) {
		if _, err := svc.Set(ctx, vt, "api", vpa.Spec{Mode: "Off"}, apps.WriteOptions{}); !errors.Is(err, perr.ErrForbidden) {
			t.Fatalf("viewer set: want Forbidden, got %v", err)
		}
		ch, err := svc.Set(ctx, tg, "api", vpa.Spec{Mode: "Recreate", MinCPU: "50m", MaxMemory: "1Gi"}, apps.WriteOptions{DryRun: true})
		if err != nil || !ch.DryRun || !strings.Contains(ch.Render(), "Recreate") {
			t.Fatalf("preview: %v %+v", err, ch)
		}
		if _, err := svc.Get(ctx, vt, "api"); !errors.Is(err, perr.ErrNotFound) {
			t.Fatalf("a preview created it: %v", err)
		}
		if _, err := svc.Set(ctx, tg, "api", vpa.Spec{Mode: "Recreate", MinCPU: "50m", MaxMemory: "1Gi"}, apps.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		st, err := svc.Get(ctx, vt, "api")
		if err != nil {
			t.Fatal(err)
		}
		if st.Spec.Mode != "Recreate" || st.Spec.MinCPU != "50m" || st.Spec.MaxMemory != "1Gi" || len(st.Recommendations) != 0 || st.Note == "" {
			t.Fatalf("before the recommender: %+v", st)
		}
		// What the VPA recommender writes (it does not run in the sandbox).
		dc, err := dynamic.NewForConfig(w.Kube.RESTConfig())
		if err != nil {
			t.Fatal(err)
		}
		u, err := dc.Resource(vpa.GVR).Namespace(ns).Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := unstructured.SetNestedSlice(u.Object, []any{map[string]any{"containerName": "app",
			"target":     map[string]any{"cpu": "120m", "memory": "200Mi"},
			"lowerBound": map[string]any{"cpu": "80m", "memory": "150Mi"}, "upperBound": map[string]any{"cpu": "400m", "memory": "500Mi"}}},
			"status", "recommendation", "containerRecommendations"); err != nil {
			t.Fatal(err)
		}
		if _, err := dc.Resource(vpa.GVR).Namespace(ns).UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		st, err = svc.Get(ctx, vt, "api")
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Recommendations) != 1 || st.Recommendations[0].Target["cpu"] != "120m" || st.Recommendations[0].UpperBound["memory"] != "500Mi" || st.Note != "" {
			t.Fatalf("after the recommender: %+v", st)
		}
	})
	t.Run("an HPA on CPU beside the VPA is refused", func(t *testing.T) {
		_, err := hpa.Set(ctx, tg, "api", autoscale.Spec{MinReplicas: 1, MaxReplicas: 3, CPUTargetPercent: 70}, apps.WriteOptions{})
		if !errors.Is(err, perr.ErrConflict) || !strings.Contains(err.Error(), "VPA") {
			t.Fatalf("HPA beside a CPU VPA: %v", err)
		}
		// Memory-only VPA: a CPU HPA fits beside it.
		if _, err := svc.Set(ctx, tg, "api", vpa.Spec{Mode: "Recreate", Controlled: "memory"}, apps.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := hpa.Set(ctx, tg, "api", autoscale.Spec{MinReplicas: 1, MaxReplicas: 3, CPUTargetPercent: 70}, apps.WriteOptions{}); err != nil {
			t.Fatalf("CPU HPA beside a memory VPA: %v", err)
		}
	})
	t.Run("a VPA on CPU beside an HPA is refused", func(t *testing.T) {
		if _, err := hpa.Set(ctx, tg, "worker", autoscale.Spec{MinReplicas: 1, MaxReplicas: 3, CPUTargetPercent: 70}, apps.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := svc.Set(ctx, tg, "worker", vpa.Spec{Mode: "InPlaceOrRecreate"}, apps.WriteOptions{})
		if !errors.Is(err, perr.ErrConflict) || !strings.Contains(err.Error(), "HPA that scales on cpu") {
			t.Fatalf("VPA beside a CPU HPA: %v", err)
		}
		if _, err := svc.Get(ctx, vt, "worker"); !errors.Is(err, perr.ErrNotFound) {
			t.Fatalf("the refused VPA exists: %v", err)
		}
		// Recommendations only: allowed beside the HPA.
		if _, err := svc.Set(ctx, tg, "worker", vpa.Spec{Mode: "Off"}, apps.WriteOptions{}); err != nil {
			t.Fatalf("Off beside an HPA: %v", err)
		}
	})
}
