package diagnose

import (
	"fmt"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// networkPolicies: policies that select pods and allow them no ingress at all.
func (a *analysis) networkPolicies() {
	for _, np := range a.s.NetworkPolicies {
		if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) || len(np.Spec.Ingress) > 0 {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			continue
		}
		res := "networkpolicy/" + np.Name
		if !a.has(res) {
			continue
		}
		var apps []string
		n := 0
		for _, p := range a.s.Pods {
			if sel.Matches(labels.Set(p.Labels)) && p.DeletionTimestamp == nil {
				n++
				if app := a.w.appOf["pod/"+p.Name]; !slices.Contains(apps, app) {
					apps = append(apps, app)
				}
			}
		}
		if n == 0 {
			continue
		}
		slices.Sort(apps)
		a.add(Finding{Severity: Critical, Resource: res, App: apps[0],
			Reason:     fmt.Sprintf("NetworkPolicy %s denies all ingress to the %d pod(s) it selects (%s): nothing can connect to them", np.Name, n, strings.Join(apps, ", ")),
			Suggestion: "add ingress rules for the callers (same tenant, ingress controller) or narrow its podSelector"})
	}
}
