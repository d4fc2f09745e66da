// Package web is the HTTP surface of the agent: a streaming chat API (Server-Sent Events),
// conversations, the approvals inbox and decisions, authenticated by API token, and a minimal
// chat page at /.
package web

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"k8s-manage/agent"
	"k8s-manage/agent/approval"
	"k8s-manage/internal/httpserver"
)

// Agent is what the surface needs of agent.Service.
type Agent interface {
	Send(ctx context.Context, t agent.Turn) (<-chan agent.Event, error)
	Decide(ctx context.Context, approvalID, decider string, approve bool, reason string) (<-chan agent.Event, error)
	Conversations(ctx context.Context, user string) ([]agent.Conversation, error)
	History(ctx context.Context, user, convID string) ([]agent.Message, error)
	ApprovalInbox(ctx context.Context, user string, status approval.Status) ([]*approval.Request, error)
}

// Tokens resolves API tokens to users.
type Tokens interface {
	Lookup(ctx context.Context, token string) (string, error)
}

// Options configure the surface.
type Options struct {
	Agent  Agent
	Tokens Tokens
	Log    *slog.Logger
}

// Surface serves the web API and page.
type Surface struct{ opts Options }

// New builds the surface.
func New(opts Options) *Surface {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Surface{opts: opts}
}

//go:embed chat.html
var chatPage []byte

// Mount adds the API routes under api (the /api/v1 router) and the page at / on root.
func (s *Surface) Mount(root, api chi.Router) {
	root.Get("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
		w.Write(chatPage) //nolint:errcheck
	})
	api.Group(func(r chi.Router) {
		r.Use(s.auth)
		r.Post("/chat", s.chat)
		r.Get("/conversations", s.conversations)
		r.Get("/conversations/{id}", s.conversation)
		r.Get("/approvals", s.approvals)
		r.Post("/approvals/{id}/decision", s.decide)
	})
}

type userKey struct{}

func user(r *http.Request) string { u, _ := r.Context().Value(userKey{}).(string); return u }

// User is the authenticated user of a request that went through Auth.
func User(r *http.Request) string { return user(r) }

// Auth is the surface's bearer-token middleware, for other API routes wired in cmd.
func (s *Surface) Auth(next http.Handler) http.Handler { return s.auth(next) }

// auth accepts "Authorization: Bearer <token>".
func (s *Surface) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="k8s-manage"`)
			httpserver.WriteError(w, r, http.StatusUnauthorized, errors.New("authentication required: send Authorization: Bearer <API token>"))
			return
		}
		u, err := s.opts.Tokens.Lookup(r.Context(), strings.TrimSpace(token))
		if err != nil {
			httpserver.WriteError(w, r, http.StatusUnauthorized, errors.New("invalid or revoked API token"))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
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
		httpserver.WriteError(w, r, http.StatusBadRequest, err)
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
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"conversations": cs})
}

func (s *Surface) conversation(w http.ResponseWriter, r *http.Request) {
	ms, err := s.opts.Agent.History(r.Context(), user(r), chi.URLParam(r, "id"))
	if err != nil {
		httpserver.WriteError(w, r, http.StatusNotFound, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"id": chi.URLParam(r, "id"), "messages": ms})
}

func (s *Surface) approvals(w http.ResponseWriter, r *http.Request) {
	status := approval.Status(r.URL.Query().Get("status"))
	switch status {
	case "", approval.Pending, approval.Approved, approval.Rejected, approval.Expired:
	default:
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "status", Message: "must be pending, approved, rejected or expired"})
		return
	}
	list, err := s.opts.Agent.ApprovalInbox(r.Context(), user(r), status)
	if err != nil {
		httpserver.WriteError(w, r, http.StatusInternalServerError, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"approvals": list})
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
	switch {
	case errors.Is(err, approval.ErrNotFound):
		httpserver.WriteError(w, r, http.StatusNotFound, err)
		return
	case errors.Is(err, agent.ErrNotApprover):
		httpserver.WriteError(w, r, http.StatusForbidden, err)
		return
	case errors.Is(err, approval.ErrAlreadyDecided), errors.Is(err, approval.ErrExpired):
		httpserver.WriteError(w, r, http.StatusConflict, err)
		return
	case err != nil:
		httpserver.WriteError(w, r, http.StatusInternalServerError, err)
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
