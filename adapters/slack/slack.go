// Package slack is the Slack surface: app mentions in channels and direct messages (Socket Mode
// by default, or the HTTP Events API with signed requests), answers in the thread updated in
// place as they stream, approvals as Block Kit messages with Approve / Reject buttons that are
// replaced by who decided, a /k8s slash command, and alert notices (the alert worker's
// Notifier) with buttons that propose the suggested fix.
package slack

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"k8s-manage/internal/textutil"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"k8s-manage/agent"
	"k8s-manage/agent/approval"
)

// Agent is what the surface needs of agent.Service.
type Agent interface {
	Send(ctx context.Context, t agent.Turn) (<-chan agent.Event, error)
	Decide(ctx context.Context, approvalID, decider string, approve bool, reason string) (<-chan agent.Event, error)
	Propose(ctx context.Context, t agent.Turn, fix agent.Fix) (<-chan agent.Event, error)
}

// Seen is the durable dedupe of delivered events (store.Store).
type Seen interface {
	FirstSeen(ctx context.Context, surface, id string, keep time.Duration) (bool, error)
}

// Options configure the Slack surface.
type Options struct {
	// BotToken (xoxb-) calls the Web API. AppToken (xapp-) opens Socket Mode; SigningSecret
	// verifies the HTTP Events API. Mode is socket (default) or http.
	BotToken      string
	AppToken      string
	SigningSecret string
	Mode          string
	// TeamID is the workspace events and users must belong to; empty means the bot token's own
	// workspace, asked of auth.test once. Events, clicks and commands of any other are dropped.
	TeamID string
	// Channels maps a channel id to its default tenant ("team-a" or "team-a/prod").
	Channels map[string]string
	// DefaultTenant is used for direct messages and unmapped channels.
	DefaultTenant string
	// APIURL overrides https://slack.com/api/ (tests).
	APIURL string
	// UpdateEvery is how often a streaming answer is edited in place (default 1.5s).
	UpdateEvery time.Duration
	// IdentityTTL caches users.info results (default 10m).
	IdentityTTL time.Duration
	// PingInterval of the Socket Mode connection (0: the library's default).
	PingInterval time.Duration
	Agent        Agent
	Seen         Seen
	Log          *slog.Logger
}

// Bot is the Slack surface.
type Bot struct {
	o      Options
	api    *slack.Client
	selfID string

	mu    sync.Mutex
	users map[string]cachedUser
	team  string // the workspace, once known
}

// workspace is the team everything must come from: slack.team_id, else the bot token's own.
func (b *Bot) workspace(ctx context.Context) (string, error) {
	if b.o.TeamID != "" {
		return b.o.TeamID, nil
	}
	b.mu.Lock()
	team := b.team
	b.mu.Unlock()
	if team != "" {
		return team, nil
	}
	res, err := b.api.AuthTestContext(ctx)
	if err != nil {
		return "", fmt.Errorf("slack auth.test: %w", err)
	}
	if res.TeamID == "" {
		return "", errors.New("slack auth.test: the bot token names no workspace")
	}
	b.mu.Lock()
	b.team = res.TeamID
	b.mu.Unlock()
	return res.TeamID, nil
}

// fromWorkspace says whether team is the bot's workspace; anything else is logged and dropped.
func (b *Bot) fromWorkspace(ctx context.Context, team, what string) bool {
	want, err := b.workspace(ctx)
	if err != nil {
		b.o.Log.Error("slack "+what+" dropped: workspace unknown", "err", err)
		return false
	}
	if team != want {
		b.o.Log.Warn("slack "+what+" from another workspace dropped", "team", team)
		return false
	}
	return true
}

type cachedUser struct {
	email string
	err   error
	at    time.Time
}

// New checks the options and builds the Bot; it calls no Slack API yet.
func New(o Options) (*Bot, error) {
	o.Mode = cmp.Or(o.Mode, "socket")
	var problems []string
	if !strings.HasPrefix(o.BotToken, "xoxb-") {
		problems = append(problems, "slack.bot_token: must be a bot token (xoxb-…)")
	}
	switch o.Mode {
	case "socket":
		if !strings.HasPrefix(o.AppToken, "xapp-") {
			problems = append(problems, "slack.app_token: Socket Mode needs an app-level token (xapp-…)")
		}
	case "http":
		if o.SigningSecret == "" {
			problems = append(problems, "slack.signing_secret: the HTTP Events API needs the signing secret")
		}
	default:
		problems = append(problems, fmt.Sprintf("slack.mode: must be socket or http, got %q", o.Mode))
	}
	if o.Agent == nil || o.Seen == nil {
		problems = append(problems, "slack: Agent and Seen are required")
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	o.UpdateEvery = cmp.Or(o.UpdateEvery, 1500*time.Millisecond)
	o.IdentityTTL = cmp.Or(o.IdentityTTL, 10*time.Minute)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	opts := []slack.Option{}
	if o.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(o.AppToken))
	}
	if o.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(o.APIURL))
	}
	return &Bot{o: o, api: slack.New(o.BotToken, opts...), users: map[string]cachedUser{}}, nil
}

// errRefused is an identity the bot will not act for; its text is shown to the person.
type errRefused struct{ msg string }

func (e errRefused) Error() string { return e.msg }

// identity maps a Slack user to a platform user by the e-mail of their profile. Deleted users,
// bots, guests and users of other workspaces are refused.
func (b *Bot) identity(ctx context.Context, userID string) (string, error) {
	b.mu.Lock()
	c, ok := b.users[userID]
	b.mu.Unlock()
	if ok && time.Since(c.at) < b.o.IdentityTTL {
		return c.email, c.err
	}
	team, err := b.workspace(ctx)
	if err != nil {
		return "", err // not cached: may be transient
	}
	u, err := b.api.GetUserInfoContext(ctx, userID)
	if err != nil {
		return "", fmt.Errorf("slack users.info %s: %w", userID, err) // not cached: may be transient
	}
	var email string
	switch {
	case u.Deleted:
		err = errRefused{"your Slack account is deactivated"}
	case u.IsBot || u.ID == "USLACKBOT":
		err = errRefused{"bots cannot use k8s-manage"}
	case u.IsRestricted || u.IsUltraRestricted:
		err = errRefused{"guest accounts cannot use k8s-manage"}
	case u.TeamID != "" && u.TeamID != team:
		err = errRefused{"your account belongs to another Slack workspace"}
	case u.Profile.Email == "":
		err = errRefused{"your Slack profile has no e-mail (the app needs the users:read.email scope)"}
	default:
		email = strings.ToLower(u.Profile.Email)
	}
	b.mu.Lock()
	b.users[userID] = cachedUser{email: email, err: err, at: time.Now()}
	b.mu.Unlock()
	return email, err
}

// tenantOf is a channel's default tenant and environment.
func (b *Bot) tenantOf(channel string) (string, string) {
	v := cmp.Or(b.o.Channels[channel], b.o.DefaultTenant)
	t, e, _ := strings.Cut(v, "/")
	return t, cmp.Or(e, "dev")
}

// first reports whether an event is delivered for the first time.
func (b *Bot) first(ctx context.Context, key string) bool {
	ok, err := b.o.Seen.FirstSeen(ctx, "slack", key, 24*time.Hour)
	if err != nil {
		b.o.Log.Error("slack dedupe", "err", err)
		return true // better a rare duplicate than a lost message
	}
	return ok
}

var mentionRe = regexp.MustCompile(`<@[A-Z0-9]+>`)

// message is a person's message to the bot (mention, DM or slash command).
type message struct {
	key, user, channel, thread, text string
}

// onMessage answers a message in its thread.
func (b *Bot) onMessage(ctx context.Context, m message) {
	if !b.first(ctx, m.key) {
		b.o.Log.Debug("slack duplicate delivery dropped", "key", m.key)
		return
	}
	text := strings.TrimSpace(mentionRe.ReplaceAllString(m.text, ""))
	if text == "" {
		return
	}
	email, err := b.identity(ctx, m.user)
	if err != nil {
		b.o.Log.Warn("slack user refused", "user", m.user, "err", err)
		b.say(ctx, m.channel, m.thread, refusal(err))
		return
	}
	if id, approve, reason, ok := agent.ParseDecision(text); ok {
		b.decide(ctx, m.channel, m.thread, m.user, email, id, approve, reason, "")
		return
	}
	tenant, env := b.tenantOf(m.channel)
	events, err := b.o.Agent.Send(ctx, agent.Turn{Surface: "slack", Thread: threadKey(m.channel, m.thread, m.user), User: email, Tenant: tenant, Env: env, Text: text})
	if err != nil {
		b.say(ctx, m.channel, m.thread, ":warning: "+err.Error())
		return
	}
	b.render(ctx, m.channel, m.thread, events)
}

func refusal(err error) string {
	var r errRefused
	if errors.As(err, &r) {
		return ":no_entry: " + r.msg + "."
	}
	return ":warning: I could not look up your Slack account; try again in a minute."
}

// say posts a plain reply in a thread.
func (b *Bot) say(ctx context.Context, channel, thread, text string) {
	if _, _, err := b.api.PostMessageContext(ctx, channel, slack.MsgOptionText(text, false), slack.MsgOptionTS(thread)); err != nil {
		b.o.Log.Error("slack post", "channel", channel, "err", err)
	}
}

// render streams a turn's events into the thread: one answer message edited in place (at most
// every UpdateEvery), tool steps listed above the text, and a Block Kit message per approval.
func (b *Bot) render(ctx context.Context, channel, thread string, events <-chan agent.Event, before ...agent.Event) {
	var (
		ts        string
		steps     []string
		text      strings.Builder
		last      time.Time
		finalText string
	)
	body := func() string {
		s := strings.Join(steps, "\n")
		t := mrkdwn(cmp.Or(finalText, text.String())) // the answer's Markdown as Slack mrkdwn, escaped
		if t != "" {
			if s != "" {
				s += "\n\n"
			}
			s += t
		}
		return textutil.Truncate(cmp.Or(s, "_…_"), 39000)
	}
	flush := func(force bool) {
		if !force && time.Since(last) < b.o.UpdateEvery {
			return
		}
		last = time.Now()
		if ts == "" {
			_, posted, err := b.api.PostMessageContext(ctx, channel, slack.MsgOptionText(body(), false), slack.MsgOptionTS(thread))
			if err != nil {
				b.o.Log.Error("slack post", "channel", channel, "err", err)
				return
			}
			ts = posted
			return
		}
		if _, _, _, err := b.api.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionText(body(), false)); err != nil {
			b.o.Log.Error("slack update", "channel", channel, "err", err)
		}
	}
	for e := range agent.Events(events, before...) {
		switch e.Type {
		case agent.EventTextDelta:
			text.WriteString(e.Text)
			flush(false)
		case agent.EventToolStarted:
			steps = append(steps, fmt.Sprintf(":gear: `%s`", e.Tool))
			flush(false)
		case agent.EventToolFinished:
			for i := len(steps) - 1; i >= 0; i-- {
				if steps[i] == fmt.Sprintf(":gear: `%s`", e.Tool) {
					steps[i] = fmt.Sprintf(":white_check_mark: `%s`", e.Tool)
					break
				}
			}
		case agent.EventApprovalRequested:
			if _, _, err := b.api.PostMessageContext(ctx, channel, slack.MsgOptionText(e.Text, false),
				slack.MsgOptionBlocks(approvalBlocks(e.Approval, true)...), slack.MsgOptionTS(thread)); err != nil {
				b.o.Log.Error("slack post approval", "channel", channel, "approval", e.Approval.ID, "err", err)
			}
		case agent.EventApprovalDecided:
			steps = append(steps, ":ballot_box_with_check: "+e.Text)
		case agent.EventFinal:
			finalText = e.Text
		case agent.EventError:
			finalText = ":warning: " + e.Error
		}
	}
	if ts != "" || finalText != "" || text.Len() > 0 || len(steps) > 0 {
		flush(true)
	}
}

const (
	actionApprove = "k8sm_approve"
	actionReject  = "k8sm_reject"
	actionFix     = "k8sm_fix"
)

// approvalBlocks is the Block Kit card of an approval request; withButtons false shows the decision.
func approvalBlocks(r *approval.Request, withButtons bool) []slack.Block {
	md := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
	}
	head := fmt.Sprintf("*Approval needed* `%s`\n%s", r.ID, r.Summary)
	if r.Risk == "destructive" {
		head += "\n:rotating_light: *destructive: cannot be undone*"
	}
	blocks := []slack.Block{
		slack.NewSectionBlock(md(textutil.Truncate(head, 2900)), nil, nil),
		slack.NewContextBlock("", md(fmt.Sprintf("requested by %s · %s/%s · tool `%s` · risk %s · expires %s",
			r.Requester, r.Tenant, r.Env, r.Tool, r.Risk, r.ExpiresAt.UTC().Format("15:04 MST")))),
	}
	if p := agent.PreviewText(r.Preview); p != "" {
		blocks = append(blocks, slack.NewSectionBlock(md("```"+textutil.Truncate(p, 2800)+"```"), nil, nil))
	}
	if withButtons {
		yes := slack.NewButtonBlockElement(actionApprove, r.ID, slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false)).WithStyle(slack.StylePrimary)
		no := slack.NewButtonBlockElement(actionReject, r.ID, slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false)).WithStyle(slack.StyleDanger)
		blocks = append(blocks, slack.NewActionBlock("k8sm_approval_"+r.ID, yes, no))
		return blocks
	}
	icon := map[approval.Status]string{approval.Approved: ":white_check_mark:", approval.Rejected: ":x:", approval.Expired: ":hourglass:"}[r.Status]
	line := fmt.Sprintf("%s *%s* by %s", icon, r.Status, cmp.Or(r.DecidedBy, "expiry"))
	if r.Reason != "" {
		line += ": " + r.Reason
	}
	return append(blocks, slack.NewContextBlock("", md(line)))
}

// onAction handles a button click: approve/reject an approval, or propose an alert's fix.
func (b *Bot) onAction(ctx context.Context, cb slack.InteractionCallback) {
	if !b.fromWorkspace(ctx, cb.Team.ID, "click") {
		return
	}
	for _, a := range cb.ActionCallback.BlockActions {
		if !b.first(ctx, "act:"+cb.Container.MessageTs+":"+a.ActionID+":"+a.ActionTs+":"+cb.User.ID) {
			continue
		}
		channel := cmp.Or(cb.Container.ChannelID, cb.Channel.ID)
		thread := cmp.Or(cb.Container.ThreadTs, cb.Message.ThreadTimestamp, cb.Container.MessageTs)
		email, err := b.identity(ctx, cb.User.ID)
		if err != nil {
			b.ephemeral(ctx, channel, cb.User.ID, refusal(err))
			continue
		}
		switch {
		case a.ActionID == actionApprove || a.ActionID == actionReject:
			b.decide(ctx, channel, thread, cb.User.ID, email, a.Value, a.ActionID == actionApprove, "", cb.Container.MessageTs)
		case strings.HasPrefix(a.ActionID, actionFix):
			var fix agent.Fix
			if err := json.Unmarshal([]byte(a.Value), &fix); err != nil {
				b.ephemeral(ctx, channel, cb.User.ID, ":warning: this button is broken: "+err.Error())
				continue
			}
			events, err := b.o.Agent.Propose(ctx, agent.Turn{Surface: "slack", Thread: threadKey(channel, thread, cb.User.ID), User: email}, fix)
			if err != nil {
				b.ephemeral(ctx, channel, cb.User.ID, ":warning: "+err.Error())
				continue
			}
			b.render(ctx, channel, thread, events)
		}
	}
}

// decide records a decision (button or text command) and streams the resumed turn into the
// thread; the card (when known) loses its buttons and shows who decided.
func (b *Bot) decide(ctx context.Context, channel, thread, slackUser, email, id string, approve bool, reason, cardTS string) {
	events, err := b.o.Agent.Decide(ctx, id, email, approve, reason)
	if err != nil {
		b.o.Log.Info("slack decision refused", "approval", id, "user", email, "err", err)
		if cardTS != "" {
			b.ephemeral(ctx, channel, slackUser, ":no_entry: "+err.Error())
		} else {
			b.say(ctx, channel, thread, ":no_entry: "+err.Error())
		}
		return
	}
	first, ok := <-events
	if ok && first.Type == agent.EventApprovalDecided && first.Approval != nil && cardTS != "" {
		if _, _, _, err := b.api.UpdateMessageContext(ctx, channel, cardTS, slack.MsgOptionText(first.Text, false),
			slack.MsgOptionBlocks(approvalBlocks(first.Approval, false)...)); err != nil {
			b.o.Log.Error("slack update approval", "approval", id, "err", err)
		}
	}
	if !ok {
		return
	}
	b.render(ctx, channel, thread, events, first)
}

func (b *Bot) ephemeral(ctx context.Context, channel, user, text string) {
	if _, err := b.api.PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(text, false)); err != nil {
		b.o.Log.Error("slack ephemeral", "channel", channel, "err", err)
	}
}

// Notify posts an alert notice to channel (in thread when set) and returns the thread ts. It is
// the alert worker's Notifier.
func (b *Bot) Notify(ctx context.Context, channel, thread string, n agent.Notice) (string, error) {
	md := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
	}
	icon := ":rotating_light:"
	if n.Resolved {
		icon = ":large_green_circle:"
	}
	blocks := []slack.Block{
		slack.NewSectionBlock(md(textutil.Truncate(icon+" *"+escapeText(n.Title)+"*", 2900)), nil, nil),
		slack.NewSectionBlock(md(textutil.Truncate(mrkdwn(n.Text), 2900)), nil, nil),
	}
	var buttons []slack.BlockElement
	for i, f := range n.Fixes {
		v, _ := json.Marshal(f)
		if len(v) > 2000 {
			continue
		}
		label := textutil.Truncate("Propose fix: "+agent.FixLabel(f), 75)
		buttons = append(buttons, slack.NewButtonBlockElement(fmt.Sprintf("%s_%d", actionFix, i), string(v),
			slack.NewTextBlockObject(slack.PlainTextType, label, false, false)))
	}
	if len(buttons) > 0 {
		blocks = append(blocks, slack.NewActionBlock("k8sm_fixes", buttons...),
			slack.NewContextBlock("", md("A proposed fix runs as the person who clicks and still needs an approval.")))
	}
	opts := []slack.MsgOption{slack.MsgOptionText(textutil.Truncate(escapeText(n.Title)+"\n"+mrkdwn(n.Text), 3500), false), slack.MsgOptionBlocks(blocks...)}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	if n.ID != "" {
		opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{EventType: noticeEvent, EventPayload: map[string]any{"delivery": n.ID}}))
	}
	_, ts, err := b.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return "", fmt.Errorf("slack chat.postMessage to %s: %w", channel, err)
	}
	return cmp.Or(thread, ts), nil
}

// noticeEvent is the metadata event type stamped on alert notices.
const noticeEvent = "k8sm_alert_notice"

// Posted looks for the notice delivery id in the channel (in thread, when given) and returns
// the thread it belongs to: the alert worker asks after a worker died between posting and
// recording the post. It reads the last day's messages, with their metadata.
func (b *Bot) Posted(ctx context.Context, channel, thread, id string) (string, bool, error) {
	oldest := fmt.Sprintf("%d.000000", time.Now().Add(-24*time.Hour).Unix())
	var msgs []slack.Message
	cursor := ""
	for page := 0; page < 10; page++ {
		var more bool
		var next string
		if thread != "" {
			got, m, n, err := b.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: channel,
				Timestamp: thread, Oldest: oldest, Limit: 200, Cursor: cursor, IncludeAllMetadata: true})
			if err != nil {
				return "", false, fmt.Errorf("slack conversations.replies of %s: %w", channel, err)
			}
			msgs, more, next = got, m, n
		} else {
			resp, err := b.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: channel,
				Oldest: oldest, Limit: 200, Cursor: cursor, IncludeAllMetadata: true})
			if err != nil {
				return "", false, fmt.Errorf("slack conversations.history of %s: %w", channel, err)
			}
			msgs, more, next = resp.Messages, resp.HasMore, resp.ResponseMetaData.NextCursor
		}
		for _, m := range msgs {
			if m.Metadata.EventType == noticeEvent && m.Metadata.EventPayload["delivery"] == id {
				return cmp.Or(thread, m.ThreadTimestamp, m.Timestamp), true, nil
			}
		}
		if !more || next == "" {
			return "", false, nil
		}
		cursor = next
	}
	return "", false, nil
}

// threadKey is the agent conversation of one person in a Slack thread: a conversation belongs to
// its person, so two people in one thread each keep their own history.
func threadKey(channel, thread, user string) string { return channel + ":" + thread + ":" + user }
