package diagnose

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// services: selectors matching nothing, no ready endpoints, target ports no container exposes.
func (a *analysis) services() {
	for _, svc := range a.s.Services {
		res := "service/" + svc.Name
		if svc.Spec.Type == corev1.ServiceTypeExternalName || len(svc.Spec.Selector) == 0 || !a.has(res) {
			continue
		}
		app := a.w.appOf[res]
		pods := a.podsMatching(svc.Spec.Selector)
		if len(pods) == 0 {
			if wl := a.w.selected(svc.Spec.Selector); len(wl) > 0 { // its workload has no pods: that workload's finding is the cause
				a.add(Finding{Severity: Warning, Resource: res, App: app, Reason: "no endpoints: " + wl[0] + " has no pods",
					Suggestion: "see the workload's finding", symptom: true})
				continue
			}
			a.add(Finding{Severity: Critical, Resource: res, App: app,
				Reason:     fmt.Sprintf("selector %s matches no pods: the service has no endpoints", labels.Set(svc.Spec.Selector).String()),
				Evidence:   a.nearSelector(svc.Spec.Selector),
				Suggestion: "fix the service's selector or the pods' labels so they match (or the app was scaled to 0)"})
			continue
		}
		ready := 0
		for _, es := range a.s.EndpointSlices {
			if es.Labels["kubernetes.io/service-name"] != svc.Name {
				continue
			}
			for _, e := range es.Endpoints {
				if e.Conditions.Ready == nil || *e.Conditions.Ready {
					ready++
				}
			}
		}
		if ready == 0 && anyReady(pods) == 0 {
			a.add(Finding{Severity: Warning, Resource: res, App: app,
				Reason:     fmt.Sprintf("no ready endpoints: %d pods match but none is ready", len(pods)),
				Suggestion: "the service sends no traffic anywhere until a pod is ready: see the pod findings", symptom: true})
		}
		for _, sp := range svc.Spec.Ports {
			if sp.TargetPort.IntVal > 0 && !exposes(pods, sp.TargetPort.IntVal) {
				a.add(Finding{Severity: Critical, Resource: res, App: app,
					Reason:     fmt.Sprintf("targetPort %d is not a port of the selected containers (they declare %s): connections are refused (502/503)", sp.TargetPort.IntVal, declaredPorts(pods)),
					Suggestion: "point targetPort at the port the container listens on"})
			} else if name := sp.TargetPort.StrVal; name != "" && !namesPort(pods, name) {
				a.add(Finding{Severity: Critical, Resource: res, App: app,
					Reason:     fmt.Sprintf("targetPort %q is not a named port of the selected containers: the service has no endpoints", name),
					Suggestion: "name the container port, or use its number"})
			}
		}
	}
}

func anyReady(ps []corev1.Pod) int {
	n := 0
	for i := range ps {
		if podReady(&ps[i]) {
			n++
		}
	}
	return n
}

func exposes(ps []corev1.Pod, port int32) bool {
	declared := false
	for _, p := range ps {
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				declared = true
				if cp.ContainerPort == port {
					return true
				}
			}
		}
	}
	return !declared // containers that declare no ports may listen anywhere
}

// nearSelector names the label values that pods do carry for a selector's keys (a typo in a
// selector shows next to the real labels).
func (a *analysis) nearSelector(sel map[string]string) []string {
	var out []string
	for k := range sel {
		var vals []string
		for _, p := range a.s.Pods {
			if v, ok := p.Labels[k]; ok && !slices.Contains(vals, v) {
				vals = append(vals, v)
			}
		}
		if len(vals) > 0 {
			slices.Sort(vals)
			if len(vals) > 6 {
				vals = append(vals[:6], "…")
			}
			out = append(out, fmt.Sprintf("pods here carry %s=%s", k, strings.Join(vals, ", ")))
		}
	}
	slices.Sort(out)
	return out
}

func declaredPorts(ps []corev1.Pod) string {
	var out []string
	for _, p := range ps {
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				if s := fmt.Sprint(cp.ContainerPort); !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	return strings.Join(out, ", ")
}

func namesPort(ps []corev1.Pod, name string) bool {
	for _, p := range ps {
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == name {
					return true
				}
			}
		}
	}
	return len(ps) == 0
}
