package web

import (
	"errors"
	"io/fs"
	"net/http"
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
		if origin != "" && slices.Contains(s.opts.AllowedOrigins, strings.TrimRight(origin, "/")) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Max-Age", "600")
		} else if r.Method == http.MethodOptions && origin != "" {
			httpserver.WriteError(w, r, http.StatusForbidden, errors.New("origin not allowed (web.allowed_origins)"))
			return
		}
		next.ServeHTTP(w, r)
	})
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
