package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/tenant"
)

// The console's platform pages in Debian's Chromium (web/e2e/pages.e2e.mjs) on the sandbox, with
// 200 apps in the environment: the developer's New app form, the operator's approval, the pod
// running, its logs, a settings change and a rollback from the revisions tab through approval, a
// Redis from the catalog, the bill chart (the real meter, sampling every 2s), the diagnosis of an
// alert Alertmanager sent, Chinese, a phone, labelled fields, and the manual's console paths.
// Screenshots are kept in web/e2e/artifacts.
func TestConsolePagesInBrowser(t *testing.T) {
	chromium := browserDeps(t)
	const bearer = "am-console-bearer-7731"
	w := newConsoleWorldWith(t, func(w *consoleWorld) []string {
		// Prices high enough that a minute of the sandbox shows in cents.
		return []string{"billing: {interval: 2s, core_hour: 36000, gib_hour: 36000, storage_gib_month: 2600000, plans: {small: 2600000}}",
			fmt.Sprintf("alerts: {enabled: true, bearer_token: %q, identity: %q, concurrency: 1}", bearer, w.ops)}
	})
	ctx := context.Background()
	kc, err := kube.New(w.env.Admin)
	if err != nil {
		t.Fatal(err)
	}
	as := apps.Target{As: tenant.Identity(w.dev), Namespace: w.ns}
	for i := range 200 {
		if _, err := apps.NewService(kc).Create(ctx, as, apps.Spec{Name: fmt.Sprintf("app-%03d", i), Image: "busybox:1.36", Replicas: 0},
			apps.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Alertmanager's notification about nginx: the worker diagnoses it (no chat channel routed).
	alert := fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"KubePodNotReady\"}","status":"firing","receiver":"k8s-manage",`+
		`"alerts":[{"status":"firing","labels":{"alertname":"KubePodNotReady","namespace":%q,"deployment":"nginx","severity":"warning"},`+
		`"annotations":{"summary":"nginx pods are not ready"},"startsAt":"2026-12-02T09:00:00Z","fingerprint":"fp-console-1"}]}`, w.ns)
	req, _ := http.NewRequest("POST", "http://"+w.addr+"/api/v1/alerts/alertmanager", strings.NewReader(alert))
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("alert webhook: %v %v", resp, err)
	}
	resp.Body.Close()
	// The new app's pods log like a web server (kwok serves what the sandbox sets).
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		seen := map[string]bool{}
		for {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
			pods, err := w.env.Client.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: apps.LabelApp + "=shop"})
			if err != nil {
				continue
			}
			for _, p := range pods.Items {
				if !seen[p.Name] && w.env.Sandbox.SetLogs(ctx, w.ns, p.Name, "app", []string{"GET /healthz 200", "GET /orders 500 upstream timeout",
					"GET /orders 200", "GET /cart 200"}, nil) == nil {
					seen[p.Name] = true
				}
			}
		}
	}()
	artifacts, _ := filepath.Abs(filepath.Join("..", "..", "web", "e2e", "artifacts", t.Name()))
	os.RemoveAll(artifacts)
	manual, _ := filepath.Abs(filepath.Join("..", "..", "docs", "user", "help-center-manual.md"))
	runBrowser(t, "e2e/pages.e2e.mjs", artifacts, "BASE_URL=http://"+w.addr, "CHROMIUM="+chromium, "PASSWORD="+w.password,
		"DEV_EMAIL="+w.dev, "OPS_EMAIL="+w.ops, "ADMIN_EMAIL="+w.admin, "MANUAL="+manual)

	d, err := w.env.Client.AppsV1().Deployments(w.ns).Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the app created through the form: %v", err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != "nginx:1.27" || len(c.Env) != 1 || c.Env[0].Name != "GREETING" || len(c.Ports) != 1 || c.Ports[0].ContainerPort != 8080 {
		t.Fatalf("shop after the form, the edit and the rollback: image %s env %v ports %v", c.Image, c.Env, c.Ports)
	}
	if _, err := w.env.Client.AppsV1().StatefulSets(w.ns).Get(ctx, "cache", metav1.GetOptions{}); err != nil {
		t.Fatalf("the Redis provisioned from the catalog: %v", err)
	}
	for _, f := range []string{"01-apps-list", "03-new-app-preview", "04-new-app-pending", "05-operator-approved", "06-app-pods", "07-app-logs",
		"08-rollback-pending", "09-rolled-back", "10-catalog-redis", "11-bills", "12-alert-diagnosis", "13-chinese", "14-phone"} {
		if st, err := os.Stat(filepath.Join(artifacts, f+".png")); err != nil || st.Size() < 5000 {
			t.Fatalf("screenshot %s missing or empty: %v", f, err)
		}
	}
}
