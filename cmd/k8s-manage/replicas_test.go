package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/adapters/alertmanager"
	"k8s-manage/adapters/chattest"
	"k8s-manage/adapters/slack/slackfake"
	"k8s-manage/agent"
	"k8s-manage/agent/approval"
	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/internal/store"
	"k8s-manage/internal/store/storetest"
	"k8s-manage/platform/platformtest"
)

// replicaSet is n serve processes of the binary on one configuration (one PostgreSQL store).
// Its slices are guarded by mu: a restart replaces an entry while load goroutines read them.
type replicaSet struct {
	t     *testing.T
	cfg   string
	mu    sync.Mutex
	procs []*exec.Cmd
	addrs []string
	logs  []*lockedBuffer
}

func (rs *replicaSet) start(i int) {
	// The chart's drain bound is 25 s; Go's server counts a connection that never sent a request
	// as busy for 5 s during Shutdown, so a bound of 5 s would flag those as unfinished.
	cmd, addr, logs := serveWith(rs.t, rs.cfg, "K8SM_HTTP_SHUTDOWN_TIMEOUT=15s", "K8SM_LOG_LEVEL=debug")
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for len(rs.procs) <= i {
		rs.procs, rs.addrs, rs.logs = append(rs.procs, nil), append(rs.addrs, ""), append(rs.logs, nil)
	}
	rs.procs[i], rs.addrs[i], rs.logs[i] = cmd, "http://"+addr, logs
}

// addr is replica i's base URL.
func (rs *replicaSet) addr(i int) string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.addrs[i]
}

// proc is replica i's process.
func (rs *replicaSet) proc(i int) *exec.Cmd {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.procs[i]
}

// logOf is replica i's log so far.
func (rs *replicaSet) logOf(i int) string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.logs[i].String()
}

func (rs *replicaSet) allLogs() string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var b strings.Builder
	for _, l := range rs.logs {
		if l != nil {
			b.WriteString(l.String())
		}
	}
	return b.String()
}

// haConfig writes the shared configuration of the replicas.
func haConfig(t testing.TB, kubeconfig, dsn, slackURL, signing, bearer, tenantName string) string {
	t.Helper()
	var key [32]byte
	_, _ = rand.Read(key[:])
	path := filepath.Join(t.TempDir(), "k8s-manage.yaml")
	cfg := fmt.Sprintf(`cluster: {mode: kubeconfig, kubeconfig: %q}
store: {dsn: %q}
knowledge: {docs_root: "../.."}
config_center: {key: %q}
web: {insecure_cookies: true}
slack:
  enabled: true
  mode: http
  bot_token: xoxb-ha-bot-5
  signing_secret: %s
  api_url: %q
  channels: {C_HA_CHAT: %s}
alerts:
  enabled: true
  bearer_token: %s
  lease: 3s
  rate_limit: 100000
  routes:
    - match: {tenant: %s}
      slack: [C_HA]
`, kubeconfig, dsn, base64.StdEncoding.EncodeToString(key[:]), signing, slackURL, tenantName, bearer, tenantName)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestThreeReplicasOnOnePostgres runs three serve processes of the binary on one PostgreSQL
// database and the sandbox, the way the chart's `ha` overlay does, and shows that what must
// happen once happens once: a Slack event delivered to two replicas is answered once; an
// approval requested on A and decided on B while C gets the duplicate click executes once; a
// console login made on A works on B and C, and a turn streamed from A is approved from C;
// 300 alerts posted round-robin are each posted to Slack exactly once although one replica is
// killed with SIGKILL in the middle of the run.
func TestThreeReplicasOnOnePostgres(t *testing.T) {
	env := sandboxtest.Start(t)
	ctx := context.Background()
	dsn := storetest.DSN(t, storetest.Postgres)
	dev, ops, admin := platformtest.Email("dev"), platformtest.Email("ops"), platformtest.Email("admin")
	slackFake := slackfake.New(slackfake.User{ID: "U_HA_DEV", Email: dev, TeamID: "T1"}, slackfake.User{ID: "U_HA_OPS", Email: ops, TeamID: "T1"})
	t.Cleanup(slackFake.Stop)
	const signing, bearer = "slack-ha-signing-44", "am-ha-bearer-55"
	name := sandboxtest.Name("ha")
	cfgPath := haConfig(t, env.Sandbox.KubeconfigPath(), dsn, slackFake.GetAPIURL(), signing, bearer, name)
	runCmd(t, "--config", cfgPath, "ingest")
	runCmd(t, "--config", cfgPath, "tenant", "create", name, "--env", "dev", "--member", "alertmanager@k8s-manage.local=viewer",
		"--member", dev+"=developer", "--member", ops+"=operator", "--member", admin+"=admin")
	ns := name + "-dev"
	t.Cleanup(func() { env.DeleteNamespace(ns) })
	devTok, _ := runCmd(t, "--config", cfgPath, "token", "create", "--user", dev)
	adminTok, _ := runCmd(t, "--config", cfgPath, "token", "create", "--user", admin)
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("ha-console-password-9931\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runCmd(t, "--config", cfgPath, "user", "set-password", "--user", ops, "--password-file", pwFile)
	if _, err := env.Client.AppsV1().Deployments(ns).Create(ctx, chattest.CrashLoopDeployment("order-service"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	web := chattest.CrashLoopDeployment("nginx")
	web.Spec.Template.Annotations = nil
	if _, err := env.Client.AppsV1().Deployments(ns).Create(ctx, web, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := chattest.WaitRestarted(t, env.Client, ns, "order-service")

	rs := &replicaSet{t: t, cfg: cfgPath}
	for i := range 3 {
		rs.start(i)
	}
	A, B, C := 0, 1, 2

	t.Run("a Slack event delivered to two replicas is answered once", func(t *testing.T) {
		ev, _ := json.Marshal(slackfake.MentionEvent("EvHA-1", "T1", "U_HA_DEV", "C_HA_CHAT", "1700001000.000100", "", "how do I set up a canary release?"))
		var wg sync.WaitGroup
		for _, r := range []int{A, B} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, rs.addr(r)+"/api/v1/slack/events", bytes.NewReader(ev))
				req.Header.Set("Content-Type", "application/json")
				ts := fmt.Sprint(time.Now().Unix())
				mac := hmac.New(sha256.New, []byte(signing))
				fmt.Fprintf(mac, "v0:%s:%s", ts, ev)
				req.Header.Set("X-Slack-Request-Timestamp", ts)
				req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode != 200 {
					t.Errorf("deliver to replica %d: %v %v", r, err, resp)
					return
				}
				resp.Body.Close()
			}()
		}
		wg.Wait()
		replies := func() int {
			n := 0
			for _, m := range slackFake.Messages() {
				if m.Channel == "C_HA_CHAT" && !m.Ephemeral && strings.Contains(m.AllText(), "canary") {
					n++
				}
			}
			return n
		}
		platformtest.Eventually(t, 30*time.Second, func() (bool, string) { return replies() >= 1, "no answer yet" })
		platformtest.Consistently(t, 2*time.Second, func() (bool, string) { // a late duplicate would show by now
			n := replies()
			return n == 1, fmt.Sprintf("the event was answered %d times", n)
		})
	})

	devAt := func(r int) client { return client{t, rs.addr(r), strings.TrimSpace(devTok)} }
	requestScale := func(r, replicas int) string {
		t.Helper()
		resp, body := devAt(r).do("POST", "/api/v1/chat", fmt.Sprintf(`{"message":"scale nginx to %d replicas","tenant":"%s"}`, replicas, name))
		req := eventOf(sse(t, body), agent.EventApprovalRequested)
		if resp.StatusCode != 200 || req == nil {
			t.Fatalf("chat on replica %d: %d %s", r, resp.StatusCode, body)
		}
		return req.Approval.ID
	}
	// The operator logs in to the console on A; the session (cookie and CSRF token) is used on B and C.
	var cookie *http.Cookie
	var csrf string
	t.Run("a console login made on A works on B and C", func(t *testing.T) {
		resp, err := http.Post(rs.addr(A)+"/api/v1/login", "application/json",
			strings.NewReader(`{"email":"`+ops+`","password":"ha-console-password-9931"}`))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("login on A: %v %v", err, resp)
		}
		resp.Body.Close()
		for _, c := range resp.Cookies() {
			if c.Name == "k8sm_session" {
				cookie = c
			}
		}
		if cookie == nil {
			t.Fatal("no session cookie")
		}
		for _, r := range []int{B, C} {
			req, _ := http.NewRequest(http.MethodGet, rs.addr(r)+"/api/v1/session", nil)
			req.AddCookie(cookie)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("session on replica %d: %v %v", r, err, resp)
			}
			var s struct{ User, CSRF string }
			_ = json.NewDecoder(resp.Body).Decode(&s)
			resp.Body.Close()
			if s.User != ops || s.CSRF == "" {
				t.Fatalf("session on replica %d: %+v", r, s)
			}
			csrf = s.CSRF
		}
	})
	decideAt := func(r int, id string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodPost, rs.addr(r)+"/api/v1/approvals/"+id+"/decision", strings.NewReader(`{"approve":true}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		req.AddCookie(cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, []byte(err.Error())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	t.Run("an approval requested on A, decided on B with a duplicate click on C, executes once", func(t *testing.T) {
		id := requestScale(A, 3)
		codes := make([]int, 2)
		var wg sync.WaitGroup
		for i, r := range []int{B, C} {
			wg.Add(1)
			go func() { defer wg.Done(); codes[i], _ = decideAt(r, id) }()
		}
		wg.Wait()
		if !(codes[0] == 200 && codes[1] == 409 || codes[0] == 409 && codes[1] == 200) {
			t.Fatalf("decisions on B and C answered %v, want one 200 and one 409", codes)
		}
		resp, body := (client{t, rs.addr(C), strings.TrimSpace(adminTok)}).do("GET", "/api/v1/audit?tenant="+name, "")
		var audit struct{ Entries []approval.AuditEntry }
		_ = json.Unmarshal(body, &audit)
		runs := 0
		for _, e := range audit.Entries {
			if e.ApprovalID == id && e.Outcome == "ok" {
				runs++
			}
		}
		if resp.StatusCode != 200 || runs != 1 {
			t.Fatalf("approval %s executed %d times (audit %d): %s", id, runs, resp.StatusCode, body)
		}
		d, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil || *d.Spec.Replicas != 3 {
			t.Fatalf("nginx replicas: %v %v", d.Spec.Replicas, err)
		}
	})

	t.Run("a turn streamed from A is approved from C and finishes there", func(t *testing.T) {
		id := requestScale(A, 4)
		code, body := decideAt(C, id)
		var out struct{ Events []agent.Event }
		_ = json.Unmarshal(body, &out)
		if f := eventOf(out.Events, agent.EventFinal); code != 200 || f == nil || !strings.Contains(f.Text, "4/4") {
			t.Fatalf("decision on C: %d %s", code, body)
		}
	})

	t.Run("300 alerts round-robin, one replica SIGKILLed mid-run, each posted once", func(t *testing.T) {
		const total = 300
		hook := func(i int) []byte {
			b, _ := json.Marshal(alertmanager.Webhook{Version: "4", GroupKey: fmt.Sprintf(`{}:{alert="%d"}`, i), Status: "firing", Receiver: "k8s-manage",
				Alerts: []alertmanager.Alert{{Status: "firing", Fingerprint: fmt.Sprintf("ha%04d", i), StartsAt: time.Now().Add(-time.Minute),
					Labels: map[string]string{"alertname": fmt.Sprintf("HAAlert%04d", i), "namespace": ns, "pod": pod, "severity": "warning"}}}})
			return b
		}
		var killed atomic.Bool
		send := func(i int) {
			// Round-robin; a replica that is down is skipped, as Alertmanager retries another.
			for try := range 3 {
				r := (i + try) % 3
				if r == B && killed.Load() {
					continue
				}
				req, _ := http.NewRequest(http.MethodPost, rs.addr(r)+"/api/v1/alerts/alertmanager", bytes.NewReader(hook(i)))
				req.Header.Set("Authorization", "Bearer "+bearer)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == 200 {
						return
					}
				}
			}
			t.Errorf("alert %d was not accepted by any replica", i)
		}
		perAlert := regexp.MustCompile(`HAAlert(\d{4})`)
		posts := func() map[string]int {
			out := map[string]int{}
			for _, m := range slackFake.Messages() {
				if m.Channel != "C_HA" {
					continue
				}
				if g := perAlert.FindStringSubmatch(m.Text); g != nil {
					out[g[1]]++
				}
			}
			return out
		}
		began := time.Now()
		for i := range total {
			send(i)
			if i == total/2 {
				// Mid-run: B has claimed alerts in work when it dies. Its workers must be at work
				// first (on a loaded machine the others may have taken every alert so far).
				claimedRe, handledRe := regexp.MustCompile(`"msg":"alerts claimed"[^\n]*?"n":(\d+)`), regexp.MustCompile(`"msg":"alert handled"`)
				platformtest.Eventually(t, 60*time.Second, func() (bool, string) {
					log := rs.logOf(B)
					claimed := 0
					for _, m := range claimedRe.FindAllStringSubmatch(log, -1) {
						n, _ := strconv.Atoi(m[1])
						claimed += n
					}
					handled := len(handledRe.FindAllString(log, -1))
					return claimed > handled, fmt.Sprintf("replica B holds no claimed alert (%d claimed, %d handled)", claimed, handled)
				})
				if err := rs.proc(B).Process.Kill(); err != nil {
					t.Fatal(err)
				}
				_ = rs.proc(B).Wait()
				killed.Store(true)
				t.Logf("replica B killed after %d alerts sent, %d posted", i+1, len(posts()))
			}
		}
		intake := time.Since(began)
		platformtest.Eventually(t, 180*time.Second, func() (bool, string) {
			n := len(posts())
			return n == total, fmt.Sprintf("%d of %d alerts posted", n, total)
		})
		all := time.Since(began)
		dups := 0
		platformtest.Consistently(t, 4*time.Second, func() (bool, string) { // a lease and more: any late duplicate shows
			for fp, n := range posts() {
				if n != 1 {
					dups++
					return false, fmt.Sprintf("alert %s posted %d times", fp, n)
				}
			}
			return true, ""
		})
		// The kill hit alerts B had claimed: they were taken over after the lease.
		st, err := store.Open(ctx, store.Options{DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var takenOver int
		if err := st.QueryRowContext(ctx, "SELECT COUNT(*) FROM alert_queue WHERE attempts > 1").Scan(&takenOver); err != nil {
			t.Fatal(err)
		}
		if takenOver == 0 {
			t.Error("no alert was taken over: the kill did not interrupt any work")
		}
		t.Logf("%d alerts: %d taken over from the killed replica; intake %s (%.0f/s over 3 then 2 replicas), all diagnosed and posted after %s, %d duplicates",
			total, takenOver, intake.Round(time.Millisecond), float64(total)/intake.Seconds(), all.Round(time.Millisecond), dups)
		if !strings.Contains(rs.allLogs(), `"msg":"alert handled"`) {
			t.Error("no replica logged a handled alert")
		}
	})

	t.Run("a rolling restart loses no turn and no approval", func(t *testing.T) {
		rs.start(B) // the replica killed above comes back first
		pending := requestScale(A, 2)
		// Load: chat turns round-robin over the replicas in rotation, as a Service does once a
		// terminating pod has left its endpoints; a refused connection is retried on the next.
		var mu sync.Mutex
		up := []bool{true, true, true}
		var ok, retried, cut atomic.Int64
		var cutConvs []string
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					conv := fmt.Sprintf("web:roll-%d-%d", g, n)
					for try := range 3 {
						r := (g + n + try) % 3
						mu.Lock()
						in, addr := up[r], rs.addr(r)
						mu.Unlock()
						if !in {
							continue
						}
						req, _ := http.NewRequest(http.MethodPost, addr+"/api/v1/chat", strings.NewReader(
							`{"message":"how do I set up a canary release?","tenant":"`+name+`","conversation_id":"`+conv+`"}`))
						req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(devTok))
						req.Header.Set("Content-Type", "application/json")
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							retried.Add(1)
							continue
						}
						body, err := io.ReadAll(resp.Body)
						resp.Body.Close()
						if err != nil || resp.StatusCode != 200 || !strings.Contains(string(body), `"type":"final"`) {
							cut.Add(1)
							mu.Lock()
							cutConvs = append(cutConvs, conv)
							mu.Unlock()
						} else {
							ok.Add(1)
						}
						break
					}
				}
			}()
		}
		var outOfRotation []time.Duration
		for i := range 3 {
			time.Sleep(500 * time.Millisecond)
			began := time.Now()
			mu.Lock()
			up[i] = false
			mu.Unlock()
			if err := rs.proc(i).Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := rs.proc(i).Wait(); err != nil {
				logs := rs.logOf(i)
				t.Errorf("replica %d exited with %v after SIGTERM %s later; its last log lines:\n%s", i, err, time.Since(began).Round(time.Millisecond),
					logs[max(0, len(logs)-3000):])
			}
			rs.start(i)
			platformtest.Eventually(t, 30*time.Second, func() (bool, string) {
				resp, err := http.Get(rs.addr(i) + "/readyz")
				if err != nil {
					return false, err.Error()
				}
				resp.Body.Close()
				return resp.StatusCode == 200, fmt.Sprint(resp.StatusCode)
			})
			mu.Lock()
			up[i] = true
			mu.Unlock()
			outOfRotation = append(outOfRotation, time.Since(began).Round(time.Millisecond))
		}
		time.Sleep(500 * time.Millisecond)
		close(stop)
		wg.Wait()
		// Every cut-off turn is in its conversation and can be resumed from it.
		for _, conv := range cutConvs {
			_, body := devAt(A).do("GET", "/api/v1/conversations/"+url.PathEscape(conv), "")
			if !strings.Contains(string(body), "canary") {
				t.Errorf("cut-off turn %s is not in its conversation: %s", conv, body)
			}
		}
		// The approval that was pending through the restart is decided on a new process.
		code, body := decideAt(C, pending)
		if code != 200 {
			t.Fatalf("the approval pending through the restart: %d %s", code, body)
		}
		t.Logf("rolling restart of 3 replicas: out of rotation %v; turns during it: %d completed, %d cut off, %d connections refused and retried elsewhere; the pending approval was decided afterwards",
			outOfRotation, ok.Load(), cut.Load(), retried.Load())
		if ok.Load() == 0 {
			t.Error("no turn completed during the restart")
		}
	})

}
