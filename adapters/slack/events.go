package slack

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"k8s-manage/internal/httpserver"
)

// Run connects Socket Mode and handles its events until ctx ends (it reconnects by itself). In
// http mode it only waits: events arrive through Handler.
func (b *Bot) Run(ctx context.Context) error {
	if b.o.Mode != "socket" {
		<-ctx.Done()
		return nil
	}
	var opts []socketmode.Option
	if b.o.PingInterval > 0 {
		opts = append(opts, socketmode.OptionPingInterval(b.o.PingInterval))
	}
	smc := socketmode.New(b.api, opts...)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-smc.Events:
				b.onSocket(ctx, smc, evt)
			}
		}
	}()
	b.o.Log.Info("slack socket mode starting")
	err := smc.RunContext(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("slack socket mode: %w", err)
}

// onSocket acks a Socket Mode request at once (Slack redelivers after 3 s) and works on it in
// the background, so a slow turn never stalls the reader.
func (b *Bot) onSocket(ctx context.Context, smc *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeEventsAPI:
		smc.Ack(*evt.Request)
		if ev, ok := evt.Data.(slackevents.EventsAPIEvent); ok {
			go b.onEventsAPI(ctx, ev)
		}
	case socketmode.EventTypeInteractive:
		smc.Ack(*evt.Request)
		if cb, ok := evt.Data.(slack.InteractionCallback); ok && cb.Type == slack.InteractionTypeBlockActions {
			go b.onAction(ctx, cb)
		}
	case socketmode.EventTypeSlashCommand:
		smc.Ack(*evt.Request, map[string]any{"response_type": "ephemeral", "text": "Working on it…"})
		if cmd, ok := evt.Data.(slack.SlashCommand); ok {
			go b.onSlash(ctx, cmd)
		}
	case socketmode.EventTypeConnected:
		b.o.Log.Info("slack socket mode connected")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
		b.o.Log.Warn("slack socket mode connection problem", "type", evt.Type)
	}
}

// onEventsAPI handles a callback event: app mentions anywhere, plain messages only in DMs.
func (b *Bot) onEventsAPI(ctx context.Context, ev slackevents.EventsAPIEvent) {
	if ev.Type != slackevents.CallbackEvent {
		return
	}
	if !b.fromWorkspace(ctx, ev.TeamID, "event") {
		return
	}
	switch in := ev.InnerEvent.Data.(type) {
	case *slackevents.AppMentionEvent:
		if in.BotID != "" || in.User == "" {
			return
		}
		b.onMessage(ctx, message{key: "msg:" + in.Channel + ":" + in.TimeStamp, user: in.User, channel: in.Channel,
			thread: cmp.Or(in.ThreadTimeStamp, in.TimeStamp), text: in.Text})
	case *slackevents.MessageEvent:
		if in.ChannelType != "im" || in.BotID != "" || in.SubType != "" || in.User == "" {
			return
		}
		b.onMessage(ctx, message{key: "msg:" + in.Channel + ":" + in.TimeStamp, user: in.User, channel: in.Channel,
			thread: cmp.Or(in.ThreadTimeStamp, in.TimeStamp), text: in.Text})
	}
}

// onSlash answers `/k8s <text>`: the question is posted to the channel and answered in its thread.
func (b *Bot) onSlash(ctx context.Context, cmd slack.SlashCommand) {
	if !b.fromWorkspace(ctx, cmd.TeamID, "command") || !b.first(ctx, "cmd:"+cmd.TriggerID) {
		return
	}
	text := strings.TrimSpace(cmd.Text)
	if text == "" || text == "help" {
		b.ephemeral(ctx, cmd.ChannelID, cmd.UserID, "Usage: `/k8s <question or request>`, `/k8s approve <id>`, `/k8s reject <id> [reason]`")
		return
	}
	_, ts, err := b.api.PostMessageContext(ctx, cmd.ChannelID, slack.MsgOptionText(fmt.Sprintf("<@%s>: %s %s", cmd.UserID, cmd.Command, text), false))
	if err != nil {
		b.o.Log.Error("slack post", "channel", cmd.ChannelID, "err", err)
		return
	}
	b.onMessage(ctx, message{key: "cmdmsg:" + cmd.TriggerID, user: cmd.UserID, channel: cmd.ChannelID, thread: ts, text: text})
}

// Handler serves the HTTP Events API, interactivity and slash commands on one URL. Every request
// must carry a valid Slack signature (signing secret, timestamp within 5 minutes); the work is
// done after the 200.
func (b *Bot) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			httpserver.WriteError(w, r, http.StatusBadRequest, errors.New("cannot read the request body"))
			return
		}
		sv, err := slack.NewSecretsVerifier(r.Header, b.o.SigningSecret)
		if err == nil {
			_, _ = sv.Write(body)
			err = sv.Ensure()
		}
		if err != nil {
			b.o.Log.Warn("slack request with a bad signature refused", "remote", r.RemoteAddr)
			httpserver.WriteError(w, r, http.StatusUnauthorized, errors.New("invalid Slack signature"))
			return
		}
		ctx := context.WithoutCancel(r.Context())
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
			if err != nil {
				httpserver.WriteError(w, r, http.StatusBadRequest, fmt.Errorf("invalid Slack event: %w", err))
				return
			}
			if ev.Type == slackevents.URLVerification {
				var c slackevents.ChallengeResponse
				_ = json.Unmarshal(body, &c)
				w.Header().Set("Content-Type", "text/plain")
				_, _ = w.Write([]byte(c.Challenge))
				return
			}
			w.WriteHeader(http.StatusOK)
			go b.onEventsAPI(ctx, ev)
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			httpserver.WriteError(w, r, http.StatusBadRequest, errors.New("invalid form body"))
			return
		}
		switch {
		case form.Get("payload") != "":
			var cb slack.InteractionCallback
			if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
				httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "payload", Message: "is not an interaction callback"})
				return
			}
			w.WriteHeader(http.StatusOK)
			if cb.Type == slack.InteractionTypeBlockActions {
				go b.onAction(ctx, cb)
			}
		case form.Get("command") != "":
			r2 := r.Clone(ctx)
			r2.Body = io.NopCloser(bytes.NewReader(body))
			cmd, err := slack.SlashCommandParse(r2)
			if err != nil {
				httpserver.WriteError(w, r, http.StatusBadRequest, errors.New("invalid slash command"))
				return
			}
			httpserver.WriteJSON(w, http.StatusOK, map[string]string{"response_type": "ephemeral", "text": "Working on it…"})
			go b.onSlash(ctx, cmd)
		default:
			httpserver.WriteError(w, r, http.StatusBadRequest, errors.New("not a Slack event, interaction or command"))
		}
	})
}
