package alertmanager_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s-manage/adapters/alertmanager"
	"k8s-manage/adapters/chattest"
	"k8s-manage/adapters/slack"
	"k8s-manage/adapters/slack/slackfake"
	"k8s-manage/agent"
	"k8s-manage/internal/store"
	"k8s-manage/internal/store/storetest"
	"k8s-manage/platform/platformtest"
)

const token = "am-bearer-7f3c9d2e1a"

func payload(group, status string, alerts ...alertmanager.Alert) []byte {
	b, _ := json.Marshal(alertmanager.Webhook{Version: "4", GroupKey: group, Status: status, Receiver: "k8s-manage", Alerts: alerts})
	return b
}

func alert(fp, status string, labels map[string]string) alertmanager.Alert {
	return alertmanager.Alert{Status: status, Labels: labels, Annotations: map[string]string{"summary": "Pod is crash looping."},
		StartsAt: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), Fingerprint: fp}
}

func post(t testing.TB, url string, body []byte, auth func(*http.Request)) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if auth != nil {
		auth(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

func bearer(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }

// The webhook authenticates, validates with field names, queues before answering and drops
// redeliveries; on both store engines.
func TestWebhookQueuesOnceAndValidates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		q := alertmanager.NewQueue(st, nil)
		h, err := alertmanager.Handler(alertmanager.HandlerOptions{Queue: q, Auth: alertmanager.Auth{BearerToken: token, Username: "am", Password: "pw-5k2j"}})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		a := alert("fp1", "firing", map[string]string{"alertname": "KubePodCrashLooping", "namespace": "x-dev"})
		body := payload("{}:{alertname=\"KubePodCrashLooping\"}", "firing", a)
		for name, auth := range map[string]func(*http.Request){
			"none":       nil,
			"bad bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") },
			"bad basic":  func(r *http.Request) { r.SetBasicAuth("am", "wrong") },
		} {
			if code, _ := post(t, srv.URL, body, auth); code != http.StatusUnauthorized {
				t.Errorf("%s: %d, want 401", name, code)
			}
		}
		bad := alert("", "firing", nil)
		if code, msg := post(t, srv.URL, payload("g", "firing", bad), bearer); code != 400 || !strings.Contains(msg, "alerts[0].fingerprint") {
			t.Errorf("missing fingerprint: %d %s", code, msg)
		}
		bad = alert("fp9", "burning", nil)
		if code, msg := post(t, srv.URL, payload("g", "firing", bad), bearer); code != 400 || !strings.Contains(msg, "alerts[0].status") {
			t.Errorf("bad status: %d %s", code, msg)
		}
		if code, msg := post(t, srv.URL, []byte(`{"version":"3","groupKey":"g","alerts":[]}`), bearer); code != 400 || !strings.Contains(msg, "version") {
			t.Errorf("old version: %d %s", code, msg)
		}
		if c, _ := q.Counts(context.Background()); len(c) != 0 {
			t.Fatalf("rejected payloads queued something: %v", c)
		}
		if code, msg := post(t, srv.URL, body, bearer); code != 200 || !strings.Contains(msg, `"queued":1`) {
			t.Fatalf("first delivery: %d %s", code, msg)
		}
		if code, msg := post(t, srv.URL, body, func(r *http.Request) { r.SetBasicAuth("am", "pw-5k2j") }); code != 200 || !strings.Contains(msg, `"duplicates":1`) {
			t.Fatalf("redelivery: %d %s", code, msg)
		}
		// The same alert resolving is a new state; a new firing episode (new startsAt) too.
		res := a
		res.Status = "resolved"
		again := a
		again.StartsAt = a.StartsAt.Add(time.Hour)
		if code, msg := post(t, srv.URL, payload("g", "resolved", res, again), bearer); code != 200 || !strings.Contains(msg, `"queued":2`) {
			t.Fatalf("resolved + new episode: %d %s", code, msg)
		}
		if c, _ := q.Counts(context.Background()); c[alertmanager.Queued] != 3 {
			t.Fatalf("queue: %v", c)
		}
	})
}

// Concurrent claims never hand the same alert to two workers; an abandoned claim is taken over
// after the lease.
func TestClaimIsExclusiveAndLeaseRecovers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		q := alertmanager.NewQueue(st, nil)
		var as []alertmanager.Alert
		for i := range 40 {
			as = append(as, alert(fmt.Sprintf("fp%d", i), "firing", nil))
		}
		if _, _, err := q.Enqueue(context.Background(), &alertmanager.Webhook{GroupKey: "g", Alerts: as}); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					items, err := q.Claim(context.Background(), 3, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if len(items) == 0 {
						return
					}
					mu.Lock()
					for _, it := range items {
						seen[it.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != 40 {
			t.Fatalf("claimed %d of 40", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("alert %s claimed %d times", id, n)
			}
		}
		// All are now "working" with a fresh claim; with a zero lease a new worker takes them over.
		time.Sleep(5 * time.Millisecond)
		items, err := q.Claim(context.Background(), 100, time.Millisecond)
		if err != nil || len(items) != 40 {
			t.Fatalf("takeover after the lease: %d, %v", len(items), err)
		}
	})
}

// A storm in one alert group: the worker diagnoses and posts up to the rate limit and records the
// rest as suppressed; alerts of an unknown namespace are unrouted. Real agent on the sandbox,
// real slack-go client against the Slack fake.
func TestWorkerRateLimitsAGroup(t *testing.T) {
	w := chattest.New(t)
	w.CrashingApp(t, "order-service")
	fake := slackfake.New()
	t.Cleanup(fake.Stop)
	bot, err := slack.New(slack.Options{BotToken: "xoxb-1", AppToken: "xapp-1", APIURL: fake.GetAPIURL(), Agent: w.Agent, Seen: w.Store})
	if err != nil {
		t.Fatal(err)
	}
	q := alertmanager.NewQueue(w.Store, nil)
	log, buf := chattest.Logger()
	worker, err := alertmanager.NewWorker(alertmanager.WorkerOptions{Queue: q, Agent: w.Agent, Owners: owners{w.NS: {w.Tenant, "dev"}},
		Notifiers: map[string]alertmanager.Notifier{"slack": bot}, Identity: w.Alerter, RateLimit: 3, RateWindow: time.Hour, Poll: 50 * time.Millisecond,
		Routes: []alertmanager.Route{{Match: map[string]string{"tenant": w.Tenant}, Targets: []alertmanager.Target{{Surface: "slack", Channel: "C_ALERTS"}}}},
		Log:    log})
	if err != nil {
		t.Fatal(err)
	}
	var as []alertmanager.Alert
	for i := range 20 {
		as = append(as, alert(fmt.Sprintf("storm-%d", i), "firing", map[string]string{"alertname": "KubePodCrashLooping", "namespace": w.NS,
			"deployment": "order-service"}))
	}
	as = append(as, alert("stray", "firing", map[string]string{"alertname": "X", "namespace": "nobody-dev"}))
	if _, _, err := q.Enqueue(context.Background(), &alertmanager.Webhook{GroupKey: "storm", Alerts: as}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = worker.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	platformtest.Eventually(t, 60*time.Second, func() (bool, string) {
		c, _ := q.Counts(context.Background())
		return c[alertmanager.Done]+c[alertmanager.Suppressed]+c[alertmanager.Unrouted] == 21, fmt.Sprint(c)
	})
	c, _ := q.Counts(context.Background())
	if c[alertmanager.Done] != 3 || c[alertmanager.Suppressed] != 17 || c[alertmanager.Unrouted] != 1 {
		t.Fatalf("want 3 posted, 17 suppressed, 1 unrouted; got %v", c)
	}
	msgs := fake.Messages()
	if len(msgs) != 3 {
		t.Fatalf("%d messages posted, want 3", len(msgs))
	}
	thread := msgs[0].TS
	for i, m := range msgs {
		if !strings.Contains(m.AllText(), "CrashLoopBackOff") || !strings.Contains(m.AllText(), "order-service") {
			t.Fatalf("message %d does not name the cause: %q", i, m.AllText())
		}
		if i > 0 && m.ThreadTS != thread {
			t.Fatalf("message %d is not in the group's thread", i)
		}
	}
	if !strings.Contains(buf.String(), `"state":"suppressed"`) {
		t.Fatal("suppressed alerts are not logged")
	}
}

type owners map[string][2]string

func (o owners) Owner(_ context.Context, ns string) (string, string, error) {
	v := o[ns]
	return v[0], v[1], nil
}

// A worker that died between posting to Slack and recording the post (or just before posting)
// leaves its claim with the post under way. The worker that takes it over after the lease
// searches the channel (conversations.history, by the delivery id in the message metadata) and
// posts only when the first attempt never arrived: once either way.
func TestTakeoverAfterACrashMidPostPostsOnce(t *testing.T) {
	w := chattest.New(t)
	w.CrashingApp(t, "order-service")
	for _, tc := range []struct {
		name         string
		postedBefore bool
	}{{"died after posting", true}, {"died before posting", false}} {
		t.Run(tc.name, func(t *testing.T) {
			fake := slackfake.New()
			t.Cleanup(fake.Stop)
			bot, err := slack.New(slack.Options{BotToken: "xoxb-1", AppToken: "xapp-1", APIURL: fake.GetAPIURL(), Agent: w.Agent, Seen: w.Store})
			if err != nil {
				t.Fatal(err)
			}
			q := alertmanager.NewQueue(w.Store, nil)
			group := "crash-" + tc.name
			if _, _, err := q.Enqueue(context.Background(), &alertmanager.Webhook{GroupKey: group, Alerts: []alertmanager.Alert{
				alert("fp-"+group, "firing", map[string]string{"alertname": "KubePodCrashLooping", "namespace": w.NS, "deployment": "order-service"})}}); err != nil {
				t.Fatal(err)
			}
			// The worker that dies: it claims, marks the post under way, maybe posts, and is gone.
			items, err := q.Claim(context.Background(), 1, time.Hour)
			if err != nil || len(items) != 1 {
				t.Fatalf("claim: %v %d", err, len(items))
			}
			it := items[0]
			if err := q.Progress(context.Background(), it, `{"sending":["slack:C_ALERTS"]}`); err != nil {
				t.Fatal(err)
			}
			if tc.postedBefore {
				if _, err := bot.Notify(context.Background(), "C_ALERTS", "", agent.Notice{ID: it.ID, Title: "[FIRING] KubePodCrashLooping", Text: "first attempt"}); err != nil {
					t.Fatal(err)
				}
			}
			// The lease must outlast one alert's work (a diagnosis), or the worker takes over
			// its own claims; here it is short so the test need not wait minutes.
			time.Sleep(1100 * time.Millisecond)
			before, _ := q.Counts(context.Background())
			worker, err := alertmanager.NewWorker(alertmanager.WorkerOptions{Queue: q, Agent: w.Agent, Owners: owners{w.NS: {w.Tenant, "dev"}},
				Notifiers: map[string]alertmanager.Notifier{"slack": bot}, Identity: w.Alerter, Lease: time.Second, Poll: 20 * time.Millisecond,
				Routes: []alertmanager.Route{{Match: map[string]string{"tenant": w.Tenant}, Targets: []alertmanager.Target{{Surface: "slack", Channel: "C_ALERTS"}}}}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = worker.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-done })
			platformtest.Eventually(t, 30*time.Second, func() (bool, string) {
				c, _ := q.Counts(context.Background())
				return c[alertmanager.Done] == before[alertmanager.Done]+1, fmt.Sprint(c)
			})
			if n := len(fake.Messages()); n != 1 {
				t.Fatalf("%d messages in the channel, want exactly 1", n)
			}
			if got := fake.Calls("/conversations.history"); got != 1 {
				t.Errorf("conversations.history called %d times, want 1 (only for the post under way)", got)
			}
			// The stale worker's late writes are fenced off: its claim is no longer the item's.
			if err := q.Finish(context.Background(), it, alertmanager.Failed, "{}"); !errors.Is(err, alertmanager.ErrLostClaim) {
				t.Errorf("a stale claim finished the item: %v", err)
			}
		})
	}
}

// A tenant's alerts are listed newest first in pages, with the outcome the worker recorded;
// another tenant's alerts are neither listed nor found by id (PostgreSQL and SQLite).
func TestRecentAlertsArePerTenantAndPaged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.UnixMilli(1_780_000_000_000)
		q := alertmanager.NewQueue(st, func() time.Time { now = now.Add(time.Second); return now })
		for i := range 5 {
			if _, _, err := q.Enqueue(ctx, &alertmanager.Webhook{GroupKey: fmt.Sprintf("g%d", i), Alerts: []alertmanager.Alert{
				alert(fmt.Sprintf("fp%d", i), "firing", map[string]string{"alertname": fmt.Sprintf("A%d", i)})}}); err != nil {
				t.Fatal(err)
			}
		}
		items, err := q.Claim(ctx, 10, time.Hour)
		if err != nil || len(items) != 5 {
			t.Fatalf("claim: %d %v", len(items), err)
		}
		for i, it := range items {
			it.Tenant = "team-a"
			if i == 4 {
				it.Tenant = "team-b"
			}
			if err := q.Finish(ctx, it, alertmanager.Done, `{"tenant":"`+it.Tenant+`","env":"dev","diagnosis":"pod crashed: OOMKilled","fixes":[{"tool":"set_resources","args":"{}"}]}`); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		cursor := ""
		for range 4 {
			page, next, err := q.Recent(ctx, "team-a", 3, cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page {
				got = append(got, r.Name)
				if r.Diagnosis != "pod crashed: OOMKilled" || len(r.Fixes) != 1 || r.Env != "dev" {
					t.Fatalf("record: %+v", r)
				}
			}
			if cursor = next; cursor == "" {
				break
			}
		}
		if len(got) != 4 || got[0] <= got[3] {
			t.Fatalf("team-a's alerts, newest first: %v", got)
		}
		b, _, _ := q.Recent(ctx, "team-b", 10, "")
		if len(b) != 1 {
			t.Fatalf("team-b: %d alerts", len(b))
		}
		if _, err := q.Record(ctx, "team-a", b[0].ID); !errors.Is(err, alertmanager.ErrNotFound) {
			t.Fatalf("team-b's alert read as team-a: %v", err)
		}
		if _, _, err := q.Recent(ctx, "team-a", 3, "garbage"); err == nil {
			t.Fatal("a bad cursor was accepted")
		}
	})
}
