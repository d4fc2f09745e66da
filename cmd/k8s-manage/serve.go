package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"k8s-manage/adapters/alertmanager"
	"k8s-manage/adapters/web/openapi"
	"k8s-manage/agent"
	"k8s-manage/agent/identity"
	"k8s-manage/hack/sandbox"
	"k8s-manage/internal/config"
	"k8s-manage/internal/httpserver"
	"k8s-manage/internal/lifecycle"
	"k8s-manage/internal/obs"
	"k8s-manage/internal/store"
	"k8s-manage/knowledge/retrieve"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/tenant"
	"k8s-manage/tools"
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

// app is the running service: every part built once from the configuration, wired explicitly.
// Each part registers its close on stack as it opens, and each long-running loop is a Runnable
// in group, so a failed start closes what opened before it and shutdown stops everything.
type app struct {
	cfg   config.Config
	log   *slog.Logger
	stack lifecycle.Stack
	group lifecycle.Group
	// ready are the /readyz checks, one per dependency.
	ready map[string]httpserver.Check
	reg   *prometheus.Registry

	store     *store.Store
	tokens    *identity.Tokens
	knowledge *knowledgeParts
	retriever *retrieve.Retriever
	http      *httpserver.Server
	kube      *kube.Clients   // nil when cluster.mode is none
	tenants   *tenant.Service // nil when cluster.mode is none
	platform  *platformParts  // nil when cluster.mode is none
	tools     *tools.Registry // nil when cluster.mode is none
	agent     *agent.Service  // nil when cluster.mode is none
	alerts    *alertmanager.Queue
}

// startStep is one step of newApp; cluster steps are skipped without a cluster.
type startStep struct {
	name    string
	cluster bool
	run     func(ctx context.Context) error
}

// steps are newApp's steps in order.
func (a *app) steps() []startStep {
	return []startStep{
		{"store", false, a.openStore},
		{"knowledge", false, a.openKnowledge},
		{"cluster", false, a.connectCluster},
		{"cluster roles", true, a.ensureClusterRoles},
		{"http", false, a.buildHTTP},
		{"platform", true, a.buildPlatform},
		{"tools", true, a.buildTools},
		{"agent", true, a.buildAgent},
		{"web", true, a.mountWeb},
		{"surfaces", true, a.wireSurfaces},
		{"loops", true, a.addLoops},
	}
}

// newApp builds the service's parts from cfg. Close releases them.
func newApp(ctx context.Context, cfg config.Config, log *slog.Logger) (*app, error) {
	return startApp(ctx, cfg, log, nil)
}

// startApp runs the steps; before, when set, runs ahead of each one (tests fail a step with it
// and keep the app to look at). On any error everything opened so far is closed, newest first.
func startApp(ctx context.Context, cfg config.Config, log *slog.Logger, before func(a *app, step string) error) (*app, error) {
	a := &app{cfg: cfg, log: log, ready: map[string]httpserver.Check{}, reg: obs.NewRegistry()}
	for _, s := range a.steps() {
		if s.cluster && a.kube == nil {
			continue
		}
		err := error(nil)
		if before != nil {
			err = before(a, s.name)
		}
		if err == nil {
			err = s.run(ctx)
		}
		if err != nil {
			if cerr := a.stack.Close(); cerr != nil {
				log.Error("closing after a failed start", "step", s.name, "err", cerr)
			}
			return nil, err
		}
	}
	if a.kube == nil {
		log.Warn("chat API off: it needs a cluster (cluster.mode none)")
	}
	return a, nil
}

func (a *app) openStore(ctx context.Context) error {
	st, err := openStore(ctx, a.cfg)
	if err != nil {
		return err
	}
	a.stack.Defer("store", st.Close)
	a.store, a.tokens = st, identity.NewTokens(st)
	a.ready["store"] = st.Ping
	a.log.Info("store ready", "engine", st.Dialect().String())
	return nil
}

func (a *app) openKnowledge(ctx context.Context) error {
	kp, err := openKnowledge(ctx, a.cfg.Knowledge, a.store, nil, false)
	if err != nil {
		return fmt.Errorf("knowledge: %w", err)
	}
	a.stack.Defer("knowledge", func() error { kp.close(); return nil })
	a.knowledge = kp
	a.retriever = retrieve.New(kp.store, retrieve.Options{DenseWeight: a.cfg.Knowledge.DenseWeight})
	a.ready["knowledge"] = func(ctx context.Context) error {
		_, err := kp.store.Revision(ctx)
		return err
	}
	if all, err := kp.store.All(ctx); err == nil && len(all) == 0 {
		a.log.Warn("the knowledge base is empty: run `k8s-manage ingest`")
	}
	return nil
}

func (a *app) connectCluster(ctx context.Context) error {
	kc, err := connectCluster(ctx, a.cfg.Cluster, a.log)
	if err != nil || kc == nil {
		return err
	}
	a.stack.Defer("cluster", kc.Close)
	a.kube = kc
	a.ready["cluster"] = kc.Ready
	return nil
}

func (a *app) ensureClusterRoles(ctx context.Context) error {
	a.tenants = tenant.NewService(a.store, a.kube, a.log)
	if err := a.tenants.EnsureClusterRoles(ctx); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	return nil
}

func (a *app) buildHTTP(context.Context) error {
	h := a.cfg.HTTP
	guard, err := openapi.Guard()
	if err != nil {
		return err
	}
	a.http = httpserver.New(httpserver.Options{APIGuard: guard, ReadTimeout: h.ReadTimeout.D(), WriteTimeout: h.WriteTimeout.D(),
		IdleTimeout: h.IdleTimeout.D(), ShutdownTimeout: h.ShutdownTimeout.D(), MaxBodyBytes: h.MaxBodyBytes,
		Logger: a.log, Registry: a.reg, Ready: a.ready})
	return mountContract(a.http)
}

func (a *app) buildTools(context.Context) error {
	a.tools = a.platform.tools(a.kube, a.tenants, a.retriever)
	return nil
}

func (a *app) buildAgent(ctx context.Context) error {
	cfg := a.cfg
	chat, err := buildModel(ctx, cfg.Agent.Model, a.reg)
	if err != nil {
		return err
	}
	tp, shutdown, err := obs.NewTracerProvider(ctx, cfg.Observability.OTLPEndpoint, cfg.Observability.OTLPInsecure, versionString())
	if err != nil {
		return err
	}
	a.stack.Defer("tracing", func() error { return shutdown(context.Background()) })
	self := map[string]bool{}
	for _, t := range cfg.Agent.SelfApprovalTenants {
		self[t] = true
	}
	bypass := map[string]tenant.Role{}
	for t, r := range cfg.Agent.ApprovalBypass {
		bypass[t] = tenant.Role(r)
	}
	a.agent, err = agent.New(agent.Options{Store: a.store, Approvals: a.platform.approvals, Tools: a.tools, Roles: a.tenants,
		Knowledge: a.retriever, Model: chat, Log: a.log, Tracer: tp.Tracer("k8s-manage/agent"), Registry: a.reg,
		ApprovalTTL: cfg.Agent.ApprovalTTL.D(), ApproverRole: tenant.Role(cfg.Agent.ApproverRole), AllowSelfApproval: self,
		ApprovalBypass: bypass, MaxSteps: cfg.Agent.MaxSteps, TurnTimeout: cfg.Agent.TurnTimeout.D(),
		HistoryTokens: cfg.Agent.HistoryTokens, BindAllTools: cfg.Agent.BindAllTools, Sealer: a.platform.keys})
	return err
}

// addLoops registers the service's own background loops: metering samples and approval expiry.
func (a *app) addLoops(context.Context) error {
	a.group.Add("metering", lifecycle.Every(a.cfg.Billing.Interval.D(), true, a.log, "metering sample", func(ctx context.Context) error {
		_, err := a.platform.meter.Sample(ctx)
		return err
	}))
	a.group.Add("approval expiry", lifecycle.Every(30*time.Second, false, a.log, "expire approvals", func(ctx context.Context) error {
		n, err := a.agent.ExpireDue(ctx)
		if n > 0 {
			a.log.Info("approvals expired", "count", n)
		}
		return err
	}))
	return nil
}

// Run serves until ctx is cancelled, then drains in-flight requests. Every loop runs in the
// same group as the HTTP server: when one fails, all stop and Run returns its error.
func (a *app) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.HTTP.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s (http.host/http.port): %w", a.cfg.HTTP.Addr(), err)
	}
	a.group.Add("http", func(ctx context.Context) error { return a.http.Serve(ctx, ln) })
	return a.group.Run(ctx)
}

// Close releases what newApp opened, newest first.
func (a *app) Close() error { return a.stack.Close() }

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

// openStore opens the configured service store (applying migrations); every command uses it.
func openStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	st, err := store.Open(ctx, store.Options{DSN: cfg.Store.DSN, MaxOpenConns: cfg.Store.MaxOpenConns})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return st, nil
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
	if err := kc.Ready(ctx); err != nil {
		return nil, fmt.Errorf("cluster (mode %s): %w", mode, err)
	}
	log.Info("cluster ready", "mode", mode, "server", kc.RESTConfig().Host)
	return kc, nil
}
