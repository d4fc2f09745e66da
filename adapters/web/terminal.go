package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"k8s-manage/agent/identity"
	"k8s-manage/internal/httpserver"
)

// TermSize is a terminal's size.
type TermSize struct{ Cols, Rows uint16 }

// TermRequest is a terminal to open as User.
type TermRequest struct {
	User, Tenant, Env, Pod, Container string
}

// Terminal opens an interactive shell in a container as the person (the platform's exec, so the
// API server's RBAC decides who may).
type Terminal interface {
	Open(ctx context.Context, r TermRequest, stdin io.Reader, stdout io.Writer, resize <-chan TermSize) error
}

// termMessage is what the browser sends: keystrokes or a resize.
type termMessage struct {
	Type string `json:"type"` // input or resize
	Data string `json:"data,omitempty"`
	Cols uint16 `json:"cols,omitempty"`
	Rows uint16 `json:"rows,omitempty"`
}

// terminal upgrades to a WebSocket and bridges it to an exec session: binary frames out, JSON
// input/resize messages in; {"type":"exit"} (with the error, if any) ends it. A browser's
// WebSocket cannot send headers, so a cookie session passes its CSRF token as ?csrf= and the
// Origin must be this host or an allowed origin.
func (s *Surface) terminal(w http.ResponseWriter, r *http.Request) {
	if s.opts.Terminal == nil {
		httpserver.WriteError(w, r, http.StatusNotFound, errors.New("the web terminal is not enabled"))
		return
	}
	q := r.URL.Query()
	req := TermRequest{User: user(r), Tenant: q.Get("tenant"), Env: q.Get("env"), Pod: q.Get("pod"), Container: q.Get("container")}
	for field, v := range map[string]string{"tenant": req.Tenant, "pod": req.Pod} {
		if v == "" {
			httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: field, Message: "is required"})
			return
		}
	}
	if req.Env == "" {
		req.Env = "dev"
	}
	// The tenant boundary, at the entry: a member of the tenant, in one of its environments.
	if status, err := s.member(r.Context(), req.User, req.Tenant, req.Env); err != nil {
		httpserver.WriteError(w, r, status, err)
		return
	}
	if sess, ok := r.Context().Value(sessionKey).(identity.Session); ok {
		if subtle.ConstantTimeCompare([]byte(q.Get("csrf")), []byte(sess.CSRF)) != 1 {
			httpserver.WriteError(w, r, http.StatusForbidden, errors.New("missing or wrong csrf parameter"))
			return
		}
	}
	up := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool {
		o := r.Header.Get("Origin")
		if o == "" {
			return true // not a browser
		}
		u, err := url.Parse(o)
		return err == nil && (u.Host == r.Host || slices.Contains(s.opts.AllowedOrigins, strings.TrimRight(o, "/")))
	}}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	defer conn.Close()
	s.opts.Log.Info("terminal opened", "user", req.User, "tenant", req.Tenant, "env", req.Env, "pod", req.Pod)
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	inR, inW := io.Pipe()
	resize := make(chan TermSize, 4)
	var wmu sync.Mutex
	write := func(typ int, b []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		return conn.WriteMessage(typ, b)
	}
	go func() { // browser -> shell
		defer cancel()
		defer inW.Close()
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var m termMessage
			if json.Unmarshal(msg, &m) != nil {
				continue
			}
			switch m.Type {
			case "input":
				if _, err := inW.Write([]byte(m.Data)); err != nil {
					return
				}
			case "resize":
				if m.Cols > 0 && m.Rows > 0 {
					select {
					case resize <- TermSize{Cols: m.Cols, Rows: m.Rows}:
					default:
					}
				}
			}
		}
	}()
	out := writerFunc(func(p []byte) (int, error) {
		if err := write(websocket.BinaryMessage, p); err != nil {
			return 0, err
		}
		return len(p), nil
	})
	began := time.Now()
	s.opts.Agent.RecordSession(ctx, req.User, req.Tenant, req.Env, "web_terminal", req.Pod+"/"+req.Container, "opened", 0)
	err = s.opts.Terminal.Open(ctx, req, inR, out, resize)
	exit := map[string]string{"type": "exit"}
	outcome := "ok"
	if err != nil {
		exit["error"] = err.Error()
		outcome = "error: " + err.Error()
		s.opts.Log.Info("terminal ended with an error", "user", req.User, "pod", req.Pod, "err", err)
	}
	s.opts.Agent.RecordSession(ctx, req.User, req.Tenant, req.Env, "web_terminal", req.Pod+"/"+req.Container, outcome, time.Since(began)) // closed
	b, _ := json.Marshal(exit)
	_ = write(websocket.TextMessage, b)
	_ = write(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// member checks that user belongs to tenantName and that env is one of its environments.
func (s *Surface) member(ctx context.Context, user, tenantName, env string) (int, error) {
	if s.opts.Directory == nil {
		return http.StatusForbidden, errors.New("memberships are not configured")
	}
	ms, err := s.opts.Directory.Memberships(ctx, user)
	if err != nil {
		return http.StatusInternalServerError, err
	}
	for _, m := range ms {
		if m.Tenant != tenantName {
			continue
		}
		if !slices.Contains(m.Envs, env) {
			return http.StatusBadRequest, &httpserver.FieldError{Field: "env", Message: fmt.Sprintf("tenant %s has no environment %q (it has %s)", tenantName, env, strings.Join(m.Envs, ", "))}
		}
		return 0, nil
	}
	return http.StatusForbidden, fmt.Errorf("you (%s) are not a member of tenant %s", user, tenantName)
}
