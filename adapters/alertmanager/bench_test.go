package alertmanager_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s-manage/adapters/alertmanager"
	"k8s-manage/internal/httpserver"
	"k8s-manage/internal/store"
	"k8s-manage/internal/store/storetest"
)

// BenchmarkWebhookSustained sends 1,000 alerts/s (one new alert per request, each request a
// separate Alertmanager notification) for K8SM_BENCH_ALERT_SECONDS (default 30) through the real
// HTTP server middleware and handler into the store, then checks that every alert is queued
// exactly once. Reported: achieved rate, lost alerts, request latency p50/p99, peak heap.
func BenchmarkWebhookSustained(b *testing.B) {
	secs := 30
	if v, err := strconv.Atoi(os.Getenv("K8SM_BENCH_ALERT_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	engines := []storetest.Engine{storetest.SQLite}
	if os.Getenv("K8SM_TEST_POSTGRES_DSN") != "" {
		engines = append(engines, storetest.Postgres)
	}
	for _, e := range engines {
		b.Run(string(e), func(b *testing.B) {
			for range b.N {
				sustained(b, storetest.Open(b, e), secs, 1000)
			}
		})
	}
}

func sustained(b *testing.B, st *store.Store, secs, rate int) {
	q := alertmanager.NewQueue(st, nil)
	h, err := alertmanager.Handler(alertmanager.HandlerOptions{Queue: q, Auth: alertmanager.Auth{BearerToken: token}})
	if err != nil {
		b.Fatal(err)
	}
	hs := httpserver.New(httpserver.Options{MaxBodyBytes: 4 << 20})
	hs.API().Post("/alerts/alertmanager", h.ServeHTTP)
	srv := httptest.NewServer(hs.Handler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128}}

	var peak atomic.Uint64
	stopSampling := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()

	total := secs * rate
	jobs := make(chan int, 256)
	lat := make([]time.Duration, total)
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range 96 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				body := payload(fmt.Sprintf("group-%d", i%50), "firing", alert(fmt.Sprintf("load-%d", i), "firing",
					map[string]string{"alertname": "LoadTest", "namespace": fmt.Sprintf("team-%d-dev", i%20), "pod": fmt.Sprintf("p-%d", i)}))
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/alerts/alertmanager", strings.NewReader(string(body)))
				req.Header.Set("Authorization", "Bearer "+token)
				t0 := time.Now()
				resp, err := client.Do(req)
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
					continue
				}
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
				resp.Body.Close()
			}
		}()
	}
	b.ResetTimer()
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(stopSampling)

	counts, err := q.Counts(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	lost := int64(total) - int64(counts[alertmanager.Queued])
	if lost != 0 || failed.Load() != 0 {
		b.Fatalf("%d alerts lost, %d requests failed", lost, failed.Load())
	}
	slices.Sort(lat)
	b.ReportMetric(float64(total)/elapsed.Seconds(), "alerts/s")
	b.ReportMetric(float64(lost), "lost")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	b.Logf("%s: %d alerts in %s, all queued once; p50 %s p99 %s; peak heap %.1f MB", st.Dialect(), total, elapsed.Round(time.Millisecond),
		lat[len(lat)/2], lat[len(lat)*99/100], float64(peak.Load())/(1<<20))
}
