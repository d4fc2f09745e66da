package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/hack/sandbox/promtest"
	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/internal/store"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

// consoleWorld is a served k8s-manage (the real binary, console embedded) on the sandbox with a
// tenant, an nginx app, the docs ingested, and a developer, an operator and an admin with passwords.
type consoleWorld struct {
	env              *sandboxtest.Env
	addr, tenant, ns string
	dev, ops, admin  string
	password         string
	dbPath           string
}

func newConsoleWorld(t *testing.T, extraYAML ...string) *consoleWorld {
	t.Helper()
	return newConsoleWorldWith(t, func(*consoleWorld) []string { return extraYAML })
}

// newConsoleWorldWith is newConsoleWorld with configuration lines that depend on the world's
// users (extra lines go under web:, or at the top level when not indented).
func newConsoleWorldWith(t *testing.T, extra func(w *consoleWorld) []string) *consoleWorld {
	t.Helper()
	if _, err := os.Stat(filepath.Join("..", "..", "web", "dist", "index.html")); err != nil {
		t.Fatal("web/dist is not built: run `make web-build` (make test does)")
	}
	env := sandboxtest.Start(t)
	dir := t.TempDir()
	w := &consoleWorld{env: env, tenant: sandboxtest.Name("web"), dev: platformtest.Email("dev"), ops: platformtest.Email("ops"),
		admin: platformtest.Email("admin"), password: "console e2e passphrase 7"}
	w.ns = tenant.Namespace(w.tenant, "dev")
	w.dbPath = filepath.Join(dir, "s.db")
	cfgPath := filepath.Join(dir, "k8s-manage.yaml")
	cfg := fmt.Sprintf("cluster: {mode: kubeconfig, kubeconfig: %q}\nstore: {dsn: \"sqlite://%s\"}\nknowledge: {docs_root: \"../..\"}\n"+
		"config_center: {generated_key_file: %q}\n", env.Sandbox.KubeconfigPath(), filepath.Join(dir, "s.db"), filepath.Join(dir, "cc.key"))
	cfg += strings.Join(append([]string{"web:", "  terminal: true"}, extra(w)...), "\n") + "\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	runCmd(t, "--config", cfgPath, "tenant", "create", w.tenant, "--env", "dev", "--member", w.dev+"=developer", "--member", w.ops+"=operator",
		"--member", w.admin+"=admin")
	t.Cleanup(func() { env.DeleteNamespace(w.ns) })
	kc, err := kube.New(env.Admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apps.NewService(kc).Create(context.Background(), apps.Target{As: tenant.Identity(w.dev), Namespace: w.ns},
		apps.Spec{Name: "nginx", Image: "nginx:1.27", Replicas: 2, Ports: []apps.Port{{Port: 80}}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	runCmd(t, "--config", cfgPath, "ingest")
	// A tenant runbook written by someone hostile: the answer that quotes it must render as
	// Markdown in the browser with none of its HTML, script or javascript: link getting through.
	runbook := filepath.Join(dir, "payment-gateway.md")
	if err := os.WriteFile(runbook, []byte(hostileRunbook), 0o600); err != nil {
		t.Fatal(err)
	}
	runCmd(t, "--config", cfgPath, "ingest", "runbook", "--tenant", w.tenant, runbook)
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte(w.password+"\n"), 0o600)
	for _, u := range []string{w.dev, w.ops, w.admin} {
		runCmd(t, "--config", cfgPath, "user", "set-password", "--user", u, "--password-file", pwFile)
	}
	_, w.addr, _ = serveWith(t, cfgPath)
	return w
}

const hostileRunbook = `# Rotate the payment gateway certificate

**Rotate** the payment gateway certificate before it expires:

| step | command |
|---|---|
| 1 | ` + "`kubectl -n pay get secret gw-tls`" + ` |
| 2 | renew it in the vault |

<script>window.__pwned = "script"</script>
<img src="x" onerror="window.__pwned = 'img'">

[open the vault](javascript:window.__pwned='link') or read the [vault docs](https://vault.example.com/docs).
`

// browserDeps returns Debian's Chromium for the Playwright runs, failing t when it or
// playwright-core is missing.
func browserDeps(t *testing.T) string {
	if testing.Short() {
		t.Skip("needs Chromium and the built console: runs in the full tier (make test), not under -short")
	}
	t.Helper()
	chromium := os.Getenv("K8SM_TEST_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium not found at %s: run `make test` (hack/ci/chromium.sh installs Debian's chromium)", chromium)
	}
	if _, err := os.Stat(filepath.Join("..", "..", "web", "node_modules", "playwright-core")); err != nil {
		t.Fatal("playwright-core is not installed: run `make web-build` (npm ci in web/)")
	}
	return chromium
}

// runBrowser runs a Playwright script of web/e2e with env (and ARTIFACTS), failing t with its
// output when it fails and logging it when it passes.
func runBrowser(t *testing.T, script, artifacts string, env ...string) {
	t.Helper()
	cmd := exec.Command("node", script)
	cmd.Dir = filepath.Join("..", "..", "web")
	cmd.Env = append(append(os.Environ(), "ARTIFACTS="+artifacts), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("browser run failed (%v); screenshots in %s:\n%s", err, artifacts, out.String())
	}
	t.Logf("browser run took %s:\n%s", time.Since(start).Round(time.Millisecond), out.String())
}

// The Playwright run in Debian's Chromium: log in, a cited how-to answer, a scale request,
// approval in the inbox by an operator, the result; screenshots kept in web/e2e/artifacts.
func TestConsoleInBrowser(t *testing.T) {
	chromium := browserDeps(t)
	// An intranet page on another origin that embeds the widget with one script tag.
	var target atomic.Pointer[[2]string] // server address and tenant, known once the server runs
	page := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		serverAddr, widgetTenant := target.Load()[0], target.Load()[1]
		fmt.Fprintf(rw, `<!doctype html><html><head><title>Team wiki</title></head><body><h1>Team wiki</h1><p>Runbooks and notes.</p>`+
			`<script src="http://%s/widget.js" data-tenant="%s" data-env="dev" data-title="Ask k8s-manage" async></script></body></html>`, serverAddr, widgetTenant)
	}))
	defer page.Close()
	// A real Prometheus scraping the sandbox, for the CPU sparkline.
	prom := promtest.Start(t, sandboxtest.Start(t))
	w := newConsoleWorld(t, "  allowed_origins: ["+page.URL+"]", fmt.Sprintf("prometheus: {url: %q, scrape_interval: %s}", prom.URL, promtest.ScrapeInterval))
	target.Store(&[2]string{w.addr, w.tenant})
	pods, err := w.env.Client.CoreV1().Pods(w.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=nginx"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("no nginx pod: %v", err)
	}
	execPod := pods.Items[0].Name
	if err := w.env.Sandbox.AllowExec(context.Background(), w.ns, execPod, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	artifacts, _ := filepath.Abs(filepath.Join("..", "..", "web", "e2e", "artifacts", t.Name()))
	os.RemoveAll(artifacts)
	// The sparkline step needs a few scrapes of nginx's pods.
	prom.WaitFor(t, fmt.Sprintf(`count(count_over_time(container_cpu_usage_seconds_total{namespace=%q}[30s]) >= 8)`, w.ns), 2*time.Minute,
		func(s []promtest.Sample) bool { return len(s) == 1 && s[0].Value >= 2 })
	runBrowser(t, "e2e/console.e2e.mjs", artifacts, "BASE_URL=http://"+w.addr, "CHROMIUM="+chromium, "TENANT="+w.tenant,
		"DEV_EMAIL="+w.dev, "DEV_PASSWORD="+w.password, "OPS_EMAIL="+w.ops, "OPS_PASSWORD="+w.password, "WIDGET_PAGE="+page.URL,
		"ADMIN_EMAIL="+w.admin, "ADMIN_PASSWORD="+w.password, "EXEC_POD="+execPod)
	d, err := w.env.Client.AppsV1().Deployments(w.ns).Get(context.Background(), "nginx", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 3 {
		t.Fatalf("nginx after the approval: %v %v", d.Spec.Replicas, err)
	}
	for _, f := range []string{"01-howto-cited.png", "01b-markdown-hostile.png", "02-approval-requested.png", "03-inbox.png", "04-approved-result.png", "04b-sparkline.png", "05-terminal.png",
		"06-audit.png", "07-widget.png", "08-api-docs.png"} {
		if st, err := os.Stat(filepath.Join(artifacts, f)); err != nil || st.Size() < 5000 {
			t.Fatalf("screenshot %s missing or empty: %v", f, err)
		}
	}
}

// wsLogin logs in over HTTP and returns the cookie jar and the CSRF token.
func wsLogin(t *testing.T, addr, email, password string) (http.CookieJar, string) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Post("http://"+addr+"/api/v1/login", "application/json", strings.NewReader(`{"email":"`+email+`","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ CSRF string }
	_ = json.NewDecoder(resp.Body).Decode(&v)
	if resp.StatusCode != 200 {
		t.Fatalf("login %s: %d", email, resp.StatusCode)
	}
	return jar, v.CSRF
}

// The web terminal: an operator gets a shell in the pod over a WebSocket (pods/exec as them); a
// developer is refused by the API server's RBAC; a foreign Origin or a missing CSRF token is refused.
func TestWebTerminal(t *testing.T) {
	w := newConsoleWorld(t)
	pods, err := w.env.Client.CoreV1().Pods(w.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("no pods: %v", err)
	}
	pod := pods.Items[0].Name
	if err := w.env.Sandbox.AllowExec(context.Background(), w.ns, pod, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	dial := func(email, csrf, origin string) (*websocket.Conn, *http.Response, error) {
		jar, tok := wsLogin(t, w.addr, email, w.password)
		if csrf == "" {
			csrf = tok
		} else if csrf == "-" {
			csrf = ""
		}
		q := url.Values{"tenant": {w.tenant}, "env": {"dev"}, "pod": {pod}, "csrf": {csrf}}
		d := websocket.Dialer{Jar: jar, HandshakeTimeout: 10 * time.Second}
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		return d.Dial("ws://"+w.addr+"/api/v1/terminal?"+q.Encode(), h)
	}
	if _, resp, err := dial(w.ops, "-", ""); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("without the CSRF token: %v %v", resp, err)
	}
	if _, resp, err := dial(w.ops, "", "https://evil.example.net"); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("foreign origin: %v %v", resp, err)
	}
	read := func(c *websocket.Conn, until func(out string, exit map[string]string) bool) (string, map[string]string) {
		var out strings.Builder
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			_ = c.SetReadDeadline(deadline)
			typ, msg, err := c.ReadMessage()
			if err != nil {
				break
			}
			if typ == websocket.TextMessage {
				var exit map[string]string
				_ = json.Unmarshal(msg, &exit)
				if exit["type"] == "exit" {
					return out.String(), exit
				}
				continue
			}
			out.Write(msg)
			if until(out.String(), nil) {
				return out.String(), nil
			}
		}
		return out.String(), nil
	}

	conn, _, err := dial(w.ops, "", "http://"+w.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	send := func(v any) { b, _ := json.Marshal(v); _ = conn.WriteMessage(websocket.TextMessage, b) }
	send(map[string]any{"type": "resize", "cols": 100, "rows": 30})
	send(map[string]any{"type": "input", "data": "echo term-$((6*7))\n"})
	out, _ := read(conn, func(o string, _ map[string]string) bool { return strings.Contains(o, "term-42") })
	if !strings.Contains(out, "term-42") {
		t.Fatalf("the shell did not answer: %q", out)
	}
	send(map[string]any{"type": "input", "data": "exit\n"})
	if _, exit := read(conn, func(string, map[string]string) bool { return false }); exit == nil || exit["error"] != "" {
		t.Fatalf("the session did not end cleanly: %v", exit)
	}

	dev, _, err := dial(w.dev, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if _, exit := read(dev, func(string, map[string]string) bool { return false }); exit == nil || !strings.Contains(exit["error"], "forbidden") {
		t.Fatalf("a developer's terminal: %v", exit)
	}
	// Both sessions are in the tenant's audit log.
	st, err := store.Open(context.Background(), store.Options{DSN: "sqlite://" + w.dbPath})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ok, refused int
	_ = st.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM audit_log WHERE tool = 'web_terminal' AND user_email = ? AND outcome = 'ok'", w.ops).Scan(&ok)
	_ = st.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM audit_log WHERE tool = 'web_terminal' AND user_email = ? AND outcome LIKE 'error:%forbidden%'", w.dev).Scan(&refused)
	if ok != 1 || refused != 1 {
		t.Fatalf("audit log: %d ok sessions of ops, %d refused of dev", ok, refused)
	}
}
