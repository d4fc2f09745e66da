package approval

import (
	"testing"
	"time"
)

func TestChangesOf(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	entries := []AuditEntry{
		{At: now, User: "dev@x", Env: "dev", Tool: "scale_app", Risk: "mutating", Outcome: "ok", Args: `{"app":"web","replicas":3,"tenant":"t","env":"dev"}`},
		{At: now, Env: "dev", Tool: "set_quota", Risk: "mutating", Outcome: "ok", Args: `{"cpu":"4","memory":"8Gi"}`},
		{At: now, Env: "prod", Tool: "scale_app", Risk: "mutating", Outcome: "ok", Args: `{"app":"web"}`},
		{At: now, Env: "dev", Tool: "scale_app", Risk: "mutating", Outcome: "error", Args: `{"app":"web"}`},
		{At: now, Env: "dev", Tool: "get_app", Risk: "read-only", Outcome: "ok", Args: `{"app":"web"}`},
		{At: now, Env: "dev", Tool: "set_config", Risk: "mutating", Outcome: "ok", Args: `{"app":"web"}`},
		{At: now.Add(-2 * time.Hour), Env: "dev", Tool: "delete_app", Risk: "destructive", Outcome: "ok", Args: `{"app":"old"}`},
	}
	got := changesOf(entries, "dev", now.Add(-time.Hour))
	want := []Change{
		{At: now, Who: "dev@x", App: "web", Kind: "scale_app", What: "scale_app web replicas=3"},
		{At: now, Kind: "set_quota", What: "set_quota  cpu=4 memory=8Gi"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d changes %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
