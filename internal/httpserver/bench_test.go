package httpserver

import (
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkMiddleware measures the per-request cost of the middleware stack (request id,
// access log, metrics, recovery, body limit) around /healthz.
func BenchmarkMiddleware(b *testing.B) {
	s := New(Options{ReadTimeout: time.Second, WriteTimeout: time.Second, IdleTimeout: time.Second,
		ShutdownTimeout: time.Second, MaxBodyBytes: 1 << 20})
	h := s.Handler()
	req := httptest.NewRequest("GET", "/healthz", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
