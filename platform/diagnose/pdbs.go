package diagnose

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// pdbs: budgets that allow no disruption (node drains hang) or select no pods.
func (a *analysis) pdbs() {
	for _, p := range a.s.PDBs {
		res := "poddisruptionbudget/" + p.Name
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || !a.has(res) {
			continue
		}
		app, n := "", 0
		for _, pod := range a.s.Pods {
			if sel.Matches(labels.Set(pod.Labels)) {
				n++
				app = a.w.appOf["pod/"+pod.Name]
			}
		}
		switch {
		case n == 0:
			a.add(Finding{Severity: Info, Resource: res, Reason: "selects no pods: it protects nothing", Suggestion: "fix its selector or delete it"})
		case p.Status.DisruptionsAllowed == 0 && p.Status.ExpectedPods > 0:
			a.add(Finding{Severity: Warning, Resource: res, App: app, Reason: fmt.Sprintf("allows no disruption (%d/%d healthy): node drains and upgrades will hang", p.Status.CurrentHealthy, p.Status.ExpectedPods),
				Suggestion: "run more replicas than minAvailable, or lower minAvailable / raise maxUnavailable"})
		}
	}
}
