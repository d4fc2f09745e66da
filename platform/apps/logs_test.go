package apps

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pod(name string, restarts int32) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "app", RestartCount: restarts}}}}
}

// The one rule for whose log to read: the most restarts, then the first name.
func TestPodWorthReading(t *testing.T) {
	for _, tc := range []struct {
		pods []corev1.Pod
		want string
	}{
		{nil, ""},
		{[]corev1.Pod{pod("web-b", 0), pod("web-a", 0)}, "web-a"},
		{[]corev1.Pod{pod("web-a", 1), pod("web-c", 7), pod("web-b", 7)}, "web-b"},
	} {
		got := PodWorthReading(tc.pods)
		if (got == nil) != (tc.want == "") || (got != nil && got.Name != tc.want) {
			t.Errorf("PodWorthReading(%d pods) = %v, want %q", len(tc.pods), got, tc.want)
		}
	}
}

// A pod with nothing to show says why, and what to do.
func TestNoLogsYet(t *testing.T) {
	waiting := pod("web-1", 0)
	waiting.Spec.NodeName = "n1"
	waiting.Status.ContainerStatuses[0].State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
	running := pod("web-2", 0)
	running.Spec.NodeName = "n1"
	running.Spec.Containers = []corev1.Container{{Name: "app"}}
	running.Status.ContainerStatuses[0].State.Running = &corev1.ContainerStateRunning{}
	for _, tc := range []struct {
		name string
		pod  corev1.Pod
		o    LogOptions
		want string
	}{
		{"not scheduled", pod("web-0", 0), LogOptions{}, "not scheduled"},
		{"waiting", waiting, LogOptions{}, "waiting (ContainerCreating)"},
		{"no previous", running, LogOptions{Previous: true}, "no previous log"},
		{"no such container", running, LogOptions{Container: "sidecar"}, "no container sidecar (it has app)"},
		{"running: nothing to explain", running, LogOptions{}, ""},
	} {
		got := noLogsYet(&tc.pod, tc.o)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want it to say %q", tc.name, got, tc.want)
		}
	}
}
