package tools

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s-manage/internal/textutil"
	"k8s-manage/internal/toolname"
	pconfig "k8s-manage/platform/config"
	"k8s-manage/platform/diagnose"
	"k8s-manage/platform/tenant"
)

// changeWindow is how far back the diagnosis timeline reads the platform's changes.
const changeWindow = 24 * time.Hour

// diagnose runs the platform's analyzers as the caller on one snapshot of the namespace, with
// the platform's own record of recent changes (config versions, the audit log) for the
// timeline, and adds the end of the previous container's log to the first crash findings.
func (d Deps) diagnose(ctx context.Context, c Call, scope diagnose.Scope) (any, error) {
	cs, err := d.Kube.As(tenant.Identity(c.User))
	if err != nil {
		return nil, err
	}
	snap, err := diagnose.New(d.Kube.Admin()).Snapshot(ctx, cs, c.Namespace)
	if err != nil {
		return nil, err
	}
	snap.Changes = d.changes(ctx, c)
	snap.Usage = d.containerUsage(ctx, c)
	scope.Namespace = c.Namespace
	snap.Trends = d.trends(ctx, c, snap, scope)
	rep := diagnose.Analyze(snap, scope)
	for i := range rep.Findings {
		f := &rep.Findings[i]
		f.Tool = toolFor(f.Action)
		if f.LikelyChange != nil {
			f.LikelyChange.Tool = toolFor(f.LikelyChange.Action)
		}
	}
	logs := 0
	for i := range rep.Findings {
		f := &rep.Findings[i]
		name, isPod := strings.CutPrefix(f.Resource, "pod/")
		if !isPod || logs == 2 || !(strings.Contains(f.Reason, "CrashLoopBackOff") || strings.Contains(f.Reason, "OOMKilled")) {
			continue
		}
		if out, err := d.logs(ctx, c, &logArgs{Pod: name, Previous: true, TailLines: 20}); err == nil {
			body, _ := textutil.Unquote("log", out.(map[string]any)["log"].(string))
			f.Evidence = append(f.Evidence, "previous container log (tail):\n"+body)
			logs++
		}
	}
	// Evidence quotes the cluster (event messages, logs, container messages): data for the
	// model, each item in its own block, capped.
	for i := range rep.Findings {
		for j, e := range rep.Findings[i].Evidence {
			e, _ = textutil.CapTail(Redact(e), maxEvidenceBytes)
			rep.Findings[i].Evidence[j] = textutil.Quote("evidence", e)
		}
	}
	return rep, nil
}

// containerUsage is the namespace's usage for the diagnosis, read with its own short timeout: a
// slow or absent metrics API leaves the usage checks out, never the diagnosis.
func (d Deps) containerUsage(ctx context.Context, c Call) map[string]map[string]diagnose.ContainerUsage {
	if d.Usage == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	used, err := d.Usage.Containers(ctx, d.target(c))
	if err != nil {
		return nil
	}
	out := make(map[string]map[string]diagnose.ContainerUsage, len(used))
	for pod, cs := range used {
		m := make(map[string]diagnose.ContainerUsage, len(cs))
		for name, a := range cs {
			m[name] = diagnose.ContainerUsage{CPUMilli: a.CPUMilli, MemoryBytes: a.MemoryBytes}
		}
		out[pod] = m
	}
	return out
}

// maxTrendApps caps how many apps a namespace-wide diagnosis reads trends for.
const maxTrendApps = 8

// trends are the apps' restarts, 5xx ratio and p95 latency over time (Prometheus, where one is
// configured), read with the metrics client's own timeout: a slow or absent Prometheus leaves the
// trend checks out, never the diagnosis. They are read for the apps in the diagnosis' scope (the
// first maxTrendApps of a namespace).
func (d Deps) trends(ctx context.Context, c Call, snap *diagnose.Snapshot, scope diagnose.Scope) map[string]map[string][]diagnose.Sample {
	if d.Metrics == nil {
		return nil
	}
	names := diagnose.Apps(snap, scope)
	names = names[:min(len(names), maxTrendApps)]
	got := make([]map[string][]diagnose.Sample, len(names))
	var wg sync.WaitGroup
	for i, app := range names {
		wg.Go(func() {
			got[i] = map[string][]diagnose.Sample{}
			for q, ps := range d.Metrics.Trends(ctx, c.Namespace, app) {
				ss := make([]diagnose.Sample, len(ps))
				for j, p := range ps {
					ss[j] = diagnose.Sample{T: p.T, V: p.V}
				}
				got[i][q] = ss
			}
		})
	}
	wg.Wait()
	out := make(map[string]map[string][]diagnose.Sample, len(names))
	for i, app := range names {
		out[app] = got[i]
	}
	return out
}

// changes are the environment's recent config versions and audited changes; a source that
// fails is left out (the analyzers still run), never fatal.
func (d Deps) changes(ctx context.Context, c Call) []diagnose.Change {
	since := time.Now().Add(-changeWindow)
	var out []diagnose.Change
	if d.Config != nil {
		vs, _ := d.Config.Since(ctx, c.Tenant, c.Env, since)
		for _, v := range vs {
			out = append(out, configChange(v))
		}
	}
	if d.Changes != nil {
		cs, _ := d.Changes.Changes(ctx, c.Tenant, c.Env, since)
		out = append(out, cs...)
	}
	return out
}

func configChange(v pconfig.Version) diagnose.Change {
	ch := diagnose.Change{At: v.UpdatedAt, Who: v.Author, App: v.App, Kind: "config"}
	switch {
	case v.Deleted:
		ch.What = fmt.Sprintf("config %s of %s deleted (version %d)", v.Key, v.App, v.Version)
	case v.Secret:
		ch.What = fmt.Sprintf("secret config %s of %s changed (version %d)", v.Key, v.App, v.Version)
	case v.HadPrevious:
		ch.What = fmt.Sprintf("config %s of %s changed from %q to %q (version %d)", v.Key, v.App, textutil.Truncate(v.Previous, 60), textutil.Truncate(v.Value, 60), v.Version)
	default:
		ch.What = fmt.Sprintf("config %s of %s set to %q (version %d)", v.Key, v.App, textutil.Truncate(v.Value, 60), v.Version)
	}
	if v.HadPrevious && !v.Secret { // the revert: the value it replaced, through approval
		ch.Action, ch.Args = diagnose.RestoreValue, map[string]any{"app": v.App, "key": v.Key, "value": v.Previous}
	}
	return ch
}

// toolFor names the tool that carries out a diagnosis' suggested action ("" for none).
func toolFor(a diagnose.Action) string {
	switch a {
	case diagnose.Rollback:
		return toolname.RollbackApp
	case diagnose.ReadLogs:
		return toolname.GetPodLogs
	case diagnose.ShowQuota:
		return toolname.GetQuota
	case diagnose.SetAutoscale:
		return toolname.SetHPA
	case diagnose.RestoreValue:
		return toolname.SetConfig
	default:
		return ""
	}
}
