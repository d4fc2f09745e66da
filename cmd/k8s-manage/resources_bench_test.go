package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/internal/config"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

// The console's app list with 200 apps on the sandbox: one GET /api/v1/apps?limit=200 as the
// developer (impersonated list of Deployments, health, last deploy, the page). The browser's
// figure (the click to 200 rendered rows) is printed by TestConsolePagesInBrowser.
func BenchmarkAppsList200(b *testing.B) {
	env := sandboxtest.Start(b)
	ctx := context.Background()
	knowledgeEnv(b)
	cfg, err := config.Load(config.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	cfg.Cluster.Mode, cfg.Cluster.Kubeconfig = config.ClusterKubeconfig, env.Sandbox.KubeconfigPath()
	a, err := newApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	dev := platformtest.Email("dev")
	name := sandboxtest.Name("list")
	if _, _, err := a.tenants.Create(ctx, tenant.Spec{Name: name, Environments: []string{"dev"}, Members: []tenant.Member{{Email: dev, Role: tenant.Developer}}}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.tenants.Delete(context.Background(), name) })
	t := apps.Target{As: tenant.Identity(dev), Namespace: tenant.Namespace(name, "dev")}
	for i := range 200 {
		if _, err := apps.NewService(a.kube).Create(ctx, t, apps.Spec{Name: fmt.Sprintf("app-%03d", i), Image: "busybox:1.36", Replicas: 0}, apps.WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	tok, _ := a.tokens.Create(ctx, dev, "bench")
	srv := httptest.NewServer(a.http.Handler())
	defer srv.Close()
	url := srv.URL + "/api/v1/apps?tenant=" + name + "&env=dev&limit=200"
	var size int
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%d %s", resp.StatusCode, body)
		}
		size = len(body)
	}
	b.ReportMetric(float64(size), "bytes/page")
}
