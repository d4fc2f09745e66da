package diff

import (
	"strings"
	"testing"
)

func TestObjects(t *testing.T) {
	type c struct {
		Name  string `json:"name"`
		Image string `json:"image"`
	}
	type spec struct {
		Replicas   int               `json:"replicas"`
		Containers []c               `json:"containers"`
		Labels     map[string]string `json:"labels,omitempty"`
	}
	type obj struct {
		Metadata map[string]any `json:"metadata"`
		Spec     spec           `json:"spec"`
		Status   map[string]any `json:"status"`
	}
	before := obj{Metadata: map[string]any{"resourceVersion": "1"}, Spec: spec{Replicas: 2, Containers: []c{{"app", "nginx:1"}}, Labels: map[string]string{"old": "x"}}, Status: map[string]any{"ready": 2}}
	after := obj{Metadata: map[string]any{"resourceVersion": "2"}, Spec: spec{Replicas: 5, Containers: []c{{"app", "nginx:2"}}, Labels: map[string]string{"new": "y"}}, Status: map[string]any{"ready": 5}}
	got, err := Objects(before, after)
	if err != nil {
		t.Fatal(err)
	}
	want := "- spec.labels.old: x\n+ spec.labels.new: y\n~ spec.containers[app].image: nginx:1 -> nginx:2\n~ spec.replicas: 2 -> 5"
	rendered := Render(got)
	for _, line := range strings.Split(want, "\n") {
		if !strings.Contains(rendered, line) {
			t.Errorf("diff lacks %q:\n%s", line, rendered)
		}
	}
	if strings.Contains(rendered, "resourceVersion") || strings.Contains(rendered, "status") {
		t.Errorf("bookkeeping fields in diff:\n%s", rendered)
	}
	if len(got) != 4 {
		t.Errorf("%d changes, want 4:\n%s", len(got), rendered)
	}
	if none, _ := Objects(before, before); len(none) != 0 {
		t.Errorf("identical objects differ: %v", none)
	}
}
