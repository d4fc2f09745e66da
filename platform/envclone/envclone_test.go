package envclone_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/autoscale"
	pconfig "k8s-manage/platform/config"
	"k8s-manage/platform/envclone"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

func TestCloneDevToTest(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	adm := platformtest.Email("admin")
	name := w.Tenant(t, "clone", []tenant.Member{{Email: adm, Role: tenant.Admin}}, "dev", "test")
	dev, test := tenant.Namespace(name, "dev"), tenant.Namespace(name, "test")
	as := tenant.Identity(adm)
	as0 := apps.NewService(w.Kube)
	for _, spec := range []apps.Spec{
		{Name: "web", Image: "nginx:1.26", Replicas: 2, Ports: []apps.Port{{Port: 80}}},
		{Name: "api", Image: "api:3.1", Replicas: 1, Ports: []apps.Port{{Port: 8080}}, Resources: apps.Resources{CPURequest: "100m"}},
	} {
		if _, err := as0.Create(ctx, apps.Target{As: as, Namespace: dev}, spec, apps.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := autoscale.NewService(w.Kube).Set(ctx, apps.Target{As: as, Namespace: dev}, "api", autoscale.Spec{MinReplicas: 1, MaxReplicas: 4, CPUTargetPercent: 60}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	keys, _ := pconfig.NewKeyring("k1", map[string]string{"k1": pconfig.NewKey()})
	cfg := pconfig.NewService(w.Store, w.Kube, keys, nil)
	devWeb := pconfig.Ref{Tenant: name, Env: "dev", App: "web"}
	if _, err := cfg.Set(ctx, as, devWeb, "LOG_LEVEL", "debug", pconfig.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Set(ctx, as, devWeb, "DB_PASSWORD", "hunter2", pconfig.SetOptions{Secret: true}); err != nil {
		t.Fatal(err)
	}
	before := map[string][2]any{}
	for _, app := range []string{"web", "api"} {
		d, _ := w.Env.Client.AppsV1().Deployments(dev).Get(ctx, app, metav1.GetOptions{})
		before[app] = [2]any{d.Spec.Template.Spec.Containers[0].Image, d.Generation}
	}

	one := int32(1)
	svc := envclone.NewService(w.Kube, cfg)
	rep, err := svc.Clone(ctx, as, name, "dev", "test", envclone.Options{Overrides: map[string]envclone.Override{"web": {Image: "nginx:1.27", Replicas: &one}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"deployment " + test + "/web", "deployment " + test + "/api", "service " + test + "/web",
		"horizontalpodautoscaler " + test + "/api", "config test/web.LOG_LEVEL", "secret (re-encrypted) test/web.DB_PASSWORD"} {
		if !slices.Contains(rep.Created, want) {
			t.Errorf("report lacks %q: %v", want, rep.Created)
		}
	}
	web, err := w.Env.Client.AppsV1().Deployments(test).Get(ctx, "web", metav1.GetOptions{})
	if err != nil || web.Spec.Template.Spec.Containers[0].Image != "nginx:1.27" || *web.Spec.Replicas != 1 {
		t.Fatalf("test/web = %+v %v", web, err)
	}
	api, err := w.Env.Client.AppsV1().Deployments(test).Get(ctx, "api", metav1.GetOptions{})
	if err != nil || api.Spec.Template.Spec.Containers[0].Image != "api:3.1" {
		t.Fatalf("test/api = %+v %v", api, err)
	}
	items, err := cfg.Get(ctx, pconfig.Ref{Tenant: name, Env: "test", App: "web"}, true)
	if err != nil || len(items) != 2 {
		t.Fatalf("test config = %+v %v", items, err)
	}
	for _, it := range items {
		if it.Key == "DB_PASSWORD" && it.Value != "hunter2" {
			t.Fatalf("re-encrypted secret reads %q", it.Value)
		}
	}
	// Nothing in dev changed.
	for _, app := range []string{"web", "api"} {
		d, _ := w.Env.Client.AppsV1().Deployments(dev).Get(ctx, app, metav1.GetOptions{})
		if got := [2]any{d.Spec.Template.Spec.Containers[0].Image, d.Generation}; got != before[app] {
			t.Fatalf("dev/%s changed: %v -> %v", app, before[app], got)
		}
	}
	// Cloning again refuses to overwrite, and changes nothing.
	two := int32(2)
	if _, err := svc.Clone(ctx, as, name, "dev", "test", envclone.Options{Overrides: map[string]envclone.Override{"web": {Replicas: &two}}}); !errors.Is(err, perr.ErrConflict) {
		t.Fatalf("second clone: %v", err)
	}
	web, _ = w.Env.Client.AppsV1().Deployments(test).Get(ctx, "web", metav1.GetOptions{})
	if *web.Spec.Replicas != 1 {
		t.Fatal("a refused clone changed the target")
	}
	var pe *perr.Error
	if _, err := svc.Clone(ctx, as, name, "dev", "test", envclone.Options{Overrides: map[string]envclone.Override{"nope": {}}}); !errors.As(err, &pe) || pe.Field != "overrides.nope" {
		t.Fatalf("bad override: %v", err)
	}
}
