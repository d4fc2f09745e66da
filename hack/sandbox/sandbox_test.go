package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"k8s-manage/hack/sandbox"
	"k8s-manage/hack/sandbox/sandboxtest"
)

func faultPod(ns, name, fault string, ann map[string]string) *corev1.Pod {
	a := map[string]string{}
	if fault != "" {
		a[sandbox.FaultAnnotation] = fault
	}
	for k, v := range ann {
		a[k] = v
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: a},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/team/app:1.0"}}},
	}
}

func TestNodesAreRealistic(t *testing.T) {
	env := sandboxtest.Start(t)
	nodes, err := env.Client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) < 3 {
		t.Fatalf("%d nodes, want >= 3", len(nodes.Items))
	}
	for _, n := range nodes.Items {
		cpu := n.Status.Allocatable[corev1.ResourceCPU]
		if cpu.MilliValue() != 3800 {
			t.Errorf("node %s allocatable cpu = %s, want 3800m", n.Name, cpu.String())
		}
	}
}

func TestFaultInjection(t *testing.T) {
	env := sandboxtest.Start(t)
	ctx := context.Background()
	ns := env.Namespace(t, "faults", nil)

	tests := []struct {
		name  string
		fault string
		ann   map[string]string
		check func(p *corev1.Pod) bool
	}{
		{"crashloop", sandbox.FaultCrashLoop, map[string]string{sandbox.ExitCodeAnnotation: "3"}, func(p *corev1.Pod) bool {
			cs := p.Status.ContainerStatuses
			return len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "CrashLoopBackOff" &&
				cs[0].RestartCount >= 2 && cs[0].LastTerminationState.Terminated != nil &&
				cs[0].LastTerminationState.Terminated.ExitCode == 3
		}},
		{"oom", sandbox.FaultOOM, nil, func(p *corev1.Pod) bool {
			cs := p.Status.ContainerStatuses
			return len(cs) == 1 && cs[0].LastTerminationState.Terminated != nil &&
				cs[0].LastTerminationState.Terminated.Reason == "OOMKilled" && cs[0].LastTerminationState.Terminated.ExitCode == 137
		}},
		{"imagepull", sandbox.FaultImagePull, nil, func(p *corev1.Pod) bool {
			cs := p.Status.ContainerStatuses
			return p.Status.Phase == corev1.PodPending && len(cs) == 1 && cs[0].State.Waiting != nil &&
				cs[0].State.Waiting.Reason == "ImagePullBackOff" && strings.Contains(cs[0].State.Waiting.Message, "registry.example.com/team/app:1.0")
		}},
		{"unready", sandbox.FaultUnready, nil, func(p *corev1.Pod) bool {
			if p.Status.Phase != corev1.PodRunning {
				return false
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady {
					return c.Status == corev1.ConditionFalse
				}
			}
			return false
		}},
		{"healthy", "", nil, func(p *corev1.Pod) bool {
			cs := p.Status.ContainerStatuses
			return p.Status.Phase == corev1.PodRunning && len(cs) == 1 && cs[0].Ready
		}},
	}
	t.Run("pods", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				pods := env.Client.CoreV1().Pods(ns)
				if _, err := pods.Create(ctx, faultPod(ns, tc.name, tc.fault, tc.ann), metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				var last *corev1.Pod
				err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 45*time.Second, true, func(ctx context.Context) (bool, error) {
					p, err := pods.Get(ctx, tc.name, metav1.GetOptions{})
					if err != nil {
						return false, err
					}
					last = p
					return tc.check(p), nil
				})
				if err != nil {
					t.Fatalf("pod never showed the %s fault: %v\nstatus: %+v", tc.name, err, last.Status)
				}
			})
		}
	})

	t.Run("events", func(t *testing.T) {
		// The fault stages emit the Warning events a kubelet would (checked after the pods above ran).
		want := map[string]string{"crashloop": "BackOff", "unready": "Unhealthy", "imagepull": "Failed"}
		for pod, reason := range want {
			evs, err := env.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range evs.Items {
				found = found || (e.Reason == reason && e.Type == corev1.EventTypeWarning)
			}
			if !found {
				t.Errorf("pod %s has no Warning %s event", pod, reason)
			}
		}
	})
}

func TestChosenLogs(t *testing.T) {
	env := sandboxtest.Start(t)
	ctx := context.Background()
	ns := env.Namespace(t, "logs", nil)
	pods := env.Client.CoreV1().Pods(ns)
	if _, err := pods.Create(ctx, faultPod(ns, "api", "", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := env.Sandbox.SetLogs(ctx, ns, "api", "app",
		[]string{"starting", "ERROR connection refused: db:5432"}, []string{"panic: nil map"}); err != nil {
		t.Fatal(err)
	}
	var got, prev string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		b, err := pods.GetLogs("api", &corev1.PodLogOptions{Container: "app"}).DoRaw(ctx)
		if err != nil {
			return false, nil
		}
		pb, err := pods.GetLogs("api", &corev1.PodLogOptions{Container: "app", Previous: true}).DoRaw(ctx)
		if err != nil {
			return false, nil
		}
		got, prev = string(b), string(pb)
		return true, nil
	})
	if err != nil {
		t.Fatalf("logs never served: %v", err)
	}
	if got != "starting\nERROR connection refused: db:5432\n" || prev != "panic: nil map\n" {
		t.Fatalf("logs = %q, previous = %q", got, prev)
	}
}

// Down leaves no component running: a second, throwaway sandbox is started and stopped, and every
// process it had is gone when Down returns (kube-apiserver used to outlive kwokctl's delete).
func TestDownStopsEveryComponent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane of its own: runs in the full tier (make test), not under -short")
	}
	sb, err := sandbox.New(sandbox.Options{WorkDir: t.TempDir(), Name: "downtest", Nodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := sb.Up(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := sb.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A component that died (a controller manager that lost its lease, a machine restart) makes
	// the sandbox broken though its API server answers: Up, in the same process that used the old
	// cluster, replaces it (new certificates) and reaches it.
	for _, c := range st.Components {
		if !c.Running {
			t.Fatalf("component %s is not running after Up", c.Name)
		}
		if c.Name == "kube-controller-manager" {
			_ = syscall.Kill(c.PID, syscall.SIGKILL)
		}
	}
	if _, err := sb.Up(ctx); err != nil {
		t.Fatalf("Up over a killed sandbox: %v", err)
	}
	if st, err = sb.Status(ctx); err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, c := range st.Components {
		if !c.Running {
			t.Fatalf("component %s is not running after the second Up", c.Name)
		}
		pids = append(pids, c.PID)
	}
	if err := sb.Down(ctx); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(cmd), "downtest") {
				t.Errorf("pid %d still runs after Down: %s", pid, strings.ReplaceAll(string(cmd), "\x00", " ")[:80])
			}
		}
	}
	if st, err := sb.Status(ctx); err != nil || st.Exists {
		t.Fatalf("status after Down: %+v %v", st, err)
	}
}
