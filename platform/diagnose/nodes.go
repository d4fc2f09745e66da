package diagnose

import (
	"cmp"

	corev1 "k8s.io/api/core/v1"
)

// nodes: NotReady and pressure, for the nodes this namespace's pods run on.
func (a *analysis) nodes() {
	used := map[string]bool{}
	for _, p := range a.s.Pods {
		if a.has("pod/"+p.Name) && p.Spec.NodeName != "" {
			used[p.Spec.NodeName] = true
		}
	}
	if a.scoped() && len(used) == 0 {
		return // the asked resource runs on no node
	}
	for _, n := range a.s.Nodes {
		if len(used) > 0 && !used[n.Name] {
			continue
		}
		for _, c := range n.Status.Conditions {
			switch {
			case c.Type == corev1.NodeReady && c.Status != corev1.ConditionTrue:
				a.add(Finding{Severity: Critical, Resource: "node/" + n.Name, Reason: "node NotReady: " + cmp.Or(c.Reason, "kubelet stopped reporting"),
					Evidence: []string{truncate(c.Message, 200)}, Suggestion: "its pods are evicted after a grace period; keep replicas >= 2 spread over nodes; the platform team repairs the node"})
			case (c.Type == corev1.NodeMemoryPressure || c.Type == corev1.NodeDiskPressure || c.Type == corev1.NodePIDPressure) && c.Status == corev1.ConditionTrue:
				a.add(Finding{Severity: Warning, Resource: "node/" + n.Name, Reason: string(c.Type) + ": the node is evicting pods",
					Suggestion: "set requests close to real use; bound local disk writes"})
			}
		}
	}
}
