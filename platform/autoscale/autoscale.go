// Package autoscale manages an app's HorizontalPodAutoscaler (autoscaling/v2): CPU and memory
// utilisation targets with min/max replicas, and reports current metrics and conditions,
// including the "missing metrics" state of clusters without a metrics API.
package autoscale

import (
	"context"
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/diff"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/perr"
)

// Service manages HPAs.
type Service struct {
	kube *kube.Clients
	vpa  VPAConflicts
}

// VPAConflicts says why an HPA scaling on resources would fight the app's VerticalPodAutoscaler
// ("" when it would not; vpa.Service.ConflictsWithHPA).
type VPAConflicts interface {
	ConflictsWithHPA(ctx context.Context, t apps.Target, app string, resources []string) (string, error)
}

// NewService builds a Service.
func NewService(clients *kube.Clients) *Service { return &Service{kube: clients} }

// WithVPA makes Set refuse an HPA that would fight the app's VPA.
func (s *Service) WithVPA(v VPAConflicts) *Service { s.vpa = v; return s }

// Spec is the autoscaling policy of an app. Targets of 0 are not used; at least one is needed.
type Spec struct {
	MinReplicas         int32 `json:"min_replicas"`
	MaxReplicas         int32 `json:"max_replicas"`
	CPUTargetPercent    int32 `json:"cpu_target_percent,omitempty"`
	MemoryTargetPercent int32 `json:"memory_target_percent,omitempty"`
}

// Validate checks the spec, naming the field at fault.
func (s Spec) Validate() error {
	switch {
	case s.MinReplicas < 1:
		return perr.Invalidf("min_replicas", "must be at least 1, got %d", s.MinReplicas)
	case s.MaxReplicas < s.MinReplicas:
		return perr.Invalidf("max_replicas", "must be at least min_replicas (%d), got %d", s.MinReplicas, s.MaxReplicas)
	case s.MaxReplicas > 500:
		return perr.Invalidf("max_replicas", "must be at most 500, got %d", s.MaxReplicas)
	case s.CPUTargetPercent == 0 && s.MemoryTargetPercent == 0:
		return perr.Invalidf("cpu_target_percent", "give a CPU or a memory target")
	case s.CPUTargetPercent < 0 || s.CPUTargetPercent > 1000:
		return perr.Invalidf("cpu_target_percent", "must be between 1 and 1000, got %d", s.CPUTargetPercent)
	case s.MemoryTargetPercent < 0 || s.MemoryTargetPercent > 1000:
		return perr.Invalidf("memory_target_percent", "must be between 1 and 1000, got %d", s.MemoryTargetPercent)
	}
	return nil
}

// Status is an HPA as a person reads it.
type Status struct {
	App             string            `json:"app"`
	Spec            Spec              `json:"spec"`
	CurrentReplicas int32             `json:"current_replicas"`
	DesiredReplicas int32             `json:"desired_replicas"`
	Current         map[string]string `json:"current_metrics"` // "cpu": "45%"
	Conditions      []apps.Condition  `json:"conditions"`
	// MissingMetrics is true when the controller cannot read metrics (no metrics API, or the
	// pods lack resource requests), so it cannot scale.
	MissingMetrics bool   `json:"missing_metrics"`
	Note           string `json:"note,omitempty"`
}

func target(t apps.Target) (string, error) {
	if t.Namespace == "" {
		return "", perr.Invalidf("namespace", "is required")
	}
	return t.Namespace, nil
}

func (s Spec) hpa(ns, app, deployment string) *autoscalingv2.HorizontalPodAutoscaler {
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: ns, Labels: map[string]string{apps.LabelApp: app, apps.LabelManagedBy: apps.ManagedBy}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: deployment},
			MinReplicas:    &s.MinReplicas,
			MaxReplicas:    s.MaxReplicas,
		},
	}
	add := func(name corev1.ResourceName, pct int32) {
		if pct > 0 {
			p := pct
			h.Spec.Metrics = append(h.Spec.Metrics, autoscalingv2.MetricSpec{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: name, Target: autoscalingv2.MetricTarget{
					Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &p}},
			})
		}
	}
	add(corev1.ResourceCPU, s.CPUTargetPercent)
	add(corev1.ResourceMemory, s.MemoryTargetPercent)
	return h
}

// Set creates or updates the app's HPA.
func (s *Service) Set(ctx context.Context, t apps.Target, app string, spec Spec, opts apps.WriteOptions) (*apps.Change, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	ns, err := target(t)
	if err != nil {
		return nil, err
	}
	cs, err := s.kube.As(t.As)
	if err != nil {
		return nil, err
	}
	if s.vpa != nil {
		var res []string
		if spec.CPUTargetPercent > 0 {
			res = append(res, "cpu")
		}
		if spec.MemoryTargetPercent > 0 {
			res = append(res, "memory")
		}
		why, err := s.vpa.ConflictsWithHPA(ctx, t, app, res)
		if err != nil {
			return nil, err
		}
		if why != "" {
			return nil, perr.New(perr.Conflict, "%s", why)
		}
	}
	st, err := apps.NewService(s.kube).Get(ctx, t, app)
	if err != nil {
		return nil, err
	}
	deployment := app
	if st.Strategy == apps.BlueGreen {
		deployment = app + "-" + st.BlueGreen.Active
	}
	want := spec.hpa(ns, app, deployment)
	var dry []string
	if opts.DryRun {
		dry = []string{metav1.DryRunAll}
	}
	hpas := cs.AutoscalingV2().HorizontalPodAutoscalers(ns)
	live, err := hpas.Get(ctx, app, metav1.GetOptions{})
	ch := &apps.Change{DryRun: opts.DryRun}
	switch {
	case apierrors.IsNotFound(err):
		res, err := hpas.Create(ctx, want, metav1.CreateOptions{DryRun: dry})
		if err != nil {
			return nil, perr.FromAPI(err, "create autoscaler "+ns+"/"+app)
		}
		d, _ := diff.Objects(nil, res.Spec)
		ch.Objects = []apps.ObjectChange{{Kind: "HorizontalPodAutoscaler", Name: ns + "/" + app, Action: "create", Diff: d}}
	case err != nil:
		return nil, perr.FromAPI(err, "get autoscaler "+ns+"/"+app)
	default:
		// The HPA controller writes the object's status all the time: retry on conflicts with a
		// fresh copy, as Deployment updates do.
		var res *autoscalingv2.HorizontalPodAutoscaler
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			next := live.DeepCopy()
			next.Spec = want.Spec
			var err error
			res, err = hpas.Update(ctx, next, metav1.UpdateOptions{DryRun: dry})
			if apierrors.IsConflict(err) {
				if fresh, gerr := hpas.Get(ctx, app, metav1.GetOptions{}); gerr == nil {
					live = fresh
				}
			}
			return err
		})
		if err != nil {
			return nil, perr.FromAPI(err, "update autoscaler "+ns+"/"+app)
		}
		d, _ := diff.Objects(live.Spec, res.Spec)
		ch.Objects = []apps.ObjectChange{{Kind: "HorizontalPodAutoscaler", Name: ns + "/" + app, Action: "update", Diff: d}}
	}
	ch.Summary = fmt.Sprintf("autoscale %s/%s between %d and %d replicas (%s)", ns, app, spec.MinReplicas, spec.MaxReplicas, spec.targets())
	return ch, nil
}

func (s Spec) targets() string {
	var parts []string
	if s.CPUTargetPercent > 0 {
		parts = append(parts, fmt.Sprintf("CPU %d%%", s.CPUTargetPercent))
	}
	if s.MemoryTargetPercent > 0 {
		parts = append(parts, fmt.Sprintf("memory %d%%", s.MemoryTargetPercent))
	}
	return strings.Join(parts, ", ")
}

// Get reports the app's HPA.
func (s *Service) Get(ctx context.Context, t apps.Target, app string) (*Status, error) {
	ns, err := target(t)
	if err != nil {
		return nil, err
	}
	cs, err := s.kube.As(t.As)
	if err != nil {
		return nil, err
	}
	h, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		return nil, perr.FromAPI(err, "get autoscaler of "+ns+"/"+app)
	}
	st := &Status{App: app, CurrentReplicas: h.Status.CurrentReplicas, DesiredReplicas: h.Status.DesiredReplicas,
		Current: map[string]string{}, Spec: Spec{MaxReplicas: h.Spec.MaxReplicas}}
	if h.Spec.MinReplicas != nil {
		st.Spec.MinReplicas = *h.Spec.MinReplicas
	}
	for _, m := range h.Spec.Metrics {
		if m.Resource == nil || m.Resource.Target.AverageUtilization == nil {
			continue
		}
		switch m.Resource.Name {
		case corev1.ResourceCPU:
			st.Spec.CPUTargetPercent = *m.Resource.Target.AverageUtilization
		case corev1.ResourceMemory:
			st.Spec.MemoryTargetPercent = *m.Resource.Target.AverageUtilization
		}
	}
	for _, m := range h.Status.CurrentMetrics {
		if m.Resource != nil && m.Resource.Current.AverageUtilization != nil {
			st.Current[string(m.Resource.Name)] = fmt.Sprintf("%d%%", *m.Resource.Current.AverageUtilization)
		}
	}
	for _, c := range h.Status.Conditions {
		st.Conditions = append(st.Conditions, apps.Condition{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message})
		if c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse &&
			(strings.Contains(c.Reason, "FailedGetResourceMetric") || strings.Contains(c.Reason, "InvalidMetricSource")) {
			st.MissingMetrics = true
			st.Note = "the autoscaler cannot read metrics (" + c.Reason + "): check that metrics-server runs and the pods have resource requests"
		}
	}
	return st, nil
}

// Delete removes the app's HPA.
func (s *Service) Delete(ctx context.Context, t apps.Target, app string, opts apps.WriteOptions) (*apps.Change, error) {
	ns, err := target(t)
	if err != nil {
		return nil, err
	}
	cs, err := s.kube.As(t.As)
	if err != nil {
		return nil, err
	}
	var dry []string
	if opts.DryRun {
		dry = []string{metav1.DryRunAll}
	}
	if err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Delete(ctx, app, metav1.DeleteOptions{DryRun: dry}); err != nil {
		return nil, perr.FromAPI(err, "delete autoscaler of "+ns+"/"+app)
	}
	return &apps.Change{Summary: fmt.Sprintf("delete the autoscaler of %s/%s (replicas stay as they are)", ns, app), DryRun: opts.DryRun,
		Objects: []apps.ObjectChange{{Kind: "HorizontalPodAutoscaler", Name: ns + "/" + app, Action: "delete"}}}, nil
}
