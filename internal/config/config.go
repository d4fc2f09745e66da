// Package config loads k8s-manage's configuration: one YAML file whose every key can be
// overridden by an environment variable (K8SM_ prefix, path joined by underscores) and whose
// secret keys can also be read from files (<key>_file). Every problem found is reported with
// the key it belongs to, all at once.
package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Config is the whole configuration of the service.
type Config struct {
	HTTP      HTTP      `yaml:"http"`
	Log       Log       `yaml:"log"`
	Store     Store     `yaml:"store"`
	Cluster   Cluster   `yaml:"cluster"`
	Knowledge Knowledge `yaml:"knowledge"`
	Agent     Agent     `yaml:"agent"`
	// Observability configures tracing export.
	Observability Observability `yaml:"observability"`
	// ConfigCenter configures the encryption of secret values.
	ConfigCenter ConfigCenter `yaml:"config_center"`
	Billing      Billing      `yaml:"billing"`
	// Prometheus is the metrics server query_metrics and diagnosis read (empty url: neither).
	Prometheus Prometheus `yaml:"prometheus"`
	Builds     Builds     `yaml:"builds"`
	Web        Web        `yaml:"web"`
	Slack      Slack      `yaml:"slack"`
	DingTalk   DingTalk   `yaml:"dingtalk"`
	Alerts     Alerts     `yaml:"alerts"`
	Eval       Eval       `yaml:"eval"`
}

// Eval configures `k8s-manage eval`: extra models to compare and their prices.
type Eval struct {
	// Models are chat models by name for --model (builtin and default, the agent's model, always exist).
	Models map[string]Model `yaml:"models"`
	// Prices per 1,000 tokens by model name.
	Prices   map[string]EvalPrice `yaml:"prices"`
	Currency string               `yaml:"currency"`
}

// EvalPrice is a model's price per 1,000 tokens.
type EvalPrice struct {
	InputPer1K  float64 `yaml:"input_per_1k"`
	OutputPer1K float64 `yaml:"output_per_1k"`
}

// Web configures the console, the widget and login.
type Web struct {
	// AllowedOrigins are the pages (scheme://host[:port]) that may embed the widget and call the API.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// SessionTTL is how long a login lasts.
	SessionTTL Duration `yaml:"session_ttl"`
	// InsecureCookies drops the cookies' Secure flag (plain HTTP off loopback; development only).
	InsecureCookies bool `yaml:"insecure_cookies"`
	// Terminal enables the web terminal (pods/exec as the person; RBAC decides).
	Terminal bool `yaml:"terminal"`
}

// Slack configures the Slack surface.
type Slack struct {
	Enabled bool `yaml:"enabled"`
	// Mode is socket (Socket Mode: no public URL) or http (Events API at /api/v1/slack/events).
	Mode          string `yaml:"mode"`
	BotToken      string `yaml:"bot_token" secret:"true"`
	AppToken      string `yaml:"app_token" secret:"true"`
	SigningSecret string `yaml:"signing_secret" secret:"true"`
	// TeamID refuses users of other workspaces when set.
	TeamID string `yaml:"team_id"`
	// Channels maps a channel id to its default tenant ("team-a" or "team-a/prod").
	Channels      map[string]string `yaml:"channels"`
	DefaultTenant string            `yaml:"default_tenant"`
	// APIURL overrides https://slack.com/api/ (tests, proxies).
	APIURL string `yaml:"api_url"`
}

// DingTalk configures the DingTalk surface.
type DingTalk struct {
	Enabled bool `yaml:"enabled"`
	// Mode is stream (default) or outgoing (HTTP outgoing robot at /api/v1/dingtalk/outgoing).
	Mode         string `yaml:"mode"`
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret" secret:"true"`
	RobotCode    string `yaml:"robot_code"`
	// CardTemplateID enables interactive approval cards (text commands always work).
	CardTemplateID string `yaml:"card_template_id"`
	// Staff maps a staff id to a platform user e-mail.
	Staff map[string]string `yaml:"staff"`
	// Conversations maps a conversation id to its default tenant ("team-a" or "team-a/prod").
	Conversations map[string]string `yaml:"conversations"`
	DefaultTenant string            `yaml:"default_tenant"`
	// Robots are group custom robots for alert notices, by name.
	Robots      map[string]DingTalkRobot `yaml:"robots"`
	OpenAPIHost string                   `yaml:"openapi_host"`
}

// DingTalkRobot is a group's custom robot (its webhook holds an access token: keep it private).
type DingTalkRobot struct {
	Webhook string `yaml:"webhook"`
	Secret  string `yaml:"secret"`
}

// Alerts configures the Alertmanager webhook and the diagnoses it triggers.
type Alerts struct {
	Enabled bool `yaml:"enabled"`
	// BearerToken or Username+Password protect POST /api/v1/alerts/alertmanager.
	BearerToken string `yaml:"bearer_token" secret:"true"`
	Username    string `yaml:"username"`
	Password    string `yaml:"password" secret:"true"`
	// Identity is the platform user diagnoses run as: add it to each tenant as a viewer.
	Identity string `yaml:"identity"`
	// Language of the posted diagnoses: en or zh.
	Language string `yaml:"language"`
	// RateLimit posts per alert group per RateWindow; more are recorded as suppressed.
	RateLimit  int      `yaml:"rate_limit"`
	RateWindow Duration `yaml:"rate_window"`
	// Concurrency is how many alerts this process diagnoses at once; 0 makes it a receiver only
	// (another replica works the shared queue).
	Concurrency int          `yaml:"concurrency"`
	Lease       Duration     `yaml:"lease"`
	Routes      []AlertRoute `yaml:"routes"`
}

// AlertRoute sends alerts whose labels match (tenant and env match the mapped tenant) to
// Slack channels and DingTalk robots.
type AlertRoute struct {
	Match    map[string]string `yaml:"match"`
	Slack    []string          `yaml:"slack"`
	DingTalk []string          `yaml:"dingtalk"`
}

// Builds configures where images are pushed.
type Builds struct {
	RegistryHost string `yaml:"registry_host"`
	// RegistryProject is the Harbor project (default: the tenant's name).
	RegistryProject string `yaml:"registry_project"`
	// CredentialsSecret is the dockerconfigjson Secret (robot account) in each tenant namespace.
	CredentialsSecret string `yaml:"credentials_secret"`
}

// Billing configures metering and prices.
type Billing struct {
	// Interval is how often requests are sampled into the ledger.
	Interval        Duration `yaml:"interval"`
	CoreHour        float64  `yaml:"core_hour"`
	GiBHour         float64  `yaml:"gib_hour"`
	StorageGiBMonth float64  `yaml:"storage_gib_month"`
	// Plans prices a service catalog instance per month by plan.
	Plans    map[string]float64 `yaml:"plans"`
	Currency string             `yaml:"currency"`
	// Basis is what CPU and memory are charged on: requests (default), usage (measured through
	// the metrics API), or max (the larger of the two in each sampled interval). Without a
	// metrics API requests are charged, and the bill says so.
	Basis string `yaml:"basis"`
}

// Prometheus configures the Prometheus HTTP API that query_metrics and diagnosis read.
type Prometheus struct {
	// URL is the server (http://prometheus.monitoring:9090); empty turns query_metrics off.
	URL string `yaml:"url" secret:"true"`
	// Timeout bounds each query, so a slow Prometheus never stalls a turn.
	Timeout Duration `yaml:"timeout"`
	// MaxRange is the longest range a query may ask for.
	MaxRange Duration `yaml:"max_range"`
	// ScrapeInterval is the servers' scrape interval; rates are taken over at least four.
	ScrapeInterval Duration `yaml:"scrape_interval"`
	// TrendRange is how far back diagnosis looks for a jump in restarts, 5xx ratio or latency.
	TrendRange Duration `yaml:"trend_range"`
	// NamespaceLabel and PodLabel are the labels carrying a series' namespace and pod.
	NamespaceLabel string `yaml:"namespace_label"`
	PodLabel       string `yaml:"pod_label"`
}

// ConfigCenter configures secret encryption (AES-256-GCM).
type ConfigCenter struct {
	// KeyID names the primary key; Key is its base64 32 bytes. Empty Key: a key is generated
	// into KeyFile on first start (development only; back it up, or set key in production).
	KeyID   string `yaml:"key_id"`
	Key     string `yaml:"key" secret:"true"`
	KeyFile string `yaml:"generated_key_file"`
	// PreviousKeys are older keys by id, kept to read secrets until `k8s-manage secrets rotate`.
	PreviousKeys map[string]string `yaml:"previous_keys"`
}

// Observability configures traces (metrics are always at /metrics).
type Observability struct {
	// OTLPEndpoint is an OTLP/HTTP collector (host:port); empty turns tracing off.
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	// OTLPInsecure sends to the collector without TLS.
	OTLPInsecure bool `yaml:"otlp_insecure"`
}

// Agent configures the chat model and approvals.
type Agent struct {
	Model Model `yaml:"model"`
	// ApprovalTTL is how long an approval request waits for a decision.
	ApprovalTTL Duration `yaml:"approval_ttl"`
	// ApproverRole is the minimum tenant role that may decide approvals.
	ApproverRole string `yaml:"approver_role"`
	// SelfApprovalTenants lists tenants whose requesters may approve their own requests.
	SelfApprovalTenants []string `yaml:"self_approval_tenants"`
	// ApprovalBypass maps a tenant to the lowest role whose mutating calls (chat and API) run
	// without an approval, e.g. {sandbox-team: admin}. Off for every tenant not listed;
	// destructive calls always wait.
	ApprovalBypass map[string]string `yaml:"approval_bypass"`
	// MaxSteps bounds one turn's graph.
	MaxSteps int `yaml:"max_steps"`
	// TurnTimeout bounds one turn (or a resumed turn) from its start to its answer.
	TurnTimeout Duration `yaml:"turn_timeout"`
	// HistoryTokens bounds the earlier messages a turn sends the model, in estimated tokens.
	HistoryTokens int `yaml:"history_tokens"`
	// BindAllTools sends a hosted model every tool's schema on every step (about twice the input tokens).
	BindAllTools bool `yaml:"bind_all_tools"`
}

// Model selects the chat model provider.
type Model struct {
	// Provider is builtin (offline, default), openai (any OpenAI-compatible endpoint: OpenAI,
	// DeepSeek, Qwen compatible mode, vLLM, Ollama /v1), ark, ollama, deepseek or qwen.
	Provider   string   `yaml:"provider"`
	BaseURL    string   `yaml:"base_url"`
	Model      string   `yaml:"model"`
	APIKey     string   `yaml:"api_key" secret:"true"`
	Timeout    Duration `yaml:"timeout"`
	MaxRetries int      `yaml:"max_retries"`
	// Temperature (0-2) and MaxTokens (of the answer) are passed to the provider when set.
	Temperature *float64 `yaml:"temperature"`
	MaxTokens   int      `yaml:"max_tokens"`
}

// Knowledge configures documents, embeddings, the vector store and retrieval.
type Knowledge struct {
	// DocsRoot is the folder holding docs/ (the repository root by default).
	DocsRoot string `yaml:"docs_root"`
	// Store is embedded (default: inside the service store) or milvus.
	Store string `yaml:"store"`
	// Embedder is builtin (default, offline), openai (any OpenAI-compatible endpoint), ark or ollama.
	Embedder string `yaml:"embedder"`
	// Dim is the vector length: the built-in embedder's, and the dimensions asked of hosted models.
	Dim int `yaml:"dim"`
	// BaseURL, Model and APIKey configure a hosted embedder.
	BaseURL string   `yaml:"base_url"`
	Model   string   `yaml:"model"`
	APIKey  string   `yaml:"api_key" secret:"true"`
	Timeout Duration `yaml:"timeout"`
	// DenseWeight is the dense side's weight in hybrid fusion (BM25 weighs 1).
	DenseWeight float64 `yaml:"dense_weight"`
	Milvus      Milvus  `yaml:"milvus"`
}

// Milvus configures the Milvus vector store.
type Milvus struct {
	Address    string `yaml:"address"`
	Collection string `yaml:"collection"`
	Username   string `yaml:"username"`
	Password   string `yaml:"password" secret:"true"`
	Index      string `yaml:"index"` // FLAT, IVF_FLAT or HNSW
}

// Cluster says how the service reaches Kubernetes.
type Cluster struct {
	// Mode is kubeconfig, in-cluster, sandbox or none. Empty means: kubeconfig when Kubeconfig
	// is set, in-cluster when running in a pod, otherwise none.
	Mode string `yaml:"mode"`
	// Kubeconfig is the kubeconfig file for mode kubeconfig.
	Kubeconfig string `yaml:"kubeconfig"`
	// SandboxDir is the sandbox's work folder for mode sandbox (default <repo>/.sandbox).
	SandboxDir string `yaml:"sandbox_dir"`
	// QPS and Burst are the client-side rate limits of the service's own identity.
	QPS   float32 `yaml:"qps"`
	Burst int     `yaml:"burst"`
}

// Cluster modes.
const (
	ClusterKubeconfig = "kubeconfig"
	ClusterInCluster  = "in-cluster"
	ClusterSandbox    = "sandbox"
	ClusterNone       = "none"
)

// ResolvedMode applies the defaulting rule of Mode; inPod says whether the process runs in a pod.
func (c Cluster) ResolvedMode(inPod bool) string {
	switch {
	case c.Mode != "":
		return c.Mode
	case c.Kubeconfig != "":
		return ClusterKubeconfig
	case inPod:
		return ClusterInCluster
	default:
		return ClusterNone
	}
}

// HTTP configures the HTTP server.
type HTTP struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing a response; streaming handlers extend it themselves.
	WriteTimeout Duration `yaml:"write_timeout"`
	IdleTimeout  Duration `yaml:"idle_timeout"`
	// ShutdownTimeout bounds how long in-flight requests may drain after SIGTERM.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// MaxBodyBytes limits request bodies; larger ones get 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// Addr is the listen address.
func (h HTTP) Addr() string { return net.JoinHostPort(h.Host, fmt.Sprint(h.Port)) }

// Log configures the process logger.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or text
}

// Store configures the persistent store.
type Store struct {
	// DSN is sqlite://PATH (default) or postgres://user:pass@host/db?sslmode=... .
	DSN string `yaml:"dsn" secret:"true"`
	// MaxOpenConns bounds the connection pool (PostgreSQL); SQLite uses its own settings.
	MaxOpenConns int `yaml:"max_open_conns"`
}

// Default returns a configuration that runs with nothing configured.
func Default() Config {
	return Config{
		HTTP: HTTP{
			Host:            "127.0.0.1",
			Port:            8080,
			ReadTimeout:     Duration(30 * time.Second),
			WriteTimeout:    Duration(60 * time.Second),
			IdleTimeout:     Duration(120 * time.Second),
			ShutdownTimeout: Duration(25 * time.Second),
			MaxBodyBytes:    4 << 20,
		},
		Log:     Log{Level: "info", Format: "json"},
		Store:   Store{DSN: "sqlite://./data/k8s-manage.db", MaxOpenConns: 10},
		Cluster: Cluster{QPS: 100, Burst: 200},
		Knowledge: Knowledge{DocsRoot: ".", Store: "embedded", Embedder: "builtin", Dim: 1024,
			Timeout: Duration(30 * time.Second), DenseWeight: 0.5,
			Milvus: Milvus{Collection: "k8s_manage_knowledge", Index: "FLAT"}},
		ConfigCenter: ConfigCenter{KeyID: "k1", KeyFile: "./data/config-center.key"},
		Builds:       Builds{RegistryHost: "registry.local", CredentialsSecret: "registry-credentials"},
		Prometheus: Prometheus{Timeout: Duration(5 * time.Second), MaxRange: Duration(7 * 24 * time.Hour), ScrapeInterval: Duration(30 * time.Second),
			TrendRange: Duration(time.Hour), NamespaceLabel: "namespace", PodLabel: "pod"},
		Billing: Billing{Interval: Duration(5 * time.Minute), CoreHour: 0.04, GiBHour: 0.005, StorageGiBMonth: 0.1,
			Plans: map[string]float64{"small": 20, "medium": 60, "large": 200}, Currency: "USD"},
		Agent: Agent{Model: Model{Provider: "builtin", Timeout: Duration(60 * time.Second), MaxRetries: 2},
			ApprovalTTL: Duration(30 * time.Minute), ApproverRole: "operator", MaxSteps: 20, TurnTimeout: Duration(3 * time.Minute), HistoryTokens: 3000},
		Web:      Web{SessionTTL: Duration(12 * time.Hour), Terminal: true},
		Eval:     Eval{Currency: "USD"},
		Slack:    Slack{Mode: "socket"},
		DingTalk: DingTalk{Mode: "stream"},
		Alerts: Alerts{Identity: "alertmanager@k8s-manage.local", Language: "en", RateLimit: 5, RateWindow: Duration(10 * time.Minute),
			Concurrency: 4, Lease: Duration(2 * time.Minute)},
	}
}

// Problem is one invalid or unknown key.
type Problem struct {
	Key     string
	Message string
}

func (p Problem) String() string { return p.Key + ": " + p.Message }

// Problems is every problem found in a configuration; it is the error Load returns.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return fmt.Sprintf("%d configuration problem(s):\n  %s", len(ps), strings.Join(lines, "\n  "))
}

// Validate checks values and returns every problem found.
func (c Config) Validate() Problems {
	var ps Problems
	add := func(key, format string, args ...any) { ps = append(ps, Problem{key, fmt.Sprintf(format, args...)}) }

	if c.HTTP.Host == "" {
		add("http.host", "must not be empty")
	}
	if c.HTTP.Port < 0 || c.HTTP.Port > 65535 {
		add("http.port", "must be between 0 and 65535, got %d", c.HTTP.Port)
	}
	for key, d := range map[string]Duration{
		"http.read_timeout": c.HTTP.ReadTimeout, "http.write_timeout": c.HTTP.WriteTimeout,
		"http.idle_timeout": c.HTTP.IdleTimeout, "http.shutdown_timeout": c.HTTP.ShutdownTimeout,
	} {
		if d <= 0 {
			add(key, "must be a positive duration, got %s", d)
		}
	}
	if c.HTTP.MaxBodyBytes <= 0 {
		add("http.max_body_bytes", "must be positive, got %d", c.HTTP.MaxBodyBytes)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "must be one of debug, info, warn, error; got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		add("log.format", "must be json or text; got %q", c.Log.Format)
	}
	if !strings.HasPrefix(c.Store.DSN, "sqlite://") && !strings.HasPrefix(c.Store.DSN, "postgres://") &&
		!strings.HasPrefix(c.Store.DSN, "postgresql://") {
		// The DSN may hold a password: name the scheme problem without echoing the value.
		add("store.dsn", "must start with sqlite:// or postgres://")
	}
	switch c.Cluster.Mode {
	case "", ClusterKubeconfig, ClusterInCluster, ClusterSandbox, ClusterNone:
	default:
		add("cluster.mode", "must be kubeconfig, in-cluster, sandbox or none; got %q", c.Cluster.Mode)
	}
	if c.Cluster.Mode == ClusterKubeconfig && c.Cluster.Kubeconfig == "" {
		add("cluster.kubeconfig", "is required when cluster.mode is kubeconfig")
	}
	if c.Cluster.QPS <= 0 || c.Cluster.Burst <= 0 {
		add("cluster.qps", "qps and burst must be positive")
	}
	k := c.Knowledge
	switch k.Store {
	case "embedded":
	case "milvus":
		if k.Milvus.Address == "" {
			add("knowledge.milvus.address", "is required when knowledge.store is milvus")
		}
		switch strings.ToUpper(k.Milvus.Index) {
		case "FLAT", "IVF_FLAT", "HNSW":
		default:
			add("knowledge.milvus.index", "must be FLAT, IVF_FLAT or HNSW; got %q", k.Milvus.Index)
		}
	default:
		add("knowledge.store", "must be embedded or milvus; got %q", k.Store)
	}
	switch k.Embedder {
	case "builtin":
	case "openai", "ark", "ollama":
		if k.Model == "" {
			add("knowledge.model", "is required for the %s embedder", k.Embedder)
		}
		if k.Embedder != "ollama" && k.APIKey == "" {
			add("knowledge.api_key", "is required for the %s embedder", k.Embedder)
		}
	default:
		add("knowledge.embedder", "must be builtin, openai, ark or ollama; got %q", k.Embedder)
	}
	if k.Dim < 16 || k.Dim > 8192 {
		add("knowledge.dim", "must be between 16 and 8192, got %d", k.Dim)
	}
	if k.DenseWeight <= 0 {
		add("knowledge.dense_weight", "must be positive, got %g", k.DenseWeight)
	}
	if k.Timeout <= 0 {
		add("knowledge.timeout", "must be a positive duration, got %s", k.Timeout)
	}
	am := c.Agent.Model
	switch am.Provider {
	case "builtin":
	case "openai", "ark", "ollama", "deepseek", "qwen":
		if am.Model == "" {
			add("agent.model.model", "is required for the %s provider", am.Provider)
		}
		if am.Provider != "ollama" && am.APIKey == "" {
			add("agent.model.api_key", "is required for the %s provider", am.Provider)
		}
	default:
		add("agent.model.provider", "must be builtin, openai, ark, ollama, deepseek or qwen; got %q", am.Provider)
	}
	if am.Timeout <= 0 {
		add("agent.model.timeout", "must be a positive duration, got %s", am.Timeout)
	}
	if am.MaxRetries < 0 || am.MaxRetries > 10 {
		add("agent.model.max_retries", "must be between 0 and 10, got %d", am.MaxRetries)
	}
	if c.Agent.ApprovalTTL <= 0 {
		add("agent.approval_ttl", "must be a positive duration, got %s", c.Agent.ApprovalTTL)
	}
	switch c.Agent.ApproverRole {
	case "viewer", "developer", "operator", "admin":
	default:
		add("agent.approver_role", "must be viewer, developer, operator or admin; got %q", c.Agent.ApproverRole)
	}
	for t, r := range c.Agent.ApprovalBypass {
		switch r {
		case "viewer", "developer", "operator", "admin":
		default:
			add("agent.approval_bypass."+t, "must be viewer, developer, operator or admin; got %q", r)
		}
	}
	if c.Agent.MaxSteps < 2 || c.Agent.MaxSteps > 100 {
		add("agent.max_steps", "must be between 2 and 100, got %d", c.Agent.MaxSteps)
	}
	if c.Agent.TurnTimeout < Duration(5*time.Second) {
		add("agent.turn_timeout", "must be at least 5s, got %s", c.Agent.TurnTimeout)
	}
	if c.Agent.HistoryTokens < 200 || c.Agent.HistoryTokens > 100000 {
		add("agent.history_tokens", "must be between 200 and 100000, got %d", c.Agent.HistoryTokens)
	}
	if t := am.Temperature; t != nil && (*t < 0 || *t > 2) {
		add("agent.model.temperature", "must be between 0 and 2, got %g", *t)
	}
	if am.MaxTokens < 0 || am.MaxTokens > 200000 {
		add("agent.model.max_tokens", "must be between 0 (provider default) and 200000, got %d", am.MaxTokens)
	}
	if b := c.Billing.Basis; b != "" && b != "requests" && b != "usage" && b != "max" {
		add("billing.basis", "must be requests, usage or max, got %q", b)
	}
	if u := c.Prometheus.URL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			add("prometheus.url", "must be an http(s) URL such as http://prometheus:9090")
		}
	}
	for key, d := range map[string]Duration{"prometheus.timeout": c.Prometheus.Timeout, "prometheus.max_range": c.Prometheus.MaxRange,
		"prometheus.scrape_interval": c.Prometheus.ScrapeInterval, "prometheus.trend_range": c.Prometheus.TrendRange} {
		if d < Duration(time.Second) {
			add(key, "must be at least 1s, got %s", d)
		}
	}
	if c.Billing.Interval < Duration(time.Second) {
		add("billing.interval", "must be at least 1s, got %s", c.Billing.Interval)
	}
	for key, p := range map[string]float64{"billing.core_hour": c.Billing.CoreHour, "billing.gib_hour": c.Billing.GiBHour,
		"billing.storage_gib_month": c.Billing.StorageGiBMonth} {
		if p < 0 {
			add(key, "must not be negative, got %g", p)
		}
	}
	if c.Store.MaxOpenConns <= 0 {
		add("store.max_open_conns", "must be positive, got %d", c.Store.MaxOpenConns)
	}
	ps = append(ps, c.validateSurfaces()...)
	for name, m := range c.Eval.Models {
		if name == "builtin" || name == "default" {
			add("eval.models."+name, "is a reserved name (builtin is the offline model, default the agent's)")
		}
		switch m.Provider {
		case "builtin", "openai", "ark", "ollama", "deepseek", "qwen":
		default:
			add("eval.models."+name+".provider", "must be builtin, openai, ark, ollama, deepseek or qwen; got %q", m.Provider)
		}
	}
	if c.Web.SessionTTL < Duration(time.Minute) {
		add("web.session_ttl", "must be at least 1m, got %s", c.Web.SessionTTL)
	}
	for i, o := range c.Web.AllowedOrigins {
		if !strings.HasPrefix(o, "https://") && !strings.HasPrefix(o, "http://") || strings.Count(o, "/") != 2 {
			add(fmt.Sprintf("web.allowed_origins[%d]", i), "must be scheme://host[:port] without a path, got %q", o)
		}
	}
	sortProblems(ps)
	return ps
}

// validateSurfaces checks the chat surfaces and the alert routes.
func (c Config) validateSurfaces() Problems {
	var ps Problems
	add := func(key, format string, args ...any) { ps = append(ps, Problem{key, fmt.Sprintf(format, args...)}) }
	if s := c.Slack; s.Enabled {
		if !strings.HasPrefix(s.BotToken, "xoxb-") {
			add("slack.bot_token", "must be a bot token (xoxb-...)")
		}
		switch s.Mode {
		case "socket":
			if !strings.HasPrefix(s.AppToken, "xapp-") {
				add("slack.app_token", "Socket Mode needs an app-level token (xapp-...)")
			}
		case "http":
			if s.SigningSecret == "" {
				add("slack.signing_secret", "is required in http mode")
			}
		default:
			add("slack.mode", "must be socket or http; got %q", s.Mode)
		}
	}
	if d := c.DingTalk; d.Enabled {
		if d.ClientID == "" {
			add("dingtalk.client_id", "is required")
		}
		if d.ClientSecret == "" {
			add("dingtalk.client_secret", "is required")
		}
		if d.Mode != "stream" && d.Mode != "outgoing" {
			add("dingtalk.mode", "must be stream or outgoing; got %q", d.Mode)
		}
	}
	for name, r := range c.DingTalk.Robots {
		if !strings.HasPrefix(r.Webhook, "https://") && !strings.HasPrefix(r.Webhook, "http://") {
			add("dingtalk.robots."+name+".webhook", "must be the robot's URL")
		}
	}
	a := c.Alerts
	if !a.Enabled {
		return ps
	}
	if a.BearerToken == "" && (a.Username == "" || a.Password == "") {
		add("alerts.bearer_token", "set it, or alerts.username and alerts.password: the webhook is not signed")
	}
	if !strings.Contains(a.Identity, "@") {
		add("alerts.identity", "must be an e-mail (the platform user diagnoses run as); got %q", a.Identity)
	}
	if a.Language != "en" && a.Language != "zh" {
		add("alerts.language", "must be en or zh; got %q", a.Language)
	}
	if a.RateLimit <= 0 || a.RateWindow <= 0 || a.Lease <= 0 {
		add("alerts.rate_limit", "rate_limit, rate_window and lease must be positive")
	}
	if a.Concurrency < 0 {
		add("alerts.concurrency", "must not be negative (0: this process only receives), got %d", a.Concurrency)
	}
	// No routes is allowed: alerts are still diagnosed and shown on the console's Alerts page.
	for i, r := range a.Routes {
		key := fmt.Sprintf("alerts.routes[%d]", i)
		if len(r.Slack)+len(r.DingTalk) == 0 {
			add(key, "names no slack channel and no dingtalk robot")
		}
		if len(r.Slack) > 0 && !c.Slack.Enabled {
			add(key+".slack", "slack is not enabled (slack.enabled)")
		}
		for _, name := range r.DingTalk {
			if !c.DingTalk.Enabled {
				add(key+".dingtalk", "dingtalk is not enabled (dingtalk.enabled)")
				break
			}
			if _, ok := c.DingTalk.Robots[name]; !ok {
				add(key+".dingtalk", "robot %q is not in dingtalk.robots", name)
			}
		}
	}
	return ps
}
