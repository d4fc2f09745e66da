package web

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"k8s-manage/agent/identity"
	"k8s-manage/internal/httpserver"
)

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	// Mode is cookie (the console: an HttpOnly session cookie plus a CSRF token) or token (the
	// widget on another origin: a bearer session token in the body).
	Mode string `json:"mode,omitempty"`
}

// login checks a local user's password and starts a session.
func (s *Surface) login(w http.ResponseWriter, r *http.Request) {
	if s.opts.Passwords == nil || s.opts.Sessions == nil {
		httpserver.WriteError(w, r, http.StatusNotFound, errors.New("password login is not enabled: use an API token"))
		return
	}
	var req loginRequest
	if err := httpserver.DecodeJSON(r, &req); err != nil {
		httpserver.WriteError(w, r, http.StatusBadRequest, err)
		return
	}
	switch {
	case strings.TrimSpace(req.Email) == "":
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "email", Message: "is required"})
		return
	case req.Password == "":
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "password", Message: "is required"})
		return
	case req.Mode != "" && req.Mode != "cookie" && req.Mode != "token":
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "mode", Message: "must be cookie or token"})
		return
	}
	key := strings.ToLower(strings.TrimSpace(req.Email))
	if wait := s.limits.blocked(key); wait > 0 {
		w.Header().Set("Retry-After", wait.Round(time.Second).String())
		httpserver.WriteError(w, r, http.StatusTooManyRequests, errors.New("too many failed logins for this account: try again later"))
		return
	}
	u, err := s.opts.Passwords.Verify(r.Context(), req.Email, req.Password)
	if errors.Is(err, identity.ErrBadLogin) {
		s.limits.fail(key)
		s.opts.Log.Info("login failed", "user", key, "remote", r.RemoteAddr)
		httpserver.WriteError(w, r, http.StatusUnauthorized, err)
		return
	}
	if err != nil {
		httpserver.WriteError(w, r, http.StatusInternalServerError, errors.New("login is unavailable"))
		return
	}
	s.limits.reset(key)
	secret, sess, err := s.opts.Sessions.Create(r.Context(), u)
	if err != nil {
		httpserver.WriteError(w, r, http.StatusInternalServerError, errors.New("could not start a session"))
		return
	}
	s.opts.Log.Info("login", "user", u, "mode", req.Mode)
	if req.Mode == "token" {
		httpserver.WriteJSON(w, http.StatusOK, map[string]any{"user": u, "token": secret, "expires": sess.Expires})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", Expires: sess.Expires, HttpOnly: true,
		Secure: s.secureCookie(r), SameSite: http.SameSiteStrictMode})
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"user": u, "csrf": sess.CSRF, "expires": sess.Expires})
}

// secureCookie: cookies are Secure except on plain HTTP to a loopback address (local
// development), or when InsecureCookies is set.
func (s *Surface) secureCookie(r *http.Request) bool {
	if s.opts.InsecureCookies {
		return false
	}
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return true
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

func (s *Surface) logout(w http.ResponseWriter, r *http.Request) {
	if s.opts.Sessions != nil {
		if c, err := r.Cookie(sessionCookie); err == nil {
			_ = s.opts.Sessions.End(r.Context(), c.Value)
		}
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && strings.HasPrefix(tok, identity.SessionPrefix) {
			_ = s.opts.Sessions.End(r.Context(), strings.TrimSpace(tok))
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secureCookie(r),
		SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// session describes the logged-in user: tenants with roles and environments, and the CSRF token
// of a cookie session.
func (s *Surface) session(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{"user": user(r)}
	if sess, ok := r.Context().Value(sessionKey).(identity.Session); ok {
		out["csrf"] = sess.CSRF
		out["expires"] = sess.Expires
	}
	ms := []Membership{}
	if s.opts.Directory != nil {
		got, err := s.opts.Directory.Memberships(r.Context(), user(r))
		if err != nil {
			httpserver.WriteError(w, r, http.StatusInternalServerError, err)
			return
		}
		ms = got
	}
	out["tenants"] = ms
	out["terminal"] = s.opts.Terminal != nil
	httpserver.WriteJSON(w, http.StatusOK, out)
}

// loginLimiter blocks an account after max failures within window.
type loginLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	fails  map[string][]time.Time
}

func newLoginLimiter(max int, window time.Duration) *loginLimiter {
	return &loginLimiter{max: max, window: window, fails: map[string][]time.Time{}}
}

func (l *loginLimiter) recent(key string, now time.Time) []time.Time {
	var keep []time.Time
	for _, t := range l.fails[key] {
		if now.Sub(t) < l.window {
			keep = append(keep, t)
		}
	}
	if len(keep) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = keep
	}
	return keep
}

func (l *loginLimiter) blocked(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	r := l.recent(key, now)
	if len(r) < l.max {
		return 0
	}
	return l.window - now.Sub(r[0])
}

func (l *loginLimiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > 100000 { // bounded memory under a spray of made-up accounts
		l.fails = map[string][]time.Time{}
	}
	l.fails[key] = append(l.recent(key, time.Now()), time.Now())
}

func (l *loginLimiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}
