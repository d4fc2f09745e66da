package dingtalk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s-manage/adapters/chattest"
	"k8s-manage/adapters/dingtalk"
	"k8s-manage/adapters/dingtalk/dingtalkfake"
	"k8s-manage/agent"
	"k8s-manage/platform/platformtest"
)

const (
	clientID     = "ding-app-key-test"
	clientSecret = "ding-app-secret-5e6f7a8b9c0d"
	group        = "cid-group-1"
	botTopic     = "/v1.0/im/bot/messages/get"
	cardTopic    = "/v1.0/card/instances/callback"
)

var staff = map[chattest.Person]string{chattest.Dev: "staff-dev", chattest.Ops: "staff-ops", chattest.Guest: "staff-guest", chattest.Outsider: "staff-out"}

type harness struct {
	fake *dingtalkfake.Server
	log  *chattest.Buffer
}

func (h *harness) Say(t *testing.T, p chattest.Person, delivery, text string) {
	if p == chattest.Bot { // DingTalk never delivers other robots' messages to a robot
		return
	}
	if err := h.fake.Push(botTopic, "frame-"+delivery+fmt.Sprint(time.Now().UnixNano()), h.fake.BotMessage("msg-"+delivery, group, staff[p], text, true)); err != nil {
		t.Fatal(err)
	}
}

// Decide uses the text command fallback: 同意 <id> / 拒绝 <id>.
func (h *harness) Decide(t *testing.T, p chattest.Person, id string, approve bool) {
	cmd := "拒绝 " + id
	if approve {
		cmd = "同意 " + id
	}
	h.Say(t, p, fmt.Sprintf("decide-%s-%s-%d", p, id, time.Now().UnixNano()), cmd)
}

func (h *harness) Posts() []chattest.Post {
	var out []chattest.Post
	for _, m := range h.fake.Sent() {
		if !strings.HasSuffix(m.Via, group) {
			continue
		}
		p := chattest.Post{Text: m.Title + "\n" + m.Text}
		if strings.Contains(m.Text, "Approval needed") && !decided(h.fake.Sent(), m.Text) {
			p.Approval = approvalID(m.Text)
		}
		out = append(out, p)
	}
	return out
}

// approvalID reads the id of an approval message ("… Approval needed `id`").
func approvalID(text string) string {
	_, rest, ok := strings.Cut(text, "Approval needed `")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "`")
	return id
}

// decided: DingTalk messages cannot be edited, so an approval's text stays; it counts as
// answered once a decision for its id was confirmed in the conversation.
func decided(sent []dingtalkfake.Sent, approvalText string) bool {
	id := approvalID(approvalText)
	for _, m := range sent {
		if strings.Contains(m.Text, "["+id+"] approved") || strings.Contains(m.Text, "["+id+"] rejected") {
			return true
		}
	}
	return false
}

func (h *harness) Logs() string      { return h.log.String() }
func (h *harness) Secrets() []string { return []string{clientSecret} }
func (h *harness) Refusal() string   { return "not linked to a platform user" }

func start(t *testing.T, w *chattest.World, mod func(*dingtalk.Options)) (*harness, *dingtalk.Bot) {
	fake := dingtalkfake.New(clientID, clientSecret)
	t.Cleanup(fake.Close)
	log, buf := chattest.Logger()
	o := dingtalk.Options{ClientID: clientID, ClientSecret: clientSecret, OpenAPIHost: fake.URL,
		Staff: map[string]string{"staff-dev": w.Dev, "staff-ops": w.Ops, "staff-out": w.Outsider}, Conversations: map[string]string{group: w.Tenant},
		Agent: w.Agent, Seen: w.Store, Log: log}
	if mod != nil {
		mod(&o)
	}
	bot, err := dingtalk.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = bot.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the stream did not stop")
		}
	})
	if o.Mode != "outgoing" && !strings.HasPrefix(t.Name(), "TestFirstConnect") {
		platformtest.Eventually(t, 15*time.Second, func() (bool, string) { return fake.Connected(), "stream not connected" })
	}
	return &harness{fake: fake, log: buf}, bot
}

// The shared chat-surface suite through the fake gateway, approving by text command.
func TestConformanceStream(t *testing.T) {
	w := chattest.New(t)
	h, _ := start(t, w, nil)
	chattest.Conformance(t, w, h)
	for _, a := range h.fake.Acks() {
		if code, _ := a["code"].(float64); code != 200 {
			t.Fatalf("a frame was not acked with 200: %v", a)
		}
	}
}

// Approving through the interactive card: the card is delivered through the OpenAPI, the button
// press arrives over the stream, the card answer shows the decision, the conversation gets the result.
func TestApprovalByCard(t *testing.T) {
	w := chattest.New(t)
	h, _ := start(t, w, func(o *dingtalk.Options) { o.CardTemplateID = "tpl-approval.schema" })
	h.Say(t, chattest.Dev, "card-1", "把 nginx 扩容到 5 个副本")
	card := chattest.WaitPost(t, h, "with an approval", func(p chattest.Post) bool { return p.Approval != "" })
	// The text reply goes first and the card is delivered after it: wait for the card.
	var delivered map[string]any
	for deadline := time.Now().Add(10 * time.Second); delivered == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, m := range h.fake.Sent() {
			if m.Via == "card" {
				delivered = m.Raw
			}
		}
	}
	if delivered == nil || delivered["outTrackId"] != "k8sm-approval-"+card.Approval || delivered["callbackType"] != "STREAM" {
		t.Fatalf("no approval card delivered: %v", delivered)
	}
	press := dingtalkfake.CardCallback("k8sm-approval-"+card.Approval, "staff-ops", group, map[string]string{"action": "approve", "approval_id": card.Approval})
	if err := h.fake.Push(cardTopic, "card-frame-1", press); err != nil {
		t.Fatal(err)
	}
	chattest.WaitPost(t, h, "with the result", func(p chattest.Post) bool { return strings.Contains(p.Text, "5/5") })
	if r := w.Replicas(t, "nginx"); r != 5 {
		t.Fatalf("nginx has %d replicas, want 5", r)
	}
	var ack map[string]any
	for _, a := range h.fake.Acks() {
		if hd, _ := a["headers"].(map[string]any); hd["messageId"] == "card-frame-1" {
			ack = a
		}
	}
	if ack == nil || !strings.Contains(fmt.Sprint(ack["data"]), "approved by "+w.Ops) {
		t.Fatalf("the card answer does not show the decision: %v", ack)
	}
}

// A gateway that stops answering keepalive pings: the client drops the connection and
// reconnects by itself; the process survives and keeps answering.
func TestMissingPongReconnects(t *testing.T) {
	w := chattest.New(t)
	h, _ := start(t, w, func(o *dingtalk.Options) { o.KeepAlive = 3 * time.Second })
	h.fake.DropPongs(true)
	platformtest.Eventually(t, 40*time.Second, func() (bool, string) {
		return h.fake.Opens() >= 2 && h.fake.Connected(), fmt.Sprintf("opens=%d connected=%v", h.fake.Opens(), h.fake.Connected())
	})
	h.fake.DropPongs(false)
	h.Say(t, chattest.Dev, "after-reconnect", "how do I set up a canary release?")
	chattest.WaitPost(t, h, "answering after the reconnect", func(p chattest.Post) bool { return strings.Contains(p.Text, "From the docs") })
}

// The outgoing robot: requests must carry a valid timestamp+sign; the reply goes to the webhook.
func TestOutgoingRobotSignature(t *testing.T) {
	w := chattest.New(t)
	h, bot := start(t, w, func(o *dingtalk.Options) { o.Mode = "outgoing" })
	srv := httptest.NewServer(bot.Handler())
	t.Cleanup(srv.Close)
	body, _ := json.Marshal(h.fake.BotMessage("out-1", group, "staff-dev", "how do I set up a canary release?", true))
	post := func(ts int64, sign string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set("timestamp", fmt.Sprint(ts))
		req.Header.Set("sign", sign)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	now := time.Now().UnixMilli()
	if c := post(now, dingtalk.Sign(now, "wrong-secret")); c != http.StatusUnauthorized {
		t.Fatalf("bad sign: %d", c)
	}
	old := time.Now().Add(-2 * time.Hour).UnixMilli()
	if c := post(old, dingtalk.Sign(old, clientSecret)); c != http.StatusUnauthorized {
		t.Fatalf("stale timestamp: %d", c)
	}
	if len(h.fake.Sent()) != 0 {
		t.Fatal("a refused request was answered")
	}
	if c := post(now, dingtalk.Sign(now, clientSecret)); c != http.StatusOK {
		t.Fatalf("signed request: %d", c)
	}
	chattest.WaitPost(t, h, "answering the signed request", func(p chattest.Post) bool { return strings.Contains(p.Text, "From the docs") })
}

// Alert notices go to a group robot, signed with its secret.
func TestNotifyRobot(t *testing.T) {
	w := chattest.New(t)
	fake := dingtalkfake.New(clientID, clientSecret)
	t.Cleanup(fake.Close)
	fake.RobotSecrets["tok-ops"] = "SEC-robot-secret-1"
	bot, err := dingtalk.New(dingtalk.Options{ClientID: clientID, ClientSecret: clientSecret, Mode: "outgoing", Agent: w.Agent, Seen: w.Store,
		Robots: map[string]dingtalk.Robot{"ops": {Webhook: fake.URL + "/robot/send?access_token=tok-ops", Secret: "SEC-robot-secret-1"},
			"bad": {Webhook: fake.URL + "/robot/send?access_token=tok-ops", Secret: "wrong"}}})
	if err != nil {
		t.Fatal(err)
	}
	n := agent.Notice{Key: "g", Title: "[FIRING] KubePodCrashLooping — order-service", Text: "Diagnosis: CrashLoopBackOff",
		Fixes: []agent.Fix{{Tool: "rollback_app", Args: `{"app":"order-service"}`}}}
	if _, err := bot.Notify(context.Background(), "ops", "", n); err != nil {
		t.Fatal(err)
	}
	sent := fake.Sent()
	if len(sent) != 1 || !strings.Contains(sent[0].Text, "CrashLoopBackOff") || !strings.Contains(sent[0].Text, "rollback_app order-service") {
		t.Fatalf("robot message: %+v", sent)
	}
	_, err = bot.Notify(context.Background(), "bad", "", n)
	if err == nil || !strings.Contains(err.Error(), "sign not match") || strings.Contains(err.Error(), "tok-ops") {
		t.Fatalf("a rejected robot message must fail without leaking the token: %v", err)
	}
	if _, err := bot.Notify(context.Background(), "nope", "", n); err == nil {
		t.Fatal("an unknown robot must fail")
	}
}

// The gateway is down at start: the first connect is retried with backoff until it comes up.
func TestFirstConnectRetries(t *testing.T) {
	w := chattest.New(t)
	fake := dingtalkfake.New(clientID, clientSecret)
	t.Cleanup(fake.Close)
	fake.RefuseOpens(2)
	log, buf := chattest.Logger()
	bot, err := dingtalk.New(dingtalk.Options{ClientID: clientID, ClientSecret: clientSecret, OpenAPIHost: fake.URL, Agent: w.Agent, Seen: w.Store, Log: log,
		Staff: map[string]string{"staff-dev": w.Dev}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = bot.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	platformtest.Eventually(t, 20*time.Second, func() (bool, string) { return fake.Connected(), fmt.Sprintf("opens=%d", fake.Opens()) })
	if fake.Opens() != 3 || strings.Count(buf.String(), "retrying") != 2 {
		t.Fatalf("want 2 refused opens retried, then a connection; opens=%d log:\n%s", fake.Opens(), buf.String())
	}
	if strings.Contains(buf.String(), clientSecret) {
		t.Fatal("the client secret was logged")
	}
}

// A message whose session webhook has expired is answered through the OpenAPI (access token,
// then the group message API).
func TestReplyThroughOpenAPIWhenWebhookExpired(t *testing.T) {
	w := chattest.New(t)
	h, _ := start(t, w, nil)
	if err := h.fake.Push(botTopic, "frame-exp", h.fake.ExpiredBotMessage("msg-exp", group, "staff-dev", "how do I set up a canary release?")); err != nil {
		t.Fatal(err)
	}
	chattest.WaitPost(t, h, "answering", func(p chattest.Post) bool { return strings.Contains(p.Text, "From the docs") })
	for _, m := range h.fake.Sent() {
		if strings.HasPrefix(m.Via, "webhook:") {
			t.Fatalf("an expired session webhook was used: %+v", m)
		}
	}
	if m := h.fake.Sent()[0]; m.Via != "group:"+group || m.Raw["robotCode"] != clientID {
		t.Fatalf("not sent through the group message API: %+v", m)
	}
}
