package apps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"k8s-manage/platform/diff"
	"k8s-manage/platform/perr"
)

// Config is what a person edits of a running app: the serving container's image, command,
// arguments, plain environment variables, ports, resources and probes, and the replicas.
// Version is the serving Deployment's generation when it was read (it moves with every spec
// change, not with status updates): an update that names it fails with a Conflict when someone
// changed the app in between.
type Config struct {
	Name      string            `json:"name"`
	Strategy  string            `json:"strategy"`
	Image     string            `json:"image"`
	Replicas  int32             `json:"replicas"`
	Command   []string          `json:"command,omitempty"`
	Args      []string          `json:"args,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Ports     []Port            `json:"ports,omitempty"`
	Resources Resources         `json:"resources,omitzero"`
	Readiness *Probe            `json:"readiness,omitempty"`
	Liveness  *Probe            `json:"liveness,omitempty"`
	// EnvFrom lists variables set from Secrets or ConfigMaps (config center, catalog bindings):
	// shown, never edited here.
	EnvFrom []string `json:"env_from,omitempty"`
	// Ingress is the app's domain (host, path, TLS Secret), when it has one; read-only here.
	Ingress *Ingress `json:"ingress,omitempty"`
	Version string   `json:"version"`
}

// GetConfig reads the app's editable configuration from its serving Deployment.
func (s *Service) GetConfig(ctx context.Context, t Target, app string) (*Config, error) {
	cs, err := s.client(t)
	if err != nil {
		return nil, err
	}
	d, strategy, err := primary(ctx, cs, t.Namespace, app)
	if err != nil {
		return nil, err
	}
	c := configOf(app, strategy, d)
	if ing, err := cs.NetworkingV1().Ingresses(t.Namespace).Get(ctx, app, metav1.GetOptions{}); err == nil && len(ing.Spec.Rules) > 0 {
		in := &Ingress{Host: ing.Spec.Rules[0].Host}
		if h := ing.Spec.Rules[0].HTTP; h != nil && len(h.Paths) > 0 {
			in.Path = h.Paths[0].Path
		}
		if len(ing.Spec.TLS) > 0 {
			in.TLSSecret = ing.Spec.TLS[0].SecretName
		}
		if ing.Spec.IngressClassName != nil {
			in.Class = *ing.Spec.IngressClassName
		}
		c.Ingress = in
	}
	return c, nil
}

func configOf(app, strategy string, d *appsv1.Deployment) *Config {
	c := &Config{Name: app, Strategy: strategy, Replicas: deref(d.Spec.Replicas), Version: strconv.FormatInt(d.Generation, 10)}
	if len(d.Spec.Template.Spec.Containers) == 0 {
		return c
	}
	ct := d.Spec.Template.Spec.Containers[0]
	c.Image, c.Command, c.Args = ct.Image, ct.Command, ct.Args
	for _, e := range ct.Env {
		if e.ValueFrom != nil {
			c.EnvFrom = append(c.EnvFrom, e.Name)
			continue
		}
		if c.Env == nil {
			c.Env = map[string]string{}
		}
		c.Env[e.Name] = e.Value
	}
	for _, p := range ct.Ports {
		c.Ports = append(c.Ports, Port{Name: p.Name, Port: p.ContainerPort})
	}
	q := func(l corev1.ResourceList, n corev1.ResourceName) string {
		if v, ok := l[n]; ok {
			return v.String()
		}
		return ""
	}
	c.Resources = Resources{CPURequest: q(ct.Resources.Requests, corev1.ResourceCPU), MemoryRequest: q(ct.Resources.Requests, corev1.ResourceMemory),
		CPULimit: q(ct.Resources.Limits, corev1.ResourceCPU), MemoryLimit: q(ct.Resources.Limits, corev1.ResourceMemory)}
	c.Readiness, c.Liveness = probeOf(ct.ReadinessProbe), probeOf(ct.LivenessProbe)
	return c
}

func probeOf(p *corev1.Probe) *Probe {
	if p == nil {
		return nil
	}
	out := &Probe{InitialDelaySeconds: p.InitialDelaySeconds, PeriodSeconds: p.PeriodSeconds, FailureThreshold: p.FailureThreshold}
	switch {
	case p.HTTPGet != nil:
		out.Path, out.Port = p.HTTPGet.Path, p.HTTPGet.Port.IntVal
	case p.TCPSocket != nil:
		out.Port = p.TCPSocket.Port.IntVal
	}
	return out
}

// Update writes c onto the app's serving Deployment (and its Service's ports) in one update. A
// non-empty version must equal the Deployment's resourceVersion: otherwise nothing is written
// and the error is a Conflict saying the app changed since it was read. Variables set from
// Secrets or ConfigMaps stay as they are.
func (s *Service) Update(ctx context.Context, t Target, app string, c Config, version string, opts WriteOptions) (*Change, error) {
	spec := Spec{Name: app, Image: c.Image, Replicas: c.Replicas, Command: c.Command, Args: c.Args, Env: c.Env, Ports: c.Ports,
		Resources: c.Resources, Readiness: c.Readiness, Liveness: c.Liveness}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	cs, err := s.client(t)
	if err != nil {
		return nil, err
	}
	ns := t.Namespace
	if err := checkFits(ctx, cs, ns, spec); err != nil {
		return nil, err
	}
	var live, res *appsv1.Deployment
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var err error
		if live, _, err = primary(ctx, cs, ns, app); err != nil {
			return err
		}
		if now := strconv.FormatInt(live.Generation, 10); version != "" && version != now {
			return perr.New(perr.Conflict, "app %s changed since version %s (now %s): reload it and apply your change again", app, version, now)
		}
		if len(live.Spec.Template.Spec.Containers) == 0 {
			return perr.New(perr.Invalid, "app %s has no container", app)
		}
		next := live.DeepCopy()
		want := spec.container()
		ct := &next.Spec.Template.Spec.Containers[0]
		ct.Image, ct.Command, ct.Args, ct.Ports, ct.Resources = want.Image, want.Command, want.Args, want.Ports, want.Resources
		ct.ReadinessProbe, ct.LivenessProbe = want.ReadinessProbe, want.LivenessProbe
		env := want.Env
		for _, e := range ct.Env {
			if e.ValueFrom != nil {
				env = append(env, e)
			}
		}
		ct.Env = env
		next.Spec.Replicas = &c.Replicas
		setCause(next, fmt.Sprintf("edit %s: image %s, %d replicas", app, c.Image, c.Replicas))
		res, err = cs.AppsV1().Deployments(ns).Update(ctx, next, metav1.UpdateOptions{DryRun: opts.dryRun()})
		return err
	})
	var pe *perr.Error
	if errors.As(err, &pe) {
		return nil, err
	}
	if err != nil {
		return nil, perr.FromAPI(err, "update deployment "+ns+"/"+app)
	}
	dd, err := diff.Objects(live, res)
	if err != nil {
		return nil, err
	}
	ch := &Change{Summary: fmt.Sprintf("update app %s in %s (image %s, %d replicas)", app, ns, c.Image, c.Replicas), DryRun: opts.DryRun,
		Objects: []ObjectChange{{Kind: "Deployment", Name: ns + "/" + live.Name, Action: "update", Diff: dd}}}
	oc, err := syncServicePorts(ctx, cs, ns, app, spec, opts)
	if err != nil {
		return nil, err
	}
	if oc != nil {
		ch.Objects = append(ch.Objects, *oc)
	}
	return ch, nil
}

// syncServicePorts makes the app's Service expose the spec's ports: it updates them when they
// differ, and creates the Service when the app has none yet and now has ports.
func syncServicePorts(ctx context.Context, cs kubernetes.Interface, ns, app string, spec Spec, opts WriteOptions) (*ObjectChange, error) {
	want := spec.service(map[string]string{LabelApp: app}, nil)
	svc, err := cs.CoreV1().Services(ns).Get(ctx, app, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if len(spec.Ports) == 0 {
			return nil, nil
		}
		if _, err := cs.CoreV1().Services(ns).Create(ctx, want, metav1.CreateOptions{DryRun: opts.dryRun()}); err != nil {
			return nil, perr.FromAPI(err, "create service "+ns+"/"+app)
		}
		return &ObjectChange{Kind: "Service", Name: ns + "/" + app, Action: "create",
			Diff: []diff.Change{{Path: "spec.ports", To: portList(want.Spec.Ports)}}}, nil
	case err != nil:
		return nil, perr.FromAPI(err, "get service "+ns+"/"+app)
	}
	if portList(svc.Spec.Ports) == portList(want.Spec.Ports) || len(spec.Ports) == 0 {
		return nil, nil
	}
	next := svc.DeepCopy()
	next.Spec.Ports = want.Spec.Ports
	if _, err := cs.CoreV1().Services(ns).Update(ctx, next, metav1.UpdateOptions{DryRun: opts.dryRun()}); err != nil {
		return nil, perr.FromAPI(err, "update service "+ns+"/"+app)
	}
	return &ObjectChange{Kind: "Service", Name: ns + "/" + app, Action: "update",
		Diff: []diff.Change{{Path: "spec.ports", From: portList(svc.Spec.Ports), To: portList(want.Spec.Ports)}}}, nil
}

func portList(ps []corev1.ServicePort) string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%d->%s", p.Port, p.TargetPort.String()))
	}
	slices.Sort(out)
	return fmt.Sprint(out)
}
