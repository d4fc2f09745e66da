package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/adapters/alertmanager"
	"k8s-manage/adapters/chattest"
	"k8s-manage/adapters/dingtalk/dingtalkfake"
	"k8s-manage/adapters/slack/slackfake"
	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/platform/platformtest"
)

// serveWith runs the binary's serve with a config file and extra environment.
func serveWith(t testing.TB, cfgPath string, env ...string) (*exec.Cmd, string, *lockedBuffer) {
	t.Helper()
	return runServe(t, []string{"--config", cfgPath, "serve"}, append([]string{"K8SM_HTTP_SHUTDOWN_TIMEOUT=5s"}, env...))
}

// A crash-looping app on the sandbox and Alertmanager's notification for it: the webhook answers
// 200 once the alert is queued; the receiving process is killed before any worker ran; a restarted
// server diagnoses it and posts the cause to the routed Slack channel (slacktest) and DingTalk
// group robot (fake); a redelivery changes nothing; the resolution lands in the same Slack thread.
func TestAlertToDiagnosisEndToEnd(t *testing.T) {
	env := sandboxtest.Start(t)
	dir := t.TempDir()
	slackFake := slackfake.New()
	t.Cleanup(slackFake.Stop)
	ding := dingtalkfake.New("ding-e2e-id", "ding-e2e-app-secret-77")
	t.Cleanup(ding.Close)
	ding.RobotSecrets["tok-ops-9"] = "SECrobot-e2e-4411"
	const bearerToken = "am-e2e-bearer-token-31"
	name := sandboxtest.Name("alerts")
	cfgPath := filepath.Join(dir, "k8s-manage.yaml")
	cfg := fmt.Sprintf(`cluster: {mode: kubeconfig, kubeconfig: %q}
store: {dsn: "sqlite://%s"}
knowledge: {docs_root: "../.."}
config_center: {generated_key_file: %q}
log: {level: debug}
slack: {enabled: true, mode: http, bot_token: xoxb-e2e-bot-0042, signing_secret: slack-e2e-signing-99, api_url: %q}
dingtalk:
  enabled: true
  mode: outgoing
  client_id: ding-e2e-id
  client_secret: ding-e2e-app-secret-77
  openapi_host: %q
  robots: {ops: {webhook: "%s/robot/send?access_token=tok-ops-9", secret: SECrobot-e2e-4411}}
alerts:
  enabled: true
  bearer_token: %s
  routes:
    - match: {tenant: %s}
      slack: [C_ALERTS]
      dingtalk: [ops]
`, env.Sandbox.KubeconfigPath(), filepath.Join(dir, "s.db"), filepath.Join(dir, "cc.key"), slackFake.GetAPIURL(), ding.URL, ding.URL, bearerToken, name)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	runCmd(t, "--config", cfgPath, "config", "check")
	runCmd(t, "--config", cfgPath, "tenant", "create", name, "--env", "dev", "--member", "alertmanager@k8s-manage.local=viewer",
		"--member", platformtest.Email("dev")+"=developer")
	ns := name + "-dev"
	t.Cleanup(func() { _ = env.Client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	if _, err := env.Client.AppsV1().Deployments(ns).Create(context.Background(), chattest.CrashLoopDeployment("order-service"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := chattest.WaitRestarted(t, env.Client, ns, "order-service")

	starts := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	am := func(status string) []byte {
		b, _ := json.Marshal(alertmanager.Webhook{Version: "4", GroupKey: `{}:{namespace="` + ns + `"}`, Status: status, Receiver: "k8s-manage",
			Alerts: []alertmanager.Alert{{Status: status, Fingerprint: "c0ffee01", StartsAt: starts,
				Labels:      map[string]string{"alertname": "KubePodCrashLooping", "namespace": ns, "pod": pod, "container": "app", "severity": "critical"},
				Annotations: map[string]string{"summary": "Pod " + ns + "/" + pod + " is crash looping."}}}})
		return b
	}
	send := func(addr string, body []byte) string {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/alerts/alertmanager", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+bearerToken)
		req.Header.Set("Content-Type", "application/json") // as Alertmanager sends it
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]int
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != 200 {
			t.Fatalf("webhook: %d", resp.StatusCode)
		}
		return fmt.Sprintf("queued=%d duplicates=%d", out["queued"], out["duplicates"])
	}

	// 1. A receiver-only process takes the alert and is killed right after its 200.
	recv, addr, logs1 := serveWith(t, cfgPath, "K8SM_ALERTS_CONCURRENCY=0")
	if got := send(addr, am("firing")); got != "queued=1 duplicates=0" {
		t.Fatalf("first delivery: %s", got)
	}
	if err := recv.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = recv.Wait()
	if n := len(slackFake.Messages()); n != 0 {
		t.Fatalf("the receiver posted %d messages", n)
	}

	// 2. A restarted server works the queue.
	began := time.Now()
	_, addr, logs2 := serveWith(t, cfgPath)
	alertMsgs := func() []slackfake.Message {
		var out []slackfake.Message
		for _, m := range slackFake.Messages() {
			if m.Channel == "C_ALERTS" {
				out = append(out, m)
			}
		}
		return out
	}
	platformtest.Eventually(t, 60*time.Second, func() (bool, string) {
		return len(alertMsgs()) == 1 && len(ding.Sent()) == 1, fmt.Sprintf("slack %d, dingtalk %d", len(alertMsgs()), len(ding.Sent()))
	})
	t.Logf("diagnosis posted %s after the restart", time.Since(began).Round(time.Millisecond))
	first := alertMsgs()[0]
	for where, text := range map[string]string{"slack": first.AllText(), "dingtalk": ding.Sent()[0].Text} {
		if !strings.Contains(text, "CrashLoopBackOff") || !strings.Contains(text, pod) || !strings.Contains(text, "[FIRING] KubePodCrashLooping") {
			t.Fatalf("%s post does not name the cause:\n%s", where, text)
		}
	}

	// 3. Alertmanager redelivers (repeat interval, HA pair): nothing new is posted.
	if got := send(addr, am("firing")); got != "queued=0 duplicates=1" {
		t.Fatalf("redelivery: %s", got)
	}
	// 4. The alert resolves: the Slack thread is updated, the group told.
	if got := send(addr, am("resolved")); got != "queued=1 duplicates=0" {
		t.Fatalf("resolved: %s", got)
	}
	platformtest.Eventually(t, 30*time.Second, func() (bool, string) {
		return len(alertMsgs()) == 2 && len(ding.Sent()) == 2, fmt.Sprintf("slack %d, dingtalk %d", len(alertMsgs()), len(ding.Sent()))
	})
	res := alertMsgs()[1]
	if res.ThreadTS != first.TS || !strings.Contains(res.AllText(), "[RESOLVED]") {
		t.Fatalf("the resolution is not in the alert's thread: thread %q (want %q) %q", res.ThreadTS, first.TS, res.AllText())
	}
	if !strings.Contains(ding.Sent()[1].Text, "[RESOLVED]") {
		t.Fatalf("dingtalk resolution: %q", ding.Sent()[1].Text)
	}
	all := logs1.String() + logs2.String()
	for _, secret := range []string{bearerToken, "xoxb-e2e-bot-0042", "slack-e2e-signing-99", "ding-e2e-app-secret-77", "SECrobot-e2e-4411", "tok-ops-9"} {
		if strings.Contains(all, secret) {
			t.Fatalf("a secret appears in the logs: %s…", secret[:4])
		}
	}
}
