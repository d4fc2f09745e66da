package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/spf13/cobra"

	"k8s-manage/internal/config"
	"k8s-manage/internal/httpserver"
	"k8s-manage/internal/obs"
	"k8s-manage/internal/store"
)

func newServeCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the service: HTTP API, chat surfaces and background workers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			log, err := obs.NewLogger(os.Stderr, cfg.Log.Format, cfg.Log.Level)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, log)
		},
	}
}

// app is the running service: every part built from the configuration, wired explicitly.
type app struct {
	cfg   config.Config
	log   *slog.Logger
	store *store.Store
	http  *httpserver.Server
}

// newApp builds the service's parts from cfg. Close releases them.
func newApp(ctx context.Context, cfg config.Config, log *slog.Logger) (*app, error) {
	st, err := store.Open(ctx, store.Options{DSN: cfg.Store.DSN, MaxOpenConns: cfg.Store.MaxOpenConns})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	log.Info("store ready", "engine", st.Dialect().String())

	reg := obs.NewRegistry()
	srv := httpserver.New(httpserver.Options{
		ReadTimeout:     cfg.HTTP.ReadTimeout.D(),
		WriteTimeout:    cfg.HTTP.WriteTimeout.D(),
		IdleTimeout:     cfg.HTTP.IdleTimeout.D(),
		ShutdownTimeout: cfg.HTTP.ShutdownTimeout.D(),
		MaxBodyBytes:    cfg.HTTP.MaxBodyBytes,
		Logger:          log,
		Registry:        reg,
		Ready:           map[string]httpserver.Check{"store": st.Ping},
	})
	return &app{cfg: cfg, log: log, store: st, http: srv}, nil
}

// Run serves until ctx is cancelled, then drains in-flight requests.
func (a *app) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.HTTP.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s (http.host/http.port): %w", a.cfg.HTTP.Addr(), err)
	}
	return a.http.Serve(ctx, ln)
}

// Close releases what newApp opened.
func (a *app) Close() error { return a.store.Close() }

// serve builds the app and runs it until ctx is cancelled (SIGTERM/SIGINT).
func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Run(ctx)
}
