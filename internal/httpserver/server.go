// Package httpserver is the service's HTTP front: chi routing with request ids, JSON access
// logs, panic recovery, body limits and Prometheus metrics; /healthz, /readyz and /metrics;
// the versioned API under /api/v1 that adapters mount their routes on; and a graceful
// shutdown that drains in-flight requests within a bound.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"k8s-manage/internal/version"
)

// Check reports whether one dependency is usable; readiness fails when any check fails.
type Check func(ctx context.Context) error

// Options configures a Server.
type Options struct {
	// APIGuard, when set, runs before every /api/v1 handler (the contract's input checks).
	APIGuard        func(http.Handler) http.Handler
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	IdleTimeout     time.Duration
	ShutdownTimeout time.Duration
	MaxBodyBytes    int64
	Logger          *slog.Logger
	Registry        *prometheus.Registry
	// Ready maps a dependency name (store, cluster, vectors ...) to its check.
	Ready map[string]Check
}

// Server is the HTTP server. Build it with New, add API routes with API, then Serve.
type Server struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics
	router  chi.Router
	api     chi.Router
}

// New builds a server with the operational endpoints in place.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	s := &Server{opts: opts, log: opts.Logger, metrics: newMetrics(opts.Registry)}
	r := chi.NewRouter()
	r.Use(requestID, s.observe, s.recoverer, s.limitBody)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, http.StatusNotFound, fmt.Errorf("no route for %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		allowed := allowedMethods(r, req.URL.Path)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		WriteError(w, req, http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed on %s: use %s", req.Method, req.URL.Path,
			strings.Join(allowed, " or ")))
	})
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", s.readyz)
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{Registry: opts.Registry}))
	r.Route("/api/v1", func(api chi.Router) {
		if opts.APIGuard != nil {
			api.Use(opts.APIGuard)
		}
		api.Get("/version", func(w http.ResponseWriter, r *http.Request) {
			WriteJSON(w, http.StatusOK, version.Get())
		})
		s.api = api
	})
	s.router = r
	return s
}

// allowedMethods are the methods routes has for path (the Allow header of a 405).
func allowedMethods(routes chi.Routes, path string) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		if routes.Match(chi.NewRouteContext(), m, path) {
			out = append(out, m)
		}
	}
	return out
}

// API is the /api/v1 router that adapters add their routes to.
func (s *Server) API() chi.Router { return s.api }

// Router is the root router, for surfaces served outside /api/v1 (the web console at /).
func (s *Server) Router() chi.Router { return s.router }

// Handler is the whole HTTP handler, middleware included.
func (s *Server) Handler() http.Handler { return s.router }

type checkResult struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	results := make(map[string]checkResult, len(s.opts.Ready))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, check := range s.opts.Ready {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := checkResult{Status: "ok"}
			if err := check(ctx); err != nil {
				res = checkResult{Status: "failing", Error: err.Error()}
			}
			mu.Lock()
			results[name] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	status, code := "ok", http.StatusOK
	var failing []string
	for name, res := range results {
		if res.Status != "ok" {
			failing = append(failing, name)
		}
	}
	if len(failing) > 0 {
		sort.Strings(failing)
		status, code = "unavailable", http.StatusServiceUnavailable
		s.log.WarnContext(r.Context(), "not ready", "failing", failing)
	}
	WriteJSON(w, code, map[string]any{"status": status, "checks": results})
}

// Serve serves on ln until ctx is cancelled (SIGTERM/SIGINT in the binary), then stops
// accepting, lets in-flight requests finish within ShutdownTimeout and returns nil when they did.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.router,
		ReadTimeout:       s.opts.ReadTimeout,
		ReadHeaderTimeout: min(s.opts.ReadTimeout, 10*time.Second),
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("http server listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("http server shutting down", "drain_timeout", s.opts.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("http server: in-flight requests did not finish within %s: %w", s.opts.ShutdownTimeout, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	s.log.Info("http server stopped")
	return nil
}
