package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/adapters/alertmanager"
	"k8s-manage/hack/sandbox"
	"k8s-manage/hack/sandbox/promtest"
	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/platform/platformtest"
)

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Title  string `json:"title"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

// TestDashboardQueriesRunOnPrometheus: the served binary (a chat turn with a tool call, an
// approval request, an alert worked off), a tenant app on the sandbox with usage and an HTTP app
// labeled as its pod, all scraped by a real Prometheus with kube-state-metrics. Every query of
// every dashboard the chart ships runs there, each metric it selects exists, and each panel of
// the service's and the app's dashboards has data.
func TestDashboardQueriesRunOnPrometheus(t *testing.T) {
	env := sandboxtest.Start(t)
	ctx := context.Background()
	dir := t.TempDir()
	name := sandboxtest.Name("dash")
	const bearer = "am-dash-bearer-token-57"
	// A hosted model (an OpenAI-compatible fake the real client talks to): the model latency and
	// token metrics are a hosted model's.
	llm := httptest.NewServer(&fakeOpenAI{})
	t.Cleanup(llm.Close)
	cfgPath := filepath.Join(dir, "k8s-manage.yaml")
	cfg := fmt.Sprintf(`cluster: {mode: kubeconfig, kubeconfig: %q}
store: {dsn: "sqlite://%s"}
knowledge: {docs_root: "../.."}
config_center: {generated_key_file: %q}
alerts: {enabled: true, bearer_token: %s}
agent: {model: {provider: openai, base_url: %q, model: gpt-test, api_key: %s}}
`, env.Sandbox.KubeconfigPath(), filepath.Join(dir, "s.db"), filepath.Join(dir, "cc.key"), bearer, llm.URL, fakeKey)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	dev := platformtest.Email("dev")
	runCmd(t, "--config", cfgPath, "tenant", "create", name, "--env", "dev", "--member", dev+"=developer",
		"--member", "alertmanager@k8s-manage.local=viewer")
	ns := name + "-dev"
	t.Cleanup(func() { env.DeleteNamespace(ns) })
	devTok, _ := runCmd(t, "--config", cfgPath, "token", "create", "--user", dev)
	_, addr, _ := serveWith(t, cfgPath)

	labels := map[string]string{"app.kubernetes.io/name": "web"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: ptr[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{
				sandbox.UsageCPUAnnotation: "120m", sandbox.UsageMemoryAnnotation: "200Mi",
				sandbox.UsageNetworkReceiveAnnotation: "64Ki", sandbox.UsageNetworkTransmitAnnotation: "32Ki"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}}}
	if _, err := env.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	app := promtest.StartApp(t, 10, 10*time.Millisecond)
	app.SetErrorPercent(10)

	// The service at work: a chat turn with a tool call, a change waiting for approval, an alert.
	call := func(method, path, body string, want int) string {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(devTok))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return string(b)
	}
	if out := call("POST", "/api/v1/chat", fmt.Sprintf(`{"message":"is nginx ok?","tenant":%q}`, name), 200); !strings.Contains(out, `"type":"final"`) {
		t.Fatalf("chat: %s", out)
	}
	call("POST", "/api/v1/apps/web/scale?tenant="+name+"&env=dev", `{"replicas":3}`, 202)
	alert, _ := json.Marshal(alertmanager.Webhook{Version: "4", GroupKey: `{}:{namespace="` + ns + `"}`, Status: "firing", Receiver: "k8s-manage",
		Alerts: []alertmanager.Alert{{Status: "firing", Fingerprint: "da5h0001", StartsAt: time.Now().Add(-time.Minute),
			Labels: map[string]string{"alertname": "KubeDeploymentReplicasMismatch", "namespace": ns, "deployment": "web", "severity": "warning"}}}})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/alerts/alertmanager", strings.NewReader(string(alert)))
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("alert webhook: %v %v", err, resp)
	}
	resp.Body.Close()
	platformtest.Eventually(t, 60*time.Second, func() (bool, string) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), "k8sm_alerts_handled_total{"), "the alert is not worked off yet"
	})

	prom := promtest.Start(t, env, promtest.Target{Job: "k8s-manage", Addr: addr},
		promtest.Target{Job: "web", Addr: app.Addr, Labels: map[string]string{"namespace": ns, "pod": "web-6c9f8d7b5c-k2p4z"}})
	prom.WaitFor(t, fmt.Sprintf(`count(count_over_time(http_requests_total{namespace=%q}[20s]) >= 8) and count(count_over_time(k8sm_agent_turns_total[20s]) >= 8)`, ns),
		2*time.Minute, func(s []promtest.Sample) bool { return len(s) == 1 })

	var names struct {
		Data []string `json:"data"`
	}
	if err := prom.Get(ctx, "/api/v1/label/__name__/values", nil, &names); err != nil {
		t.Fatal(err)
	}
	exists := map[string]bool{}
	for _, n := range names.Data {
		exists[n] = true
	}
	vars := strings.NewReplacer("$__rate_interval", "8s", "$__range", "1m", "$namespace", ns, "$app", "web")
	files, err := filepath.Glob(filepath.Join("..", "..", "deploy", "helm", "k8s-manage", "dashboards", "*.json"))
	if err != nil || len(files) < 2 {
		t.Fatalf("dashboards: %v %v", files, err)
	}
	labelValues := regexp.MustCompile(`^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var db dashboard
		if err := json.Unmarshal(raw, &db); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, v := range db.Templating.List {
			if m := labelValues.FindStringSubmatch(v.Definition); m != nil && !exists[m[1]] {
				t.Errorf("%s: variable %s reads %s, which Prometheus does not have", db.Title, v.Name, m[1])
			}
		}
		for _, p := range db.Panels {
			for _, tg := range p.Targets {
				expr := vars.Replace(tg.Expr)
				for _, metric := range selectedMetrics(t, prom, expr) {
					if !exists[metric] {
						t.Errorf("%s / %s: %s does not exist in Prometheus", db.Title, p.Title, metric)
					}
				}
				s, err := prom.Instant(ctx, expr)
				if err != nil {
					t.Errorf("%s / %s: %v", db.Title, p.Title, err)
				} else if len(s) == 0 {
					t.Errorf("%s / %s: no data for %s", db.Title, p.Title, expr)
				}
			}
		}
	}
}

// selectedMetrics are the metric names an expression's vector selectors name, from Prometheus'
// own parse of it (/api/v1/parse_query).
func selectedMetrics(t *testing.T, prom *promtest.Server, expr string) []string {
	t.Helper()
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   any    `json:"data"`
	}
	if err := prom.Get(context.Background(), "/api/v1/parse_query", url.Values{"query": {expr}}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Status != "success" {
		t.Fatalf("parse %s: %s", expr, out.Error)
	}
	var names []string
	var walk func(any)
	walk = func(n any) {
		switch v := n.(type) {
		case map[string]any:
			if v["type"] == "vectorSelector" || v["type"] == "matrixSelector" {
				if name, _ := v["name"].(string); name != "" {
					names = append(names, name)
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(out.Data)
	if len(names) == 0 {
		t.Fatalf("%s selects no metric", expr)
	}
	return names
}
