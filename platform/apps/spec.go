package apps

import (
	"fmt"
	"maps"
	"regexp"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"k8s-manage/platform/perr"
)

// Labels and annotations the platform uses on app objects.
const (
	LabelApp       = "app.kubernetes.io/name"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "k8s-manage"
	LabelTrack     = "k8s-manage.io/track" // stable | canary
	LabelSlot      = "k8s-manage.io/slot"  // blue | green

	AnnStrategy     = "k8s-manage.io/strategy"      // rolling | blue-green
	AnnActiveSlot   = "k8s-manage.io/active-slot"   // on the Service of a blue-green app
	AnnCanaryTotal  = "k8s-manage.io/canary-total"  // replicas of stable+canary while a canary runs
	AnnCanaryWeight = "k8s-manage.io/canary-weight" // percent of replicas on the canary
	AnnChangeCause  = "kubernetes.io/change-cause"
)

// Strategy types.
const (
	Rolling   = "rolling"
	BlueGreen = "blue-green"
)

// Spec describes an app: a Deployment (two for blue-green), a Service and optionally an Ingress.
type Spec struct {
	Name    string            `json:"name"`
	Image   string            `json:"image"`
	Command []string          `json:"command,omitempty"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	Ports   []Port            `json:"ports,omitempty"`
	// Resources are Kubernetes quantities; empty ones fall back to the namespace's LimitRange.
	Resources Resources `json:"resources,omitempty"`
	Readiness *Probe    `json:"readiness,omitempty"`
	Liveness  *Probe    `json:"liveness,omitempty"`
	Replicas  int32     `json:"replicas"`
	// Labels are added to every object and pod; PodAnnotations to the pod template.
	Labels         map[string]string `json:"labels,omitempty"`
	PodAnnotations map[string]string `json:"pod_annotations,omitempty"`
	Strategy       Strategy          `json:"strategy,omitempty"`
	Ingress        *Ingress          `json:"ingress,omitempty"`
}

// Port is a container port, exposed by the Service on the same number.
type Port struct {
	Name string `json:"name,omitempty"`
	Port int32  `json:"port"`
}

// Resources are requests and limits of the app's container.
type Resources struct {
	CPURequest    string `json:"cpu_request,omitempty"`
	MemoryRequest string `json:"memory_request,omitempty"`
	CPULimit      string `json:"cpu_limit,omitempty"`
	MemoryLimit   string `json:"memory_limit,omitempty"`
}

// Probe is an HTTP GET probe (or TCP when Path is empty).
type Probe struct {
	Path                string `json:"path,omitempty"`
	Port                int32  `json:"port"`
	InitialDelaySeconds int32  `json:"initial_delay_seconds,omitempty"`
	PeriodSeconds       int32  `json:"period_seconds,omitempty"`
	FailureThreshold    int32  `json:"failure_threshold,omitempty"`
}

// Strategy chooses how new versions roll out.
type Strategy struct {
	Type           string `json:"type,omitempty"`            // rolling (default) or blue-green
	MaxSurge       string `json:"max_surge,omitempty"`       // rolling: e.g. "25%" or "1"
	MaxUnavailable string `json:"max_unavailable,omitempty"` // rolling: e.g. "0"
}

// Ingress exposes the app on a host.
type Ingress struct {
	Host      string `json:"host"`
	Path      string `json:"path,omitempty"`
	TLSSecret string `json:"tls_secret,omitempty"`
	Class     string `json:"class,omitempty"`
}

var (
	nameRe  = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)
	hostRe  = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$`)
	envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)
)

// ValidateName checks an app name (it becomes Deployment and Service names).
func ValidateName(name string) error {
	if !nameRe.MatchString(name) || len(name) > 45 {
		return perr.Invalidf("name", "%q must start with a letter, use lower-case letters, digits and '-', at most 45 characters", name)
	}
	return nil
}

// Validate checks the spec and fills defaults; errors name the field.
func (s *Spec) Validate() error {
	if err := ValidateName(s.Name); err != nil {
		return err
	}
	if s.Image == "" {
		return perr.Invalidf("image", "is required")
	}
	if s.Replicas < 0 || s.Replicas > 500 {
		return perr.Invalidf("replicas", "must be between 0 and 500, got %d", s.Replicas)
	}
	for k := range s.Env {
		if !envName.MatchString(k) {
			return perr.Invalidf("env."+k, "is not a valid variable name")
		}
	}
	seen := map[int32]bool{}
	for i, p := range s.Ports {
		if p.Port < 1 || p.Port > 65535 {
			return perr.Invalidf(fmt.Sprintf("ports[%d].port", i), "must be between 1 and 65535, got %d", p.Port)
		}
		if seen[p.Port] {
			return perr.Invalidf(fmt.Sprintf("ports[%d].port", i), "%d is listed twice", p.Port)
		}
		seen[p.Port] = true
	}
	for field, v := range map[string]string{"resources.cpu_request": s.Resources.CPURequest, "resources.memory_request": s.Resources.MemoryRequest,
		"resources.cpu_limit": s.Resources.CPULimit, "resources.memory_limit": s.Resources.MemoryLimit} {
		if v == "" {
			continue
		}
		if _, err := resource.ParseQuantity(v); err != nil {
			return perr.Invalidf(field, "%q is not a quantity (e.g. 250m, 512Mi)", v)
		}
	}
	switch s.Strategy.Type {
	case "":
		s.Strategy.Type = Rolling
	case Rolling, BlueGreen:
	default:
		return perr.Invalidf("strategy.type", "must be rolling or blue-green, got %q", s.Strategy.Type)
	}
	for field, v := range map[string]string{"strategy.max_surge": s.Strategy.MaxSurge, "strategy.max_unavailable": s.Strategy.MaxUnavailable} {
		if v == "" {
			continue
		}
		iv := intstr.Parse(v)
		if iv.Type == intstr.String && !regexp.MustCompile(`^\d{1,3}%$`).MatchString(v) {
			return perr.Invalidf(field, "%q must be a number or a percentage", v)
		}
	}
	if s.Ingress != nil {
		if !hostRe.MatchString(s.Ingress.Host) {
			return perr.Invalidf("ingress.host", "%q is not a host name", s.Ingress.Host)
		}
		if len(s.Ports) == 0 {
			return perr.Invalidf("ports", "an app with an ingress needs a port")
		}
		if s.Ingress.Path == "" {
			s.Ingress.Path = "/"
		}
	}
	for i, p := range []*Probe{s.Readiness, s.Liveness} {
		if p != nil && (p.Port < 1 || p.Port > 65535) {
			return perr.Invalidf([]string{"readiness.port", "liveness.port"}[i], "must be between 1 and 65535")
		}
	}
	return nil
}

// appLabels are on every object of the app.
func (s *Spec) appLabels() map[string]string {
	l := maps.Clone(s.Labels)
	if l == nil {
		l = map[string]string{}
	}
	l[LabelApp] = s.Name
	l[LabelManagedBy] = ManagedBy
	return l
}

func with(m map[string]string, kv ...string) map[string]string {
	out := maps.Clone(m)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func (s *Spec) container() corev1.Container {
	c := corev1.Container{Name: "app", Image: s.Image, Command: s.Command, Args: s.Args}
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: s.Env[k]})
	}
	for _, p := range s.Ports {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: p.Name, ContainerPort: p.Port, Protocol: corev1.ProtocolTCP})
	}
	req, lim := corev1.ResourceList{}, corev1.ResourceList{}
	set := func(l corev1.ResourceList, name corev1.ResourceName, v string) {
		if v != "" {
			l[name] = resource.MustParse(v)
		}
	}
	set(req, corev1.ResourceCPU, s.Resources.CPURequest)
	set(req, corev1.ResourceMemory, s.Resources.MemoryRequest)
	set(lim, corev1.ResourceCPU, s.Resources.CPULimit)
	set(lim, corev1.ResourceMemory, s.Resources.MemoryLimit)
	if len(req) > 0 {
		c.Resources.Requests = req
	}
	if len(lim) > 0 {
		c.Resources.Limits = lim
	}
	c.ReadinessProbe = s.Readiness.probe()
	c.LivenessProbe = s.Liveness.probe()
	return c
}

func (p *Probe) probe() *corev1.Probe {
	if p == nil {
		return nil
	}
	pr := &corev1.Probe{InitialDelaySeconds: p.InitialDelaySeconds, PeriodSeconds: p.PeriodSeconds, FailureThreshold: p.FailureThreshold}
	if p.Path != "" {
		pr.HTTPGet = &corev1.HTTPGetAction{Path: p.Path, Port: intstr.FromInt32(p.Port)}
	} else {
		pr.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt32(p.Port)}
	}
	return pr
}

// deployment builds one Deployment of the app: the stable track (rolling) or a slot (blue-green).
func (s *Spec) deployment(name string, replicas int32, selector map[string]string) *appsv1.Deployment {
	labels := with(s.appLabels(), flatten(selector)...)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: map[string]string{AnnStrategy: s.Strategy.Type}},
		Spec: appsv1.DeploymentSpec{
			Replicas:             &replicas,
			Selector:             &metav1.LabelSelector{MatchLabels: selector},
			RevisionHistoryLimit: ptr(int32(10)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: maps.Clone(s.PodAnnotations)},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{s.container()}},
			},
		},
	}
	if s.Strategy.Type == Rolling {
		rs := &appsv1.RollingUpdateDeployment{}
		if s.Strategy.MaxSurge != "" {
			rs.MaxSurge = ptr(intstr.Parse(s.Strategy.MaxSurge))
		}
		if s.Strategy.MaxUnavailable != "" {
			rs.MaxUnavailable = ptr(intstr.Parse(s.Strategy.MaxUnavailable))
		}
		d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: rs}
	}
	return d
}

func (s *Spec) service(selector map[string]string, annotations map[string]string) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Labels: s.appLabels(), Annotations: annotations},
		Spec:       corev1.ServiceSpec{Selector: selector, Type: corev1.ServiceTypeClusterIP},
	}
	for _, p := range s.Ports {
		name := p.Name
		if name == "" {
			name = fmt.Sprintf("port-%d", p.Port)
		}
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: name, Port: p.Port, TargetPort: intstr.FromInt32(p.Port), Protocol: corev1.ProtocolTCP})
	}
	return svc
}

func (s *Spec) ingress() *networkingv1.Ingress {
	in := s.Ingress
	pathType := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Labels: s.appLabels()},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host: in.Host,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: in.Path, PathType: &pathType,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: s.Name, Port: networkingv1.ServiceBackendPort{Number: s.Ports[0].Port},
				}},
			}}}},
		}}},
	}
	if in.Class != "" {
		ing.Spec.IngressClassName = &in.Class
	}
	if in.TLSSecret != "" {
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{in.Host}, SecretName: in.TLSSecret}}
	}
	return ing
}

func flatten(m map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k, m[k])
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// Selectors and names of an app's objects.
func stableSelector(app string) map[string]string {
	return map[string]string{LabelApp: app, LabelTrack: "stable"}
}
func canarySelector(app string) map[string]string {
	return map[string]string{LabelApp: app, LabelTrack: "canary"}
}
func slotSelector(app, slot string) map[string]string {
	return map[string]string{LabelApp: app, LabelSlot: slot}
}
func canaryName(app string) string     { return app + "-canary" }
func slotName(app, slot string) string { return app + "-" + slot }

func otherSlot(slot string) string {
	if slot == "blue" {
		return "green"
	}
	return "blue"
}
