package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/prometheus/client_golang/prometheus"

	"k8s-manage/adapters/alertmanager"
	"k8s-manage/adapters/web"
	"k8s-manage/adapters/web/openapi"
	"k8s-manage/agent"
	"k8s-manage/agent/approval"
	"k8s-manage/agent/identity"
	"k8s-manage/hack/sandbox"
	"k8s-manage/internal/version"
	"k8s-manage/knowledge/retrieve"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/autoscale"
	"k8s-manage/platform/billing"
	"k8s-manage/platform/build"
	"k8s-manage/platform/catalog"
	pconfig "k8s-manage/platform/config"
	"k8s-manage/platform/envclone"
	"k8s-manage/platform/exec"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/quota"
	"k8s-manage/platform/tenant"
	"k8s-manage/tools"
	webui "k8s-manage/web"

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
	cfg       config.Config
	log       *slog.Logger
	store     *store.Store
	http      *httpserver.Server
	kube      *kube.Clients   // nil when cluster.mode is none
	tenants   *tenant.Service // nil when cluster.mode is none
	knowledge *knowledgeParts
	retriever *retrieve.Retriever
	agent     *agent.Service  // nil when cluster.mode is none
	tools     *tools.Registry // nil when cluster.mode is none
	tokens    *identity.Tokens
	// shutdownTracing flushes spans at Close.
	shutdownTracing func(context.Context) error
	// runners are the chat surfaces' and workers' loops, run until shutdown.
	runners []func(context.Context) error
}

// openStore opens the configured service store (applying migrations); every command uses it.
func openStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	st, err := store.Open(ctx, store.Options{DSN: cfg.Store.DSN, MaxOpenConns: cfg.Store.MaxOpenConns})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return st, nil
}

// newApp builds the service's parts from cfg. Close releases them.
func newApp(ctx context.Context, cfg config.Config, log *slog.Logger) (*app, error) {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	log.Info("store ready", "engine", st.Dialect().String())

	ready := map[string]httpserver.Check{"store": st.Ping}
	kp, err := openKnowledge(ctx, cfg.Knowledge, st, nil, false)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("knowledge: %w", err)
	}
	ready["knowledge"] = func(ctx context.Context) error {
		_, err := kp.store.Revision(ctx)
		return err
	}
	if all, err := kp.store.All(ctx); err == nil && len(all) == 0 {
		log.Warn("the knowledge base is empty: run `k8s-manage ingest`")
	}
	kc, err := connectCluster(ctx, cfg.Cluster, log)
	if err != nil {
		kp.close()
		st.Close()
		return nil, err
	}
	var tenants *tenant.Service
	if kc != nil {
		ready["cluster"] = func(ctx context.Context) error { return clusterReady(ctx, kc) }
		tenants = tenant.NewService(st, kc, log)
		if err := tenants.EnsureClusterRoles(ctx); err != nil {
			st.Close()
			return nil, fmt.Errorf("cluster: %w", err)
		}
	}

	reg := obs.NewRegistry()
	reg0 := prometheus.Registerer(reg)
	srv := httpserver.New(httpserver.Options{
		ReadTimeout:     cfg.HTTP.ReadTimeout.D(),
		WriteTimeout:    cfg.HTTP.WriteTimeout.D(),
		IdleTimeout:     cfg.HTTP.IdleTimeout.D(),
		ShutdownTimeout: cfg.HTTP.ShutdownTimeout.D(),
		MaxBodyBytes:    cfg.HTTP.MaxBodyBytes,
		Logger:          log,
		Registry:        reg,
		Ready:           ready,
	})
	contract, err := openapi.Handler()
	if err != nil {
		kp.close()
		st.Close()
		return nil, err
	}
	srv.API().Get("/openapi.json", contract.ServeHTTP)
	a := &app{cfg: cfg, log: log, store: st, http: srv, kube: kc, tenants: tenants, knowledge: kp,
		retriever: retrieve.New(kp.store, retrieve.Options{DenseWeight: cfg.Knowledge.DenseWeight}), tokens: identity.NewTokens(st)}
	if kc != nil {
		keys, err := keyring(cfg.ConfigCenter, log)
		if err != nil {
			a.Close()
			return nil, err
		}
		builds := build.NewService(st, kc, keys, build.Registry{Host: cfg.Builds.RegistryHost, Project: cfg.Builds.RegistryProject,
			CredentialsSecret: cfg.Builds.CredentialsSecret}, nil)
		srv.API().Post("/webhooks/git/{provider}", builds.WebhookHandler(log, cfg.HTTP.MaxBodyBytes))
		cfgCenter := pconfig.NewService(st, kc, keys, nil)
		bills := billing.NewBills(st, billing.Prices{CoreHour: cfg.Billing.CoreHour, GiBHour: cfg.Billing.GiBHour,
			StorageGiBMonth: cfg.Billing.StorageGiBMonth, PlanMonth: cfg.Billing.Plans, Currency: cfg.Billing.Currency})
		reg := tools.NewRegistry(tools.Deps{Kube: kc, Builds: builds, Catalog: catalog.NewService(kc), Clone: envclone.NewService(kc, cfgCenter), Apps: apps.NewService(kc), Autoscale: autoscale.NewService(kc),
			Quota: quota.NewService(kc), Tenants: tenants, Knowledge: a.retriever, Config: cfgCenter,
			Bills: bills, Changes: auditChanges{approval.New(st, nil)}})
		a.tools = reg
		chat, err := buildModel(ctx, cfg.Agent.Model, reg0)
		if err != nil {
			a.Close()
			return nil, err
		}
		self := map[string]bool{}
		for _, t := range cfg.Agent.SelfApprovalTenants {
			self[t] = true
		}
		bypass := map[string]tenant.Role{}
		for t, r := range cfg.Agent.ApprovalBypass {
			bypass[t] = tenant.Role(r)
		}
		tp, shutdown, err := obs.NewTracerProvider(ctx, cfg.Observability.OTLPEndpoint, cfg.Observability.OTLPInsecure, version.Get().Version)
		if err != nil {
			a.Close()
			return nil, err
		}
		a.shutdownTracing = shutdown
		a.agent, err = agent.New(agent.Options{Store: st, Tools: reg, Roles: tenants, Knowledge: a.retriever, Model: chat, Log: log,
			Tracer:   tp.Tracer("k8s-manage/agent"),
			Registry: reg0, ApprovalTTL: cfg.Agent.ApprovalTTL.D(), ApproverRole: tenant.Role(cfg.Agent.ApproverRole),
			AllowSelfApproval: self, ApprovalBypass: bypass, MaxSteps: cfg.Agent.MaxSteps, TurnTimeout: cfg.Agent.TurnTimeout.D(), HistoryTokens: cfg.Agent.HistoryTokens, BindAllTools: cfg.Agent.BindAllTools, Sealer: keys})
		if err != nil {
			a.Close()
			return nil, err
		}
		wo := web.Options{Agent: a.agent, Tokens: a.tokens, Passwords: identity.NewPasswords(st),
			Sessions: identity.NewSessions(st, cfg.Web.SessionTTL.D()), Directory: directory{tenants}, Assets: webui.Assets(),
			AllowedOrigins: cfg.Web.AllowedOrigins, InsecureCookies: cfg.Web.InsecureCookies, Log: log}
		if cfg.Web.Terminal {
			wo.Terminal = terminal{exec.NewService(kc)}
		}
		surface := web.New(wo)
		surface.Mount(srv.Router(), srv.API())
		papi := &platformAPI{tenants: tenants, bills: bills, config: cfgCenter, builds: builds, kube: kc, audit: a.agent.Approvals()}
		papi.mount(srv.API(), surface.Auth)
		// The REST resources read through the same tools as the agent (authorization, redaction),
		// with results uncapped for lists; their writes go through the agent's approval gate.
		reads := tools.NewRegistry(tools.Deps{Kube: kc, Builds: builds, Catalog: catalog.NewService(kc), Apps: apps.NewService(kc),
			Autoscale: autoscale.NewService(kc), Quota: quota.NewService(kc), Tenants: tenants, Config: cfgCenter, Bills: bills, MaxResultBytes: 8 << 20})
		(&resourceAPI{platformAPI: papi, apps: apps.NewService(kc), catalog: catalog.NewService(kc), reads: reads, agent: a.agent, alerts: alertmanager.NewQueue(st, nil)}).mount(srv.API(), surface.Auth)
		if err := a.wireSurfaces(reg0); err != nil {
			a.Close()
			return nil, err
		}
	} else {
		log.Warn("chat API off: it needs a cluster (cluster.mode none)")
	}
	return a, nil
}

// Run serves until ctx is cancelled, then drains in-flight requests. Overdue approvals are
// expired in the background.
func (a *app) Run(ctx context.Context) error {
	if a.kube != nil {
		meter := billing.NewMeter(a.store, a.kube.Admin(), nil)
		go func() {
			t := time.NewTicker(a.cfg.Billing.Interval.D())
			defer t.Stop()
			for {
				if _, err := meter.Sample(ctx); err != nil && ctx.Err() == nil {
					a.log.Error("metering sample", "err", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	if a.agent != nil {
		go func() {
			t := time.NewTicker(30 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if n, err := a.agent.ExpireDue(ctx); err != nil {
						a.log.Error("expire approvals", "err", err)
					} else if n > 0 {
						a.log.Info("approvals expired", "count", n)
					}
				}
			}
		}()
	}
	ln, err := net.Listen("tcp", a.cfg.HTTP.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s (http.host/http.port): %w", a.cfg.HTTP.Addr(), err)
	}
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	loops := make(chan error, 1)
	go func() { loops <- runAll(lctx, a.runners) }()
	err = a.http.Serve(ctx, ln)
	stop()
	if lerr := <-loops; lerr != nil && err == nil {
		err = lerr
	}
	return err
}

// Close releases what newApp opened.
func (a *app) Close() error {
	if a.shutdownTracing != nil {
		_ = a.shutdownTracing(context.Background())
	}
	a.knowledge.close()
	return a.store.Close()
}

// serve builds the app and runs it until ctx is cancelled (SIGTERM/SIGINT).
func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	// Only the server seeds the sandbox's demo tenant (and data/demo-tokens.txt): the eval, the
	// admin commands and tests build the same app without touching ./data or the demo tenant.
	if a.agent != nil && cfg.Cluster.ResolvedMode(false) == config.ClusterSandbox {
		if err := seedDemo(ctx, a); err != nil {
			log.Warn("demo seed failed", "err", err)
		}
	}
	return a.Run(ctx)
}

// connectCluster reaches Kubernetes as cluster.mode says; nil means no cluster (mode none).
func connectCluster(ctx context.Context, c config.Cluster, log *slog.Logger) (*kube.Clients, error) {
	mode := c.ResolvedMode(os.Getenv("KUBERNETES_SERVICE_HOST") != "")
	opts := kube.Options{Kubeconfig: c.Kubeconfig, QPS: c.QPS, Burst: c.Burst}
	switch mode {
	case config.ClusterNone:
		log.Warn("no cluster configured (cluster.mode none): platform features are off")
		return nil, nil
	case config.ClusterSandbox:
		sb, err := sandbox.New(sandbox.Options{WorkDir: c.SandboxDir, Out: os.Stderr})
		if err != nil {
			return nil, fmt.Errorf("cluster.mode sandbox: %w", err)
		}
		info, err := sb.Up(ctx)
		if err != nil {
			return nil, fmt.Errorf("cluster.mode sandbox: %w", err)
		}
		opts.Kubeconfig = info.Kubeconfig
	case config.ClusterInCluster:
		opts.Kubeconfig = ""
	}
	kc, err := kube.Load(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster (mode %s): %w", mode, err)
	}
	if err := clusterReady(ctx, kc); err != nil {
		return nil, fmt.Errorf("cluster (mode %s): %w", mode, err)
	}
	log.Info("cluster ready", "mode", mode, "server", kc.RESTConfig().Host)
	return kc, nil
}

// clusterReady asks the API server's /readyz.
func clusterReady(ctx context.Context, kc *kube.Clients) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, err := kc.Admin().Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("API server not ready: %w", err)
	}
	if string(body) != "ok" {
		return fmt.Errorf("API server not ready: %s", body)
	}
	return nil
}
