package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s-manage/adapters/alertmanager"
	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/internal/store"
	"k8s-manage/internal/store/storetest"
	"k8s-manage/platform/platformtest"
)

// benchReplicas starts n serve processes on a fresh PostgreSQL database and the sandbox, with a
// tenant whose developer holds the returned token.
func benchReplicas(b *testing.B, n int, env ...string) (addrs []string, token, tenantName, dsn string) {
	b.Helper()
	sb := sandboxtest.Start(b)
	dsn = storetest.DSN(b, storetest.Postgres)
	tenantName = sandboxtest.Name("bench")
	cfg := haConfig(b, sb.Sandbox.KubeconfigPath(), dsn, "http://127.0.0.1:1/api/", "bench-signing", "bench-bearer", tenantName)
	runCmd(b, "--config", cfg, "ingest")
	dev := platformtest.Email("dev")
	runCmd(b, "--config", cfg, "tenant", "create", tenantName, "--env", "dev", "--member", dev+"=developer")
	b.Cleanup(func() { sb.DeleteNamespace(tenantName + "-dev") })
	token, _ = runCmd(b, "--config", cfg, "token", "create", "--user", dev)
	for range n {
		_, addr, _ := serveWith(b, cfg, env...)
		addrs = append(addrs, "http://"+addr)
	}
	return addrs, strings.TrimSpace(token), tenantName, dsn
}

// BenchmarkReplicaAlertIntake: Alertmanager webhooks (one alert each, 16 senders, round-robin)
// accepted per second by one replica and by three on one PostgreSQL; every accepted alert must
// be in the shared queue afterwards. The replicas only receive (alerts.concurrency 0), so the
// figure is the intake path: authenticate, validate, one transaction.
func BenchmarkReplicaAlertIntake(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			addrs, _, tenantName, dsn := benchReplicas(b, n, "K8SM_ALERTS_CONCURRENCY=0")
			const perOp, senders = 200, 16
			var seq, failed atomic.Int64
			b.ResetTimer()
			began := time.Now()
			for range b.N {
				var wg sync.WaitGroup
				for range senders {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range perOp / senders {
							i := seq.Add(1)
							body, _ := json.Marshal(alertmanager.Webhook{Version: "4", GroupKey: fmt.Sprint(i), Status: "firing", Receiver: "k8s-manage",
								Alerts: []alertmanager.Alert{{Status: "firing", Fingerprint: fmt.Sprintf("b%d", i), StartsAt: time.Now(),
									Labels: map[string]string{"alertname": "Bench", "namespace": tenantName + "-dev"}}}})
							req, _ := http.NewRequest(http.MethodPost, addrs[int(i)%len(addrs)]+"/api/v1/alerts/alertmanager", bytes.NewReader(body))
							req.Header.Set("Authorization", "Bearer bench-bearer")
							req.Header.Set("Content-Type", "application/json")
							resp, err := http.DefaultClient.Do(req)
							if err != nil || resp.StatusCode != 200 {
								failed.Add(1)
								if err == nil {
									resp.Body.Close()
								}
								continue
							}
							_, _ = io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
					}()
				}
				wg.Wait()
			}
			elapsed := time.Since(began)
			b.StopTimer()
			st, err := store.Open(context.Background(), store.Options{DSN: dsn})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var queued int64
			if err := st.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM alert_queue").Scan(&queued); err != nil {
				b.Fatal(err)
			}
			sent := seq.Load()
			if failed.Load() > 0 || queued != sent {
				b.Fatalf("%d alerts sent, %d refused, %d in the queue: something was lost", sent, failed.Load(), queued)
			}
			b.ReportMetric(float64(sent)/elapsed.Seconds(), "alerts/s")
		})
	}
}

// BenchmarkReplicaTurns: 50 concurrent conversations, one how-to turn each per op (builtin
// model, retrieval over the shared store), spread round-robin over one or three replicas: the
// service's own per-turn overhead, since the builtin model costs almost nothing.
func BenchmarkReplicaTurns(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			addrs, token, tenantName, _ := benchReplicas(b, n)
			const conversations = 50
			var mu sync.Mutex
			var lat []time.Duration
			var failed atomic.Int64
			b.ResetTimer()
			began := time.Now()
			for op := range b.N {
				var wg sync.WaitGroup
				for c := range conversations {
					wg.Add(1)
					go func() {
						defer wg.Done()
						body := fmt.Sprintf(`{"message":"how do I set up a canary release?","tenant":"%s","conversation_id":"web:bench-%d"}`, tenantName, c)
						req, _ := http.NewRequest(http.MethodPost, addrs[(c+op)%len(addrs)]+"/api/v1/chat", strings.NewReader(body))
						req.Header.Set("Authorization", "Bearer "+token)
						req.Header.Set("Content-Type", "application/json")
						t0 := time.Now()
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							failed.Add(1)
							return
						}
						out, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 || !bytes.Contains(out, []byte(`"type":"final"`)) {
							failed.Add(1)
							return
						}
						mu.Lock()
						lat = append(lat, time.Since(t0))
						mu.Unlock()
					}()
				}
				wg.Wait()
			}
			elapsed := time.Since(began)
			b.StopTimer()
			if failed.Load() > 0 {
				b.Fatalf("%d turns failed", failed.Load())
			}
			slices.Sort(lat)
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "turns/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}
