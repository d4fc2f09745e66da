// Package apps runs the platform's applications over client-go: an app spec becomes a
// Deployment and a Service (and an Ingress with a host). Operations cover create, image, env,
// resources, scale, restart, status, revisions and rollback, and the rolling, canary and
// blue-green strategies. Every call is made impersonating the person it is for, and every write
// can be previewed: a server-side dry run whose result is diffed against the live object.
package apps

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"k8s-manage/platform/diff"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/perr"
)

// Service operates apps.
type Service struct {
	kube *kube.Clients
}

// NewService builds a Service.
func NewService(clients *kube.Clients) *Service { return &Service{kube: clients} }

// Target says who acts and where: the person impersonated and the namespace.
type Target struct {
	As        kube.Identity
	Namespace string
}

// WriteOptions control a write.
type WriteOptions struct {
	// DryRun runs the write through the API server's admission and validation without
	// persisting it; the returned Change shows what would change.
	DryRun bool
}

func (o WriteOptions) dryRun() []string {
	if o.DryRun {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// ObjectChange is what a write did (or would do) to one object.
type ObjectChange struct {
	Kind   string        `json:"kind"`
	Name   string        `json:"name"`
	Action string        `json:"action"` // create, update, delete
	Diff   []diff.Change `json:"diff,omitempty"`
}

// Change is the result of a write or its preview.
type Change struct {
	Summary string         `json:"summary"`
	DryRun  bool           `json:"dry_run"`
	Objects []ObjectChange `json:"objects"`
}

// Render is the readable diff shown on approval cards.
func (c *Change) Render() string {
	var b strings.Builder
	b.WriteString(c.Summary)
	for _, o := range c.Objects {
		fmt.Fprintf(&b, "\n%s %s %s", o.Action, o.Kind, o.Name)
		for _, d := range o.Diff {
			b.WriteString("\n  " + d.String())
		}
	}
	return b.String()
}

func (s *Service) client(t Target) (kubernetes.Interface, error) {
	if t.Namespace == "" {
		return nil, perr.Invalidf("namespace", "is required")
	}
	return s.kube.As(t.As)
}

// updateDeployment reads, mutates and writes a Deployment, retrying on conflicts, and returns
// the field diff between the live object and the written (or dry-run) one.
func updateDeployment(ctx context.Context, cs kubernetes.Interface, ns, name string, opts WriteOptions,
	mutate func(d *appsv1.Deployment) error) (ObjectChange, *appsv1.Deployment, error) {
	oc := ObjectChange{Kind: "Deployment", Name: ns + "/" + name, Action: "update"}
	var out *appsv1.Deployment
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		live, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		next := live.DeepCopy()
		if err := mutate(next); err != nil {
			return err
		}
		res, err := cs.AppsV1().Deployments(ns).Update(ctx, next, metav1.UpdateOptions{DryRun: opts.dryRun()})
		if err != nil {
			return err
		}
		if oc.Diff, err = diff.Objects(live, res); err != nil {
			return err
		}
		out = res
		return nil
	})
	if err != nil {
		return oc, nil, perr.FromAPI(err, "update deployment "+ns+"/"+name)
	}
	return oc, out, nil
}

func createDeployment(ctx context.Context, cs kubernetes.Interface, ns string, d *appsv1.Deployment, opts WriteOptions) (ObjectChange, error) {
	res, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{DryRun: opts.dryRun()})
	if err != nil {
		return ObjectChange{}, perr.FromAPI(err, "create deployment "+ns+"/"+d.Name)
	}
	dd, err := diff.Objects(nil, res.Spec)
	return ObjectChange{Kind: "Deployment", Name: ns + "/" + d.Name, Action: "create", Diff: prefix("spec", dd)}, err
}

func prefix(p string, cs []diff.Change) []diff.Change {
	for i := range cs {
		cs[i].Path = p + "." + cs[i].Path
	}
	return cs
}

// Create makes the app's objects. With DryRun nothing is created; the change lists them.
func (s *Service) Create(ctx context.Context, t Target, spec Spec, opts WriteOptions) (*Change, error) {
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
	ch := &Change{Summary: fmt.Sprintf("create app %s in %s (%s, %d replicas, image %s)", spec.Name, ns, spec.Strategy.Type, spec.Replicas, spec.Image), DryRun: opts.DryRun}
	var deps []*appsv1.Deployment
	var svcSelector, svcAnn map[string]string
	if spec.Strategy.Type == BlueGreen {
		deps = append(deps, spec.deployment(slotName(spec.Name, "blue"), spec.Replicas, slotSelector(spec.Name, "blue")),
			spec.deployment(slotName(spec.Name, "green"), 0, slotSelector(spec.Name, "green")))
		svcSelector, svcAnn = slotSelector(spec.Name, "blue"), map[string]string{AnnActiveSlot: "blue"}
	} else {
		deps = append(deps, spec.deployment(spec.Name, spec.Replicas, stableSelector(spec.Name)))
		svcSelector = map[string]string{LabelApp: spec.Name}
	}
	var created []func()
	undo := func() {
		for _, f := range slices.Backward(created) {
			f()
		}
	}
	for _, d := range deps {
		oc, err := createDeployment(ctx, cs, ns, d, opts)
		if err != nil {
			undo()
			return nil, err
		}
		ch.Objects = append(ch.Objects, oc)
		if !opts.DryRun {
			name := d.Name
			created = append(created, func() {
				_ = cs.AppsV1().Deployments(ns).Delete(context.WithoutCancel(ctx), name, metav1.DeleteOptions{})
			})
		}
	}
	if len(spec.Ports) > 0 {
		svc := spec.service(svcSelector, svcAnn)
		if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{DryRun: opts.dryRun()}); err != nil {
			undo()
			return nil, perr.FromAPI(err, "create service "+ns+"/"+svc.Name)
		}
		ch.Objects = append(ch.Objects, ObjectChange{Kind: "Service", Name: ns + "/" + svc.Name, Action: "create",
			Diff: []diff.Change{{Path: "spec.selector", To: fmt.Sprint(svcSelector)}}})
		if !opts.DryRun {
			created = append(created, func() {
				_ = cs.CoreV1().Services(ns).Delete(context.WithoutCancel(ctx), svc.Name, metav1.DeleteOptions{})
			})
		}
	}
	if spec.Ingress != nil {
		ing := spec.ingress()
		if _, err := cs.NetworkingV1().Ingresses(ns).Create(ctx, ing, metav1.CreateOptions{DryRun: opts.dryRun()}); err != nil {
			undo()
			return nil, perr.FromAPI(err, "create ingress "+ns+"/"+ing.Name)
		}
		ch.Objects = append(ch.Objects, ObjectChange{Kind: "Ingress", Name: ns + "/" + ing.Name, Action: "create",
			Diff: []diff.Change{{Path: "spec.rules[0].host", To: spec.Ingress.Host}}})
	}
	return ch, nil
}

// primary returns the Deployment that serves traffic: the stable track, or the active slot.
func primary(ctx context.Context, cs kubernetes.Interface, ns, app string) (*appsv1.Deployment, string, error) {
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, app, metav1.GetOptions{})
	if err == nil {
		return d, Rolling, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, "", perr.FromAPI(err, "get app "+ns+"/"+app)
	}
	svc, svcErr := cs.CoreV1().Services(ns).Get(ctx, app, metav1.GetOptions{})
	if svcErr == nil && svc.Annotations[AnnActiveSlot] != "" {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, slotName(app, svc.Annotations[AnnActiveSlot]), metav1.GetOptions{})
		if err != nil {
			return nil, "", perr.FromAPI(err, "get app "+ns+"/"+app)
		}
		return d, BlueGreen, nil
	}
	return nil, "", perr.New(perr.NotFound, "app %s not found in %s", app, ns)
}

// Scale sets the replicas of the serving Deployment. Scaling up is checked against the
// namespace's quota first, so a request beyond it fails with QuotaExceeded naming the resource.
func (s *Service) Scale(ctx context.Context, t Target, app string, replicas int32, opts WriteOptions) (*Change, error) {
	if replicas < 0 || replicas > 500 {
		return nil, perr.Invalidf("replicas", "must be between 0 and 500, got %d", replicas)
	}
	cs, err := s.client(t)
	if err != nil {
		return nil, err
	}
	d, strategy, err := primary(ctx, cs, t.Namespace, app)
	if err != nil {
		return nil, err
	}
	if _, running := d.Annotations[AnnCanaryTotal]; running {
		return nil, perr.New(perr.Conflict, "app %s has a canary running: promote or abort it before scaling", app)
	}
	current := int32(1)
	if d.Spec.Replicas != nil {
		current = *d.Spec.Replicas
	}
	if replicas > current {
		if err := checkQuota(ctx, cs, t.Namespace, &d.Spec.Template.Spec, replicas-current); err != nil {
			return nil, err
		}
	}
	oc, _, err := updateDeployment(ctx, cs, t.Namespace, d.Name, opts, func(d *appsv1.Deployment) error {
		d.Spec.Replicas = &replicas
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Change{Summary: fmt.Sprintf("scale %s/%s (%s) from %d to %d replicas", t.Namespace, app, strategy, current, replicas),
		DryRun: opts.DryRun, Objects: []ObjectChange{oc}}, nil
}

// SetImage changes the app container's image: a rolling update, or for a blue-green app the
// idle slot, which gets the image and the active slot's replicas (switch to make it live).
func (s *Service) SetImage(ctx context.Context, t Target, app, image string, opts WriteOptions) (*Change, error) {
	if strings.TrimSpace(image) == "" || strings.ContainsAny(image, " \t\n") {
		return nil, perr.Invalidf("image", "%q is not an image reference", image)
	}
	cs, err := s.client(t)
	if err != nil {
		return nil, err
	}
	d, strategy, err := primary(ctx, cs, t.Namespace, app)
	if err != nil {
		return nil, err
	}
	target, replicas := d.Name, d.Spec.Replicas
	summary := fmt.Sprintf("set image of %s/%s to %s (rolling update)", t.Namespace, app, image)
	if strategy == BlueGreen {
		idle := otherSlot(d.Labels[LabelSlot])
		target = slotName(app, idle)
		summary = fmt.Sprintf("deploy %s to the idle %s slot of %s/%s (switch to make it live)", image, idle, t.Namespace, app)
	}
	oc, _, err := updateDeployment(ctx, cs, t.Namespace, target, opts, func(d *appsv1.Deployment) error {
		setImage(&d.Spec.Template.Spec, image)
		setCause(d, "set image "+image)
		if strategy == BlueGreen {
			d.Spec.Replicas = replicas
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Change{Summary: summary, DryRun: opts.DryRun, Objects: []ObjectChange{oc}}, nil
}

func setImage(ps *corev1.PodSpec, image string) {
	for i := range ps.Containers {
		if ps.Containers[i].Name == "app" || len(ps.Containers) == 1 {
			ps.Containers[i].Image = image
		}
	}
}

func setCause(d *appsv1.Deployment, cause string) {
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[AnnChangeCause] = cause
}

// SetEnv sets and removes environment variables of the app container (a rolling update).
func (s *Service) SetEnv(ctx context.Context, t Target, app string, set map[string]string, remove []string, opts WriteOptions) (*Change, error) {
	for k := range set {
		if !envName.MatchString(k) {
			return nil, perr.Invalidf("env."+k, "is not a valid variable name")
		}
	}
	return s.mutatePrimary(ctx, t, app, opts, "update environment of", func(ps *corev1.PodSpec) error {
		c := &ps.Containers[0]
		env := map[string]string{}
		var from []corev1.EnvVar
		for _, e := range c.Env {
			if e.ValueFrom != nil {
				from = append(from, e)
				continue
			}
			env[e.Name] = e.Value
		}
		maps.Copy(env, set)
		for _, k := range remove {
			delete(env, k)
		}
		c.Env = from
		for _, k := range slices.Sorted(maps.Keys(env)) {
			c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: env[k]})
		}
		return nil
	})
}

// SetResources sets requests and limits of the app container (empty fields are left as they are).
func (s *Service) SetResources(ctx context.Context, t Target, app string, r Resources, opts WriteOptions) (*Change, error) {
	probe := Spec{Name: app, Image: "x", Resources: r}
	if err := probe.Validate(); err != nil {
		return nil, err
	}
	want := probe.container().Resources
	cs, err := s.client(t)
	if err != nil {
		return nil, err
	}
	return s.mutatePrimary(ctx, t, app, opts, "update resources of", func(ps *corev1.PodSpec) error {
		c := &ps.Containers[0]
		if c.Resources.Requests == nil {
			c.Resources.Requests = corev1.ResourceList{}
		}
		if c.Resources.Limits == nil {
			c.Resources.Limits = corev1.ResourceList{}
		}
		maps.Copy(c.Resources.Requests, want.Requests)
		maps.Copy(c.Resources.Limits, want.Limits)
		return fitsLimitRanges(ctx, cs, t.Namespace, c.Resources)
	})
}

// Restart rolls every pod of the app (kubectl rollout restart).
func (s *Service) Restart(ctx context.Context, t Target, app string, opts WriteOptions) (*Change, error) {
	now := time.Now().UTC().Format(time.RFC3339)
	return s.mutatePrimary(ctx, t, app, opts, "restart", func(ps *corev1.PodSpec) error { return nil }, func(d *appsv1.Deployment) {
		if d.Spec.Template.Annotations == nil {
			d.Spec.Template.Annotations = map[string]string{}
		}
		d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] = now
	})
}

func (s *Service) mutatePrimary(ctx context.Context, t Target, app string, opts WriteOptions, verb string,
	mutate func(*corev1.PodSpec) error, extra ...func(*appsv1.Deployment)) (*Change, error) {
	cs, err := s.client(t)
	if err != nil {
		return nil, err
	}
	d, _, err := primary(ctx, cs, t.Namespace, app)
	if err != nil {
		return nil, err
	}
	oc, _, err := updateDeployment(ctx, cs, t.Namespace, d.Name, opts, func(d *appsv1.Deployment) error {
		for _, f := range extra {
			f(d)
		}
		setCause(d, verb+" "+app)
		return mutate(&d.Spec.Template.Spec)
	})
	if err != nil {
		return nil, err
	}
	return &Change{Summary: fmt.Sprintf("%s %s/%s", verb, t.Namespace, app), DryRun: opts.DryRun, Objects: []ObjectChange{oc}}, nil
}

// Delete removes every object of the app: its Deployments (stable, canary, slots), Service and Ingress.
func (s *Service) Delete(ctx context.Context, t Target, app string, opts WriteOptions) (*Change, error) {
	if err := ValidateName(app); err != nil {
		return nil, err
	}
	cs, err := s.client(t)
	if err != nil {
		return nil, err
	}
	ns := t.Namespace
	ch := &Change{Summary: fmt.Sprintf("delete app %s in %s", app, ns), DryRun: opts.DryRun}
	del := metav1.DeleteOptions{DryRun: opts.dryRun()}
	deps, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelApp + "=" + app})
	if err != nil {
		return nil, perr.FromAPI(err, "list deployments of "+app)
	}
	for _, d := range deps.Items {
		if err := cs.AppsV1().Deployments(ns).Delete(ctx, d.Name, del); err != nil && !apierrors.IsNotFound(err) {
			return nil, perr.FromAPI(err, "delete deployment "+ns+"/"+d.Name)
		}
		ch.Objects = append(ch.Objects, ObjectChange{Kind: "Deployment", Name: ns + "/" + d.Name, Action: "delete"})
	}
	if err := cs.CoreV1().Services(ns).Delete(ctx, app, del); err == nil {
		ch.Objects = append(ch.Objects, ObjectChange{Kind: "Service", Name: ns + "/" + app, Action: "delete"})
	} else if !apierrors.IsNotFound(err) {
		return nil, perr.FromAPI(err, "delete service "+ns+"/"+app)
	}
	if err := cs.NetworkingV1().Ingresses(ns).Delete(ctx, app, del); err == nil {
		ch.Objects = append(ch.Objects, ObjectChange{Kind: "Ingress", Name: ns + "/" + app, Action: "delete"})
	} else if !apierrors.IsNotFound(err) {
		return nil, perr.FromAPI(err, "delete ingress "+ns+"/"+app)
	}
	if len(ch.Objects) == 0 {
		return nil, perr.New(perr.NotFound, "app %s not found in %s", app, ns)
	}
	return ch, nil
}

// Summary is one app in a list.
type Summary struct {
	Name     string `json:"name"`
	Strategy string `json:"strategy"`
	Image    string `json:"image"`
	Desired  int32  `json:"desired"`
	Ready    int32  `json:"ready"`
	Canary   bool   `json:"canary,omitempty"`
	// Health is healthy (all desired replicas ready), degraded (some), down (none), or stopped
	// (scaled to 0).
	Health string `json:"health"`
	// Rollout names the strategy step in progress: "rolling update", "canary", or "" when settled.
	Rollout string `json:"rollout,omitempty"`
	// LastDeploy is when the serving Deployment last rolled out (its Progressing condition).
	LastDeploy time.Time `json:"last_deploy,omitzero"`
}

func health(desired, ready int32) string {
	switch {
	case desired == 0:
		return "stopped"
	case ready >= desired:
		return "healthy"
	case ready == 0:
		return "down"
	default:
		return "degraded"
	}
}

// List returns the apps in the namespace.
func (s *Service) List(ctx context.Context, t Target) ([]Summary, error) {
	cs, err := s.client(t)
	if err != nil {
		return nil, err
	}
	deps, err := cs.AppsV1().Deployments(t.Namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy})
	if err != nil {
		return nil, perr.FromAPI(err, "list apps in "+t.Namespace)
	}
	byApp := map[string]*Summary{}
	for _, d := range deps.Items {
		app := d.Labels[LabelApp]
		sm, ok := byApp[app]
		if !ok {
			sm = &Summary{Name: app, Strategy: d.Annotations[AnnStrategy]}
			byApp[app] = sm
		}
		if d.Labels[LabelTrack] == "canary" {
			sm.Canary = true
			continue
		}
		if d.Spec.Replicas != nil && *d.Spec.Replicas == 0 && d.Labels[LabelSlot] != "" {
			continue // idle blue-green slot
		}
		sm.Desired += deref(d.Spec.Replicas)
		sm.Ready += d.Status.ReadyReplicas
		if len(d.Spec.Template.Spec.Containers) > 0 {
			sm.Image = d.Spec.Template.Spec.Containers[0].Image
		}
		if d.Status.UpdatedReplicas < deref(d.Spec.Replicas) || d.Status.ObservedGeneration < d.Generation {
			sm.Rollout = "rolling update"
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.LastUpdateTime.Time.After(sm.LastDeploy) {
				sm.LastDeploy = c.LastUpdateTime.Time
			}
		}
	}
	out := make([]Summary, 0, len(byApp))
	for _, k := range slices.Sorted(maps.Keys(byApp)) {
		sm := byApp[k]
		sm.Health = health(sm.Desired, sm.Ready)
		if sm.Canary {
			sm.Rollout = "canary"
		}
		out = append(out, *sm)
	}
	return out, nil
}

func deref(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}
