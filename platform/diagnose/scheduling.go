package diagnose

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func schedulingAdvice(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "insufficient cpu"), strings.Contains(m, "insufficient memory"):
		return "no node has room for the pod's requests: lower its CPU/memory requests, run fewer replicas, or add capacity"
	case strings.Contains(m, "node affinity"), strings.Contains(m, "node selector"):
		return "no node has the labels the pod's nodeSelector/affinity asks for: fix the selector"
	case strings.Contains(m, "anti-affinity"):
		return "the pods must run on different nodes (required anti-affinity) and every eligible node already runs one: run no more replicas than nodes, make the rule preferred instead of required, or add nodes"
	case strings.Contains(m, "topology spread"):
		return "the topology spread constraint cannot be met with the nodes there are: relax maxSkew or whenUnsatisfiable: ScheduleAnyway, or add nodes in the missing zone"
	case strings.Contains(m, "taint"):
		return "the nodes carry taints the pod does not tolerate: add a toleration or use other nodes"
	case strings.Contains(m, "persistentvolumeclaim"):
		return "the pod waits for its volume: see the PVC finding"
	default:
		return "read the scheduler's message above"
	}
}

// unschedulable explains a Pending pod from its PodScheduled condition and the scheduler's
// events: which predicate failed (node selector or affinity, pod (anti-)affinity, taints,
// insufficient resources, topology spread, volumes), naming the pod's own terms.
func (a *analysis) unschedulable(p *corev1.Pod, res string, ev []string) (Finding, bool) {
	msg := ""
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			msg = c.Message
		}
	}
	if msg == "" {
		for _, e := range ev {
			if m, ok := strings.CutPrefix(e, "event FailedScheduling: "); ok {
				msg = m
			}
		}
	}
	if msg == "" {
		return Finding{}, false
	}
	m := strings.ToLower(msg)
	var why []string
	symptom := false
	switch {
	case strings.Contains(m, "persistentvolumeclaim") || strings.Contains(m, "volume node affinity") || strings.Contains(m, "unbound"):
		why = append(why, "waiting for its volume (PersistentVolumeClaim)")
		symptom = true // the PVC's own finding (or the reference check) names why
	}
	if strings.Contains(m, "node affinity/selector") || strings.Contains(m, "node selector") || strings.Contains(m, "didn't match pod's node affinity") {
		why = append(why, "node affinity/selector: "+a.nodeTerms(p))
	}
	if strings.Contains(m, "anti-affinity") {
		why = append(why, "pod anti-affinity: "+antiAffinityTerms(p))
	} else if strings.Contains(m, "pod affinity") {
		why = append(why, "pod affinity: no node runs the pods it must be next to")
	}
	if strings.Contains(m, "taint") {
		why = append(why, "untolerated taints: the nodes carry taints the pod does not tolerate")
	}
	for _, r := range []string{"cpu", "memory", "ephemeral-storage", "pods"} {
		if strings.Contains(m, "insufficient "+r) || strings.Contains(m, "too many pods") && r == "pods" {
			why = append(why, fmt.Sprintf("insufficient %s: no node has room for the pod's requests (%s)", r, requests(p, r)))
		}
	}
	if strings.Contains(m, "topology spread") {
		why = append(why, "topology spread constraints cannot be met")
	}
	reason := "unschedulable (FailedScheduling): " + truncate(msg, 300)
	if len(why) > 0 {
		reason = "unschedulable (FailedScheduling), " + strings.Join(why, "; ") + ": " + truncate(msg, 300)
	}
	return Finding{Severity: Critical, Resource: res, Reason: reason, Evidence: ev, Suggestion: schedulingAdvice(msg), symptom: symptom}, true
}

// nodeTerms names the pod's nodeSelector and required node affinity, and how many nodes match.
func (a *analysis) nodeTerms(p *corev1.Pod) string {
	var terms []string
	if len(p.Spec.NodeSelector) > 0 {
		sel := labels.SelectorFromSet(p.Spec.NodeSelector)
		n := 0
		for _, node := range a.s.Nodes {
			if sel.Matches(labels.Set(node.Labels)) {
				n++
			}
		}
		t := "nodeSelector " + sel.String()
		if a.s.Nodes != nil {
			t += fmt.Sprintf(" matches %d of %d nodes", n, len(a.s.Nodes))
		}
		terms = append(terms, t)
	}
	if af := p.Spec.Affinity; af != nil && af.NodeAffinity != nil && af.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, t := range af.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, e := range t.MatchExpressions {
				terms = append(terms, fmt.Sprintf("required node affinity %s %s %s", e.Key, e.Operator, strings.Join(e.Values, ",")))
			}
		}
	}
	if len(terms) == 0 {
		return "no node has the labels the pod asks for"
	}
	return strings.Join(terms, "; ")
}

func antiAffinityTerms(p *corev1.Pod) string {
	if af := p.Spec.Affinity; af != nil && af.PodAntiAffinity != nil {
		for _, t := range af.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			sel := "its own pods"
			if t.LabelSelector != nil {
				sel = labels.Set(t.LabelSelector.MatchLabels).String()
			}
			return fmt.Sprintf("required one per %s for %s, and every such node already runs one", t.TopologyKey, sel)
		}
	}
	return "its required anti-affinity rules leave no node"
}

func requests(p *corev1.Pod, r string) string {
	var out []string
	for _, c := range p.Spec.Containers {
		if q, ok := c.Resources.Requests[corev1.ResourceName(r)]; ok {
			out = append(out, c.Name+" requests "+q.String())
		}
	}
	if len(out) == 0 {
		return "no requests set"
	}
	return strings.Join(out, ", ")
}
