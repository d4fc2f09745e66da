// Package slackfake is test support: a Slack Web API and Socket Mode fake built on slack-go's
// slacktest server, with the routes it lacks (chat.update) and recording ones for
// chat.postMessage, chat.postEphemeral and users.info, so the real slack-go client (Socket Mode
// included) runs end to end against it.
package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack/slacktest"
)

// User is a workspace member the fake knows.
type User struct {
	ID, Email, TeamID   string
	Deleted, Bot, Guest bool
}

// Message is a posted message in its latest version.
type Message struct {
	Channel, TS, ThreadTS, Text string
	Blocks                      []map[string]any
	Ephemeral                   bool
	User                        string // ephemeral recipient
	Updates                     int
	Metadata                    map[string]any // chat.postMessage metadata (event_type, event_payload)
}

// Buttons returns the action_id=value pairs of the message's buttons.
func (m Message) Buttons() map[string]string {
	out := map[string]string{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["type"] == "button" {
				id, _ := v["action_id"].(string)
				val, _ := v["value"].(string)
				out[id] = val
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, b := range m.Blocks {
		walk(b)
	}
	return out
}

// AllText is the message text and every text of its blocks.
func (m Message) AllText() string {
	var b strings.Builder
	b.WriteString(m.Text)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if t, ok := v["text"].(string); ok {
				b.WriteString("\n" + t)
			}
			for k, x := range v {
				if k != "text" || !isString(x) {
					walk(x)
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, bl := range m.Blocks {
		walk(bl)
	}
	return b.String()
}

func isString(v any) bool { _, ok := v.(string); return ok }

// Server is the fake.
type Server struct {
	*slacktest.Server
	mu    sync.Mutex
	users map[string]User
	msgs  []*Message
	seq   int
	calls map[string]int
	team  string
}

// SetTeam sets the workspace auth.test reports for the bot token (default T1).
func (s *Server) SetTeam(team string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.team = team
}

func (s *Server) authTest(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	team := s.team
	s.calls["/auth.test"]++
	s.mu.Unlock()
	reply(w, map[string]any{"url": "https://fake.slack.com/", "team": "Fake", "user": "k8sm", "team_id": team, "user_id": "U_BOT", "bot_id": "B_BOT"})
}

// New starts the fake with users.
func New(users ...User) *Server {
	s := &Server{users: map[string]User{}, calls: map[string]int{}, team: "T1"}
	for _, u := range users {
		s.users[u.ID] = u
	}
	ts := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", s.post(false))
		c.Handle("/chat.postEphemeral", s.post(true))
		c.Handle("/chat.update", s.update)
		c.Handle("/users.info", s.userInfo)
		c.Handle("/conversations.history", s.history(false))
		c.Handle("/conversations.replies", s.history(true))
		c.Handle("/auth.test", s.authTest)
	})
	s.Server = ts
	go func() { // the fake's feed of seen frames is unbuffered: drain it
		for range ts.SeenFeed {
		}
	}()
	ts.Start()
	return s
}

func reply(w http.ResponseWriter, v map[string]any) {
	v["ok"] = true
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, e string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": e})
}

func (s *Server) post(ephemeral bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			fail(w, "invalid_form_data")
			return
		}
		s.mu.Lock()
		s.calls[r.URL.Path]++
		s.seq++
		m := &Message{Channel: r.Form.Get("channel"), TS: fmt.Sprintf("1700000000.%06d", s.seq), ThreadTS: r.Form.Get("thread_ts"),
			Text: r.Form.Get("text"), Ephemeral: ephemeral, User: r.Form.Get("user")}
		if b := r.Form.Get("blocks"); b != "" {
			_ = json.Unmarshal([]byte(b), &m.Blocks)
		}
		if md := r.Form.Get("metadata"); md != "" {
			_ = json.Unmarshal([]byte(md), &m.Metadata)
		}
		s.msgs = append(s.msgs, m)
		s.mu.Unlock()
		if m.Channel == "" {
			fail(w, "channel_not_found")
			return
		}
		if ephemeral {
			reply(w, map[string]any{"message_ts": m.TS})
			return
		}
		reply(w, map[string]any{"channel": m.Channel, "ts": m.TS, "message": map[string]any{"text": m.Text}})
	}
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		fail(w, "invalid_form_data")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[r.URL.Path]++
	for _, m := range s.msgs {
		if m.Channel == r.Form.Get("channel") && m.TS == r.Form.Get("ts") {
			m.Text = r.Form.Get("text")
			m.Blocks = nil
			if b := r.Form.Get("blocks"); b != "" {
				_ = json.Unmarshal([]byte(b), &m.Blocks)
			}
			m.Updates++
			reply(w, map[string]any{"channel": m.Channel, "ts": m.TS, "text": m.Text})
			return
		}
	}
	fail(w, "message_not_found")
}

// history serves conversations.history (a channel's top-level messages, newest first) and
// conversations.replies (a thread: its parent, then the replies, oldest first), with metadata
// only when include_all_metadata is 1, as Slack does. One page holds everything.
func (s *Server) history(replies bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls[r.URL.Path]++
		channel, ts := r.Form.Get("channel"), r.Form.Get("ts")
		withMeta := r.Form.Get("include_all_metadata") == "1"
		var out []map[string]any
		for _, m := range s.msgs {
			if m.Channel != channel || m.Ephemeral {
				continue
			}
			if replies && m.TS != ts && m.ThreadTS != ts || !replies && m.ThreadTS != "" && m.ThreadTS != m.TS {
				continue
			}
			e := map[string]any{"type": "message", "ts": m.TS, "text": m.Text}
			if m.ThreadTS != "" {
				e["thread_ts"] = m.ThreadTS
			}
			if withMeta && m.Metadata != nil {
				e["metadata"] = m.Metadata
			}
			out = append(out, e)
		}
		if !replies {
			slices.Reverse(out)
		}
		reply(w, map[string]any{"messages": out, "has_more": false})
	}
}

func (s *Server) userInfo(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s.mu.Lock()
	u, ok := s.users[r.Form.Get("user")]
	s.calls[r.URL.Path]++
	s.mu.Unlock()
	if !ok {
		fail(w, "user_not_found")
		return
	}
	reply(w, map[string]any{"user": map[string]any{"id": u.ID, "team_id": u.TeamID, "deleted": u.Deleted, "is_bot": u.Bot,
		"is_restricted": u.Guest, "profile": map[string]any{"email": u.Email}}})
}

// Messages returns a snapshot of what was posted, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	for i, m := range s.msgs {
		out[i] = *m
		out[i].Blocks = slices.Clone(m.Blocks)
	}
	return out
}

// Calls counts the requests to a Web API method path ("/chat.update").
func (s *Server) Calls(path string) int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls[path] }

// Envelope wraps a Socket Mode payload.
func Envelope(id, typ string, payload any) string {
	b, _ := json.Marshal(map[string]any{"envelope_id": id, "type": typ, "payload": payload, "accepts_response_payload": typ == "slash_commands"})
	return string(b)
}

// MentionEvent is an Events API callback for an app_mention (or a DM when channel starts with D).
func MentionEvent(eventID, team, user, channel, ts, threadTS, text string) map[string]any {
	inner := map[string]any{"type": "app_mention", "user": user, "text": "<@UBOT> " + text, "ts": ts, "channel": channel, "event_ts": ts}
	if strings.HasPrefix(channel, "D") {
		inner = map[string]any{"type": "message", "channel_type": "im", "user": user, "text": text, "ts": ts, "channel": channel, "event_ts": ts}
	}
	if threadTS != "" {
		inner["thread_ts"] = threadTS
	}
	if user == "" {
		inner["bot_id"] = "B0OTHER"
		inner["user"] = ""
	}
	return map[string]any{"token": "x", "team_id": team, "api_app_id": "A1", "type": "event_callback", "event_id": eventID,
		"event_time": time.Now().Unix(), "event": inner}
}

// ButtonClick is a block_actions interaction on a message's button.
func ButtonClick(team, user string, m Message, actionID, value string) map[string]any {
	return map[string]any{"type": "block_actions", "user": map[string]any{"id": user}, "team": map[string]any{"id": team},
		"channel": map[string]any{"id": m.Channel}, "trigger_id": fmt.Sprintf("trig-%d", time.Now().UnixNano()),
		"container": map[string]any{"type": "message", "message_ts": m.TS, "channel_id": m.Channel, "thread_ts": m.ThreadTS},
		"message":   map[string]any{"ts": m.TS, "thread_ts": m.ThreadTS},
		"actions": []any{map[string]any{"type": "button", "action_id": actionID, "block_id": "b1", "value": value,
			"action_ts": fmt.Sprintf("%d.%06d", time.Now().Unix(), time.Now().Nanosecond()/1000)}}}
}
