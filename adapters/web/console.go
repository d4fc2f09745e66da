package web

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"k8s-manage/internal/httpserver"
)

// mountConsole serves the built console (index.html for the app's routes, hashed assets with
// long caching) and the widget script; without built assets, the minimal chat page.
func (s *Surface) mountConsole(root chi.Router) {
	assets := s.opts.Assets
	if assets != nil {
		if _, err := fs.Stat(assets, "index.html"); err != nil {
			assets = nil
		}
	}
	if assets == nil {
		s.opts.Log.Warn("console assets not built (make web-build): serving the minimal chat page")
		root.Get("/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
			w.Write(chatPage) //nolint:errcheck
		})
		return
	}
	index, _ := fs.ReadFile(assets, "index.html")
	page := func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		w.Write(index) //nolint:errcheck
	}
	for _, p := range []string{"/", "/chat", "/approvals", "/history", "/audit", "/terminal", "/login", "/apps", "/apps/*", "/builds",
		"/catalog", "/config", "/bills", "/alerts", "/tenants", "/environments"} {
		root.Get(p, page)
	}
	// The API reference: Swagger UI (bundled) over /api/v1/openapi.json.
	if docs, err := fs.ReadFile(assets, "api-docs.html"); err == nil {
		root.Get("/api/docs", func(w http.ResponseWriter, _ *http.Request) {
			h := w.Header()
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "no-cache")
			h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")
			h.Set("X-Content-Type-Options", "nosniff")
			w.Write(docs) //nolint:errcheck
		})
	}
	files := http.FileServerFS(assets)
	root.Get("/assets/*", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
	root.Get("/widget.js", func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(assets, "widget.js")
		if err != nil {
			httpserver.WriteError(w, r, http.StatusNotFound, errors.New("widget not built"))
			return
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b) //nolint:errcheck
	})
}

// cors answers preflights and adds CORS headers for the configured origins only. No
// credentials are allowed cross-origin: the widget authenticates with a bearer session token.
func (s *Surface) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && s.originAllowed(origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Max-Age", "600")
		} else if origin != "" && !sameHost(origin, r.Host) {
			s.refusedOrigin(origin)
			if r.Method == http.MethodOptions {
				httpserver.WriteError(w, r, http.StatusForbidden, fmt.Errorf("origin %s may not call this API: add it to web.allowed_origins (K8SM_WEB_ALLOWED_ORIGINS)", origin))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// originAllowed: a configured origin, or (AllowLoopbackOrigins, the local sandbox) any page
// served from this machine.
func (s *Surface) originAllowed(origin string) bool {
	if slices.Contains(s.opts.AllowedOrigins, strings.TrimRight(origin, "/")) {
		return true
	}
	if !s.opts.AllowLoopbackOrigins {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())
}

func sameHost(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host == host
}

// refusedOrigin logs, once per origin, that a page the configuration does not list called the
// API: the browser shows its user only "Failed to fetch", so the operator needs the key to set.
func (s *Surface) refusedOrigin(origin string) {
	if _, seen := s.refused.LoadOrStore(origin, true); !seen {
		s.opts.Log.Warn("a page on another origin called the API and was refused: to embed the widget there, add the origin to web.allowed_origins",
			"origin", origin, "key", "web.allowed_origins", "env", "K8SM_WEB_ALLOWED_ORIGINS")
	}
}

// audit returns a tenant's audit log to its admins.
func (s *Surface) audit(w http.ResponseWriter, r *http.Request) {
	tenant := r.URL.Query().Get("tenant")
	if tenant == "" {
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "tenant", Message: "is required"})
		return
	}
	limit := 200
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "limit", Message: "must be between 1 and 1000"})
			return
		}
		limit = n
	}
	entries, err := s.opts.Agent.AuditLog(r.Context(), user(r), tenant, limit)
	if err != nil {
		httpserver.WriteError(w, r, http.StatusForbidden, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tenant": tenant, "entries": entries})
}
