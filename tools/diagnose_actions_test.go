package tools

import (
	"testing"

	"k8s-manage/platform/diagnose"
)

// Every action a diagnosis can suggest maps to a tool of the catalog, so a proposed fix can run.
func TestEveryDiagnosisActionHasATool(t *testing.T) {
	r := NewRegistry(Deps{})
	for _, a := range []diagnose.Action{diagnose.Rollback, diagnose.ReadLogs, diagnose.ShowQuota, diagnose.SetAutoscale, diagnose.RestoreValue} {
		name := toolFor(a)
		if _, ok := r.Get(name); name == "" || !ok {
			t.Errorf("action %s maps to %q, which is not a tool", a, name)
		}
	}
	if toolFor("") != "" {
		t.Error("no action maps to no tool")
	}
}
