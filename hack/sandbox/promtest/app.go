package promtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// App is a small HTTP app outside the cluster that serves a steady load of its own requests and
// exposes the usual HTTP server metrics, instrumented with client_golang's promhttp
// (http_requests_total by code and method, http_request_duration_seconds).
type App struct {
	// Addr is where its /metrics is (host:port).
	Addr   string
	errPct atomic.Int64
}

// StartApp serves rps requests a second, each taking about latency, until the test ends.
func StartApp(t testing.TB, rps int, latency time.Duration) *App {
	t.Helper()
	a := &App{}
	reg := prometheus.NewRegistry()
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "requests served"}, []string{"code", "method"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_request_duration_seconds", Help: "request latency",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"code", "method"})
	reg.MustRegister(reqs, dur)
	var n atomic.Int64
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(latency)
		// Errors spread evenly: every (100/pct)th request answers 500.
		if p := a.errPct.Load(); p > 0 && n.Add(1)%(100/p) == 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux := http.NewServeMux()
	mux.Handle("/api", promhttp.InstrumentHandlerDuration(dur, promhttp.InstrumentHandlerCounter(reqs, api)))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.Addr = l.Addr().String()
	srv := &http.Server{Handler: mux}
	go srv.Serve(l) //nolint:errcheck
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second / time.Duration(rps))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if resp, err := client.Get("http://" + a.Addr + "/api"); err == nil {
					resp.Body.Close()
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	return a
}

// SetErrorPercent makes pct percent of the requests answer 500 from now on (1 to 100; 0: none).
func (a *App) SetErrorPercent(pct int) { a.errPct.Store(int64(pct)) }
