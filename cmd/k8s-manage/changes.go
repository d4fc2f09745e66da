package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s-manage/agent/approval"
	"k8s-manage/platform/diagnose"
)

// auditChanges gives the diagnosis timeline the audit log's changes that ran (scale, images,
// rollbacks, HPA and quota edits). Config edits come from the config center, which knows the
// value each replaced.
type auditChanges struct{ store *approval.Store }

func (a auditChanges) Changes(ctx context.Context, tenantName, env string, since time.Time) ([]diagnose.Change, error) {
	entries, err := a.store.AuditLog(ctx, tenantName, 500)
	if err != nil {
		return nil, err
	}
	var out []diagnose.Change
	for _, e := range entries {
		if e.Env != env || e.Outcome != "ok" || e.At.Before(since) || (e.Risk != "mutating" && e.Risk != "destructive") ||
			e.Tool == "set_config" || e.Tool == "config_reveal" {
			continue
		}
		var args map[string]any
		_ = json.Unmarshal([]byte(e.Args), &args)
		app, _ := args["app"].(string)
		var parts []string
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range args {
				if k != "app" && k != "tenant" && k != "env" && !yield(k) {
					return
				}
			}
		}) {
			parts = append(parts, fmt.Sprintf("%s=%v", k, args[k]))
		}
		what := strings.TrimSpace(e.Tool + " " + app + " " + strings.Join(parts, " "))
		out = append(out, diagnose.Change{At: e.At, Who: e.User, App: app, Kind: e.Tool, What: what})
	}
	return out, nil
}
