package diagnose

import (
	"fmt"
	"slices"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// hpas: missing metrics, missing requests, stuck at max.
func (a *analysis) hpas() {
	for _, h := range a.s.HPAs {
		res := "horizontalpodautoscaler/" + h.Name
		if !a.has(res) {
			continue
		}
		app := a.w.appOf[res]
		ref := h.Spec.ScaleTargetRef
		if _, ok := a.w.tmpl[strings.ToLower(ref.Kind)+"/"+ref.Name]; !ok && (ref.Kind == "Deployment" || ref.Kind == "StatefulSet") {
			msg := ""
			for _, c := range h.Status.Conditions {
				if c.Type == autoscalingv2.AbleToScale && c.Status == corev1.ConditionFalse {
					msg = c.Reason + ": " + truncate(c.Message, 200)
				}
			}
			a.add(Finding{Severity: Warning, Resource: res, App: app, Reason: fmt.Sprintf("scaleTargetRef %s %s does not exist: the autoscaler scales nothing (FailedGetScale)", ref.Kind, ref.Name),
				Evidence: slices.DeleteFunc([]string{msg}, func(s string) bool { return s == "" }), Suggestion: "point scaleTargetRef at the workload's name"})
			continue
		}
		missingReq := a.missingRequests(&h)
		for _, c := range h.Status.Conditions {
			switch {
			case c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse:
				reason := "cannot read metrics (" + c.Reason + "): it does not scale"
				sugg := "check that metrics-server runs"
				if missingReq != "" {
					reason = "missing requests: " + missingReq + " has no resource requests, so utilisation cannot be computed"
					sugg = "set CPU/memory requests on the target's containers"
				}
				a.add(Finding{Severity: Warning, Resource: res, App: app, Reason: reason, Evidence: []string{truncate(c.Message, 200)}, Suggestion: sugg})
			case c.Type == autoscalingv2.ScalingLimited && c.Status == corev1.ConditionTrue && h.Status.CurrentReplicas >= h.Spec.MaxReplicas:
				a.add(Finding{Severity: Warning, Resource: res, App: app, Reason: fmt.Sprintf("at max replicas (%d) and still limited", h.Spec.MaxReplicas),
					Suggestion: "raise max_replicas (and the quota) or make the app cheaper", Action: SetAutoscale,
					Args: map[string]any{"app": app, "max_replicas": h.Spec.MaxReplicas * 2}})
			}
		}
	}
}

func (a *analysis) missingRequests(h *autoscalingv2.HorizontalPodAutoscaler) string {
	for _, d := range a.s.Deployments {
		if d.Name != h.Spec.ScaleTargetRef.Name {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, m := range h.Spec.Metrics {
				if m.Resource == nil {
					continue
				}
				if _, ok := c.Resources.Requests[m.Resource.Name]; !ok {
					return fmt.Sprintf("deployment %s container %s (%s)", d.Name, c.Name, m.Resource.Name)
				}
			}
		}
	}
	return ""
}
