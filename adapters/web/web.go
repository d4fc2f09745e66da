// Package web is the HTTP surface of the agent: a streaming chat API (Server-Sent Events),
// conversations, the approvals inbox and decisions, the audit log, a web terminal (WebSocket),
// local login with sessions (cookie + CSRF for the console, bearer for the widget) besides API
// tokens, CORS for configured origins, and the console and widget assets at / and /widget.js.
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"k8s-manage/agent"
	"k8s-manage/agent/approval"
	"k8s-manage/agent/identity"
	"k8s-manage/internal/httpserver"
)

// Agent is what the surface needs of agent.Service.
type Agent interface {
	Send(ctx context.Context, t agent.Turn) (<-chan agent.Event, error)
	Decide(ctx context.Context, approvalID, decider string, approve bool, reason string) (<-chan agent.Event, error)
	Conversations(ctx context.Context, user string) ([]agent.Conversation, error)
	History(ctx context.Context, user, convID string) ([]agent.Message, error)
	ApprovalInbox(ctx context.Context, user string, status approval.Status, limit int, before string) ([]*approval.Request, error)
	AuditLog(ctx context.Context, user, tenant string, limit int) ([]approval.AuditEntry, error)
	RecordSession(ctx context.Context, user, tenant, env, kind, target, outcome string, d time.Duration)
}

// Tokens resolves API tokens to users.
type Tokens interface {
	Lookup(ctx context.Context, token string) (string, error)
}

// Passwords verifies local users' passwords.
type Passwords interface {
	Verify(ctx context.Context, user, password string) (string, error)
}

// Sessions keeps web sessions.
type Sessions interface {
	Create(ctx context.Context, user string) (string, identity.Session, error)
	Lookup(ctx context.Context, secret string) (identity.Session, error)
	End(ctx context.Context, secret string) error
}

// Membership is a tenant the user belongs to, with their role and the tenant's environments.
type Membership struct {
	Tenant string   `json:"tenant"`
	Role   string   `json:"role"`
	Envs   []string `json:"envs"`
}

// Directory lists a user's tenants (for the console's switcher).
type Directory interface {
	Memberships(ctx context.Context, user string) ([]Membership, error)
}

// Options configure the surface.
type Options struct {
	Agent     Agent
	Tokens    Tokens
	Passwords Passwords // nil disables password login
	Sessions  Sessions  // nil disables password login
	Directory Directory
	Terminal  Terminal // nil disables the web terminal
	// Assets is the built console (web/dist: index.html, assets/, widget.js); nil or empty serves
	// the minimal built-in chat page.
	Assets fs.FS
	// AllowedOrigins may call the API from other pages (the widget); others get no CORS headers.
	AllowedOrigins []string
	// AllowLoopbackOrigins also lets pages served from this machine (localhost, 127.0.0.1, ::1
	// on any port) embed the widget: the local sandbox (make run) turns it on.
	AllowLoopbackOrigins bool
	// InsecureCookies drops the Secure flag (plain-HTTP development off loopback only).
	InsecureCookies bool
	Log             *slog.Logger
}

// Surface serves the web API and page.
type Surface struct {
	opts    Options
	limits  *loginLimiter
	refused sync.Map // origins refused and logged once
}

// New builds the surface.
func New(opts Options) *Surface {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Surface{opts: opts, limits: newLoginLimiter(5, 5*time.Minute)}
}

//go:embed chat.html
var chatPage []byte

// Mount adds the API routes under api (the /api/v1 router) and the console at / on root.
func (s *Surface) Mount(root, api chi.Router) {
	s.mountConsole(root)
	api.Group(func(r chi.Router) {
		r.Use(s.cors)
		r.Options("/*", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
		r.Post("/login", s.login)
		r.Group(func(r chi.Router) {
			r.Use(s.auth)
			r.Post("/logout", s.logout)
			r.Get("/session", s.session)
			r.Post("/chat", s.chat)
			r.Get("/conversations", s.conversations)
			r.Get("/conversations/{id}", s.conversation)
			r.Get("/approvals", s.approvals)
			r.Post("/approvals/{id}/decision", s.decide)
			r.Get("/audit", s.audit)
			r.Get("/terminal", s.terminal)
		})
	})
}

type ctxKey int

const (
	userKey ctxKey = iota
	sessionKey
)

func user(r *http.Request) string { u, _ := r.Context().Value(userKey).(string); return u }

// User is the authenticated user of a request that went through Auth.
func User(r *http.Request) string { return user(r) }

// Auth is the surface's authentication middleware, for other API routes wired in cmd.
func (s *Surface) Auth(next http.Handler) http.Handler { return s.auth(next) }

const sessionCookie = "k8sm_session"

// auth accepts "Authorization: Bearer <API token or session secret>" or the session cookie; a
// cookie-authenticated request that changes anything must echo the session's CSRF token in
// X-CSRF-Token.
func (s *Surface) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && strings.TrimSpace(token) != "" {
			token = strings.TrimSpace(token)
			var u string
			var err error
			if strings.HasPrefix(token, identity.SessionPrefix) && s.opts.Sessions != nil {
				var sess identity.Session
				sess, err = s.opts.Sessions.Lookup(ctx, token)
				u = sess.User
			} else {
				u, err = s.opts.Tokens.Lookup(ctx, token)
			}
			if err != nil {
				httpserver.WriteError(w, r, http.StatusUnauthorized, errors.New("invalid, expired or revoked token"))
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, userKey, u)))
			return
		}
		if c, err := r.Cookie(sessionCookie); err == nil && s.opts.Sessions != nil {
			sess, err := s.opts.Sessions.Lookup(ctx, c.Value)
			if err != nil {
				httpserver.WriteError(w, r, http.StatusUnauthorized, errors.New("your session has expired: log in again"))
				return
			}
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				got := r.Header.Get("X-CSRF-Token")
				if subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
					httpserver.WriteError(w, r, http.StatusForbidden, errors.New("missing or wrong X-CSRF-Token"))
					return
				}
			}
			ctx = context.WithValue(ctx, userKey, sess.User)
			ctx = context.WithValue(ctx, sessionKey, sess)
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="k8s-manage"`)
		httpserver.WriteError(w, r, http.StatusUnauthorized, errors.New("authentication required: log in, or send Authorization: Bearer <API token>"))
	})
}

type chatRequest struct {
	Message        string `json:"message"`
	ConversationID string `json:"conversation_id,omitempty"`
	Tenant         string `json:"tenant,omitempty"`
	Env            string `json:"env,omitempty"`
}

func newThread() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// chat runs a turn and streams its events as SSE.
func (s *Surface) chat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := httpserver.DecodeJSON(r, &req); err != nil {
		httpserver.WriteError(w, r, http.StatusBadRequest, err)
		return
	}
	if strings.TrimSpace(req.Message) == "" {
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "message", Message: "is required"})
		return
	}
	thread := strings.TrimPrefix(req.ConversationID, "web:")
	if thread == "" {
		thread = newThread()
	}
	events, err := s.opts.Agent.Send(r.Context(), agent.Turn{Surface: "web", Thread: thread, User: user(r), Tenant: req.Tenant, Env: req.Env, Text: req.Message})
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	stream(w, r, events)
}

// stream writes events as Server-Sent Events, keeping the write deadline ahead of each event.
func stream(w http.ResponseWriter, r *http.Request, events <-chan agent.Event) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	for e := range events {
		_ = rc.SetWriteDeadline(time.Now().Add(2 * time.Minute))
		b, _ := json.Marshal(e)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, b); err != nil {
			for range events { // the client left: let the turn finish in the background
			}
			return
		}
		_ = rc.Flush()
	}
}

func (s *Surface) conversations(w http.ResponseWriter, r *http.Request) {
	cs, err := s.opts.Agent.Conversations(r.Context(), user(r))
	if err != nil {
		httpserver.WriteError(w, r, http.StatusInternalServerError, err)
		return
	}
	if cs == nil {
		cs = []agent.Conversation{}
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"conversations": cs})
}

func (s *Surface) conversation(w http.ResponseWriter, r *http.Request) {
	id, err := url.PathUnescape(chi.URLParam(r, "id")) // ids hold ":" (web:…), which clients escape
	if err != nil {
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "id", Message: "is not a valid path segment"})
		return
	}
	ms, err := s.opts.Agent.History(r.Context(), user(r), id)
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "messages": ms})
}

func (s *Surface) approvals(w http.ResponseWriter, r *http.Request) {
	status := approval.Status(r.URL.Query().Get("status"))
	switch status {
	case "", approval.Pending, approval.Approved, approval.Rejected, approval.Expired:
	default:
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "status", Message: "must be pending, approved, rejected or expired"})
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "limit", Message: "must be between 1 and 500"})
			return
		}
		limit = n
	}
	// One more than asked says whether there is a next page.
	list, err := s.opts.Agent.ApprovalInbox(r.Context(), user(r), status, limit+1, r.URL.Query().Get("cursor"))
	if errors.Is(err, approval.ErrBadCursor) {
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "cursor", Message: "is not a cursor this list returned"})
		return
	}
	if err != nil {
		httpserver.WriteError(w, r, http.StatusInternalServerError, err)
		return
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].Cursor()
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"approvals": list, "next_cursor": next})
}

type decisionRequest struct {
	Approve *bool  `json:"approve"`
	Reason  string `json:"reason,omitempty"`
}

// decide records a decision and returns the events of the resumed turn (it waits for them).
func (s *Surface) decide(w http.ResponseWriter, r *http.Request) {
	var req decisionRequest
	if err := httpserver.DecodeJSON(r, &req); err != nil {
		httpserver.WriteError(w, r, http.StatusBadRequest, err)
		return
	}
	if req.Approve == nil {
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "approve", Message: "is required (true or false)"})
		return
	}
	events, err := s.opts.Agent.Decide(r.Context(), chi.URLParam(r, "id"), user(r), *req.Approve, req.Reason)
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		stream(w, r, events)
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(3 * time.Minute))
	var all []agent.Event
	for e := range events {
		all = append(all, e)
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"events": all})
}
