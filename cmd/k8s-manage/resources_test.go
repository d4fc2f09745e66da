package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/adapters/alertmanager"
	"k8s-manage/agent/approval"
	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

// written is the answer to a REST write.
type written struct {
	Status   string `json:"status"`
	Approval struct {
		ID      string `json:"id"`
		Tool    string `json:"tool"`
		Preview string `json:"preview"`
		Status  string `json:"status"`
	} `json:"approval"`
	Result json.RawMessage `json:"result"`
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, body)
	}
	return v
}

// The REST resources on the sandbox, every request and answer checked against the contract: a
// developer creates an app through the API and gets 202 with the dry-run diff and nothing
// created; an operator approves and it runs once, as the developer; the app is listed (paged);
// an edit with a stale ETag gets 412, without If-Match 428, and with the right one 202; logs
// stream as SSE; a rollback and a catalog instance go through approval too; a tenant that lets
// admins bypass approval runs an admin's write at once, but never a destructive one.
func TestRESTResources(t *testing.T) {
	env := sandboxtest.Start(t)
	ctx := context.Background()
	cfg := sandboxConfig(t, env)
	name := sandboxtest.Name("rest")
	cfg.Agent.ApprovalBypass = map[string]string{name: "admin"}
	a := testApp(t, cfg)
	dev, ops, admin, viewer := platformtest.Email("dev"), platformtest.Email("ops"), platformtest.Email("admin"), platformtest.Email("viewer")
	if _, _, err := a.tenants.Create(ctx, tenant.Spec{Name: name, Environments: []string{"dev"},
		Members: []tenant.Member{{Email: dev, Role: tenant.Developer}, {Email: ops, Role: tenant.Operator}, {Email: admin, Role: tenant.Admin},
			{Email: viewer, Role: tenant.Viewer}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.tenants.Delete(context.Background(), name) })
	ns := tenant.Namespace(name, "dev")
	srv := httptest.NewServer(a.http.Handler())
	defer srv.Close()
	tok := func(u string) client { s, _ := a.tokens.Create(ctx, u, "test"); return client{t, srv.URL, s} }
	q := "?tenant=" + name + "&env=dev"

	users := people{dev: tok(dev), ops: tok(ops), admin: tok(admin), view: tok(viewer)}
	// Shared by the steps that follow the create: the approved Deployment and the edit body.
	var d *appsv1.Deployment
	var edit string
	step := stepper(t, users)

	step("bad input names the field and proposes nothing", func(t *testing.T, u people) {
		for _, c := range []struct{ body, field string }{
			{`{"name":"Bad_Name","image":"nginx:1.27"}`, "name"},
			{`{"name":"web","image":""}`, "image"},
			{`{"name":"web","image":"nginx","ports":[{"port":70000}]}`, "ports[0].port"},
			{`{"name":"web","image":"nginx","env":{"1X":"y"}}`, "env.1X"},
			{`{"name":"web","image":"nginx","resources":{"cpu_request":"lots"}}`, "resources.cpu_request"},
			{`{"name":"web","image":"nginx","colour":"red"}`, "colour"},
		} {
			resp, body := u.dev.do("POST", "/api/v1/apps"+q, c.body)
			if resp.StatusCode != 400 || !strings.Contains(string(body), `"field":"`+c.field+`"`) {
				t.Errorf("create %s: %d %s, want 400 naming %s", c.body, resp.StatusCode, body, c.field)
			}
		}
		if resp, body := u.view.do("POST", "/api/v1/apps"+q, `{"name":"web","image":"nginx"}`); resp.StatusCode != 403 {
			t.Errorf("viewer create: %d %s", resp.StatusCode, body)
		}
	})
	step("a create waits for someone else's approval and runs once", func(t *testing.T, u people) {
		resp, body := u.dev.do("POST", "/api/v1/apps"+q, `{"name":"web","image":"nginx:1.27","replicas":2,"env":{"GREETING":"hello"},"ports":[{"port":8080}]}`)
		if resp.StatusCode != 202 {
			t.Fatalf("create: %d %s", resp.StatusCode, body)
		}
		w := decode[written](t, body)
		if w.Status != "pending" || w.Approval.Tool != "create_app" || !strings.Contains(w.Approval.Preview, "GREETING") || !strings.Contains(w.Approval.Preview, "8080") {
			t.Fatalf("create answer: %s", body)
		}
		if _, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); err == nil {
			t.Fatal("the app exists before its approval")
		}
		if resp, _ := u.dev.do("POST", "/api/v1/approvals/"+w.Approval.ID+"/decision", `{"approve":true}`); resp.StatusCode != 403 {
			t.Fatalf("the requester approved their own request: %d", resp.StatusCode)
		}
		resp, body = u.ops.do("POST", "/api/v1/approvals/"+w.Approval.ID+"/decision", `{"approve":true}`)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"tool":"create_app"`) {
			t.Fatalf("approve create: %d %s", resp.StatusCode, body)
		}
		if resp, _ := u.ops.do("POST", "/api/v1/approvals/"+w.Approval.ID+"/decision", `{"approve":true}`); resp.StatusCode != 409 {
			t.Fatalf("second approval: %d", resp.StatusCode)
		}
		var err error
		d, err = env.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil || d.Spec.Template.Spec.Containers[0].Env[0].Value != "hello" {
			t.Fatalf("the approved app: %v %v", d, err)
		}
		if _, err := env.Client.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{}); err != nil {
			t.Fatalf("the app's Service: %v", err)
		}

	})
	step("the list is paged and filtered", func(t *testing.T, u people) {
		// List, paged and filtered.
		for i := range 4 {
			if _, err := apps.NewService(a.kube).Create(ctx, apps.Target{As: tenant.Identity(dev), Namespace: ns},
				apps.Spec{Name: fmt.Sprintf("svc-%d", i), Image: "busybox:1.36", Replicas: 0}, apps.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		type appList struct {
			Items []apps.Summary `json:"items"`
			Next  string         `json:"next_cursor"`
		}
		var names []string
		cursor := ""
		for range 5 {
			_, body := u.view.do("GET", "/api/v1/apps"+q+"&limit=2&cursor="+url.QueryEscape(cursor), "")
			l := decode[appList](t, body)
			for _, s := range l.Items {
				names = append(names, s.Name)
			}
			if cursor = l.Next; cursor == "" {
				break
			}
		}
		if fmt.Sprint(names) != "[svc-0 svc-1 svc-2 svc-3 web]" {
			t.Fatalf("paged names: %v", names)
		}
		_, body := u.view.do("GET", "/api/v1/apps"+q+"&health=stopped", "")
		if l := decode[appList](t, body); len(l.Items) != 4 || l.Items[0].Health != "stopped" {
			t.Fatalf("stopped apps: %s", body)
		}
		for _, c := range []struct{ path, field string }{{"&limit=0", "limit"}, {"&cursor=not*base64", "cursor"}, {"&health=sad", "health"}} {
			if resp, body := u.view.do("GET", "/api/v1/apps"+q+c.path, ""); resp.StatusCode != 400 || !strings.Contains(string(body), `"field":"`+c.field+`"`) {
				t.Errorf("list %s: %d %s", c.path, resp.StatusCode, body)
			}
		}

	})
	step("a stale If-Match gets 412 and proposes nothing", func(t *testing.T, u people) {
		// ETag and If-Match: a stale version gets 412 and proposes nothing.
		resp, body := u.dev.do("GET", "/api/v1/apps/web"+q, "")
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != 200 || etag == "" || !strings.Contains(string(body), `"GREETING":"hello"`) {
			t.Fatalf("get app: %d %q %s", resp.StatusCode, etag, body)
		}
		edit = `{"image":"nginx:1.28","replicas":2,"env":{"GREETING":"hi"},"ports":[{"port":8080}],"command":["nginx"],"args":["-g","daemon off;"],` +
			`"resources":{"cpu_request":"100m","memory_limit":"256Mi"},"readiness":{"path":"/healthz","port":8080}}`
		if resp, body := u.dev.do("PUT", "/api/v1/apps/web"+q, edit); resp.StatusCode != 428 || !strings.Contains(string(body), `"field":"If-Match"`) {
			t.Fatalf("edit without If-Match: %d %s", resp.StatusCode, body)
		}
		// Someone else changes the app in between (a scale from the cluster side).
		d.Spec.Replicas = ptr(int32(1))
		if _, err := env.Client.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		before, _ := a.agent.Approvals().List(ctx, approvalFilter(name))
		resp, body = u.dev.do("PUT", "/api/v1/apps/web"+q, edit, "If-Match", etag)
		if resp.StatusCode != 412 || !strings.Contains(string(body), `"field":"If-Match"`) || resp.Header.Get("ETag") == etag {
			t.Fatalf("edit with a stale ETag: %d %s", resp.StatusCode, body)
		}
		if after, _ := a.agent.Approvals().List(ctx, approvalFilter(name)); len(after) != len(before) {
			t.Fatalf("a stale edit created an approval request (%d -> %d)", len(before), len(after))
		}
		resp, body = u.dev.do("PUT", "/api/v1/apps/web"+q, edit, "If-Match", resp.Header.Get("ETag"))
		if resp.StatusCode != 202 {
			t.Fatalf("edit with the fresh ETag: %d %s", resp.StatusCode, body)
		}
		w := decode[written](t, body)
		if !strings.Contains(w.Approval.Preview, "nginx:1.28") || !strings.Contains(w.Approval.Preview, "/healthz") {
			t.Fatalf("edit preview: %s", w.Approval.Preview)
		}
		if _, body := u.ops.do("POST", "/api/v1/approvals/"+w.Approval.ID+"/decision", `{"approve":true}`); !strings.Contains(string(body), "nginx:1.28") {
			t.Fatalf("approve edit: %s", body)
		}
		cfgNow, err := apps.NewService(a.kube).GetConfig(ctx, apps.Target{As: tenant.Identity(dev), Namespace: ns}, "web")
		if err != nil || cfgNow.Image != "nginx:1.28" || cfgNow.Env["GREETING"] != "hi" || cfgNow.Resources.CPURequest != "100m" ||
			cfgNow.Readiness == nil || cfgNow.Readiness.Path != "/healthz" || strings.Join(cfgNow.Args, " ") != "-g daemon off;" {
			t.Fatalf("the edited app: %+v %v", cfgNow, err)
		}

	})
	step("an edit approved after someone else changed the app is refused when it runs", func(t *testing.T, u people) {
		_, body := u.dev.do("GET", "/api/v1/apps/web"+q, "")
		resp, _ := u.dev.do("GET", "/api/v1/apps/web"+q, "")
		resp, body = u.dev.do("PUT", "/api/v1/apps/web"+q, strings.Replace(edit, "nginx:1.28", "nginx:1.29", 1), "If-Match", resp.Header.Get("ETag"))
		if resp.StatusCode != 202 {
			t.Fatalf("second edit: %d %s", resp.StatusCode, body)
		}
		w := decode[written](t, body)
		live, _ := env.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		live.Spec.Replicas = ptr(int32(3))
		if _, err := env.Client.AppsV1().Deployments(ns).Update(ctx, live, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, body := u.ops.do("POST", "/api/v1/approvals/"+w.Approval.ID+"/decision", `{"approve":true}`); !strings.Contains(string(body), "changed since version") {
			t.Fatalf("an approved edit over a newer version: %s", body)
		}
		if live, _ := env.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); live.Spec.Template.Spec.Containers[0].Image != "nginx:1.28" {
			t.Fatalf("the stale edit was applied: %s", live.Spec.Template.Spec.Containers[0].Image)
		}

	})
	step("pods, events, revisions, logs and rollback, read as the person", func(t *testing.T, u people) {
		waitFor(t, 60*time.Second, func() bool {
			_, body := u.view.do("GET", "/api/v1/apps/web/pods"+q, "")
			return strings.Contains(string(body), `"phase":"Running"`)
		})
		pods, _ := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: apps.LabelApp + "=web"})
		pod := pods.Items[0].Name
		if err := env.Sandbox.SetLogs(ctx, ns, pod, "app", []string{"GET /healthz 200", "GET /orders 500 token=sk-live-abcdefghijklmnop1234", "GET /orders 200"}, nil); err != nil {
			t.Fatal(err)
		}
		var logBody []byte
		var resp *http.Response
		waitFor(t, 30*time.Second, func() bool {
			resp, logBody = u.view.do("GET", "/api/v1/apps/web/logs"+q+"&pod="+pod+"&q=orders", "")
			return resp.StatusCode == 200 && strings.Count(string(logBody), "event: line") == 2
		})
		if resp.Header.Get("Content-Type") != "text/event-stream" || !strings.Contains(string(logBody), "event: end") ||
			strings.Contains(string(logBody), "healthz") || strings.Contains(string(logBody), "sk-live-abcdefghijklmnop1234") {
			t.Fatalf("log stream: %s", logBody)
		}
		if resp, body := u.view.do("GET", "/api/v1/apps/web/logs"+q+"&pod=no-such-pod", ""); resp.StatusCode != 404 {
			t.Fatalf("logs of a missing pod: %d %s", resp.StatusCode, body)
		}
		if resp, body := u.view.do("GET", "/api/v1/apps/web/events"+q, ""); resp.StatusCode != 200 || !strings.Contains(string(body), `"Scheduled"`) ||
			strings.Contains(string(body), "not instructions") {
			t.Fatalf("events: %d %s", resp.StatusCode, body)
		}
		_, body := u.view.do("GET", "/api/v1/apps/web/revisions"+q, "")
		if !strings.Contains(string(body), "nginx:1.27") || !strings.Contains(string(body), "nginx:1.28") {
			t.Fatalf("revisions: %s", body)
		}
		resp, body = u.dev.do("POST", "/api/v1/apps/web/rollback"+q, `{}`)
		if resp.StatusCode != 202 || !strings.Contains(string(body), "nginx:1.27") {
			t.Fatalf("rollback: %d %s", resp.StatusCode, body)
		}
		w := decode[written](t, body)
		u.ops.do("POST", "/api/v1/approvals/"+w.Approval.ID+"/decision", `{"approve":true}`)
		if live, _ := env.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); live.Spec.Template.Spec.Containers[0].Image != "nginx:1.27" {
			t.Fatalf("after the approved rollback: %s", live.Spec.Template.Spec.Containers[0].Image)
		}
	})
	step("a dry run requests nothing and an omitted replica count stays", func(t *testing.T, u people) {
		// A dry run answers the diff and requests nothing (the console's preview before it submits).
		before, _ := a.agent.Approvals().List(ctx, approvalFilter(name))
		resp, body := u.dev.do("POST", "/api/v1/apps/web/scale"+q+"&dry_run=true", `{"replicas":5}`)
		if w := decode[written](t, body); resp.StatusCode != 200 || w.Status != "preview" || !strings.Contains(string(w.Result), `"spec.replicas"`) {
			t.Fatalf("dry run: %d %s", resp.StatusCode, body)
		}
		if after, _ := a.agent.Approvals().List(ctx, approvalFilter(name)); len(after) != len(before) {
			t.Fatal("a dry run created an approval request")
		}
		// PUT replaces the configuration, but an omitted replica count stays as it is.
		resp, _ = u.dev.do("GET", "/api/v1/apps/web"+q, "")
		resp, body = u.dev.do("PUT", "/api/v1/apps/web"+q+"&dry_run=true", `{"image":"nginx:1.27","ports":[{"port":8080}]}`, "If-Match", resp.Header.Get("ETag"))
		if resp.StatusCode != 200 || strings.Contains(string(body), `"spec.replicas"`) || !strings.Contains(string(body), "GREETING") {
			t.Fatalf("an edit without replicas (and without env vars, which it removes): %d %s", resp.StatusCode, body)
		}
		if resp, body := u.dev.do("POST", "/api/v1/apps/web/scale"+q, `{}`); resp.StatusCode != 400 || !strings.Contains(string(body), `"field":"replicas"`) {
			t.Fatalf("scale without replicas: %d %s", resp.StatusCode, body)
		}
		for _, k := range []string{"tenant", "Tenant", "ENV"} {
			if resp, body := u.dev.do("POST", "/api/v1/apps/web/scale"+q, `{"replicas":2,"`+k+`":"other"}`); resp.StatusCode != 400 || !strings.Contains(string(body), `"field":"`+k+`"`) {
				t.Fatalf("%s in the body: %d %s", k, resp.StatusCode, body)
			}
		}

	})
	step("catalog provisioning needs an operator and approval", func(t *testing.T, u people) {
		// Catalog: plans, provisioning through approval, the instance listed.
		if _, body := u.view.do("GET", "/api/v1/catalog/plans", ""); !strings.Contains(string(body), "redis") {
			t.Fatalf("plans: %s", body)
		}
		// Provisioning needs the operator role (it writes a Secret, a StatefulSet and a claim, as the person).
		if resp, body := u.dev.do("POST", "/api/v1/catalog/instances"+q, `{"type":"redis","name":"cache","plan":"small"}`); resp.StatusCode != 403 || !strings.Contains(string(body), "operator") {
			t.Fatalf("developer provision: %d %s", resp.StatusCode, body)
		}
		resp, body := u.ops.do("POST", "/api/v1/catalog/instances"+q, `{"type":"redis","name":"cache","plan":"small"}`)
		if resp.StatusCode != 202 {
			t.Fatalf("provision: %d %s", resp.StatusCode, body)
		}
		w := decode[written](t, body)
		u.admin.do("POST", "/api/v1/approvals/"+w.Approval.ID+"/decision", `{"approve":true}`)
		if _, body := u.view.do("GET", "/api/v1/catalog/instances"+q, ""); !strings.Contains(string(body), `"name":"cache"`) {
			t.Fatalf("instances: %s", body)
		}
		if resp, body := u.dev.do("GET", "/api/v1/catalog/instances/cache/credentials"+q, ""); resp.StatusCode != 403 || strings.Contains(string(body), "password") {
			t.Fatalf("developer credentials: %d %s", resp.StatusCode, body)
		}
		resp, body = u.ops.do("GET", "/api/v1/catalog/instances/cache/credentials"+q, "")
		if creds := decode[map[string]any](t, body); resp.StatusCode != 200 || creds["username"] != "default" || len(fmt.Sprint(creds["password"])) < 8 {
			t.Fatalf("operator credentials: %d %s", resp.StatusCode, body)
		}

	})
	step("admins bypass approval for mutating calls, not destructive ones", func(t *testing.T, u people) {
		resp, body := u.admin.do("POST", "/api/v1/apps/web/scale"+q, `{"replicas":1}`)
		if resp.StatusCode != 200 || decode[written](t, body).Status != "done" {
			t.Fatalf("admin scale with bypass: %d %s", resp.StatusCode, body)
		}
		if live, _ := env.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); *live.Spec.Replicas != 1 {
			t.Fatalf("bypassed scale did not run: %d", *live.Spec.Replicas)
		}
		if resp, body := u.admin.do("DELETE", "/api/v1/apps/svc-0"+q, ""); resp.StatusCode != 202 {
			t.Fatalf("admin delete (destructive, never bypassed): %d %s", resp.StatusCode, body)
		}
		if resp, body := u.dev.do("POST", "/api/v1/apps/web/scale"+q, `{"replicas":4}`); resp.StatusCode != 202 {
			t.Fatalf("developer scale (no bypass for developers): %d %s", resp.StatusCode, body)
		}
		log, _ := a.agent.Approvals().AuditLog(ctx, name, 200)
		bypassed := 0
		for _, e := range log {
			if e.ApprovalID == "bypass" && e.User == admin && e.Tool == "scale_app" {
				bypassed++
			}
		}
		if bypassed != 1 {
			t.Fatalf("bypassed calls audited: %d", bypassed)
		}

	})
	step("tenants, members, quota and alerts", func(t *testing.T, u people) {
		// Tenants, members, quota; alerts (none yet).
		if _, body := u.dev.do("GET", "/api/v1/tenants", ""); !strings.Contains(string(body), name) {
			t.Fatalf("tenants: %s", body)
		}
		if resp, _ := u.dev.do("GET", "/api/v1/tenants/"+name+"/members", ""); resp.StatusCode != 403 {
			t.Fatalf("members as developer: %d", resp.StatusCode)
		}
		if _, body := u.admin.do("GET", "/api/v1/tenants/"+name+"/members", ""); !strings.Contains(string(body), viewer) {
			t.Fatalf("members: %s", body)
		}
		if resp, body := u.view.do("GET", "/api/v1/tenants/"+name+"/quota?env=dev", ""); resp.StatusCode != 200 {
			t.Fatalf("quota: %d %s", resp.StatusCode, body)
		}
		if resp, body := u.view.do("GET", "/api/v1/alerts?tenant="+name, ""); resp.StatusCode != 200 || !strings.Contains(string(body), `"items"`) {
			t.Fatalf("alerts: %d %s", resp.StatusCode, body)
		}
	})
	step("an alert's proposed fix opens an approval as the person who clicks", func(t *testing.T, u people) {
		aq := alertmanager.NewQueue(a.store, nil)
		if _, _, err := aq.Enqueue(ctx, &alertmanager.Webhook{GroupKey: "g-rest", Alerts: []alertmanager.Alert{{Status: "firing", Fingerprint: "fp-rest",
			Labels: map[string]string{"alertname": "KubeDeploymentReplicasMismatch", "namespace": ns}, StartsAt: time.Now()}}}); err != nil {
			t.Fatal(err)
		}
		items, err := aq.Claim(ctx, 1, time.Minute)
		if err != nil || len(items) != 1 {
			t.Fatalf("claim the alert: %v %v", items, err)
		}
		items[0].Tenant = name
		if err := aq.Finish(ctx, items[0], alertmanager.Done, `{"tenant":"`+name+`","env":"dev","app":"web","diagnosis":"web has fewer replicas than it needs",`+
			`"fixes":[{"tenant":"`+name+`","env":"dev","tool":"scale_app","args":"{\"tenant\":\"`+name+`\",\"app\":\"web\",\"replicas\":2}"}]}`); err != nil {
			t.Fatal(err)
		}
		_, body := u.view.do("GET", "/api/v1/alerts?tenant="+name, "")
		if !strings.Contains(string(body), "fewer replicas") || !strings.Contains(string(body), `"tool":"scale_app"`) {
			t.Fatalf("the tenant's alerts: %s", body)
		}
		if resp, _ := u.view.do("POST", "/api/v1/alerts/"+items[0].ID+"/fixes/0?tenant="+name, ""); resp.StatusCode != 403 {
			t.Fatalf("a viewer proposed a fix: %d", resp.StatusCode)
		}
		if resp, _ := u.dev.do("POST", "/api/v1/alerts/"+items[0].ID+"/fixes/7?tenant="+name, ""); resp.StatusCode != 404 {
			t.Fatalf("a fix that does not exist: %d", resp.StatusCode)
		}
		resp, body := u.dev.do("POST", "/api/v1/alerts/"+items[0].ID+"/fixes/0?tenant="+name, "")
		if w := decode[written](t, body); resp.StatusCode != 202 || w.Approval.Tool != "scale_app" || !strings.Contains(w.Approval.Preview, `"spec.replicas"`) {
			t.Fatalf("propose the alert's fix: %d %s", resp.StatusCode, body)
		}

	})
	step("a stranger reads nothing of the tenant", func(t *testing.T, u people) {
		stranger := tok(platformtest.Email("stranger")).on(t)
		for _, p := range []string{"/api/v1/apps" + q, "/api/v1/apps/web" + q, "/api/v1/apps/web/logs" + q, "/api/v1/alerts?tenant=" + name,
			"/api/v1/catalog/instances" + q, "/api/v1/builds" + q} {
			if resp, body := stranger.do("GET", p, ""); resp.StatusCode != 403 || !strings.Contains(string(body), name) {
				t.Errorf("stranger GET %s: %d %s", p, resp.StatusCode, body)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }

func waitFor(t *testing.T, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not so after %s", d)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func approvalFilter(tenantName string) approval.Filter {
	return approval.Filter{Tenants: []string{tenantName}}
}

// people are a tenant's members as API clients.
type people struct{ dev, ops, admin, view client }

// on is the same people reporting to t.
func (p people) on(t testing.TB) people {
	return people{p.dev.on(t), p.ops.on(t), p.admin.on(t), p.view.on(t)}
}

// stepper runs a scenario's named steps in order, each with clients that report to the step; a
// failed step ends the scenario, since the steps after it build on it.
func stepper(t *testing.T, p people) func(name string, f func(t *testing.T, p people)) {
	return func(name string, f func(t *testing.T, p people)) {
		t.Helper()
		runStep(t, name, func(t *testing.T) { f(t, p.on(t)) })
	}
}
