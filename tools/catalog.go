package tools

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/cloudwego/eino/components/retriever"

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
	"k8s-manage/platform/perr"
	"k8s-manage/platform/quota"
	"k8s-manage/platform/tenant"
	"k8s-manage/platform/usage"
	"k8s-manage/platform/vpa"
)

// Deps are the platform and knowledge services the catalog wraps.
type Deps struct {
	Kube      *kube.Clients
	Apps      *apps.Service
	Autoscale *autoscale.Service
	Quota     *quota.Service
	Tenants   *tenant.Service
	// Knowledge answers search_knowledge (the hybrid retriever).
	Knowledge retriever.Retriever
	// Config is the config center (nil: get_config and set_config are not available).
	Config *pconfig.Service
	// Bills prices the metering ledger (nil: get_bill is not available).
	Bills *billing.Bills
	// Builds runs builds (nil: build tools are not available).
	Builds *build.Service
	// Catalog provisions service instances (nil: catalog tools are not available).
	Catalog *catalog.Service
	// Usage reads the metrics API (nil: top is not available).
	Usage *usage.Service
	// Metrics answers named queries over a Prometheus HTTP API (nil: query_metrics is not available).
	Metrics *metrics.Client
	// VPA manages VerticalPodAutoscalers (nil: get_vpa and set_vpa are not available).
	VPA *vpa.Service
	// Sizer right-sizes apps from the metering history (nil: rightsize is not available).
	Sizer *usage.Sizer
	// Clone copies environments (nil: clone_environment is not available).
	Clone *envclone.Service
	// WaitReady bounds how long a change to an app waits for its rollout to settle before the
	// result is reported (0 means 45s; negative does not wait).
	WaitReady time.Duration
	// MaxResultBytes caps every tool result the model sees (0 means 12 KiB).
	MaxResultBytes int
	// Changes is the platform's record of who changed what (the audit log), for the diagnosis
	// timeline (nil: rollouts and config versions only).
	Changes ChangeLog
}

// ChangeLog reads the changes made in a tenant environment since a time (the audit log's
// mutating calls that ran).
type ChangeLog interface {
	Changes(ctx context.Context, tenant, env string, since time.Time) ([]diagnose.Change, error)
}

// Where later issues bring the platform part of a tool.
const (
	laterBuilds  = "builds are not configured in this server"
	laterBilling = "billing is not configured in this server"
	laterConfig  = "the config center is not configured in this server"
	laterCatalog = "the service catalog is not configured in this server"
	laterEnv     = "environment cloning is not configured in this server"
)

// NewRegistry builds the catalog from its domains: apps, observe, config, builds, service
// catalog, members.
func NewRegistry(d Deps) *Registry {
	ts := slices.Concat(d.appTools(), d.observeTools(), d.configTools(), d.buildTools(), d.serviceTools(), d.memberTools(), d.usageTools())
	r := &Registry{tools: ts, byID: map[string]*Tool{}, authz: d.Tenants, maxResult: d.MaxResultBytes}
	if r.maxResult <= 0 {
		r.maxResult = 12 << 10
	}
	for _, t := range ts {
		r.byID[t.spec.Name] = t
	}
	return r
}

// unless marks tools unavailable (with why) when their platform part is not wired.
func unless(wired bool, why string, ts ...*Tool) []*Tool {
	if !wired {
		for _, t := range ts {
			t.spec.Unavailable = why
		}
	}
	return ts
}

func (d Deps) target(c Call) apps.Target {
	return apps.Target{As: tenant.Identity(c.User), Namespace: c.Namespace}
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return perr.Invalidf(field, "is required")
	}
	return nil
}

func wopts(dry bool) apps.WriteOptions { return apps.WriteOptions{DryRun: dry} }
