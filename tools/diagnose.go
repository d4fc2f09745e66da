package tools

import (
	"context"
	"strings"

	"k8s-manage/internal/textutil"
	"k8s-manage/platform/diagnose"
	"k8s-manage/platform/tenant"
)

// diagnose runs the platform's analyzers as the caller and adds the end of the previous
// container's log to the first crash findings.
func (d Deps) diagnose(ctx context.Context, c Call, app, pod string) (any, error) {
	cs, err := d.Kube.As(tenant.Identity(c.User))
	if err != nil {
		return nil, err
	}
	rep, err := diagnose.New(d.Kube.Admin()).Run(ctx, cs, diagnose.Scope{Namespace: c.Namespace, App: app, Pod: pod})
	if err != nil {
		return nil, err
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
