package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/adapters/web/openapi/openapitest"
	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/internal/config"
	"k8s-manage/internal/httpserver"
)

var binary string // built once by TestMain

// lockedBuffer collects a child's log lines while the test reads them.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) WriteString(s string) { l.mu.Lock(); defer l.mu.Unlock(); l.b.WriteString(s) }
func (l *lockedBuffer) String() string       { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "k8sm-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "k8s-manage")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	rec, err := openapitest.New()
	if err != nil {
		panic(err)
	}
	contract = rec
	http.DefaultTransport = rec.Transport(http.DefaultTransport)
	code := m.Run()
	os.RemoveAll(dir)
	if v := rec.Violations(); len(v) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d of %d /api/v1 exchanges broke the API contract:\n%s\n", len(v), rec.Checked(), strings.Join(v, "\n"))
		code = 1
	} else {
		fmt.Fprintf(os.Stderr, "%d /api/v1 exchanges of this package's tests match the API contract\n", rec.Checked())
	}
	os.Exit(code)
}

func TestConfigCheckReportsEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte("http:\n  prot: 8080\n  port: -5\nstore:\n  dsn: sqlite://./x.db\n"), 0o600)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"config", "check", path}, &stdout, &stderr)
	if code == 0 {
		t.Fatalf("exit code 0 for a bad config; stderr=%s", stderr.String())
	}
	out := stderr.String()
	for _, want := range []string{
		"http.port: must be between 0 and 65535, got -5",
		`http.prot: unknown key (did you mean "http.port"?)`,
		"2 problem(s) found",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	good := filepath.Join("..", "..", "deploy", "config", "k8s-manage.example.yaml")
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"--config", good, "config", "check"}, &stdout, &stderr); code != 0 {
		t.Fatalf("example config: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "OK") {
		t.Errorf("want OK, got %q", stdout.String())
	}
}

func TestVersion(t *testing.T) {
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"version", "--json"}, &stdout, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var v map[string]string
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil || v["version"] == "" || v["go_version"] == "" {
		t.Fatalf("version --json = %q (%v)", stdout.String(), err)
	}
}

// startServe runs the real binary's serve subcommand on a free loopback port and returns the
// address once it listens.
func startServe(t *testing.T, env ...string) (*exec.Cmd, string, *lockedBuffer) {
	t.Helper()
	base := append([]string{"K8SM_CLUSTER_MODE=none"}, env...)
	base = append(base, "K8SM_STORE_DSN=sqlite://"+filepath.Join(t.TempDir(), "s.db"), "K8SM_HTTP_SHUTDOWN_TIMEOUT=10s",
		"K8SM_CONFIG_CENTER_GENERATED_KEY_FILE="+filepath.Join(t.TempDir(), "cc.key"))
	return runServe(t, []string{"serve"}, base)
}

// runServe runs the binary with args and env (on a free port) and returns it with its address
// once it listens, and its logs.
func runServe(t testing.TB, args, env []string) (*exec.Cmd, string, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(append(os.Environ(), env...), "K8SM_HTTP_PORT=0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	logs := &lockedBuffer{}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "http server listening" {
				addr <- line.Addr
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, a, logs
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start listening; logs:\n%s", logs)
		return nil, "", nil
	}
}

func TestServeEndpoints(t *testing.T) {
	_, addr, _ := startServe(t)
	for path, want := range map[string]string{
		"/healthz":        `"status":"ok"`,
		"/readyz":         `"knowledge":{"status":"ok"}`,
		"/metrics":        "go_goroutines",
		"/api/v1/version": `"version"`,
	} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s = %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
	resp, _ := http.Get("http://" + addr + "/metrics")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `k8sm_http_requests_total{code="200",method="GET",route="/healthz"}`) {
		t.Error("metrics lack the HTTP request counter")
	}
}

// SIGTERM during a slow request, through the same signal wiring main uses: the request
// completes, then Run returns nil (so main exits 0).
func TestSIGTERMDuringSlowRequest(t *testing.T) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	cfg := config.Default()
	cfg.Cluster.Mode = config.ClusterNone
	cfg.HTTP.Port = freePort(t)
	cfg.Store.DSN = "sqlite://" + filepath.Join(t.TempDir(), "s.db")
	a, err := newApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	started := make(chan struct{})
	a.http.Router().Get("/test-slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(time.Second)
		httpserver.WriteJSON(w, http.StatusOK, map[string]string{"finished": "true"})
	})
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()

	url := "http://" + cfg.HTTP.Addr() + "/test-slow"
	got := make(chan string, 1)
	go func() {
		for i := 0; i < 100; i++ { // wait for the listener
			resp, err := http.Get(url)
			if err != nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got <- fmt.Sprintf("%d %s", resp.StatusCode, b)
			return
		}
		got <- "never connected"
	}()
	<-started
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if r := <-got; !strings.HasPrefix(r, "200 ") || !strings.Contains(r, `"finished":"true"`) {
		t.Fatalf("slow request during SIGTERM: %s", r)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run after SIGTERM = %v, want nil (exit 0)", err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// The real binary: SIGTERM after serving on a kept-alive connection stops it cleanly, exit 0.
func TestBinaryExitsZeroOnSIGTERM(t *testing.T) {
	cmd, addr, logs := startServe(t)
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("exit code %d after SIGTERM, want 0; logs:\n%s", ee.ExitCode(), logs)
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("process did not exit after SIGTERM")
	}
	if !strings.Contains(logs.String(), "http server stopped") {
		t.Errorf("no clean-stop log line:\n%s", logs)
	}
}

// serve against the sandbox: the cluster is a readiness dependency and the platform's
// ClusterRoles exist after start.
func TestServeWithCluster(t *testing.T) {
	env := sandboxtest.Start(t)
	_, addr, logs := startServe(t, "K8SM_CLUSTER_MODE=kubeconfig", "K8SM_CLUSTER_KUBECONFIG="+env.Sandbox.KubeconfigPath())
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"cluster":{"status":"ok"}`) {
		t.Fatalf("readyz = %d %s\nlogs:\n%s", resp.StatusCode, b, logs)
	}
	if _, err := env.Client.RbacV1().ClusterRoles().Get(context.Background(), "k8sm-developer", metav1.GetOptions{}); err != nil {
		t.Fatalf("cluster roles not ensured: %v", err)
	}
}

func TestServeRefusesUnreachableCluster(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: secret-token-value}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600)
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(os.Environ(), "K8SM_HTTP_PORT=0", "K8SM_CLUSTER_MODE=kubeconfig", "K8SM_CLUSTER_KUBECONFIG="+kubeconfig,
		"K8SM_STORE_DSN=sqlite://"+filepath.Join(t.TempDir(), "s.db"))
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("serve started without a reachable cluster")
	}
	if !strings.Contains(string(out), "cluster (mode kubeconfig)") || strings.Contains(string(out), "secret-token-value") {
		t.Fatalf("output:\n%s", out)
	}
}
