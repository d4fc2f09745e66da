// Package dingtalk is the DingTalk surface: group @-mentions and one-to-one chats over Stream
// mode (or the HTTP outgoing robot with its timestamp+sign check), Markdown replies through the
// conversation's session webhook (the OpenAPI when it has expired), approvals as interactive
// cards when a card template is configured and always as a text command in the same
// conversation (同意 <id> / 拒绝 <id>), and alert notices to group robots.
package dingtalk

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"k8s-manage/internal/textutil"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/card"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/chatbot"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/client"

	"k8s-manage/agent"
	"k8s-manage/agent/approval"
	"k8s-manage/internal/httpserver"
)

// Agent is what the surface needs of agent.Service.
type Agent interface {
	Send(ctx context.Context, t agent.Turn) (<-chan agent.Event, error)
	Decide(ctx context.Context, approvalID, decider string, approve bool, reason string) (<-chan agent.Event, error)
}

// Seen is the durable dedupe of delivered events (store.Store).
type Seen interface {
	FirstSeen(ctx context.Context, surface, id string, keep time.Duration) (bool, error)
}

// Robot is a group's custom robot (alert notices): its webhook and signing secret.
type Robot struct {
	Webhook string
	Secret  string
}

// Options configure the DingTalk surface.
type Options struct {
	// ClientID and ClientSecret are the app's credentials (AppKey/AppSecret): Stream mode, the
	// OpenAPI, and the outgoing robot's signature.
	ClientID     string
	ClientSecret string
	// Mode is stream (default) or outgoing (HTTP outgoing robot).
	Mode string
	// RobotCode sends through the OpenAPI (default ClientID).
	RobotCode string
	// CardTemplateID, when set, also sends approvals as interactive cards.
	CardTemplateID string
	// Staff maps a staff id to a platform user e-mail.
	Staff map[string]string
	// Conversations maps a conversation id to its default tenant ("team-a" or "team-a/prod").
	Conversations map[string]string
	DefaultTenant string
	// Robots are alert targets by name.
	Robots map[string]Robot
	// OpenAPIHost overrides https://api.dingtalk.com (tests); RobotHost overrides
	// https://oapi.dingtalk.com is not needed: robot webhooks are full URLs.
	OpenAPIHost string
	// KeepAlive is the stream's ping interval (default 30s; the SDK's minimum is 3s).
	KeepAlive time.Duration
	Agent     Agent
	Seen      Seen
	Log       *slog.Logger
	HTTP      *http.Client
}

// Bot is the DingTalk surface.
type Bot struct {
	o   Options
	api *openAPI

	mu        sync.Mutex
	approvals map[string]convo // approval id -> where it was asked (for card callbacks)
}

// convo is where a message came from and how to answer it.
type convo struct {
	ID         string
	Group      bool
	Webhook    string
	WebhookExp int64 // unix ms
	Staff      string
}

// New checks the options and builds the Bot.
func New(o Options) (*Bot, error) {
	o.Mode = cmp.Or(o.Mode, "stream")
	var problems []string
	if o.ClientID == "" {
		problems = append(problems, "dingtalk.client_id: is required")
	}
	if o.ClientSecret == "" {
		problems = append(problems, "dingtalk.client_secret: is required")
	}
	if o.Mode != "stream" && o.Mode != "outgoing" {
		problems = append(problems, fmt.Sprintf("dingtalk.mode: must be stream or outgoing, got %q", o.Mode))
	}
	for name, r := range o.Robots {
		if u, err := url.Parse(r.Webhook); err != nil || u.Scheme == "" || u.Host == "" {
			problems = append(problems, fmt.Sprintf("dingtalk.robots.%s.webhook: must be the robot's https URL", name))
		}
	}
	if o.Agent == nil || o.Seen == nil {
		problems = append(problems, "dingtalk: Agent and Seen are required")
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	o.OpenAPIHost = strings.TrimRight(cmp.Or(o.OpenAPIHost, "https://api.dingtalk.com"), "/")
	o.RobotCode = cmp.Or(o.RobotCode, o.ClientID)
	o.KeepAlive = cmp.Or(o.KeepAlive, 30*time.Second)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	return &Bot{o: o, api: &openAPI{host: o.OpenAPIHost, id: o.ClientID, secret: o.ClientSecret, http: o.HTTP}, approvals: map[string]convo{}}, nil
}

// Run connects Stream mode (retrying the first connect with backoff; the SDK reconnects after
// that) and serves until ctx ends, then closes the stream. In outgoing mode it only waits.
func (b *Bot) Run(ctx context.Context) error {
	if b.o.Mode != "stream" {
		<-ctx.Done()
		return nil
	}
	cli := client.NewStreamClient(client.WithAppCredential(client.NewAppCredentialConfig(b.o.ClientID, b.o.ClientSecret)),
		client.WithAutoReconnect(true), client.WithKeepAlive(b.o.KeepAlive), client.WithOpenApiHost(b.o.OpenAPIHost))
	cli.RegisterChatBotCallbackRouter(func(_ context.Context, m *chatbot.BotCallbackDataModel) ([]byte, error) {
		go b.onMessage(ctx, *m)
		return []byte(""), nil
	})
	cli.RegisterCardCallbackRouter(func(_ context.Context, r *card.CardRequest) (*card.CardResponse, error) {
		return b.onCard(ctx, r), nil
	})
	backoff := time.Second
	for {
		err := cli.Start(ctx)
		if err == nil {
			break
		}
		b.o.Log.Warn("dingtalk stream connect failed; retrying", "in", backoff, "err", redact(err.Error(), b.o.ClientSecret))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Minute)
	}
	b.o.Log.Info("dingtalk stream connected")
	<-ctx.Done()
	cli.Close()
	b.o.Log.Info("dingtalk stream closed")
	return nil
}

func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}

func (b *Bot) first(ctx context.Context, key string) bool {
	ok, err := b.o.Seen.FirstSeen(ctx, "dingtalk", key, 24*time.Hour)
	if err != nil {
		b.o.Log.Error("dingtalk dedupe", "err", err)
		return true
	}
	return ok
}

func (b *Bot) tenantOf(conversation string) (string, string) {
	v := cmp.Or(b.o.Conversations[conversation], b.o.DefaultTenant)
	t, e, _ := strings.Cut(v, "/")
	return t, cmp.Or(e, "dev")
}

// onMessage answers a group @-mention or a one-to-one message.
func (b *Bot) onMessage(ctx context.Context, m chatbot.BotCallbackDataModel) {
	if m.MsgId != "" && !b.first(ctx, "msg:"+m.MsgId) {
		b.o.Log.Debug("dingtalk duplicate delivery dropped", "msg", m.MsgId)
		return
	}
	c := convo{ID: m.ConversationId, Group: m.ConversationType == "2", Webhook: m.SessionWebhook, WebhookExp: m.SessionWebhookExpiredTime,
		Staff: m.SenderStaffId}
	text := strings.TrimSpace(m.Text.Content)
	if text == "" {
		return
	}
	email, ok := b.o.Staff[m.SenderStaffId]
	if !ok || m.SenderStaffId == "" {
		b.o.Log.Warn("dingtalk user refused", "staff", m.SenderStaffId)
		b.reply(ctx, c, "k8s-manage", "⛔ 你的钉钉账号没有绑定平台用户，请联系管理员。Your DingTalk account is not linked to a platform user.")
		return
	}
	if id, approve, reason, ok := agent.ParseDecision(text); ok {
		b.decide(ctx, c, email, id, approve, reason)
		return
	}
	tenant, env := b.tenantOf(m.ConversationId)
	// A conversation belongs to its person: in a group, each member keeps their own history.
	events, err := b.o.Agent.Send(ctx, agent.Turn{Surface: "dingtalk", Thread: m.ConversationId + ":" + m.SenderStaffId, User: email, Tenant: tenant, Env: env, Text: text})
	if err != nil {
		b.reply(ctx, c, "k8s-manage", "⚠️ "+err.Error())
		return
	}
	b.render(ctx, c, events)
}

// render sends a turn's answer: DingTalk messages cannot be edited, so the steps and the answer go
// in one Markdown message at the end, and each approval request as its own message (and card).
func (b *Bot) render(ctx context.Context, c convo, events <-chan agent.Event, before ...agent.Event) {
	var steps []string
	var text strings.Builder
	final := ""
	for e := range agent.Events(events, before...) {
		switch e.Type {
		case agent.EventTextDelta:
			text.WriteString(e.Text)
		case agent.EventToolStarted:
			steps = append(steps, "- ⚙️ `"+e.Tool+"`")
		case agent.EventApprovalRequested:
			b.askApproval(ctx, c, e.Approval)
		case agent.EventApprovalDecided:
			steps = append(steps, "- ☑️ "+e.Text)
		case agent.EventFinal:
			final = e.Text
		case agent.EventError:
			final = "⚠️ " + e.Error
		}
	}
	body := cmp.Or(final, text.String())
	if len(steps) > 0 {
		body = strings.Join(steps, "\n") + "\n\n" + body
	}
	if strings.TrimSpace(body) != "" {
		b.reply(ctx, c, "k8s-manage", body)
	}
}

// approvalMarkdown is the text form of an approval request with its commands.
func approvalMarkdown(r *approval.Request) string {
	var s strings.Builder
	fmt.Fprintf(&s, "### 需要审批 / Approval needed `%s`\n\n%s\n\n", r.ID, r.Summary)
	if r.Risk == "destructive" {
		s.WriteString("**破坏性操作，无法恢复 / destructive: cannot be undone**\n\n")
	}
	fmt.Fprintf(&s, "申请人 requested by %s · %s/%s · `%s` · risk %s\n\n", r.Requester, r.Tenant, r.Env, r.Tool, r.Risk)
	if p := agent.PreviewText(r.Preview); p != "" {
		s.WriteString("```\n" + textutil.Truncate(p, 3000) + "\n```\n\n")
	}
	fmt.Fprintf(&s, "回复 `同意 %s` 批准，或 `拒绝 %s 原因` 驳回。Reply `approve %s` or `reject %s <reason>`.", r.ID, r.ID, r.ID, r.ID)
	return s.String()
}

func (b *Bot) askApproval(ctx context.Context, c convo, r *approval.Request) {
	b.mu.Lock()
	b.approvals[r.ID] = c
	b.mu.Unlock()
	b.reply(ctx, c, "需要审批 "+r.ID, approvalMarkdown(r))
	if b.o.CardTemplateID == "" {
		return
	}
	if err := b.api.deliverCard(ctx, b.o.CardTemplateID, b.o.RobotCode, c, r); err != nil {
		b.o.Log.Warn("dingtalk approval card not delivered; the text command still works", "approval", r.ID, "err", redact(err.Error(), b.o.ClientSecret))
	}
}

// decide records a decision (text command or card) and confirms it in the conversation with the
// rest of the turn.
func (b *Bot) decide(ctx context.Context, c convo, email, id string, approve bool, reason string) {
	events, err := b.o.Agent.Decide(ctx, id, email, approve, reason)
	if err != nil {
		b.o.Log.Info("dingtalk decision refused", "approval", id, "user", email, "err", err)
		b.reply(ctx, c, "审批", "⛔ "+err.Error())
		return
	}
	b.render(ctx, c, events)
}

// onCard handles an approval card's button: the card is updated with the decision, and the
// resumed turn is answered in the conversation the approval was asked in.
func (b *Bot) onCard(ctx context.Context, r *card.CardRequest) *card.CardResponse {
	id, action := r.GetActionString("approval_id"), r.GetActionString("action")
	if id == "" {
		id = strings.TrimPrefix(r.OutTrackId, "k8sm-approval-")
	}
	if !b.first(ctx, "card:"+r.OutTrackId+":"+r.UserId+":"+action) {
		return &card.CardResponse{}
	}
	b.mu.Lock()
	c, known := b.approvals[id]
	b.mu.Unlock()
	if !known {
		c = convo{ID: r.SpaceId, Group: strings.EqualFold(r.SpaceType, "IM_GROUP"), Staff: r.UserId}
	}
	status := ""
	email, ok := b.o.Staff[r.UserId]
	switch {
	case !ok:
		status = "⛔ 未绑定平台用户 / not linked to a platform user"
	case action != "approve" && action != "reject":
		status = "⛔ unknown action " + action
	default:
		events, err := b.o.Agent.Decide(ctx, id, email, action == "approve", "")
		if err != nil {
			status = "⛔ " + err.Error()
			break
		}
		first, ok := <-events
		status = "✅ " + first.Text
		if ok && first.Approval != nil && first.Approval.Status != approval.Approved {
			status = "❌ " + first.Text
		}
		if ok {
			go b.render(context.WithoutCancel(ctx), c, events, first)
		}
	}
	return &card.CardResponse{CardUpdateOptions: &card.CardUpdateOptions{UpdateCardDataByKey: true},
		CardData: &card.CardDataDto{CardParamMap: map[string]string{"status": status, "decided": "true"}}}
}

// reply answers in a conversation: through its session webhook while valid, else the OpenAPI.
func (b *Bot) reply(ctx context.Context, c convo, title, md string) {
	md = toMarkdown(md) // only DingTalk's markdown subset goes out: no raw HTML, no unsafe links
	var err error
	if c.Webhook != "" && (c.WebhookExp == 0 || time.Now().UnixMilli() < c.WebhookExp-5000) {
		err = postJSON(ctx, b.o.HTTP, c.Webhook, nil, markdown(title, md))
	} else {
		err = b.api.send(ctx, b.o.RobotCode, c, title, md)
	}
	if err != nil {
		b.o.Log.Error("dingtalk reply failed", "conversation", c.ID, "err", redact(err.Error(), b.o.ClientSecret))
	}
}

func markdown(title, text string) map[string]any {
	return map[string]any{"msgtype": "markdown", "markdown": map[string]string{"title": textutil.Truncate(title, 60), "text": textutil.Truncate(text, 18000)}}
}

// postJSON posts v and checks both the HTTP status and DingTalk's errcode.
func postJSON(ctx context.Context, hc *http.Client, u string, header map[string]string, v any) error {
	body, _ := json.Marshal(v)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, val := range header {
		req.Header.Set(k, val)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("dingtalk %s: %w", req.URL.Path, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("dingtalk %s: HTTP %d: %s", req.URL.Path, resp.StatusCode, textutil.Truncate(string(rb), 300))
	}
	var r struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if json.Unmarshal(rb, &r) == nil && r.ErrCode != nil && *r.ErrCode != 0 {
		return fmt.Errorf("dingtalk %s: errcode %d: %s", req.URL.Path, *r.ErrCode, r.ErrMsg)
	}
	return nil
}

// Sign is DingTalk's robot signature: base64(HMAC-SHA256(secret, timestamp+"\n"+secret)).
func Sign(timestampMs int64, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d\n%s", timestampMs, secret)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Handler is the outgoing robot's HTTP endpoint: the timestamp and sign headers must match the
// app secret and the timestamp be within an hour; the answer goes through the session webhook.
func (b *Bot) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts, err := strconv.ParseInt(r.Header.Get("timestamp"), 10, 64)
		sign := r.Header.Get("sign")
		if err != nil || sign == "" || !hmac.Equal([]byte(sign), []byte(Sign(ts, b.o.ClientSecret))) {
			httpserver.WriteError(w, r, http.StatusUnauthorized, errors.New("invalid DingTalk signature"))
			return
		}
		if d := time.Since(time.UnixMilli(ts)); d > time.Hour || d < -time.Hour {
			httpserver.WriteError(w, r, http.StatusUnauthorized, errors.New("DingTalk timestamp is more than an hour off"))
			return
		}
		var m chatbot.BotCallbackDataModel
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&m); err != nil {
			httpserver.WriteError(w, r, http.StatusBadRequest, fmt.Errorf("invalid DingTalk message: %w", err))
			return
		}
		if m.SessionWebhook == "" {
			httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "sessionWebhook", Message: "is required"})
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, map[string]any{})
		go b.onMessage(context.WithoutCancel(r.Context()), m)
	})
}

// Notify posts an alert notice through a group robot (channel is the robot's name). DingTalk has
// no threads: every notice is its own message, titled with the alert.
func (b *Bot) Notify(ctx context.Context, channel, thread string, n agent.Notice) (string, error) {
	rb, ok := b.o.Robots[channel]
	if !ok {
		return "", fmt.Errorf("dingtalk robot %q is not configured (dingtalk.robots)", channel)
	}
	icon := "🚨"
	if n.Resolved {
		icon = "✅"
	}
	text := fmt.Sprintf("### %s %s\n\n%s", icon, n.Title, n.Text)
	if len(n.Fixes) > 0 {
		text += "\n\n**建议修复 / suggested fixes** (在群里 @机器人 提出，仍需审批 / ask the bot; still needs an approval):"
		for _, f := range n.Fixes {
			text += "\n- `" + agent.FixLabel(f) + "`"
		}
	}
	u := rb.Webhook
	if rb.Secret != "" {
		ts := time.Now().UnixMilli()
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += fmt.Sprintf("%stimestamp=%d&sign=%s", sep, ts, url.QueryEscape(Sign(ts, rb.Secret)))
	}
	if err := postJSON(ctx, b.o.HTTP, u, nil, markdown(n.Title, toMarkdown(text))); err != nil {
		return "", errors.New(redact(redact(err.Error(), rb.Secret), tokenOf(rb.Webhook)))
	}
	return cmp.Or(thread, n.Key), nil
}

func tokenOf(webhook string) string {
	u, err := url.Parse(webhook)
	if err != nil {
		return ""
	}
	return u.Query().Get("access_token")
}
