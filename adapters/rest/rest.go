// Package rest serves the platform's REST resources under /api/v1: apps, pods, events, logs,
// revisions, autoscaling, builds, the service catalog, config, bills, alerts and tenants.
//
// Every request is authorized once at its entry (membership, role and environment of the
// tenant it names) and the handlers take that Access, never a tenant from the body. Reads run as
// the person, through the same read-only tools as the agent where one exists (so the same
// redaction applies); every write is a prepared tool call sent through the agent's approval
// gate, answered 202 with the pending approval (200 with the diff for dry_run=true, or with the
// result where the tenant lets the caller's role bypass approval).
//
// The package names what it needs as small interfaces; cmd wires the platform services and the
// agent into them. It makes no cluster or database call itself.
package rest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"k8s-manage/adapters/alertmanager"
	"k8s-manage/adapters/web"
	"k8s-manage/agent"
	"k8s-manage/agent/approval"
	"k8s-manage/internal/toolname"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/billing"
	"k8s-manage/platform/build"
	"k8s-manage/platform/catalog"
	pconfig "k8s-manage/platform/config"
	"k8s-manage/platform/tenant"
)

// Tenants authorizes callers and lists members (tenant.Service).
type Tenants interface {
	Authorize(ctx context.Context, tenant, env, user string) (tenant.Access, error)
	Members(ctx context.Context, tenant string) ([]tenant.Member, error)
}

// Tools runs the agent's tools for the API: reads as the caller, and the dry run of a write.
type Tools interface {
	// Read runs a read-only tool as a (authorized already) and returns its JSON.
	Read(ctx context.Context, a tenant.Access, tool string, args map[string]any) (json.RawMessage, error)
	// Preview is a write's server-side dry run.
	Preview(ctx context.Context, a tenant.Access, tool, args string) (json.RawMessage, error)
	// Role is the role a tool needs; false for an unknown tool.
	Role(tool string) (tenant.Role, bool)
}

// Proposer sends a prepared call through the agent's approval gate (agent.Service): a turn
// whose first step is that call, with the same dry-run diff, request, and exactly-once run as
// the person as a call the model chose.
type Proposer interface {
	Propose(ctx context.Context, t agent.Turn, fix agent.Fix) (<-chan agent.Event, error)
}

// Apps reads apps as the person (apps.Service).
type Apps interface {
	List(ctx context.Context, t apps.Target) ([]apps.Summary, error)
	Get(ctx context.Context, t apps.Target, app string) (*apps.Status, error)
	GetConfig(ctx context.Context, t apps.Target, app string) (*apps.Config, error)
	Logs(ctx context.Context, t apps.Target, o apps.LogOptions) (string, io.ReadCloser, error)
}

// Builds reads the build records (build.Service).
type Builds interface {
	Sync(ctx context.Context, tenant, env string) error
	List(ctx context.Context, tenant, env, app string, limit int) ([]*build.Build, error)
	Sources(ctx context.Context, tenant, env string) ([]build.SourceInfo, error)
	Get(ctx context.Context, tenant, env, id string) (*build.Build, error)
}

// Catalog reveals a service instance's credentials (catalog.Service).
type Catalog interface {
	Credentials(ctx context.Context, t apps.Target, name string) (*catalog.Credentials, error)
}

// Config reads the config center (config.Service).
type Config interface {
	Get(ctx context.Context, r pconfig.Ref, reveal bool) ([]pconfig.Item, error)
	Diff(ctx context.Context, r pconfig.Ref, from, to time.Time) ([]pconfig.KeyChange, error)
}

// Bills computes a tenant's bill (billing.Bills).
type Bills interface {
	For(ctx context.Context, tenant string, from, to time.Time) (*billing.Bill, error)
}

// Alerts reads the alert records (alertmanager.Queue).
type Alerts interface {
	Recent(ctx context.Context, tenant string, limit int, cursor string) ([]alertmanager.Record, string, error)
	Record(ctx context.Context, tenant, id string) (*alertmanager.Record, error)
}

// Auditor appends to a tenant's audit log (approval.Store).
type Auditor interface {
	Audit(ctx context.Context, e approval.AuditEntry) error
}

// Options are the API's parts; all are required but Log and Now.
type Options struct {
	Tenants   Tenants
	Directory web.Directory
	Tools     Tools
	Proposer  Proposer
	Apps      Apps
	Builds    Builds
	Catalog   Catalog
	Config    Config
	Bills     Bills
	Alerts    Alerts
	Audit     Auditor
	// Auth resolves the caller (the web surface's token and session auth).
	Auth func(http.Handler) http.Handler
	Log  *slog.Logger
	// Now is the clock (default time.Now): the current bill period.
	Now func() time.Time
}

// API serves the resources.
type API struct{ o Options }

// New builds the API.
func New(o Options) *API {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &API{o: o}
}

// Mount adds the routes to the /api/v1 router.
func (p *API) Mount(api chi.Router) {
	api.Group(func(r chi.Router) {
		r.Use(p.o.Auth)
		r.Get("/tenants", p.listTenants)
		r.Get("/tenants/{tenant}/members", p.members)
		r.Post("/tenants/{tenant}/members", p.setMember)
		r.Get("/tenants/{tenant}/quota", p.quota)

		r.Get("/apps", p.listApps)
		r.Post("/apps", p.createApp)
		r.Get("/apps/{app}", p.getApp)
		r.Put("/apps/{app}", p.updateApp)
		r.Delete("/apps/{app}", p.appWrite(toolname.DeleteApp, nil)) // destructive: always through approval
		r.Post("/apps/{app}/scale", p.appWrite(toolname.ScaleApp, needNumber("replicas")))
		r.Post("/apps/{app}/restart", p.appWrite(toolname.RestartApp, nil))
		r.Post("/apps/{app}/rollback", p.appWrite(toolname.RollbackApp, nil))
		r.Post("/apps/{app}/canary", p.appWrite(toolname.StartCanary, nil))
		r.Post("/apps/{app}/canary/promote", p.appWrite(toolname.PromoteCanary, nil))
		r.Post("/apps/{app}/canary/abort", p.appWrite(toolname.AbortCanary, nil))
		r.Post("/apps/{app}/switch", p.appWrite(toolname.SwitchBlueGreen, nil))
		r.Get("/apps/{app}/revisions", p.appRead(toolname.ListRevisions))
		r.Get("/apps/{app}/pods", p.appRead(toolname.ListPods))
		r.Get("/apps/{app}/events", p.read(toolname.GetEvents, func(r *http.Request) map[string]any { return map[string]any{"object": chi.URLParam(r, "app")} }))
		r.Get("/apps/{app}/logs", p.logs)
		r.Get("/apps/{app}/hpa", p.appRead(toolname.GetHPA))
		r.Get("/apps/{app}/rightsize", p.appRead(toolname.Rightsize))
		r.Get("/apps/{app}/metrics", p.read(toolname.QueryMetrics, func(r *http.Request) map[string]any {
			args := queryArgs("metric", "range")(r)
			args["app"] = chi.URLParam(r, "app")
			return args
		}))
		r.Get("/apps/{app}/vpa", p.appRead(toolname.GetVPA))
		r.Put("/apps/{app}/vpa", p.appWrite(toolname.SetVPA, nil))
		r.Put("/apps/{app}/hpa", p.appWrite(toolname.SetHPA, nil))
		r.Delete("/apps/{app}/hpa", p.appWrite(toolname.DeleteHPA, nil))

		r.Get("/builds", p.listBuilds)
		r.Get("/builds/sources", p.buildSources)
		r.Post("/builds", p.write(toolname.TriggerBuild, tenant.Developer, nil, nil))
		r.Get("/builds/{id}", p.getBuild)
		r.Post("/builds/{id}/deploy", p.deployBuild)

		r.Get("/catalog/plans", p.plans)
		r.Get("/catalog/instances", p.read(toolname.ListServiceInstances, nil))
		r.Post("/catalog/instances", p.write(toolname.ProvisionService, tenant.Operator, nil, nil))
		r.Delete("/catalog/instances/{name}", p.write(toolname.DeleteServiceInstance, tenant.Operator, pathArg("name"), nil)) // destructive
		r.Get("/catalog/instances/{name}/credentials", p.credentials)

		r.Get("/config", p.getConfig)
		r.Get("/config/diff", p.configDiff)
		r.Put("/config/{key}", p.write(toolname.SetConfig, tenant.Developer, pathArg("key"), nil)) // {app, value, secret}
		r.Post("/environments/clone", p.write(toolname.CloneEnvironment, tenant.Admin, nil, nil))

		r.Get("/bills", p.bill)
		r.Get("/usage", p.read(toolname.Top, queryArgs("app", "sort_by", "pods")))

		r.Get("/alerts", p.listAlerts)
		r.Post("/alerts/{id}/fixes/{n}", p.applyFix)
	})
}
