// Package vpa manages an app's VerticalPodAutoscaler (autoscaling.k8s.io/v1), where the
// cluster has the VPA's CRD: its update mode and bounds, and the recommender's recommendations.
// A VPA and an HPA that both act on CPU (or memory) for one app fight each other, so that pairing
// is refused from either side. Calls impersonate the person; clusters without the CRD answer
// that it is missing.
package vpa

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/diff"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/perr"
)

// GVR is the VerticalPodAutoscaler resource.
var GVR = schema.GroupVersionResource{Group: "autoscaling.k8s.io", Version: "v1", Resource: "verticalpodautoscalers"}

// Modes are the update modes a VPA takes.
var Modes = []string{"Off", "Initial", "Recreate", "InPlaceOrRecreate"}

// ErrNotInstalled is wrapped when the cluster has no VerticalPodAutoscaler CRD.
var ErrNotInstalled = errors.New("the VerticalPodAutoscaler CRD (autoscaling.k8s.io/v1) is not installed in this cluster: install the Vertical Pod Autoscaler to use get_vpa and set_vpa")

// Service manages VPAs.
type Service struct{ kube *kube.Clients }

// NewService builds a Service.
func NewService(clients *kube.Clients) *Service { return &Service{kube: clients} }

// Spec is an app's VPA policy: the update mode and, optionally, bounds per container.
type Spec struct {
	Mode       string `json:"update_mode"`
	MinCPU     string `json:"min_cpu,omitempty"`
	MaxCPU     string `json:"max_cpu,omitempty"`
	MinMemory  string `json:"min_memory,omitempty"`
	MaxMemory  string `json:"max_memory,omitempty"`
	Controlled string `json:"controlled_resources,omitempty"` // "cpu", "memory" or "" (both)
}

// Validate checks the spec, naming the field at fault.
func (s Spec) Validate() error {
	if !slices.Contains(Modes, s.Mode) {
		return perr.Invalidf("update_mode", "must be one of %s, got %q", strings.Join(Modes, ", "), s.Mode)
	}
	if s.Controlled != "" && s.Controlled != "cpu" && s.Controlled != "memory" {
		return perr.Invalidf("controlled_resources", "must be cpu, memory or empty (both), got %q", s.Controlled)
	}
	for field, v := range map[string]string{"min_cpu": s.MinCPU, "max_cpu": s.MaxCPU, "min_memory": s.MinMemory, "max_memory": s.MaxMemory} {
		if v == "" {
			continue
		}
		if _, err := resource.ParseQuantity(v); err != nil {
			return perr.Invalidf(field, "%q is not a quantity (e.g. 100m, 256Mi)", v)
		}
	}
	return nil
}

// controls says which resources the VPA acts on.
func (s Spec) controls() []string {
	if s.Controlled != "" {
		return []string{s.Controlled}
	}
	return []string{"cpu", "memory"}
}

// Recommendation is the recommender's target for one container, with its bounds.
type Recommendation struct {
	Container  string            `json:"container"`
	Target     map[string]string `json:"target"`
	LowerBound map[string]string `json:"lower_bound,omitempty"`
	UpperBound map[string]string `json:"upper_bound,omitempty"`
}

// Status is an app's VPA as a person reads it.
type Status struct {
	App             string           `json:"app"`
	Spec            Spec             `json:"spec"`
	Recommendations []Recommendation `json:"recommendations"`
	Conditions      []apps.Condition `json:"conditions,omitempty"`
	// Note says why there is no recommendation yet.
	Note string `json:"note,omitempty"`
}

func (s *Service) client(t apps.Target) (dynamic.ResourceInterface, error) {
	if t.Namespace == "" {
		return nil, perr.Invalidf("namespace", "is required")
	}
	cfg, err := s.kube.RESTConfigAs(t.As)
	if err != nil {
		return nil, err
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("vpa: client: %w", err)
	}
	return dc.Resource(GVR).Namespace(t.Namespace), nil
}

// apiError maps a VPA API error: a missing resource type is ErrNotInstalled.
func apiError(err error, what string) error {
	if apierrors.IsNotFound(err) && isNoType(err) {
		return perr.New(perr.Unavailable, "%s: %v", what, ErrNotInstalled)
	}
	return perr.FromAPI(err, what)
}

// isNoType says a NotFound is about the resource type (the CRD is missing), not an object.
func isNoType(err error) bool {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		return false
	}
	d := se.Status().Details
	return d == nil || d.Name == ""
}

// Installed says whether the cluster serves the VPA resource.
func (s *Service) Installed() bool {
	_, err := s.kube.Admin().Discovery().ServerResourcesForGroupVersion(GVR.GroupVersion().String())
	return err == nil
}

// Get reports the app's VPA.
func (s *Service) Get(ctx context.Context, t apps.Target, app string) (*Status, error) {
	if !s.Installed() {
		return nil, perr.New(perr.Unavailable, "%v", ErrNotInstalled)
	}
	rc, err := s.client(t)
	if err != nil {
		return nil, err
	}
	u, err := rc.Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		return nil, apiError(err, "get the vertical autoscaler of "+t.Namespace+"/"+app)
	}
	return statusOf(app, u), nil
}

func statusOf(app string, u *unstructured.Unstructured) *Status {
	st := &Status{App: app, Recommendations: []Recommendation{}}
	st.Spec.Mode, _, _ = unstructured.NestedString(u.Object, "spec", "updatePolicy", "updateMode")
	if pols, _, _ := unstructured.NestedSlice(u.Object, "spec", "resourcePolicy", "containerPolicies"); len(pols) > 0 {
		p, _ := pols[0].(map[string]any)
		st.Spec.MinCPU, _, _ = unstructured.NestedString(p, "minAllowed", "cpu")
		st.Spec.MinMemory, _, _ = unstructured.NestedString(p, "minAllowed", "memory")
		st.Spec.MaxCPU, _, _ = unstructured.NestedString(p, "maxAllowed", "cpu")
		st.Spec.MaxMemory, _, _ = unstructured.NestedString(p, "maxAllowed", "memory")
		if cr, _, _ := unstructured.NestedStringSlice(p, "controlledResources"); len(cr) == 1 {
			st.Spec.Controlled = strings.ToLower(cr[0])
		}
	}
	recs, _, _ := unstructured.NestedSlice(u.Object, "status", "recommendation", "containerRecommendations")
	for _, r := range recs {
		m, _ := r.(map[string]any)
		name, _, _ := unstructured.NestedString(m, "containerName")
		target, _, _ := unstructured.NestedStringMap(m, "target")
		lower, _, _ := unstructured.NestedStringMap(m, "lowerBound")
		upper, _, _ := unstructured.NestedStringMap(m, "upperBound")
		st.Recommendations = append(st.Recommendations, Recommendation{Container: name, Target: target, LowerBound: lower, UpperBound: upper})
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		st.Conditions = append(st.Conditions, apps.Condition{Type: str(m["type"]), Status: str(m["status"]), Reason: str(m["reason"]), Message: str(m["message"])})
	}
	if len(st.Recommendations) == 0 {
		st.Note = "no recommendation yet: the VPA recommender has not processed this app (it needs the recommender running and some minutes of usage)"
	}
	return st
}

func str(v any) string { s, _ := v.(string); return s }

// Set creates or updates the app's VPA. It is refused when an HPA of the app scales on a
// resource the VPA would control (unless the mode is Off: recommendations only).
func (s *Service) Set(ctx context.Context, t apps.Target, app string, spec Spec, opts apps.WriteOptions) (*apps.Change, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if !s.Installed() {
		return nil, perr.New(perr.Unavailable, "%v", ErrNotInstalled)
	}
	cs, err := s.kube.As(t.As)
	if err != nil {
		return nil, err
	}
	if spec.Mode != "Off" {
		if h, err := cs.AutoscalingV2().HorizontalPodAutoscalers(t.Namespace).Get(ctx, app, metav1.GetOptions{}); err == nil {
			if res := overlap(h, spec.controls()); res != "" {
				return nil, perr.New(perr.Conflict, "app %s has an HPA that scales on %s; a VPA that also acts on %s would fight it (the HPA adds pods as usage per request rises while the VPA raises the request). Use update_mode Off for recommendations only, controlled_resources memory, or remove the HPA", app, res, res)
			}
		} else if !apierrors.IsNotFound(err) {
			return nil, perr.FromAPI(err, "read the autoscaler of "+t.Namespace+"/"+app)
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
	rc, err := s.client(t)
	if err != nil {
		return nil, err
	}
	want := spec.object(t.Namespace, app, deployment)
	var dry []string
	if opts.DryRun {
		dry = []string{metav1.DryRunAll}
	}
	ch := &apps.Change{DryRun: opts.DryRun, Summary: fmt.Sprintf("vertical autoscaler of %s/%s: mode %s", t.Namespace, app, spec.Mode)}
	live, err := rc.Get(ctx, app, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		res, err := rc.Create(ctx, want, metav1.CreateOptions{DryRun: dry})
		if err != nil {
			return nil, apiError(err, "create the vertical autoscaler of "+t.Namespace+"/"+app)
		}
		d, _ := diff.Objects(nil, res.Object["spec"])
		ch.Objects = []apps.ObjectChange{{Kind: "VerticalPodAutoscaler", Name: t.Namespace + "/" + app, Action: "create", Diff: d}}
	case err != nil:
		return nil, apiError(err, "get the vertical autoscaler of "+t.Namespace+"/"+app)
	default:
		var res *unstructured.Unstructured
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			next := live.DeepCopy()
			next.Object["spec"] = want.Object["spec"]
			var err error
			res, err = rc.Update(ctx, next, metav1.UpdateOptions{DryRun: dry})
			if apierrors.IsConflict(err) {
				if fresh, gerr := rc.Get(ctx, app, metav1.GetOptions{}); gerr == nil {
					live = fresh
				}
			}
			return err
		})
		if err != nil {
			return nil, apiError(err, "update the vertical autoscaler of "+t.Namespace+"/"+app)
		}
		d, _ := diff.Objects(live.Object["spec"], res.Object["spec"])
		ch.Objects = []apps.ObjectChange{{Kind: "VerticalPodAutoscaler", Name: t.Namespace + "/" + app, Action: "update", Diff: d}}
	}
	return ch, nil
}

// overlap is the resource both the HPA scales on and the VPA would control ("" when none).
func overlap(h *autoscalingv2.HorizontalPodAutoscaler, controls []string) string {
	for _, m := range h.Spec.Metrics {
		if m.Resource != nil && slices.Contains(controls, string(m.Resource.Name)) {
			return string(m.Resource.Name)
		}
		if m.ContainerResource != nil && slices.Contains(controls, string(m.ContainerResource.Name)) {
			return string(m.ContainerResource.Name)
		}
	}
	return ""
}

// ConflictsWithHPA says why an HPA scaling on resources would fight the app's VPA ("" when it
// would not, or there is none): for the HPA's own check.
func (s *Service) ConflictsWithHPA(ctx context.Context, t apps.Target, app string, resources []string) (string, error) {
	if !s.Installed() {
		return "", nil
	}
	rc, err := s.client(t)
	if err != nil {
		return "", err
	}
	u, err := rc.Get(ctx, app, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", apiError(err, "get the vertical autoscaler of "+t.Namespace+"/"+app)
	}
	st := statusOf(app, u)
	if st.Spec.Mode == "Off" {
		return "", nil
	}
	for _, r := range resources {
		if slices.Contains(st.Spec.controls(), r) {
			return fmt.Sprintf("app %s has a VPA in mode %s that controls %s; an HPA that also scales on %s would fight it. Set the VPA's update_mode to Off or controlled_resources to the other resource first", app, st.Spec.Mode, r, r), nil
		}
	}
	return "", nil
}

// Delete removes the app's VPA.
func (s *Service) Delete(ctx context.Context, t apps.Target, app string, opts apps.WriteOptions) (*apps.Change, error) {
	rc, err := s.client(t)
	if err != nil {
		return nil, err
	}
	var dry []string
	if opts.DryRun {
		dry = []string{metav1.DryRunAll}
	}
	if err := rc.Delete(ctx, app, metav1.DeleteOptions{DryRun: dry}); err != nil {
		return nil, apiError(err, "delete the vertical autoscaler of "+t.Namespace+"/"+app)
	}
	return &apps.Change{DryRun: opts.DryRun, Summary: fmt.Sprintf("delete the vertical autoscaler of %s/%s", t.Namespace, app),
		Objects: []apps.ObjectChange{{Kind: "VerticalPodAutoscaler", Name: t.Namespace + "/" + app, Action: "delete"}}}, nil
}

func (s Spec) object(ns, app, deployment string) *unstructured.Unstructured {
	policy := map[string]any{"containerName": "*"}
	if s.Controlled != "" {
		policy["controlledResources"] = []any{s.Controlled}
	}
	bound := func(cpu, mem string) map[string]any {
		m := map[string]any{}
		if cpu != "" {
			m["cpu"] = cpu
		}
		if mem != "" {
			m["memory"] = mem
		}
		return m
	}
	if b := bound(s.MinCPU, s.MinMemory); len(b) > 0 {
		policy["minAllowed"] = b
	}
	if b := bound(s.MaxCPU, s.MaxMemory); len(b) > 0 {
		policy["maxAllowed"] = b
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": GVR.GroupVersion().String(), "kind": "VerticalPodAutoscaler",
		"metadata": map[string]any{"name": app, "namespace": ns, "labels": map[string]any{apps.LabelApp: app, apps.LabelManagedBy: apps.ManagedBy}},
		"spec": map[string]any{
			"targetRef":      map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
			"updatePolicy":   map[string]any{"updateMode": s.Mode},
			"resourcePolicy": map[string]any{"containerPolicies": []any{policy}},
		},
	}}
}
