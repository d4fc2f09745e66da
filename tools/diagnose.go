package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s-manage/platform/apps"
)

// Finding is one diagnosed problem, most severe first.
type Finding struct {
	Severity   string         `json:"severity"` // critical, warning, info
	Resource   string         `json:"resource"`
	Reason     string         `json:"reason"`
	Evidence   []string       `json:"evidence"`
	Suggestion string         `json:"suggestion"`
	Tool       string         `json:"suggested_tool,omitempty"`
	Args       map[string]any `json:"suggested_args,omitempty"`
}

// Diagnosis is what the diagnose tool returns.
type Diagnosis struct {
	Scope    string    `json:"scope"`
	Findings []Finding `json:"findings"`
	Summary  string    `json:"summary"`
}

var severityRank = map[string]int{"critical": 0, "warning": 1, "info": 2}

// diagnose looks at pods, their warning events and crashed containers' logs. It is the first
// diagnosis; the full analyzer set (Services, Ingresses, PVCs, HPAs, nodes, jobs, quotas, network
// policies) arrives with platform/diagnose.
func (d Deps) diagnose(ctx context.Context, c Call, app, pod string) (any, error) {
	dg := &Diagnosis{Scope: c.Namespace}
	var pods []apps.PodStatus
	var st *apps.Status
	if app != "" {
		dg.Scope = c.Namespace + "/" + app
		s, err := d.Apps.Get(ctx, d.target(c), app)
		if err != nil {
			return nil, err
		}
		st, pods = s, s.Pods
		if strings.HasPrefix(s.Rollout, "stalled") {
			dg.Findings = append(dg.Findings, Finding{Severity: "critical", Resource: "deployment/" + app, Reason: "rollout stalled (ProgressDeadlineExceeded)",
				Evidence:   []string{fmt.Sprintf("ready %d/%d, updated %d", s.Ready, s.Desired, s.Updated)},
				Suggestion: "the new version's pods do not become ready: fix them or roll back", Tool: "rollback_app", Args: map[string]any{"app": app}})
		}
		for _, p := range s.Problems {
			if strings.HasPrefix(p, "quota exceeded") {
				dg.Findings = append(dg.Findings, Finding{Severity: "critical", Resource: "resourcequota/" + c.Namespace, Reason: "quota exceeded",
					Evidence: []string{p}, Suggestion: "scale something down or ask a tenant admin to raise the quota", Tool: "get_quota", Args: map[string]any{}})
			}
		}
	} else {
		ps, err := d.listPods(ctx, c, "", pod)
		if err != nil {
			return nil, err
		}
		pods = ps.([]apps.PodStatus)
		if pod != "" {
			dg.Scope = c.Namespace + "/" + pod
		}
	}
	events, err := d.listEvents(ctx, c, firstNonEmpty(pod, app))
	if err != nil {
		return nil, err
	}
	for _, p := range pods {
		if p.Reason == "" && (p.Ready || p.Phase == "Succeeded") {
			continue
		}
		f := Finding{Severity: "warning", Resource: "pod/" + p.Name, Reason: firstNonEmpty(p.Reason, "not ready")}
		f.Evidence = append(f.Evidence, fmt.Sprintf("phase %s, ready %v, restarts %d, node %s", p.Phase, p.Ready, p.Restarts, p.Node))
		for _, e := range events {
			if e.Type == "Warning" && e.Object == "pod/"+p.Name && len(f.Evidence) < 4 {
				f.Evidence = append(f.Evidence, fmt.Sprintf("event %s: %s (x%d)", e.Reason, e.Message, e.Count))
			}
		}
		appName := firstNonEmpty(app, strings.Join(strings.Split(p.Name, "-")[:max(1, len(strings.Split(p.Name, "-"))-2)], "-"))
		switch r := p.Reason; {
		case strings.Contains(r, "OOMKilled"):
			f.Severity, f.Reason = "critical", "OOMKilled (exit code 137): the container exceeded its memory limit"
			f.Suggestion = "raise the memory limit or fix the leak; the previous container's log shows what it was doing"
		case strings.Contains(r, "CrashLoopBackOff"):
			f.Severity = "critical"
			f.Suggestion = "the container exits right after starting: read the previous container's log for the error"
			if st != nil && st.Revision > 1 {
				f.Suggestion += "; if the last release caused it, roll back"
				f.Tool, f.Args = "rollback_app", map[string]any{"app": appName}
			}
		case strings.Contains(r, "ImagePullBackOff"), strings.Contains(r, "ErrImagePull"):
			f.Severity = "critical"
			f.Suggestion = "the image cannot be pulled: check the image name and tag, and the registry credentials; or roll back"
			f.Tool, f.Args = "rollback_app", map[string]any{"app": appName}
		case strings.Contains(r, "unschedulable"):
			f.Severity = "critical"
			f.Suggestion = "no node can take the pod: lower its requests, fix node selectors/tolerations, or free capacity"
		case strings.Contains(r, "CreateContainerConfigError"):
			f.Severity = "critical"
			f.Suggestion = "a ConfigMap or Secret the pod references is missing"
		default:
			f.Suggestion = "the pod is running but not ready: check the readiness probe's path and port and the app's log"
		}
		if p.Restarts > 0 {
			if out, err := d.logs(ctx, c, &logArgs{Pod: p.Name, Previous: true, TailLines: 20}); err == nil {
				f.Evidence = append(f.Evidence, "previous container log (tail): "+out.(map[string]any)["log"].(string))
			}
		}
		dg.Findings = append(dg.Findings, f)
	}
	slices.SortStableFunc(dg.Findings, func(a, b Finding) int { return severityRank[a.Severity] - severityRank[b.Severity] })
	if len(dg.Findings) == 0 {
		dg.Summary = fmt.Sprintf("no problems found in %s (%d pods checked)", dg.Scope, len(pods))
	} else {
		dg.Summary = fmt.Sprintf("%d problem(s) in %s; the most severe: %s on %s", len(dg.Findings), dg.Scope, dg.Findings[0].Reason, dg.Findings[0].Resource)
	}
	return dg, nil
}
