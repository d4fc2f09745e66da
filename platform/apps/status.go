package apps

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"k8s-manage/platform/perr"
)

// checkQuota refuses adding pods that the namespace's ResourceQuotas cannot hold, naming each
// resource that would be exceeded. Containers without requests or limits are counted with the
// namespace's LimitRange defaults, as admission would.
func checkQuota(ctx context.Context, cs kubernetes.Interface, ns string, ps *corev1.PodSpec, addPods int32) error {
	quotas, err := cs.CoreV1().ResourceQuotas(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsForbidden(err) {
			return nil // the API server's own quota admission still applies
		}
		return perr.FromAPI(err, "read quota of "+ns)
	}
	if len(quotas.Items) == 0 {
		return nil
	}
	defReq, defLim := corev1.ResourceList{}, corev1.ResourceList{}
	if lrs, err := cs.CoreV1().LimitRanges(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, lr := range lrs.Items {
			for _, item := range lr.Spec.Limits {
				if item.Type == corev1.LimitTypeContainer {
					for k, v := range item.DefaultRequest {
						defReq[k] = v
					}
					for k, v := range item.Default {
						defLim[k] = v
					}
				}
			}
		}
	}
	perPod := corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(1, resource.DecimalSI)}
	addTo := func(name corev1.ResourceName, q resource.Quantity) {
		cur := perPod[name]
		cur.Add(q)
		perPod[name] = cur
	}
	for _, c := range ps.Containers {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			lim, hasLim := c.Resources.Limits[r]
			if !hasLim {
				lim, hasLim = defLim[r]
			}
			req, hasReq := c.Resources.Requests[r]
			if !hasReq {
				if c.Resources.Limits[r] != (resource.Quantity{}) {
					req, hasReq = c.Resources.Limits[r], true // requests default to explicit limits
				} else {
					req, hasReq = defReq[r]
				}
			}
			if hasReq {
				addTo("requests."+r, req)
				addTo(r, req)
			}
			if hasLim {
				addTo("limits."+r, lim)
			}
		}
	}
	var exceeded []string
	var detail []string
	for _, q := range quotas.Items {
		for name, hard := range q.Status.Hard {
			each, ok := perPod[name]
			if !ok {
				continue
			}
			need := each.DeepCopy()
			need.Mul(int64(addPods))
			used := q.Status.Used[name]
			total := used.DeepCopy()
			total.Add(need)
			if total.Cmp(hard) > 0 && !slices.Contains(exceeded, string(name)) {
				exceeded = append(exceeded, string(name))
				detail = append(detail, fmt.Sprintf("%s: used %s + requested %s > limit %s", name, used.String(), need.String(), hard.String()))
			}
		}
	}
	if len(exceeded) == 0 {
		return nil
	}
	slices.Sort(exceeded)
	slices.Sort(detail)
	return &perr.Error{Kind: perr.QuotaExceeded, Resources: exceeded,
		Message: fmt.Sprintf("quota exceeded in %s for %s (%s); ask a tenant admin to raise the quota or scale something else down",
			ns, strings.Join(exceeded, ", "), strings.Join(detail, "; "))}
}

// Status is an app's state as a person wants to see it.
type Status struct {
	Name       string           `json:"name"`
	Namespace  string           `json:"namespace"`
	Strategy   string           `json:"strategy"`
	Image      string           `json:"image"`
	Desired    int32            `json:"desired"`
	Ready      int32            `json:"ready"`
	Updated    int32            `json:"updated"`
	Available  int32            `json:"available"`
	Rollout    string           `json:"rollout"` // complete, progressing, stalled (ProgressDeadlineExceeded), paused
	Revision   int64            `json:"revision"`
	Conditions []Condition      `json:"conditions"`
	Pods       []PodStatus      `json:"pods"`
	Canary     *CanaryStatus    `json:"canary,omitempty"`
	BlueGreen  *BlueGreenStatus `json:"blue_green,omitempty"`
	// Problems are findings a person should act on (quota exceeded, crash loops, ...).
	Problems []string `json:"problems,omitempty"`
}

// Condition is a Deployment condition.
type Condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// PodStatus is one pod of the app.
type PodStatus struct {
	Name     string `json:"name"`
	Phase    string `json:"phase"`
	Ready    bool   `json:"ready"`
	Restarts int32  `json:"restarts"`
	Reason   string `json:"reason,omitempty"` // e.g. CrashLoopBackOff, ImagePullBackOff, OOMKilled
	Node     string `json:"node,omitempty"`
	Image    string `json:"image"`
	Track    string `json:"track,omitempty"`
	Slot     string `json:"slot,omitempty"`
}

// CanaryStatus describes a running canary.
type CanaryStatus struct {
	Image          string `json:"image"`
	Replicas       int32  `json:"replicas"`
	Ready          int32  `json:"ready"`
	StableReplicas int32  `json:"stable_replicas"`
	WeightPercent  int    `json:"weight_percent"`
}

// BlueGreenStatus describes the slots of a blue-green app.
type BlueGreenStatus struct {
	Active      string `json:"active"`
	ActiveImage string `json:"active_image"`
	ActiveReady int32  `json:"active_ready"`
	Idle        string `json:"idle"`
	IdleImage   string `json:"idle_image"`
	IdleReady   int32  `json:"idle_ready"`
}

// Get returns the app's status: replicas, rollout progress, conditions, pods, canary or slots.
func (s *Service) Get(ctx context.Context, t Target, app string) (*Status, error) {
	cs, err := s.client(t)
	if err != nil {
		return nil, err
	}
	ns := t.Namespace
	d, strategy, err := primary(ctx, cs, ns, app)
	if err != nil {
		return nil, err
	}
	st := &Status{Name: app, Namespace: ns, Strategy: strategy, Desired: deref(d.Spec.Replicas),
		Ready: d.Status.ReadyReplicas, Updated: d.Status.UpdatedReplicas, Available: d.Status.AvailableReplicas,
		Image: image(&d.Spec.Template.Spec)}
	st.Revision, _ = strconv.ParseInt(d.Annotations["deployment.kubernetes.io/revision"], 10, 64)
	st.Rollout = rolloutState(d)
	for _, c := range d.Status.Conditions {
		st.Conditions = append(st.Conditions, Condition{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message})
		if c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue {
			st.Problems = append(st.Problems, replicaFailure(c.Message))
		}
	}
	if strategy == BlueGreen {
		active := d.Labels[LabelSlot]
		bg := &BlueGreenStatus{Active: active, ActiveImage: st.Image, ActiveReady: d.Status.ReadyReplicas, Idle: otherSlot(active)}
		if idle, err := cs.AppsV1().Deployments(ns).Get(ctx, slotName(app, bg.Idle), metav1.GetOptions{}); err == nil {
			bg.IdleImage, bg.IdleReady = image(&idle.Spec.Template.Spec), idle.Status.ReadyReplicas
		}
		st.BlueGreen = bg
	}
	if c, err := cs.AppsV1().Deployments(ns).Get(ctx, canaryName(app), metav1.GetOptions{}); err == nil {
		w, _ := strconv.Atoi(c.Annotations[AnnCanaryWeight])
		st.Canary = &CanaryStatus{Image: image(&c.Spec.Template.Spec), Replicas: deref(c.Spec.Replicas),
			Ready: c.Status.ReadyReplicas, StableReplicas: st.Desired, WeightPercent: w}
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{LabelApp: app}.String()})
	if err != nil {
		return nil, perr.FromAPI(err, "list pods of "+app)
	}
	for _, p := range pods.Items {
		ps := podStatus(&p)
		st.Pods = append(st.Pods, ps)
		if ps.Reason != "" {
			st.Problems = append(st.Problems, fmt.Sprintf("pod %s: %s (restarts %d)", p.Name, ps.Reason, ps.Restarts))
		}
	}
	slices.SortFunc(st.Pods, func(a, b PodStatus) int { return strings.Compare(a.Name, b.Name) })
	return st, nil
}

func replicaFailure(msg string) string {
	if strings.Contains(msg, "exceeded quota") {
		return fmt.Sprintf("quota exceeded for %s: %s", strings.Join(perr.QuotaMessageResources(msg), ", "), msg)
	}
	return "cannot create pods: " + msg
}

func rolloutState(d *appsv1.Deployment) string {
	if d.Spec.Paused {
		return "paused"
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing {
			if c.Reason == "ProgressDeadlineExceeded" {
				return "stalled (ProgressDeadlineExceeded)"
			}
		}
	}
	want := deref(d.Spec.Replicas)
	if d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == want &&
		d.Status.Replicas == want && d.Status.AvailableReplicas == want {
		return "complete"
	}
	return "progressing"
}

func podStatus(p *corev1.Pod) PodStatus {
	ps := PodStatus{Name: p.Name, Phase: string(p.Status.Phase), Node: p.Spec.NodeName,
		Image: image(&p.Spec), Track: p.Labels[LabelTrack], Slot: p.Labels[LabelSlot]}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			ps.Ready = c.Status == corev1.ConditionTrue
		}
	}
	for _, c := range p.Status.ContainerStatuses {
		ps.Restarts += c.RestartCount
		switch {
		case c.State.Waiting != nil && c.State.Waiting.Reason != "" && c.State.Waiting.Reason != "ContainerCreating":
			ps.Reason = c.State.Waiting.Reason
			if t := c.LastTerminationState.Terminated; t != nil {
				ps.Reason += fmt.Sprintf(", last exit %d %s", t.ExitCode, t.Reason)
			}
		case c.State.Terminated != nil && c.State.Terminated.ExitCode != 0:
			ps.Reason = fmt.Sprintf("terminated, exit %d %s", c.State.Terminated.ExitCode, c.State.Terminated.Reason)
		}
	}
	if p.Status.Phase == corev1.PodPending && ps.Reason == "" {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				ps.Reason = "unschedulable: " + c.Message
			}
		}
	}
	return ps
}

func image(ps *corev1.PodSpec) string {
	if len(ps.Containers) == 0 {
		return ""
	}
	return ps.Containers[0].Image
}

// PodSummary is a pod as status reports it (phase, readiness, restarts, failure reason).
func PodSummary(p *corev1.Pod) PodStatus { return podStatus(p) }
