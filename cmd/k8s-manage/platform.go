package main

import (
	"context"
	"encoding/json"
	"time"

	"k8s-manage/adapters/alertmanager"
	"k8s-manage/agent/approval"
	"k8s-manage/internal/version"
	"k8s-manage/knowledge/retrieve"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/autoscale"
	"k8s-manage/platform/billing"
	"k8s-manage/platform/build"
	"k8s-manage/platform/catalog"
	pconfig "k8s-manage/platform/config"
	"k8s-manage/platform/diagnose"
	"k8s-manage/platform/envclone"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/metrics"
	"k8s-manage/platform/quota"
	"k8s-manage/platform/tenant"
	"k8s-manage/platform/usage"
	"k8s-manage/platform/vpa"
	"k8s-manage/tools"
)

// platformParts are the platform services, each built once and shared by the tools, the REST
// API, the surfaces and the loops.
type platformParts struct {
	keys      *pconfig.Keyring
	apps      *apps.Service
	catalog   *catalog.Service
	autoscale *autoscale.Service
	quota     *quota.Service
	builds    *build.Service
	config    *pconfig.Service
	clone     *envclone.Service
	bills     *billing.Bills
	usage     *usage.Service
	sizer     *usage.Sizer
	vpa       *vpa.Service
	metrics   *metrics.Client // nil without prometheus.url
	meter     *billing.Meter
	approvals *approval.Store
	owners    *tenant.Owners
}

func (a *app) buildPlatform(context.Context) error {
	cfg, kc := a.cfg, a.kube
	keys, err := keyring(cfg.ConfigCenter, a.log)
	if err != nil {
		return err
	}
	b := cfg.Builds
	usageSvc := usage.NewService(kc)
	p := &platformParts{keys: keys, apps: apps.NewService(kc), catalog: catalog.NewService(kc), autoscale: autoscale.NewService(kc),
		quota: quota.NewService(kc), usage: usageSvc, approvals: approval.New(a.store, nil), owners: tenant.NewOwners(kc.Admin(), tenant.OwnersOptions{}),
		builds: build.NewService(a.store, kc, keys, build.Registry{Host: b.RegistryHost, Project: b.RegistryProject, CredentialsSecret: b.CredentialsSecret}, nil),
		config: pconfig.NewService(a.store, kc, keys, nil), meter: billing.NewMeter(a.store, kc.Admin(), nil).WithUsage(usageSvc),
		bills: billing.NewBills(a.store, billing.Prices{CoreHour: cfg.Billing.CoreHour, GiBHour: cfg.Billing.GiBHour,
			StorageGiBMonth: cfg.Billing.StorageGiBMonth, PlanMonth: cfg.Billing.Plans, Currency: cfg.Billing.Currency, Basis: cfg.Billing.Basis})}
	p.clone = envclone.NewService(kc, p.config)
	p.vpa = vpa.NewService(kc)
	// Right-sizing reads Prometheus where one is configured, else (and where it has no data) the meter.
	var history usage.History = p.bills
	if pc := cfg.Prometheus; pc.URL != "" {
		if p.metrics, err = metrics.New(metrics.Options{URL: pc.URL, Timeout: time.Duration(pc.Timeout), MaxRange: time.Duration(pc.MaxRange),
			ScrapeInterval: time.Duration(pc.ScrapeInterval), TrendRange: time.Duration(pc.TrendRange), NamespaceLabel: pc.NamespaceLabel, PodLabel: pc.PodLabel}); err != nil {
			return err
		}
		history = usage.PrometheusHistory{Metrics: p.metrics, Fallback: p.bills}
	}
	p.sizer = usage.NewSizer(p.usage, p.apps, history, usage.SizerOptions{})
	p.autoscale.WithVPA(p.vpa)
	a.platform = p
	a.alerts = alertmanager.NewQueue(a.store, nil)
	a.http.API().Post("/webhooks/git/{provider}", p.builds.WebhookHandler(a.log, cfg.HTTP.MaxBodyBytes))
	return nil
}

// tools is the one tool registry, over the platform services.
func (p *platformParts) tools(kc *kube.Clients, tenants *tenant.Service, knowledge *retrieve.Retriever) *tools.Registry {
	return tools.NewRegistry(tools.Deps{Kube: kc, Builds: p.builds, Catalog: p.catalog, Clone: p.clone, Apps: p.apps,
		Autoscale: p.autoscale, Quota: p.quota, Tenants: tenants, Knowledge: knowledge, Config: p.config, Bills: p.bills,
		Usage: p.usage, Sizer: p.sizer, VPA: p.vpa, Metrics: p.metrics, Changes: auditChanges{p.approvals}})
}

// auditChanges gives the diagnosis timeline the audit log's changes (approval.Store.Changes).
type auditChanges struct{ store *approval.Store }

func (a auditChanges) Changes(ctx context.Context, tenantName, env string, since time.Time) ([]diagnose.Change, error) {
	cs, err := a.store.Changes(ctx, tenantName, env, since)
	if err != nil {
		return nil, err
	}
	out := make([]diagnose.Change, len(cs))
	for i, c := range cs {
		out[i] = diagnose.Change{At: c.At, Who: c.Who, App: c.App, Kind: c.Kind, What: c.What}
	}
	return out, nil
}

// restTools gives the REST API the registry's reads and previews (reg is its ForAPI view).
type restTools struct{ reg *tools.Registry }

func caller(a tenant.Access) tools.Caller {
	return tools.Caller{User: a.User, Tenant: a.Tenant, Env: a.Env, Role: a.Role}
}

func (t restTools) Read(ctx context.Context, a tenant.Access, name string, args map[string]any) (json.RawMessage, error) {
	if args == nil {
		args = map[string]any{}
	}
	args["tenant"], args["env"] = a.Tenant, a.Env
	b, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	out, err := t.reg.Read(ctx, name, caller(a), string(b))
	return json.RawMessage(out), err
}

func (t restTools) Preview(ctx context.Context, a tenant.Access, name, args string) (json.RawMessage, error) {
	out, err := t.reg.Preview(ctx, name, caller(a), args)
	return json.RawMessage(out), err
}

func (t restTools) Role(name string) (tenant.Role, bool) {
	tl, ok := t.reg.Get(name)
	if !ok {
		return "", false
	}
	return tl.Spec().Role, true
}

func versionString() string { return version.Get().Version }
