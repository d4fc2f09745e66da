package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s-manage/hack/sandbox/promtest"
	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

// exchanges records every /api/v1 answer the server gave, by caller.
type exchanges struct {
	mu   sync.Mutex
	seen map[string][]exchange // by token
}

type exchange struct {
	method, path string
	status       int
}

func (x *exchanges) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		next.ServeHTTP(rec, r)
		if !strings.HasPrefix(r.URL.Path, "/api/v1/") {
			return
		}
		x.mu.Lock()
		defer x.mu.Unlock()
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		x.seen[tok] = append(x.seen[tok], exchange{r.Method, r.URL.Path, rec.status})
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// schemathesis returns the pinned Schemathesis CLI (hack/ci/schemathesis.sh, which make
// test-deps runs and records in K8SM_TEST_SCHEMATHESIS).
func schemathesis(t *testing.T) string {
	if p := os.Getenv("K8SM_TEST_SCHEMATHESIS"); p != "" {
		return p
	}
	out, err := exec.Command(filepath.Join("..", "..", "hack", "ci", "schemathesis.sh")).Output()
	if err != nil {
		t.Fatalf("install schemathesis (hack/ci/schemathesis.sh): %v", err)
	}
	return strings.TrimSpace(string(out))
}

// The served contract fuzzed by Schemathesis on the sandbox, as an admin, a developer, a viewer
// and a member of another tenant: all checks, every phase (examples, coverage, fuzzing,
// stateful), a fixed seed and a few examples per operation. It fails on any 5xx, any answer that
// breaks the contract, any undocumented status, and any 2xx to the outsider on the tenant's
// resources.
func TestContractFuzz(t *testing.T) {
	env := sandboxtest.Start(t)
	st := schemathesis(t)
	ctx := context.Background()
	cfg := sandboxConfig(t, env)
	cfg.Prometheus.URL = promtest.Start(t, env).URL // query_metrics reads a real Prometheus
	a := testApp(t, cfg)
	name, other := sandboxtest.Name("fuzz"), sandboxtest.Name("fuzzother")
	users := map[string]string{"admin": platformtest.Email("fadmin"), "developer": platformtest.Email("fdev"),
		"viewer": platformtest.Email("fviewer"), "outsider": platformtest.Email("foutsider")}
	if _, _, err := a.tenants.Create(ctx, tenant.Spec{Name: name, Environments: []string{"dev"}, Members: []tenant.Member{
		{Email: users["admin"], Role: tenant.Admin}, {Email: users["developer"], Role: tenant.Developer}, {Email: users["viewer"], Role: tenant.Viewer}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.tenants.Delete(context.Background(), name) })
	if _, _, err := a.tenants.Create(ctx, tenant.Spec{Name: other, Environments: []string{"dev"}, Members: []tenant.Member{
		{Email: users["outsider"], Role: tenant.Admin}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.tenants.Delete(context.Background(), other) })
	seen := &exchanges{seen: map[string][]exchange{}}
	srv := httptest.NewServer(seen.wrap(a.http.Handler()))
	defer srv.Close()

	// Operations that are not the REST contract's to fuzz with a token: logging in and out (the
	// login limiter and ending the caller's own session), the chat turn and terminal (the agent
	// and a WebSocket, tested on their own), and the signed webhooks of other systems.
	excluded := `^/(login|logout|chat|terminal|alerts/alertmanager|webhooks/.*|slack/.*|dingtalk/.*)$`
	for _, role := range []string{"admin", "developer", "viewer", "outsider"} {
		t.Run(role, func(t *testing.T) {
			tok, err := a.tokens.Create(ctx, users[role], "fuzz")
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			conf := filepath.Join(dir, "schemathesis.toml")
			os.WriteFile(conf, []byte(fmt.Sprintf("[parameters]\n\"query.tenant\" = %q\n\"query.env\" = \"dev\"\n\"path.tenant\" = %q\n", name, name)), 0o600)
			cmd := exec.Command(st, "--config-file", conf, "run", srv.URL+"/api/v1/openapi.json", "--url", srv.URL+"/api/v1",
				"-H", "Authorization: Bearer "+tok, "--checks", "all", "--exclude-checks", "positive_data_acceptance,ignored_auth",
				"--phases", "examples,coverage,fuzzing,stateful", "--max-examples", "3", "--seed", "20261203", "--workers", "1",
				"--exclude-path-regex", excluded, "--request-timeout", "30", "--no-color", "--report", "junit",
				"--report-junit-path", filepath.Join(dir, "junit.xml"))
			cmd.Dir = dir // its caches and reports stay in the test's folder
			cmd.Env = append(os.Environ(), "SCHEMATHESIS_HOOKS=", "NO_COLOR=1")
			out, err := cmd.CombinedOutput()
			tail := string(out)
			if i := strings.LastIndex(tail, "SUMMARY"); i >= 0 {
				tail = tail[i:]
			}
			t.Logf("schemathesis as %s:\n%s", role, tail)
			if err != nil {
				t.Errorf("schemathesis as %s failed: %v\n%s", role, err, out[max(0, len(out)-6000):])
			}
			seen.mu.Lock()
			calls := seen.seen[tok]
			seen.mu.Unlock()
			if len(calls) < 100 {
				t.Errorf("only %d requests reached the server as %s", len(calls), role)
			}
			codes := map[int]int{}
			for _, c := range calls {
				codes[c.status]++
				if c.status >= 500 {
					t.Errorf("%s %s answered %d to the %s", c.method, c.path, c.status, role)
				}
				if role == "outsider" && c.status < 300 && c.method != http.MethodOptions && !publicToAnyMember(c.path) {
					t.Errorf("%s %s answered %d to a member of another tenant", c.method, c.path, c.status)
				}
			}
			t.Logf("%s: %d requests, statuses %v", role, len(calls), codes)
		})
	}
}

// publicToAnyMember are the paths whose answer is the caller's own (their session, tenants,
// conversations, approvals inbox) or the same for everyone (version, contract, plans).
func publicToAnyMember(path string) bool {
	switch strings.TrimPrefix(path, "/api/v1") {
	case "/version", "/openapi.json", "/session", "/tenants", "/conversations", "/approvals", "/catalog/plans":
		return true
	}
	return strings.HasPrefix(path, "/api/v1/conversations/")
}
