package slack_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s-manage/adapters/chattest"
	"k8s-manage/adapters/slack"
	"k8s-manage/adapters/slack/slackfake"
	"k8s-manage/agent"
	"k8s-manage/platform/platformtest"
)

const (
	team          = "T1"
	channel       = "C1"
	botToken      = "xoxb-test-bot-token-9f8e7d6c"
	appToken      = "xapp-1-test-app-token-5b4a3c"
	signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"
)

func users(w *chattest.World) []slackfake.User {
	return []slackfake.User{
		{ID: "U_DEV", Email: w.Dev, TeamID: team},
		{ID: "U_OPS", Email: strings.ToUpper(w.Ops), TeamID: team}, // case does not matter
		{ID: "U_GUEST", Email: "guest@partner.example", TeamID: team, Guest: true},
		{ID: "U_GONE", Email: w.Admin, TeamID: team, Deleted: true},
		{ID: "U_OTHER", Email: w.Admin, TeamID: "T_OTHER"},
		{ID: "U_OUT", Email: w.Outsider, TeamID: team},
	}
}

var person = map[chattest.Person]string{chattest.Dev: "U_DEV", chattest.Ops: "U_OPS", chattest.Guest: "U_GUEST", chattest.Bot: "", chattest.Outsider: "U_OUT"}

type harness struct {
	fake *slackfake.Server
	w    *chattest.World
	log  *chattest.Buffer
	send func(t *testing.T, typ string, payload any)
	mu   sync.Mutex
	tss  map[string]string
	seq  int
}

func (h *harness) ts(delivery string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ts, ok := h.tss[delivery]; ok {
		return ts
	}
	h.seq++
	h.tss[delivery] = fmt.Sprintf("1600000000.%06d", h.seq)
	return h.tss[delivery]
}

func (h *harness) Say(t *testing.T, p chattest.Person, delivery, text string) {
	h.send(t, "events_api", slackfake.MentionEvent("Ev"+delivery, team, person[p], channel, h.ts(delivery), "", text))
}

func (h *harness) card(id string) (slackfake.Message, bool) {
	for _, m := range h.fake.Messages() {
		if strings.Contains(m.AllText(), id) && strings.Contains(m.AllText(), "Approval needed") {
			return m, true
		}
	}
	return slackfake.Message{}, false
}

func (h *harness) Decide(t *testing.T, p chattest.Person, id string, approve bool) {
	m, ok := h.card(id)
	if !ok {
		t.Fatalf("no approval card for %s", id)
	}
	action := "k8sm_reject"
	if approve {
		action = "k8sm_approve"
	}
	h.send(t, "interactive", slackfake.ButtonClick(team, person[p], m, action, id))
}

func (h *harness) Posts() []chattest.Post {
	var out []chattest.Post
	for _, m := range h.fake.Messages() {
		if m.Channel == channel {
			out = append(out, chattest.Post{Text: m.AllText(), Approval: m.Buttons()["k8sm_approve"]})
		}
	}
	return out
}

func (h *harness) Logs() string      { return h.log.String() }
func (h *harness) Secrets() []string { return []string{botToken, appToken, signingSecret} }

func start(t *testing.T, w *chattest.World, mode string) (*harness, *slack.Bot) {
	fake := slackfake.New(users(w)...)
	t.Cleanup(fake.Stop)
	log, buf := chattest.Logger()
	// Socket Mode names the workspace in the config; HTTP mode leaves it to auth.test.
	teamID := team
	if mode == "http" {
		teamID = ""
		fake.SetTeam(team)
	}
	bot, err := slack.New(slack.Options{BotToken: botToken, AppToken: appToken, SigningSecret: signingSecret, Mode: mode, TeamID: teamID,
		Channels: map[string]string{channel: w.Tenant}, APIURL: fake.GetAPIURL(), UpdateEvery: 50 * time.Millisecond,
		PingInterval: time.Hour, Agent: w.Agent, Seen: w.Store, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = bot.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	h := &harness{fake: fake, w: w, log: buf, tss: map[string]string{}}
	if mode == "socket" {
		platformtest.Eventually(t, 15*time.Second, func() (bool, string) {
			return strings.Contains(buf.String(), "slack socket mode connected"), "socket mode not connected"
		})
		n := 0
		h.send = func(t *testing.T, typ string, payload any) {
			n++
			fake.SendToWebsocket(slackfake.Envelope(fmt.Sprintf("env-%d", n), typ, payload))
		}
	}
	return h, bot
}

// The shared chat-surface suite over Socket Mode with the real slack-go client.
func TestConformanceSocketMode(t *testing.T) {
	w := chattest.New(t)
	h, _ := start(t, w, "socket")
	chattest.Conformance(t, w, h)
	// Deleted users and users of another workspace are refused too.
	for _, u := range []string{"U_GONE", "U_OTHER"} {
		h.send(t, "events_api", slackfake.MentionEvent("Ev-"+u, team, u, channel, h.ts(u), "", "list apps"))
	}
	chattest.WaitPost(t, h, "refusing the deactivated account", func(p chattest.Post) bool { return strings.Contains(p.Text, "deactivated") })
	chattest.WaitPost(t, h, "refusing the other workspace", func(p chattest.Post) bool { return strings.Contains(p.Text, "another Slack workspace") })
	// Answers are threaded under the question.
	for _, m := range h.fake.Messages() {
		if !m.Ephemeral && m.Channel == channel && m.ThreadTS == "" {
			t.Fatalf("a reply was posted outside a thread: %q", m.Text)
		}
	}
}

func sign(req *http.Request, body []byte, secret string, at time.Time) {
	ts := fmt.Sprint(at.Unix())
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
}

// The HTTP Events API: signatures are checked, url_verification answered, a signed mention is
// answered in its thread and a signed button click decides.
func TestHTTPEventsAPI(t *testing.T) {
	w := chattest.New(t)
	h, bot := start(t, w, "http")
	srv := httptest.NewServer(bot.Handler())
	t.Cleanup(srv.Close)
	do := func(body []byte, contentType, secret string, at time.Time) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if secret != "" {
			sign(req, body, secret, at)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	h.send = func(t *testing.T, typ string, payload any) {
		b, _ := json.Marshal(payload)
		ct := "application/json"
		if typ == "interactive" {
			b = []byte("payload=" + urlEscape(string(b)))
			ct = "application/x-www-form-urlencoded"
		}
		if resp := do(b, ct, signingSecret, time.Now()); resp.StatusCode != http.StatusOK {
			t.Fatalf("signed %s event: status %d", typ, resp.StatusCode)
		}
	}

	forged, _ := json.Marshal(slackfake.MentionEvent("EvForged", team, "U_OPS", channel, "1600000099.000001", "", "scale nginx to 7 replicas"))
	for name, c := range map[string]struct {
		secret string
		at     time.Time
	}{"bad signature": {"not-the-secret", time.Now()}, "unsigned": {"", time.Now()}, "replayed": {signingSecret, time.Now().Add(-10 * time.Minute)}} {
		if resp := do(forged, "application/json", c.secret, c.at); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, resp.StatusCode)
		}
	}
	resp := do([]byte(`{"token":"x","challenge":"ch4ll3nge","type":"url_verification"}`), "application/json", signingSecret, time.Now())
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || body.String() != "ch4ll3nge" {
		t.Fatalf("url_verification: %d %q", resp.StatusCode, body.String())
	}

	h.Say(t, chattest.Dev, "http-1", "scale nginx to 4 replicas")
	card := chattest.WaitPost(t, h, "with an approval card", func(p chattest.Post) bool { return p.Approval != "" })
	h.Decide(t, chattest.Ops, card.Approval, true)
	chattest.WaitPost(t, h, "reporting the change", func(p chattest.Post) bool { return strings.Contains(p.Text, "4/4") })
	if r := w.Replicas(t, "nginx"); r != 4 {
		t.Fatalf("nginx has %d replicas, want 4", r)
	}
	// A correctly signed event of another workspace (slack.team_id unset: the bot token's own
	// workspace, from auth.test, is the only one) is dropped.
	h.send(t, "events_api", slackfake.MentionEvent("EvOtherTeam", "T_OTHER", "U_DEV", channel, "1600000099.000002", "", "scale nginx to 7 replicas"))
	platformtest.Eventually(t, 10*time.Second, func() (bool, string) {
		return strings.Contains(h.Logs(), "event from another workspace dropped"), "the foreign event was not dropped"
	})
	time.Sleep(300 * time.Millisecond)
	if r := w.Replicas(t, "nginx"); r == 7 {
		t.Fatal("the forged or foreign event was acted on")
	}
	if h.fake.Calls("/auth.test") != 1 {
		t.Errorf("auth.test called %d times, want once", h.fake.Calls("/auth.test"))
	}
	// The answer streamed into one message edited in place, in the question's thread.
	if h.fake.Calls("/chat.update") == 0 {
		t.Fatal("no message was updated in place")
	}
	if strings.Contains(h.Logs(), signingSecret) || strings.Contains(h.Logs(), botToken) {
		t.Fatal("a secret was logged")
	}
}

// Notify posts an alert notice with a fix button; a click proposes the fix as the clicker and the
// approval card appears in the alert's thread.
func TestNotifyAndProposeFix(t *testing.T) {
	w := chattest.New(t)
	h, bot := start(t, w, "socket")
	fix := agent.Fix{Tenant: w.Tenant, Env: "dev", Tool: "scale_app", Args: `{"app":"nginx","replicas":5}`}
	thread, err := bot.Notify(context.Background(), channel, "", agent.Notice{Key: "g1", Title: "[FIRING] HighLatency — nginx", Text: "p99 above 2s", Fixes: []agent.Fix{fix}})
	if err != nil {
		t.Fatal(err)
	}
	again, err := bot.Notify(context.Background(), channel, thread, agent.Notice{Key: "g1", Title: "[RESOLVED] HighLatency — nginx", Resolved: true})
	if err != nil || again != thread {
		t.Fatalf("second notice: thread %q (want %q), %v", again, thread, err)
	}
	var alert slackfake.Message
	for _, m := range h.fake.Messages() {
		if m.TS == thread {
			alert = m
		}
	}
	if v := alert.Buttons()["k8sm_fix_0"]; v == "" {
		t.Fatalf("no fix button on the alert: %+v", alert)
	}
	h.send(t, "interactive", slackfake.ButtonClick(team, "U_DEV", alert, "k8sm_fix_0", alert.Buttons()["k8sm_fix_0"]))
	card := chattest.WaitPost(t, h, "with the proposed fix's approval card", func(p chattest.Post) bool { return p.Approval != "" && strings.Contains(p.Text, "5") })
	for _, m := range h.fake.Messages() {
		if strings.Contains(m.AllText(), card.Approval) && m.ThreadTS != thread {
			t.Fatalf("the approval card is not in the alert's thread: %q vs %q", m.ThreadTS, thread)
		}
	}
	if r := w.Replicas(t, "nginx"); r != 2 {
		t.Fatalf("a proposed fix ran before its approval: %d replicas", r)
	}
}

func urlEscape(s string) string {
	r := strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", "=", "%3D", " ", "%20", "\n", "%0A", "#", "%23", "?", "%3F")
	return r.Replace(s)
}

func (h *harness) Refusal() string { return "guest accounts cannot use k8s-manage" }

// The /k8s slash command over Socket Mode: acked at once, the question posted to the channel and
// answered in its thread; `/k8s approve <id>` decides.
func TestSlashCommand(t *testing.T) {
	w := chattest.New(t)
	h, _ := start(t, w, "socket")
	cmd := func(user, text, trigger string) map[string]any {
		return map[string]any{"command": "/k8s", "text": text, "user_id": user, "channel_id": channel, "team_id": team, "trigger_id": trigger}
	}
	h.send(t, "slash_commands", cmd("U_DEV", "scale nginx to 4 replicas", "trig-1"))
	card := chattest.WaitPost(t, h, "with an approval card", func(p chattest.Post) bool { return p.Approval != "" })
	var question slackfake.Message
	for _, m := range h.fake.Messages() {
		if strings.Contains(m.Text, "/k8s scale nginx") {
			question = m
		}
	}
	if question.TS == "" {
		t.Fatal("the question was not posted to the channel")
	}
	if m, _ := h.card(card.Approval); m.ThreadTS != question.TS {
		t.Fatalf("the approval is not in the question's thread: %q vs %q", m.ThreadTS, question.TS)
	}
	h.send(t, "slash_commands", cmd("U_OPS", "approve "+card.Approval, "trig-2"))
	chattest.WaitPost(t, h, "reporting the change", func(p chattest.Post) bool { return strings.Contains(p.Text, "4/4") })
	if r := w.Replicas(t, "nginx"); r != 4 {
		t.Fatalf("nginx has %d replicas, want 4", r)
	}
}
