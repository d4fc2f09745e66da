package tools

import (
	"context"
	"strings"

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
			f.Evidence = append(f.Evidence, "previous container log (tail): "+out.(map[string]any)["log"].(string))
			logs++
		}
	}
	return rep, nil
}
