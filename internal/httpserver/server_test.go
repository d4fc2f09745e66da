package httpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func newTestServer(t *testing.T, ready map[string]Check) (*Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	s := New(Options{
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second,
		ShutdownTimeout: 5 * time.Second, MaxBodyBytes: 64,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)), Registry: reg, Ready: ready,
	})
	return s, logs
}

func do(t *testing.T, h http.Handler, method, path string, body io.Reader, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestEndpoints(t *testing.T) {
	storeDown := errors.New("store unreachable: connection refused")
	var failing bool
	s, logs := newTestServer(t, map[string]Check{
		"store": func(context.Context) error {
			if failing {
				return storeDown
			}
			return nil
		},
	})
	s.API().Post("/echo", func(w http.ResponseWriter, r *http.Request) {
		var v struct {
			Name string `json:"name"`
		}
		if err := DecodeJSON(r, &v); err != nil {
			WriteError(w, r, http.StatusBadRequest, err)
			return
		}
		WriteJSON(w, http.StatusOK, v)
	})
	s.API().Get("/boom", func(http.ResponseWriter, *http.Request) { panic("kaboom") })
	h := s.Handler()

	tests := []struct {
		name     string
		method   string
		path     string
		body     string
		failing  bool
		wantCode int
		wantBody string
	}{
		{"healthz", "GET", "/healthz", "", false, 200, `"status":"ok"`},
		{"readyz ok", "GET", "/readyz", "", false, 200, `"store":{"status":"ok"}`},
		{"readyz failing names the check", "GET", "/readyz", "", true, 503, `connection refused`},
		{"healthz stays up when a dependency fails", "GET", "/healthz", "", true, 200, `ok`},
		{"version", "GET", "/api/v1/version", "", false, 200, `"go_version"`},
		{"not found is JSON", "GET", "/nope", "", false, 404, `no route for GET /nope`},
		{"method not allowed", "DELETE", "/healthz", "", false, 405, `not allowed`},
		{"panic becomes 500", "GET", "/api/v1/boom", "", false, 500, `"error":"internal error"`},
		{"body over limit", "POST", "/api/v1/echo", `{"name":"` + strings.Repeat("x", 100) + `"}`, false, 413, `exceeds the limit of 64 bytes`},
		{"unknown field named", "POST", "/api/v1/echo", `{"nmae":"x"}`, false, 400, `"field":"nmae"`},
		{"wrong type named", "POST", "/api/v1/echo", `{"name":5}`, false, 400, `"field":"name"`},
		{"valid body", "POST", "/api/v1/echo", `{"name":"x"}`, false, 200, `{"name":"x"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			failing = tc.failing
			rec := do(t, h, tc.method, tc.path, strings.NewReader(tc.body))
			if rec.Code != tc.wantCode || !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Fatalf("%s %s = %d %s; want %d containing %q", tc.method, tc.path, rec.Code, rec.Body, tc.wantCode, tc.wantBody)
			}
			if rec.Header().Get(RequestIDHeader) == "" {
				t.Error("no request id header")
			}
		})
	}
	if !strings.Contains(logs.String(), `"msg":"handler panic"`) || !strings.Contains(logs.String(), `"panic":"kaboom"`) {
		t.Errorf("panic not logged: %s", logs)
	}
}

func TestRequestIDAndAccessLog(t *testing.T) {
	s, logs := newTestServer(t, nil)
	rec := do(t, s.Handler(), "GET", "/healthz?token=s3cret", nil, RequestIDHeader, "abc-123")
	if got := rec.Header().Get(RequestIDHeader); got != "abc-123" {
		t.Fatalf("request id = %q, want the incoming one", got)
	}
	rec = do(t, s.Handler(), "GET", "/healthz", nil, RequestIDHeader, "bad id with spaces\n")
	if got := rec.Header().Get(RequestIDHeader); got == "" || strings.Contains(got, " ") {
		t.Fatalf("malformed incoming id should be replaced, got %q", got)
	}
	var line map[string]any
	first := strings.SplitN(logs.String(), "\n", 2)[0]
	if err := json.Unmarshal([]byte(first), &line); err != nil {
		t.Fatalf("access log is not JSON: %q", first)
	}
	for k, want := range map[string]any{"msg": "http request", "request_id": "abc-123", "path": "/healthz", "route": "/healthz", "status": float64(200)} {
		if line[k] != want {
			t.Errorf("log %s = %v, want %v", k, line[k], want)
		}
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Error("query string (may hold tokens) was logged")
	}
}

func TestMetrics(t *testing.T) {
	s, _ := newTestServer(t, nil)
	do(t, s.Handler(), "GET", "/healthz", nil)
	body := do(t, s.Handler(), "GET", "/metrics", nil).Body.String()
	for _, want := range []string{
		"go_goroutines",
		`k8sm_http_requests_total{code="200",method="GET",route="/healthz"} 1`,
		"k8sm_http_request_duration_seconds_bucket",
		"k8sm_http_requests_in_flight",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// Cancelling Serve's context (what SIGTERM does in the binary) lets a slow in-flight request
// finish, refuses new connections, and returns nil.
func TestGracefulShutdownDrains(t *testing.T) {
	s, _ := newTestServer(t, nil)
	started := make(chan struct{})
	s.API().Get("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(700 * time.Millisecond)
		WriteJSON(w, http.StatusOK, map[string]string{"done": "yes"})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	type result struct {
		code int
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/api/v1/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		res <- result{code: resp.StatusCode, body: string(b)}
	}()
	<-started
	cancel()

	r := <-res
	if r.err != nil || r.code != 200 || !strings.Contains(r.body, `"done":"yes"`) {
		t.Fatalf("in-flight request during shutdown: code=%d body=%q err=%v", r.code, r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve returned %v, want nil after a clean drain", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
}

func TestShutdownTimeoutIsBounded(t *testing.T) {
	logs := &syncBuffer{}
	s := New(Options{ReadTimeout: time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: time.Second,
		ShutdownTimeout: 200 * time.Millisecond, MaxBodyBytes: 1 << 10, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	started := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	s.API().Get("/stuck", func(w http.ResponseWriter, r *http.Request) { close(started); <-release })
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	go http.Get("http://" + ln.Addr().String() + "/api/v1/stuck") //nolint:errcheck
	<-started
	begin := time.Now()
	cancel()
	err := <-served
	if err == nil || !strings.Contains(err.Error(), "did not finish within 200ms") {
		t.Fatalf("want a drain-timeout error, got %v", err)
	}
	if waited := time.Since(begin); waited > 3*time.Second {
		t.Fatalf("shutdown waited %s, want about the 200ms bound", waited)
	}
}
