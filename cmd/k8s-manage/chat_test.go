package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/agent"
	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/internal/config"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

type client struct {
	t     testing.TB
	base  string
	token string
}

// on is the same client reporting to t (a step of a scenario).
func (c client) on(t testing.TB) client {
	c.t = t
	return c
}

func (c client) do(method, path, body string, hdr ...string) (*http.Response, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// sse parses a Server-Sent Events body into events.
func sse(t testing.TB, body []byte) []agent.Event {
	t.Helper()
	var out []agent.Event
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var e agent.Event
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				t.Fatalf("bad event %q: %v", data, err)
			}
			out = append(out, e)
		}
	}
	return out
}

func eventOf(es []agent.Event, typ agent.EventType) *agent.Event {
	for i := range es {
		if es[i].Type == typ {
			return &es[i]
		}
	}
	return nil
}

// End to end on the sandbox with the builtin model through the HTTP API: a scale request
// waits for approval with a diff, the approver approves, the Deployment has 3 ready replicas
// and the answer says so.
func TestChatAPIScaleWithApproval(t *testing.T) {
	env := sandboxtest.Start(t)
	ctx := context.Background()
	knowledgeEnv(t)
	runCmd(t, "ingest")
	cfg, err := config.Load(config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cluster.Mode, cfg.Cluster.Kubeconfig = config.ClusterKubeconfig, env.Sandbox.KubeconfigPath()
	a, err := newApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	dev, ops := platformtest.Email("dev"), platformtest.Email("ops")
	name := sandboxtest.Name("chat")
	if _, _, err := a.tenants.Create(ctx, tenant.Spec{Name: name, Environments: []string{"dev"},
		Members: []tenant.Member{{Email: dev, Role: tenant.Developer}, {Email: ops, Role: tenant.Operator}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.tenants.Delete(context.Background(), name) })
	ns := tenant.Namespace(name, "dev")
	if _, err := apps.NewService(a.kube).Create(ctx, apps.Target{As: tenant.Identity(dev), Namespace: ns},
		apps.Spec{Name: "nginx", Image: "nginx:1.27", Replicas: 2, Ports: []apps.Port{{Port: 80}}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	devTok, _ := a.tokens.Create(ctx, dev, "test")
	opsTok, _ := a.tokens.Create(ctx, ops, "test")
	srv := httptest.NewServer(a.http.Handler())
	defer srv.Close()
	devC, opsC, anon := client{t, srv.URL, devTok}, client{t, srv.URL, opsTok}, client{t, srv.URL, ""}
	strangerTok, _ := a.tokens.Create(ctx, platformtest.Email("stranger"), "test")
	stranger := client{t, srv.URL, strangerTok}
	// Shared by the steps after the first scale: its approval request and its ID.
	var req *agent.Event
	var id string

	runStep(t, "an unauthenticated call or a bad token gets 401", func(t *testing.T) {
		anon := anon.on(t)
		if resp, _ := anon.do("POST", "/api/v1/chat", `{"message":"hi"}`); resp.StatusCode != 401 {
			t.Fatalf("unauthenticated chat: %d", resp.StatusCode)
		}
		if resp, _ := (client{t, srv.URL, "k8sm_nope"}).do("GET", "/api/v1/approvals", ""); resp.StatusCode != 401 {
			t.Fatalf("bad token: %d", resp.StatusCode)
		}
	})
	runStep(t, "a chat scale waits for an operator's approval and runs once", func(t *testing.T) {
		devC, opsC := devC.on(t), opsC.on(t)
		resp, body := devC.do("POST", "/api/v1/chat", `{"message":"扩容 nginx 到 3 个副本","tenant":"`+name+`"}`)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("chat: %d %s", resp.StatusCode, body)
		}
		req = eventOf(sse(t, body), agent.EventApprovalRequested)
		if req == nil || !strings.Contains(req.Approval.Preview, `"path":"spec.replicas","from":"2","to":"3"`) {
			t.Fatalf("no approval with a replicas diff: %s", body)
		}
		id = req.Approval.ID

		resp, body = opsC.do("GET", "/api/v1/approvals?status=pending", "")
		if resp.StatusCode != 200 || !strings.Contains(string(body), id) {
			t.Fatalf("inbox: %d %s", resp.StatusCode, body)
		}
		if resp, body := devC.do("POST", "/api/v1/approvals/"+id+"/decision", `{"approve":true}`); resp.StatusCode != 403 {
			t.Fatalf("self-approval: %d %s", resp.StatusCode, body)
		}
		resp, body = opsC.do("POST", "/api/v1/approvals/"+id+"/decision", `{"approve":true}`)
		if resp.StatusCode != 200 {
			t.Fatalf("approve: %d %s", resp.StatusCode, body)
		}
		var out struct{ Events []agent.Event }
		json.Unmarshal(body, &out)
		final := eventOf(out.Events, agent.EventFinal)
		if final == nil || !strings.Contains(final.Text, "3/3") {
			t.Fatalf("answer after approval: %s", body)
		}
		d, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil || d.Status.ReadyReplicas != 3 {
			t.Fatalf("deployment ready replicas = %d (%v)", d.Status.ReadyReplicas, err)
		}
		if resp, _ := opsC.do("POST", "/api/v1/approvals/"+id+"/decision", `{"approve":true}`); resp.StatusCode != 409 {
			t.Fatalf("second decision: %d", resp.StatusCode)
		}
		if resp, body := opsC.do("POST", "/api/v1/approvals/"+id+"/decision", `{}`); resp.StatusCode != 400 || !strings.Contains(string(body), `"field":"approve"`) {
			t.Fatalf("missing approve: %d %s", resp.StatusCode, body)
		}

	})
	runStep(t, "a how-to answer cites the docs, conversations are listed, the console is served", func(t *testing.T) {
		devC, anon := devC.on(t), anon.on(t)
		resp, body := devC.do("POST", "/api/v1/chat", `{"message":"how do I set up a canary release?","tenant":"`+name+`"}`)
		if f := eventOf(sse(t, body), agent.EventFinal); f == nil || (!strings.Contains(f.Text, "manual/canary") && !strings.Contains(f.Text, "faq-040")) {
			t.Fatalf("how-to over the API: %s", body)
		}
		resp, body = devC.do("GET", "/api/v1/conversations", "")
		if resp.StatusCode != 200 || !strings.Contains(string(body), "扩容 nginx") {
			t.Fatalf("conversations: %s", body)
		}
		if resp, body := anon.do("GET", "/", ""); resp.StatusCode != 200 || !strings.Contains(string(body), `<div id="app">`) {
			t.Fatalf("console page (is web/dist built?): %d %s", resp.StatusCode, body)
		}

	})
	runStep(t, "the terminal chat requests and an approver approves from the terminal", func(t *testing.T) {
		// The terminal chat against the same server: a request, then the approver's /approve.
		var term bytes.Buffer
		devIn := strings.NewReader("扩容 nginx 到 2 个副本\n")
		root := newRootCmd(&term, &term)
		root.SetIn(devIn)
		root.SetArgs([]string{"chat", "--server", srv.URL, "--token", devTok, "--tenant", name})
		if err := root.ExecuteContext(ctx); err != nil {
			t.Fatal(err)
		}
		i := strings.Index(term.String(), "approval ")
		if i < 0 || !strings.Contains(term.String(), "from 3 to 2 replicas") {
			t.Fatalf("terminal chat output:\n%s", term.String())
		}
		chatID := strings.Fields(term.String()[i:])[1]
		term.Reset()
		root = newRootCmd(&term, &term)
		root.SetArgs([]string{"chat", "--server", srv.URL, "--token", opsTok, "/approve " + chatID})
		if err := root.ExecuteContext(ctx); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(term.String(), "2/2") {
			t.Fatalf("terminal approval output:\n%s", term.String())
		}
	})
	runStep(t, "platform endpoints: the tenant role decides", func(t *testing.T) {
		devC, opsC, stranger := devC.on(t), opsC.on(t), stranger.on(t)
		// Platform endpoints with the same tokens: tenant roles decide.
		resp, body := devC.do("GET", "/api/v1/bills?tenant="+name+"&format=csv", "")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(string(body), ",") {
			t.Fatalf("member bill csv: %d %s", resp.StatusCode, body)
		}
		if resp, body := stranger.do("GET", "/api/v1/bills?tenant="+name, ""); resp.StatusCode != 403 {
			t.Fatalf("stranger bill: %d %s", resp.StatusCode, body)
		}
		if resp, body := devC.do("GET", "/api/v1/bills?tenant="+name+"&period=11-2026", ""); resp.StatusCode != 400 || !strings.Contains(string(body), `"field":"period"`) {
			t.Fatalf("bad period: %d %s", resp.StatusCode, body)
		}
		if resp, body := devC.do("GET", "/api/v1/config?tenant="+name+"&app=nginx&reveal=true", ""); resp.StatusCode != 403 {
			t.Fatalf("developer reveal: %d %s", resp.StatusCode, body)
		}
		if resp, body := opsC.do("GET", "/api/v1/config?tenant="+name+"&app=nginx&reveal=true", ""); resp.StatusCode != 200 || !strings.Contains(string(body), `"revealed":true`) {
			t.Fatalf("operator reveal: %d %s", resp.StatusCode, body)
		}
		if resp, body := devC.do("GET", "/api/v1/config/diff?tenant="+name+"&app=nginx&from=2026-01-01T00:00:00Z", ""); resp.StatusCode != 200 || !strings.Contains(string(body), `"changes"`) {
			t.Fatalf("config diff: %d %s", resp.StatusCode, body)
		}
		if resp, body := devC.do("GET", "/api/v1/config/diff?tenant="+name+"&app=nginx&from=yesterday", ""); resp.StatusCode != 400 || !strings.Contains(string(body), `"field":"from"`) {
			t.Fatalf("config diff bad from: %d %s", resp.StatusCode, body)
		}
		if resp, body := devC.do("POST", "/api/v1/builds", `{"app":"nginx"}`); resp.StatusCode != 400 || !strings.Contains(string(body), `"field":"tenant"`) {
			t.Fatalf("build without tenant: %d %s", resp.StatusCode, body)
		}
		// Revealing secrets is audited, refused attempts too (the values never reach the log).
		if resp, body := opsC.do("GET", "/api/v1/audit?tenant="+name, ""); resp.StatusCode != 403 || !strings.Contains(string(body), "admin") {
			t.Fatalf("audit log as operator: %d %s", resp.StatusCode, body)
		}
		log, err := a.agent.Approvals().AuditLog(ctx, name, 200)
		if err != nil {
			t.Fatal(err)
		}
		reveals := map[string]string{}
		for _, e := range log {
			if e.Tool == "config_reveal" {
				reveals[e.User] = e.Outcome
			}
		}
		if reveals[ops] != "ok" || reveals[dev] != "refused" {
			t.Fatalf("config reveals in the audit log: %v", reveals)
		}

		// The tenant boundary at the HTTP entry: another tenant in the body or the query, an
	})
	runStep(t, "the tenant boundary at the HTTP entry", func(t *testing.T) {
		devC, stranger := devC.on(t), stranger.on(t)
		other := sandboxtest.Name("other")
		if _, _, err := a.tenants.Create(ctx, tenant.Spec{Name: other, Environments: []string{"dev"},
			Members: []tenant.Member{{Email: platformtest.Email("stranger"), Role: tenant.Admin}}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.tenants.Delete(context.Background(), other) })
		for _, c := range []struct {
			who                client
			method, path, body string
			status             int
			mention            string
		}{
			{devC, "POST", "/api/v1/chat", `{"message":"list apps","tenant":"` + other + `"}`, 403, "not a member of tenant " + other},
			{stranger, "POST", "/api/v1/chat", `{"message":"扩容 nginx 到 9 个副本","tenant":"` + name + `"}`, 403, "not a member of tenant " + name},
			{devC, "POST", "/api/v1/chat", `{"message":"list apps","tenant":"` + name + `","env":"a-dev"}`, 400, "a-dev"},
			{stranger, "POST", "/api/v1/chat", `{"message":"what did I ask?","conversation_id":"` + req.Conversation + `"}`, 404, "not found"},
			{stranger, "GET", "/api/v1/conversations/" + url.PathEscape(req.Conversation), "", 404, "not found"},
			{stranger, "POST", "/api/v1/approvals/" + id + "/decision", `{"approve":false}`, 403, name},
			{devC, "GET", "/api/v1/bills?tenant=" + other, "", 403, other},
			{devC, "GET", "/api/v1/config?tenant=" + name + "&env=a-dev&app=nginx", "", 400, `"field":"env"`},
			{devC, "GET", "/api/v1/config?tenant=" + other + "&app=nginx", "", 403, other},
			{devC, "GET", "/api/v1/terminal?tenant=" + other + "&pod=x", "", 403, other},
		} {
			resp, body := c.who.do(c.method, c.path, c.body)
			if resp.StatusCode != c.status || !strings.Contains(string(body), c.mention) {
				t.Errorf("%s %s %s: %d %s, want %d mentioning %q", c.method, c.path, c.body, resp.StatusCode, body, c.status, c.mention)
			}
		}
		if _, body := stranger.do("GET", "/api/v1/approvals", ""); strings.Contains(string(body), id) {
			t.Errorf("a stranger's inbox lists the tenant's approval: %s", body)
		}
		if hist, err := a.agent.History(ctx, dev, req.Conversation); err != nil || len(hist) == 0 || strings.Contains(fmt.Sprint(hist), "what did I ask") {
			t.Errorf("the dev's conversation after the stranger's attempts: %v %v", hist, err)
		}
		if d, _ := env.Client.AppsV1().Deployments(ns).Get(ctx, "nginx", metav1.GetOptions{}); *d.Spec.Replicas == 9 {
			t.Error("a stranger scaled nginx")
		}
	})
}

// runStep runs one named step of a scenario; a failed step ends the scenario, since the steps
// after it build on it.
func runStep(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}
