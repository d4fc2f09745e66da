package approval

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s-manage/internal/toolname"
)

// Change is a change that ran, as the audit log recorded it: for the diagnosis timeline.
type Change struct {
	At   time.Time
	Who  string
	App  string // empty: the whole environment (a quota)
	Kind string // the tool that made it
	What string // "scale_app web replicas=3"
}

// Changes returns the changes that ran in a tenant environment since a time, newest first:
// mutating and destructive calls whose outcome was ok. Config edits are left out (the config
// center knows the value each replaced), and so are reveals.
func (s *Store) Changes(ctx context.Context, tenant, env string, since time.Time) ([]Change, error) {
	entries, err := s.AuditLog(ctx, tenant, 500)
	if err != nil {
		return nil, err
	}
	return changesOf(entries, env, since), nil
}

func changesOf(entries []AuditEntry, env string, since time.Time) []Change {
	var out []Change
	for _, e := range entries {
		if e.Env != env || e.Outcome != "ok" || e.At.Before(since) || (e.Risk != "mutating" && e.Risk != "destructive") ||
			e.Tool == toolname.SetConfig || e.Tool == "config_reveal" {
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
		out = append(out, Change{At: e.At, Who: e.User, App: app, Kind: e.Tool, What: what})
	}
	return out
}
