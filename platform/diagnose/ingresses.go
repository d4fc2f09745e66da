package diagnose

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// ingresses: backends that do not exist, ports the service lacks, TLS secrets that do not exist.
func (a *analysis) ingresses() {
	svcs := map[string]corev1.Service{}
	for _, s := range a.s.Services {
		svcs[s.Name] = s
	}
	for _, ing := range a.s.Ingresses {
		res := "ingress/" + ing.Name
		if !a.has(res) {
			continue
		}
		app := a.w.appOf[res]
		for _, b := range backends(&ing) {
			svc, ok := svcs[b.Name]
			if !ok {
				a.add(Finding{Severity: Critical, Resource: res, App: app, Reason: fmt.Sprintf("backend service %s does not exist: requests to %s get 503", b.Name, hosts(&ing)),
					Evidence: []string{fmt.Sprintf(`services "%s" not found`, b.Name)}, Suggestion: "point the ingress at an existing service, or create it"})
				continue
			}
			if b.Port.Number > 0 && !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == b.Port.Number }) ||
				b.Port.Name != "" && !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == b.Port.Name }) {
				a.add(Finding{Severity: Critical, Resource: res, App: app, Reason: fmt.Sprintf("backend port %s is not a port of service %s (it has %s): requests to %s get 503",
					portOf(b.Port), b.Name, servicePorts(svc), hosts(&ing)), Suggestion: "use one of the service's ports"})
			}
		}
		for _, t := range ing.Spec.TLS {
			if _, missing, _ := a.secret(t.SecretName); missing {
				a.add(Finding{Severity: Critical, Resource: res, App: app, Reason: fmt.Sprintf("TLS secret %s does not exist: HTTPS for %s serves a default certificate", t.SecretName, strings.Join(t.Hosts, ", ")),
					Suggestion: "upload the certificate or let cert-manager issue it"})
			}
		}
	}
}

type backend = networkingv1.IngressServiceBackend

// backends are the services an ingress sends to.
func backends(ing *networkingv1.Ingress) []backend {
	var out []backend
	if b := ing.Spec.DefaultBackend; b != nil && b.Service != nil {
		out = append(out, *b.Service)
	}
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if p.Backend.Service != nil {
				out = append(out, *p.Backend.Service)
			}
		}
	}
	return out
}

func hosts(ing *networkingv1.Ingress) string {
	var hs []string
	for _, r := range ing.Spec.Rules {
		if r.Host != "" && !slices.Contains(hs, r.Host) {
			hs = append(hs, r.Host)
		}
	}
	if len(hs) == 0 {
		return "the ingress"
	}
	return strings.Join(hs, ", ")
}

func servicePorts(svc corev1.Service) string {
	var ps []string
	for _, p := range svc.Spec.Ports {
		ps = append(ps, cmp.Or(p.Name+" ", "")+fmt.Sprint(p.Port))
	}
	return cmp.Or(strings.Join(ps, ", "), "no ports")
}

func portOf(p networkingv1.ServiceBackendPort) string {
	if p.Name != "" {
		return p.Name
	}
	return fmt.Sprint(p.Number)
}
