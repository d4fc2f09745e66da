package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s-manage/platform/perr"
)

func newClient(t *testing.T, o Options) *Client {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPromQLCarriesTheNamespace: every named query selects the caller's namespace and the app's
// pods, whatever the app is called; nothing of the request reaches the expression unchecked.
func TestPromQLCarriesTheNamespace(t *testing.T) {
	c := newClient(t, Options{URL: "http://127.0.0.1:1", ScrapeInterval: 15 * time.Second})
	for _, name := range Names() {
		q, ok := c.PromQL(name, "team-a-dev", "payment", time.Hour)
		if !ok {
			t.Fatalf("%s: not found", name)
		}
		if !strings.Contains(q, `namespace="team-a-dev"`) || !strings.Contains(q, `pod=~"payment-[a-z0-9]+-[a-z0-9]+|payment-[0-9]+"`) {
			t.Errorf("%s: %s lacks the namespace or pod matcher", name, q)
		}
		if strings.Count(q, "{") != strings.Count(q, `namespace="team-a-dev"`) && !strings.Contains(q, "by (le)") {
			t.Errorf("%s: a selector without the namespace: %s", name, q)
		}
	}
	// A 1h range in 60 points is a 1m step; the rate window is a step plus a scrape.
	if q, _ := c.PromQL("cpu", "ns", "web", time.Hour); !strings.Contains(q, "[1m15s]") {
		t.Errorf("cpu window: %s", q)
	}
	// A short range never goes under four scrapes.
	if q, _ := c.PromQL("request_rate", "ns", "web", 5*time.Minute); !strings.Contains(q, "[1m]") {
		t.Errorf("request_rate window: %s", q)
	}
}

func TestBadRequests(t *testing.T) {
	c := newClient(t, Options{URL: "http://127.0.0.1:1", MaxRange: 24 * time.Hour})
	cases := []struct {
		name  string
		req   Request
		field string
	}{
		{"unknown query", Request{Namespace: "ns", App: "web", Query: "cpu_seconds"}, "metric"},
		{"promql as a name", Request{Namespace: "ns", App: "web", Query: `up or vector(1)`}, "metric"},
		{"app with a matcher", Request{Namespace: "ns", App: `web",namespace=~".+`, Query: "cpu"}, "app"},
		{"range too long", Request{Namespace: "ns", App: "web", Query: "cpu", Range: 48 * time.Hour}, "range"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Query(context.Background(), tc.req)
			var pe *perr.Error
			if !errors.As(err, &pe) || pe.Kind != perr.Invalid || pe.Field != tc.field {
				t.Fatalf("got %v, want an invalid %s", err, tc.field)
			}
		})
	}
	for _, tc := range []struct{ in, err string }{{"2d", "longer than the 1d"}, {"ten minutes", "not a duration"}, {"-5m", "not a duration"}, {"0s", "not a duration"}} {
		if _, err := c.Range("range", tc.in); err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "range: ") {
			t.Errorf("Range(%q) = %v, want %q", tc.in, err, tc.err)
		}
	}
	if d, err := c.Range("range", "6h"); err != nil || d != 6*time.Hour {
		t.Errorf("Range(6h) = %v, %v", d, err)
	}
	if d, err := c.Range("range", ""); err != nil || d != time.Hour {
		t.Errorf("Range('') = %v, %v", d, err)
	}
}

// TestPrometheusDown: a server that is not there, and one that does not answer in time, give an
// unavailable error that names Prometheus and keeps the URL's credentials out.
func TestPrometheusDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	down := newClient(t, Options{URL: "http://admin:hunter2@" + addr})
	_, err = down.Query(context.Background(), Request{Namespace: "ns", App: "web", Query: "cpu"})
	if perr.KindOf(err) != perr.Unavailable || !strings.Contains(err.Error(), "unreachable") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("down: %v", err)
	}

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
	}))
	defer slow.Close()
	c := newClient(t, Options{URL: slow.URL, Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err = c.Query(context.Background(), Request{Namespace: "ns", App: "web", Query: "cpu"})
	if perr.KindOf(err) != perr.Unavailable || !strings.Contains(err.Error(), "did not answer within 200ms") {
		t.Fatalf("slow: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("slow: the query took %s, past its own timeout", d)
	}
}

func TestTrend(t *testing.T) {
	series := func(vs ...float64) []Point {
		ps := make([]Point, len(vs))
		for i, v := range vs {
			ps[i] = Point{V: v}
		}
		return ps
	}
	cases := []struct {
		vs   []float64
		want string
	}{
		{[]float64{1, 1, 1, 1, 1, 1}, "steady"},
		{[]float64{1, 1, 2, 2, 3, 3}, "rising"},
		{[]float64{3, 3, 2, 2, 1, 1}, "falling"},
		{[]float64{1, 1, 1, 9, 1, 1, 1, 1, 1}, "spiky"},
		{[]float64{0, 0, 0, 0, 0, 0}, "steady"},
		{[]float64{5}, "steady"},
	}
	for _, tc := range cases {
		if got := trend(series(tc.vs...)); got != tc.want {
			t.Errorf("trend(%v) = %s, want %s", tc.vs, got, tc.want)
		}
	}
}

func TestFormat(t *testing.T) {
	cases := []struct {
		v    float64
		unit string
		want string
	}{
		{0.25, "cores", "250m"},
		{0.00036, "cores", "0.4m"},
		{0, "cores", "0m"},
		{1.5, "cores", "1.5 cores"},
		{300 << 20, "bytes", "300Mi"},
		{1.5 * (1 << 30), "bytes", "1.5Gi"},
		{2048, "bytes/s", "2Ki/s"},
		{12, "bytes/s", "12B/s"},
		{0.034, "ratio", "3.4%"},
		{0.18, "seconds", "180ms"},
		{2.5, "seconds", "2.5s"},
		{4, "req/s", "4 req/s"},
	}
	for _, tc := range cases {
		if got := Format(tc.v, tc.unit); got != tc.want {
			t.Errorf("Format(%v, %s) = %s, want %s", tc.v, tc.unit, got, tc.want)
		}
	}
}
