package apps

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/platform/perr"
)

// LogOptions say whose log to read: an app's (its pod most worth reading) or a named pod's,
// which must then belong to the app when one is given.
type LogOptions struct {
	App, Pod, Container string
	// Previous reads the last terminated container (a crash's output).
	Previous bool
	// Follow keeps the stream open for new lines.
	Follow bool
	// TailLines is how many last lines (0: the whole log).
	TailLines int64
	// SinceSeconds keeps only lines from the last N seconds (0: no limit).
	SinceSeconds int64
}

// Logs opens a container's log as the person and returns the pod read. Without a pod, the app's
// pod with the most restarts is read (the first by name on a tie), since that is the one a
// person looking at logs is after. A pod with nothing to show yet (its container has not
// started) is a NotFound that says so, not the API server's bare refusal.
func (s *Service) Logs(ctx context.Context, t Target, o LogOptions) (string, io.ReadCloser, error) {
	cs, err := s.client(t)
	if err != nil {
		return "", nil, err
	}
	pods := cs.CoreV1().Pods(t.Namespace)
	var po *corev1.Pod
	switch {
	case o.Pod != "":
		po, err = pods.Get(ctx, o.Pod, metav1.GetOptions{})
		if err != nil {
			return "", nil, perr.FromAPI(err, "get pod "+o.Pod)
		}
		if o.App != "" && po.Labels[LabelApp] != o.App {
			return "", nil, perr.Invalidf("pod", "%s is not a pod of app %s", o.Pod, o.App)
		}
	case o.App != "":
		list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: LabelApp + "=" + o.App})
		if err != nil {
			return "", nil, perr.FromAPI(err, "list pods of "+o.App)
		}
		if po = PodWorthReading(list.Items); po == nil {
			return "", nil, perr.New(perr.NotFound, "app %s has no pods in %s: is it scaled to 0, or not created yet?", o.App, t.Namespace)
		}
	default:
		return "", nil, perr.Invalidf("app", "give an app or a pod")
	}
	opts := &corev1.PodLogOptions{Container: o.Container, Previous: o.Previous, Follow: o.Follow}
	if o.TailLines > 0 {
		opts.TailLines = &o.TailLines
	}
	if o.SinceSeconds > 0 {
		opts.SinceSeconds = &o.SinceSeconds
	}
	rc, err := pods.GetLogs(po.Name, opts).Stream(ctx)
	if err != nil {
		if why := noLogsYet(po, o); why != "" {
			return po.Name, nil, perr.New(perr.NotFound, "pod %s has no logs yet: %s", po.Name, why)
		}
		e := perr.FromAPI(err, "read logs of pod "+po.Name)
		if k := perr.KindOf(e); k == perr.Invalid || k == perr.Internal {
			// The kubelet's refusal of a log it does not have reads "the server rejected our
			// request for an unknown reason": say what it means and what to do.
			return po.Name, nil, &perr.Error{Kind: perr.NotFound, Err: err, Message: fmt.Sprintf(
				"pod %s has no log to show: its node returned none (%v). A container that has not written anything yet has no log; "+
					"try again later, or read the pod's events", po.Name, err)}
		}
		return po.Name, nil, e
	}
	return po.Name, rc, nil
}

// PodWorthReading is the pod whose log a person most likely wants: the most restarts, then the
// first by name. Nil for none.
func PodWorthReading(pods []corev1.Pod) *corev1.Pod {
	if len(pods) == 0 {
		return nil
	}
	sorted := slices.Clone(pods)
	slices.SortStableFunc(sorted, func(a, b corev1.Pod) int {
		if ra, rb := restartCount(&a), restartCount(&b); ra != rb {
			return int(rb - ra)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return &sorted[0]
}

func restartCount(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n += s.RestartCount
	}
	return n
}

// noLogsYet says why a pod has no log to show, or "" when its state does not explain it.
func noLogsYet(po *corev1.Pod, o LogOptions) string {
	if po.Spec.NodeName == "" {
		return "it is not scheduled on a node yet (see its events); logs appear once its container starts"
	}
	statuses := po.Status.ContainerStatuses
	if len(statuses) == 0 {
		return fmt.Sprintf("it is %s and no container has started; logs appear once one does", strings.ToLower(cmp.Or(string(po.Status.Phase), "Pending")))
	}
	for _, cs := range statuses {
		if o.Container != "" && cs.Name != o.Container {
			continue
		}
		if o.Previous && cs.LastTerminationState.Terminated == nil {
			return fmt.Sprintf("container %s has not restarted, so there is no previous log; read the current one", cs.Name)
		}
		if w := cs.State.Waiting; w != nil && cs.State.Running == nil && cs.LastTerminationState.Terminated == nil {
			return fmt.Sprintf("container %s is waiting (%s) and has not started; logs appear once it runs", cs.Name, w.Reason)
		}
		if o.Container != "" || len(statuses) == 1 {
			return ""
		}
	}
	if o.Container != "" {
		var names []string
		for _, c := range po.Spec.Containers {
			names = append(names, c.Name)
		}
		return fmt.Sprintf("it has no container %s (it has %s)", o.Container, strings.Join(names, ", "))
	}
	return ""
}
