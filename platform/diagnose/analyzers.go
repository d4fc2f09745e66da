package diagnose

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"k8s-manage/platform/perr"
)

const appLabel = "app.kubernetes.io/name"

type analysis struct {
	s        *Snapshot
	scope    Scope
	w        *wiring
	in       map[string]bool     // resource keys in scope; nil: the whole namespace
	events   map[string][]string // "Kind/name" -> warning event lines
	findings []Finding
	grouped  map[string]int // app|reason -> index in findings (pods of one app failing alike)
	// unresolved is the asked name that matched nothing (the namespace is diagnosed instead).
	unresolved string
}

func newAnalysis(s *Snapshot, scope Scope) *analysis {
	a := &analysis{s: s, scope: scope, w: newWiring(s), events: map[string][]string{}, grouped: map[string]int{}}
	if seeds, unresolved := a.w.resolve(scope); len(seeds) > 0 {
		a.in = a.w.expand(seeds)
	} else {
		a.unresolved = unresolved
	}
	for _, e := range s.Events {
		if e.Type != corev1.EventTypeWarning {
			continue
		}
		k := e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name
		line := fmt.Sprintf("event %s: %s", e.Reason, truncate(e.Message, 300))
		if e.Count > 1 {
			line += fmt.Sprintf(" (x%d)", e.Count)
		}
		if !slices.Contains(a.events[k], line) {
			a.events[k] = append(a.events[k], line)
		}
	}
	return a
}

// add records a finding; its app is the one the wiring gives its resource.
func (a *analysis) add(f Finding) {
	f.App = cmp.Or(a.w.appOf[f.Resource], f.App)
	a.findings = append(a.findings, f)
}

// scoped says whether the analysis is narrowed to what was asked about.
func (a *analysis) scoped() bool { return a.in != nil }

// has says whether a resource ("kind/name") is in scope.
func (a *analysis) has(key string) bool { return a.in == nil || a.in[key] }

func (a *analysis) warnings(kind, name string, max int) []string {
	ev := a.events[kind+"/"+name]
	return ev[:min(len(ev), max)]
}

// pods: crash loops with exit codes, OOMKilled, image pulls, config errors, probes, scheduling.
func (a *analysis) pods() {
	for _, p := range a.s.Pods {
		if p.Status.Phase == corev1.PodSucceeded || p.DeletionTimestamp != nil || !a.has("pod/"+p.Name) {
			continue
		}
		app := a.w.appOf["pod/"+p.Name]
		f, ok := a.podFinding(&p)
		if !ok {
			continue
		}
		f.App = app
		key := app + "|" + f.Reason
		if i, seen := a.grouped[key]; seen && app != "" {
			g := &a.findings[i]
			g.Evidence = append(g.Evidence[:min(len(g.Evidence), 6)], "also pod "+p.Name)
			continue
		}
		a.grouped[key] = len(a.findings)
		a.add(f)
	}
}

func (a *analysis) podFinding(p *corev1.Pod) (Finding, bool) {
	res := "pod/" + p.Name
	app := a.w.appOf[res]
	ev := a.warnings("Pod", p.Name, 3)
	statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, c := range statuses {
		last := c.LastTerminationState.Terminated
		exit := ""
		if last != nil {
			exit = fmt.Sprintf("last exit code %d (%s)", last.ExitCode, last.Reason)
		}
		if w := c.State.Waiting; w != nil {
			switch w.Reason {
			case "CrashLoopBackOff":
				return crashFinding(p, c, app, res, exit, ev), true
			case "ImagePullBackOff", "ErrImagePull", "InvalidImageName":
				return Finding{Severity: Critical, Resource: res, Reason: fmt.Sprintf("%s: image %s cannot be pulled", w.Reason, c.Image),
					Evidence:   append([]string{truncate(w.Message, 300)}, ev...),
					Suggestion: "check the image name and tag exist in the registry and the pull credentials; or roll back to the last good image",
					Tool:       "rollback_app", Args: map[string]any{"app": app}}, true
			case "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
				// The reference check names the missing object; this is what the kubelet saw of it.
				return Finding{Severity: Critical, Resource: res, Reason: fmt.Sprintf("%s: %s", w.Reason, truncate(w.Message, 200)),
					Evidence:   ev,
					Suggestion: "create the missing ConfigMap/Secret (or key) the pod references, or fix the reference", symptom: true}, true
			}
		}
		// Between two crashes the container runs for a moment: restarts with a failed last exit
		// that ended recently are the same crash loop.
		if c.State.Running != nil && last != nil && c.RestartCount > 0 && (last.ExitCode != 0 || last.Reason == "OOMKilled") &&
			time.Since(last.FinishedAt.Time) < 10*time.Minute {
			return crashFinding(p, c, app, res, exit, ev), true
		}
		if t := c.State.Terminated; t != nil && t.Reason == "OOMKilled" {
			return Finding{Severity: Critical, Resource: res, Reason: fmt.Sprintf("OOMKilled: container %s exceeded its memory limit (exit code 137)", c.Name),
				Evidence: ev, Suggestion: "raise the memory limit or reduce memory use"}, true
		}
	}
	if p.Status.Phase == corev1.PodPending {
		if f, ok := a.unschedulable(p, res, ev); ok {
			return f, true
		}
	}
	if p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Evicted" {
		return Finding{Severity: Warning, Resource: res, Reason: "evicted: " + truncate(p.Status.Message, 200),
			Suggestion: "set requests close to real use and keep local disk writes bounded; check node pressure"}, true
	}
	if p.Status.Phase == corev1.PodRunning && !podReady(p) {
		reason := "running but not ready"
		for _, e := range ev {
			if strings.Contains(e, "Unhealthy") {
				reason = "readiness probe failing"
			}
		}
		return Finding{Severity: Warning, Resource: res, Reason: reason, Evidence: ev,
			Suggestion: "check the readiness probe's path, port and timing against the app, and the app's log; unready pods get no traffic"}, true
	}
	return Finding{}, false
}

// crashFinding names a crash loop: OOMKilled (exit 137) or the exit code with its meaning.
func crashFinding(p *corev1.Pod, c corev1.ContainerStatus, app, res, exit string, ev []string) Finding {
	last := c.LastTerminationState.Terminated
	if last != nil && (last.Reason == "OOMKilled" || last.ExitCode == 137) {
		return Finding{Severity: Critical, Resource: res, Reason: fmt.Sprintf("OOMKilled: container %s exceeded its memory limit (exit code 137)", c.Name),
			Evidence:   append([]string{fmt.Sprintf("restarts %d, %s, memory limit %s", c.RestartCount, exit, memLimit(p, c.Name))}, ev...),
			Suggestion: "raise the container's memory limit (and request), or find the leak: the previous container's log shows what it was doing",
			Tool:       "get_pod_logs", Args: map[string]any{"pod": p.Name, "previous": true}}
	}
	return Finding{Severity: Critical, Resource: res, Reason: fmt.Sprintf("CrashLoopBackOff: container %s keeps exiting (%s)", c.Name, cmp.Or(exit, "no exit code yet")),
		Evidence:   append([]string{fmt.Sprintf("restarts %d", c.RestartCount), exitMeaning(last)}, ev...),
		Suggestion: "read the previous container's log for the error; if the last release caused it, roll back",
		Tool:       "rollback_app", Args: map[string]any{"app": app}}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func memLimit(p *corev1.Pod, container string) string {
	for _, c := range p.Spec.Containers {
		if c.Name == container {
			if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
				return q.String()
			}
		}
	}
	return "not set (namespace default)"
}

func exitMeaning(t *corev1.ContainerStateTerminated) string {
	if t == nil {
		return ""
	}
	switch code := t.ExitCode; {
	case code == 1:
		return "exit 1: the application failed (see its log)"
	case code == 2:
		return "exit 2: misuse of a shell command or bad arguments"
	case code == 126:
		return "exit 126: the command is not executable"
	case code == 127:
		return "exit 127: command not found in the image"
	case code == 137:
		return "exit 137: killed (SIGKILL), usually out of memory"
	case code == 139:
		return "exit 139: segmentation fault"
	case code == 143:
		return "exit 143: terminated (SIGTERM)"
	case code > 128:
		return fmt.Sprintf("exit %d: killed by signal %d", code, code-128)
	default:
		return fmt.Sprintf("exit %d", code)
	}
}

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

// deployments: stalled rollouts, pods the ReplicaSet cannot create (quota), unavailable replicas.
func (a *analysis) deployments() {
	for _, d := range a.s.Deployments {
		res := "deployment/" + d.Name
		if !a.has(res) {
			continue
		}
		app := a.w.appOf[res]
		handled := false
		for _, c := range d.Status.Conditions {
			switch {
			case c.Type == "Progressing" && c.Reason == "ProgressDeadlineExceeded":
				a.add(Finding{Severity: Critical, Resource: res, App: app, Reason: "rollout stalled (ProgressDeadlineExceeded): the new version's pods do not become ready",
					Evidence: []string{truncate(c.Message, 300)}, Suggestion: "fix the new pods (see their findings) or roll back",
					Tool: "rollback_app", Args: map[string]any{"app": app}, symptom: true})
				handled = true
			case c.Type == "ReplicaFailure" && c.Status == corev1.ConditionTrue:
				if strings.Contains(c.Message, "exceeded quota") {
					a.add(Finding{Severity: Critical, Resource: res, App: app,
						Reason:   fmt.Sprintf("exceeded quota %s: pods cannot be created (%s)", quotaName(c.Message), strings.Join(perr.QuotaMessageResources(c.Message), ", ")),
						Evidence: []string{truncate(c.Message, 400)}, Suggestion: "scale something down, lower requests, or ask a tenant admin to raise the quota",
						Tool: "get_quota", Args: map[string]any{}})
				} else {
					// Admission refused the pods; a reference check usually names why (a missing
					// ServiceAccount or PriorityClass), and this message is then its evidence.
					a.add(Finding{Severity: Critical, Resource: res, App: app, Reason: "pods cannot be created (FailedCreate): " + truncate(c.Message, 300),
						Evidence: a.workloadEvents(res, 2), Suggestion: "read the message: admission refused the pods", symptom: true})
				}
				handled = true
			}
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		if !handled && want > 0 && d.Status.AvailableReplicas < want && d.Status.ObservedGeneration >= d.Generation {
			a.add(Finding{Severity: Warning, Resource: res, App: app,
				Reason:     fmt.Sprintf("%d of %d replicas unavailable", want-d.Status.AvailableReplicas, want),
				Evidence:   a.workloadEvents(res, 3),
				Suggestion: "see the pod findings for why they are not ready", symptom: true})
		}
	}
}

var quotaNameRe = regexp.MustCompile(`exceeded quota: ([a-z0-9.-]+)`)

// quotaName is the ResourceQuota a FailedCreate message names.
func quotaName(msg string) string {
	if m := quotaNameRe.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	return "(the namespace's ResourceQuota)"
}

func (a *analysis) podsMatching(sel map[string]string) []corev1.Pod {
	if len(sel) == 0 {
		return nil
	}
	s := labels.SelectorFromSet(sel)
	var out []corev1.Pod
	for _, p := range a.s.Pods {
		if s.Matches(labels.Set(p.Labels)) && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

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

// pvcs: unbound claims, missing storage classes.
func (a *analysis) pvcs() {
	classes := map[string]bool{}
	hasDefault := false
	for _, sc := range a.s.StorageClasses {
		classes[sc.Name] = true
		if sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
			hasDefault = true
		}
	}
	for _, c := range a.s.PVCs {
		res := "persistentvolumeclaim/" + c.Name
		if !a.has(res) {
			continue
		}
		app := a.w.appOf[res]
		switch c.Status.Phase {
		case corev1.ClaimLost:
			a.add(Finding{Severity: Critical, Resource: res, App: app, Reason: "volume lost: the bound PersistentVolume is gone", Suggestion: "restore the volume from backup"})
		case corev1.ClaimPending:
			ev := a.warnings("PersistentVolumeClaim", c.Name, 2)
			switch sc := c.Spec.StorageClassName; {
			case sc != nil && *sc != "" && !classes[*sc]:
				a.add(Finding{Severity: Critical, Resource: res, App: app, Reason: fmt.Sprintf("unbound: StorageClass %s does not exist, so no volume is provisioned", *sc),
					Evidence: ev, Suggestion: "use an existing storage class: " + cmp.Or(strings.Join(slices.Sorted(maps.Keys(classes)), ", "), "the cluster has none")})
			case (sc == nil || *sc == "") && !hasDefault:
				a.add(Finding{Severity: Critical, Resource: res, App: app, Reason: "unbound: no storage class named and the cluster has no default",
					Evidence: ev, Suggestion: "name a storage class"})
			default:
				a.add(Finding{Severity: Warning, Resource: res, App: app, Reason: "unbound: waiting for a volume to be provisioned",
					Evidence: ev, Suggestion: "check the provisioner of the storage class and the storage quota"})
			}
		}
	}
}

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
					Suggestion: "raise max_replicas (and the quota) or make the app cheaper", Tool: "set_hpa",
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

// jobs: failed jobs, suspended cron jobs.
func (a *analysis) jobs() {
	for _, j := range a.s.Jobs {
		if !a.has("job/" + j.Name) {
			continue
		}
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
				a.add(Finding{Severity: Critical, Resource: "job/" + j.Name, Reason: "job failed: " + joinNonEmpty(c.Reason, truncate(c.Message, 200)),
					Evidence: a.warnings("Job", j.Name, 2), Suggestion: "read the failed pods' logs; fix and rerun"})
			}
		}
	}
	for _, cj := range a.s.CronJobs {
		if !a.has("cronjob/" + cj.Name) {
			continue
		}
		if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
			last := "never"
			if cj.Status.LastScheduleTime != nil {
				last = cj.Status.LastScheduleTime.UTC().Format(metav1.RFC3339Micro)
			}
			a.add(Finding{Severity: Warning, Resource: "cronjob/" + cj.Name, Reason: fmt.Sprintf("suspended (spec.suspend: true): no job runs on its schedule %q", cj.Spec.Schedule),
				Evidence: []string{"last scheduled " + last}, Suggestion: "unsuspend it when it should run again"})
		}
	}
}

// quotas: resources at or near their hard limit.
func (a *analysis) quotas() {
	for _, q := range a.s.Quotas {
		for name, hard := range q.Status.Hard {
			used := q.Status.Used[name]
			if hard.MilliValue() <= 0 {
				continue
			}
			pct := float64(used.MilliValue()) * 100 / float64(hard.MilliValue())
			switch {
			case pct >= 100:
				a.add(Finding{Severity: Warning, Resource: "resourcequota/" + q.Name, Reason: fmt.Sprintf("quota exhausted for %s (%s of %s)", name, used.String(), hard.String()),
					Suggestion: "new pods needing it are refused: free some or raise the quota", Tool: "get_quota", Args: map[string]any{}})
			case pct >= 90:
				a.add(Finding{Severity: Info, Resource: "resourcequota/" + q.Name, Reason: fmt.Sprintf("quota nearly used for %s (%.0f%%)", name, pct),
					Suggestion: "plan for more quota before the next scale-up"})
			}
		}
	}
}

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

// statefulSets: missing governing services, unavailable replicas.
func (a *analysis) statefulSets() {
	svcs := map[string]bool{}
	for _, s := range a.s.Services {
		svcs[s.Name] = true
	}
	for _, st := range a.s.StatefulSets {
		res := "statefulset/" + st.Name
		if !a.has(res) {
			continue
		}
		app := a.w.appOf[res]
		if st.Spec.ServiceName != "" && !svcs[st.Spec.ServiceName] {
			a.add(Finding{Severity: Warning, Resource: res, App: app, Reason: fmt.Sprintf("governing service %s does not exist: pods get no stable DNS names", st.Spec.ServiceName),
				Suggestion: "create the headless service the StatefulSet names"})
		}
		want := int32(1)
		if st.Spec.Replicas != nil {
			want = *st.Spec.Replicas
		}
		if want > 0 && st.Status.ReadyReplicas < want && st.Status.ObservedGeneration >= st.Generation {
			a.add(Finding{Severity: Warning, Resource: res, App: app, Reason: fmt.Sprintf("%d of %d replicas not ready", want-st.Status.ReadyReplicas, want),
				Evidence:   a.workloadEvents(res, 3),
				Suggestion: "see the pod and volume findings: StatefulSet pods start in order and wait for their volumes", symptom: true})
		}
	}
}

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

// webhooks: admission webhooks whose service does not exist, which block the writes they intercept.
func (a *analysis) webhooks() {
	if a.scoped() {
		return // cluster-wide admission: reported in the namespace's diagnosis
	}
	check := func(kind, name string, cfg []admissionregistrationv1.WebhookClientConfig, policies []*admissionregistrationv1.FailurePolicyType) {
		for i, c := range cfg {
			if c.Service == nil || a.s.ServiceExists == nil || a.s.ServiceExists(c.Service.Namespace, c.Service.Name) {
				continue
			}
			sev, effect := Warning, "ignored on failure"
			if policies[i] == nil || *policies[i] == admissionregistrationv1.Fail {
				sev, effect = Critical, "writes it intercepts are refused"
			}
			a.add(Finding{Severity: sev, Resource: kind + "/" + name, Reason: fmt.Sprintf("admission webhook service %s/%s does not exist: %s", c.Service.Namespace, c.Service.Name, effect),
				Suggestion: "the platform team restores the webhook's service or removes the configuration"})
		}
	}
	for _, v := range a.s.ValidatingWebhooks {
		var cfg []admissionregistrationv1.WebhookClientConfig
		var pol []*admissionregistrationv1.FailurePolicyType
		for _, w := range v.Webhooks {
			cfg, pol = append(cfg, w.ClientConfig), append(pol, w.FailurePolicy)
		}
		check("validatingwebhookconfiguration", v.Name, cfg, pol)
	}
	for _, m := range a.s.MutatingWebhooks {
		var cfg []admissionregistrationv1.WebhookClientConfig
		var pol []*admissionregistrationv1.FailurePolicyType
		for _, w := range m.Webhooks {
			cfg, pol = append(cfg, w.ClientConfig), append(pol, w.FailurePolicy)
		}
		check("mutatingwebhookconfiguration", m.Name, cfg, pol)
	}
}
