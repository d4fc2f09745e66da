package apps

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"k8s-manage/platform/diff"
	"k8s-manage/platform/perr"
)

const revisionAnn = "deployment.kubernetes.io/revision"

// Revision is one entry of an app's rollout history (a ReplicaSet of its Deployment).
type Revision struct {
	Number   int64     `json:"revision"`
	Image    string    `json:"image"`
	Cause    string    `json:"cause,omitempty"`
	Replicas int32     `json:"replicas"`
	Created  time.Time `json:"created"`
	Current  bool      `json:"current"`
	template corev1.PodTemplateSpec
}

func revisions(ctx context.Context, cs kubernetes.Interface, d *appsv1.Deployment) ([]Revision, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, perr.New(perr.Internal, "deployment %s has an invalid selector: %v", d.Name, err)
	}
	rss, err := cs.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, perr.FromAPI(err, "list revisions of "+d.Name)
	}
	current, _ := strconv.ParseInt(d.Annotations[revisionAnn], 10, 64)
	var out []Revision
	for _, rs := range rss.Items {
		if !metav1.IsControlledBy(&rs, d) {
			continue
		}
		n, err := strconv.ParseInt(rs.Annotations[revisionAnn], 10, 64)
		if err != nil {
			continue
		}
		out = append(out, Revision{Number: n, Image: image(&rs.Spec.Template.Spec), Cause: rs.Annotations[AnnChangeCause],
			Replicas: deref(rs.Spec.Replicas), Created: rs.CreationTimestamp.Time, Current: n == current, template: rs.Spec.Template})
	}
	slices.SortFunc(out, func(a, b Revision) int { return int(b.Number - a.Number) })
	return out, nil
}

// Revisions lists the app's rollout history, newest first.
func (s *Service) Revisions(ctx context.Context, t Target, app string) ([]Revision, error) {
	cs, err := s.client(t)
	if err != nil {
		return nil, err
	}
	d, _, err := primary(ctx, cs, t.Namespace, app)
	if err != nil {
		return nil, err
	}
	return revisions(ctx, cs, d)
}

// Rollback restores the pod template of a revision (0 means the one before the current).
func (s *Service) Rollback(ctx context.Context, t Target, app string, revision int64, opts WriteOptions) (*Change, error) {
	if revision < 0 {
		return nil, perr.Invalidf("revision", "must be positive")
	}
	cs, err := s.client(t)
	if err != nil {
		return nil, err
	}
	d, _, err := primary(ctx, cs, t.Namespace, app)
	if err != nil {
		return nil, err
	}
	revs, err := revisions(ctx, cs, d)
	if err != nil {
		return nil, err
	}
	var target *Revision
	for i := range revs {
		if revision == 0 && !revs[i].Current {
			target = &revs[i]
			break
		}
		if revs[i].Number == revision {
			target = &revs[i]
		}
	}
	switch {
	case target == nil && revision == 0:
		return nil, perr.New(perr.NotFound, "app %s has no earlier revision to roll back to", app)
	case target == nil:
		return nil, perr.Invalidf("revision", "app %s has no revision %d (see list_revisions)", app, revision)
	case target.Current:
		return nil, perr.Invalidf("revision", "revision %d is already the current one", revision)
	}
	tmpl := target.template.DeepCopy()
	delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	oc, _, err := updateDeployment(ctx, cs, t.Namespace, d.Name, opts, func(d *appsv1.Deployment) error {
		d.Spec.Template = *tmpl
		setCause(d, fmt.Sprintf("rollback to revision %d", target.Number))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Change{Summary: fmt.Sprintf("roll back %s/%s to revision %d (image %s)", t.Namespace, app, target.Number, target.Image),
		DryRun: opts.DryRun, Objects: []ObjectChange{oc}}, nil
}

// canarySplit divides total replicas by weight: at least one canary, at least one stable.
func canarySplit(total int32, weight int) (stable, canary int32) {
	canary = int32(math.Round(float64(total) * float64(weight) / 100))
	canary = max(canary, 1)
	if total > 1 {
		canary = min(canary, total-1)
	}
	return max(total-canary, 1), canary
}

func validWeight(w int) error {
	if w < 1 || w > 99 {
		return perr.Invalidf("weight_percent", "must be between 1 and 99, got %d", w)
	}
	return nil
}

// StartCanary runs image as a second Deployment behind the app's Service, with weight percent
// of the app's replicas (traffic splits by replica ratio).
func (s *Service) StartCanary(ctx context.Context, t Target, app, image string, weight int, opts WriteOptions) (*Change, error) {
	if err := validWeight(weight); err != nil {
		return nil, err
	}
	if image == "" {
		return nil, perr.Invalidf("image", "is required")
	}
	cs, err := s.client(t)
	if err != nil {
		return nil, err
	}
	ns := t.Namespace
	d, strategy, err := primary(ctx, cs, ns, app)
	if err != nil {
		return nil, err
	}
	if strategy != Rolling {
		return nil, perr.New(perr.Invalid, "app %s uses blue-green; canaries need a rolling app", app)
	}
	if _, running := d.Annotations[AnnCanaryTotal]; running {
		return nil, perr.New(perr.Conflict, "app %s already has a canary: set its weight, promote or abort it", app)
	}
	total := deref(d.Spec.Replicas)
	stable, canary := canarySplit(total, weight)
	if err := checkQuota(ctx, cs, ns, &d.Spec.Template.Spec, stable+canary-total); err != nil {
		return nil, err
	}
	c := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: canaryName(app), Labels: with(d.Labels, LabelTrack, "canary"),
			Annotations: map[string]string{AnnStrategy: Rolling, AnnCanaryWeight: strconv.Itoa(weight), AnnChangeCause: "canary " + image}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &canary,
			Selector: &metav1.LabelSelector{MatchLabels: canarySelector(app)},
			Template: *d.Spec.Template.DeepCopy(),
		},
	}
	c.Spec.Template.Labels = with(d.Spec.Template.Labels, LabelTrack, "canary")
	delete(c.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	setImage(&c.Spec.Template.Spec, image)
	ch := &Change{Summary: fmt.Sprintf("start canary of %s/%s with %s at %d%% (%d canary + %d stable replicas)",
		ns, app, image, weight, canary, stable), DryRun: opts.DryRun}
	oc, err := createDeployment(ctx, cs, ns, c, opts)
	if err != nil {
		return nil, err
	}
	ch.Objects = append(ch.Objects, oc)
	oc, _, err = updateDeployment(ctx, cs, ns, d.Name, opts, func(d *appsv1.Deployment) error {
		d.Spec.Replicas = &stable
		d.Annotations[AnnCanaryTotal] = strconv.Itoa(int(total))
		return nil
	})
	if err != nil {
		if !opts.DryRun {
			_ = cs.AppsV1().Deployments(ns).Delete(context.WithoutCancel(ctx), c.Name, metav1.DeleteOptions{})
		}
		return nil, err
	}
	ch.Objects = append(ch.Objects, oc)
	return ch, nil
}

func canaryPair(ctx context.Context, cs kubernetes.Interface, ns, app string) (*appsv1.Deployment, *appsv1.Deployment, int32, error) {
	stable, err := cs.AppsV1().Deployments(ns).Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		return nil, nil, 0, perr.FromAPI(err, "get app "+ns+"/"+app)
	}
	canary, err := cs.AppsV1().Deployments(ns).Get(ctx, canaryName(app), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil, 0, perr.New(perr.NotFound, "app %s has no canary running", app)
	}
	if err != nil {
		return nil, nil, 0, perr.FromAPI(err, "get canary of "+app)
	}
	total, err := strconv.Atoi(stable.Annotations[AnnCanaryTotal])
	if err != nil {
		total = int(deref(stable.Spec.Replicas) + deref(canary.Spec.Replicas))
	}
	return stable, canary, int32(total), nil
}

// SetCanaryWeight moves the replica split of a running canary.
func (s *Service) SetCanaryWeight(ctx context.Context, t Target, app string, weight int, opts WriteOptions) (*Change, error) {
	if err := validWeight(weight); err != nil {
		return nil, err
	}
	cs, err := s.client(t)
	if err != nil {
		return nil, err
	}
	ns := t.Namespace
	_, _, total, err := canaryPair(ctx, cs, ns, app)
	if err != nil {
		return nil, err
	}
	stableN, canaryN := canarySplit(total, weight)
	ch := &Change{Summary: fmt.Sprintf("set canary of %s/%s to %d%% (%d canary + %d stable)", ns, app, weight, canaryN, stableN), DryRun: opts.DryRun}
	oc, _, err := updateDeployment(ctx, cs, ns, canaryName(app), opts, func(d *appsv1.Deployment) error {
		d.Spec.Replicas = &canaryN
		d.Annotations[AnnCanaryWeight] = strconv.Itoa(weight)
		return nil
	})
	if err != nil {
		return nil, err
	}
	ch.Objects = append(ch.Objects, oc)
	oc, _, err = updateDeployment(ctx, cs, ns, app, opts, func(d *appsv1.Deployment) error {
		d.Spec.Replicas = &stableN
		return nil
	})
	if err != nil {
		return nil, err
	}
	ch.Objects = append(ch.Objects, oc)
	return ch, nil
}

// PromoteCanary makes the canary's pod template the stable one at the full replica count and
// removes the canary Deployment.
func (s *Service) PromoteCanary(ctx context.Context, t Target, app string, opts WriteOptions) (*Change, error) {
	return s.endCanary(ctx, t, app, true, opts)
}

// AbortCanary removes the canary and restores the stable replica count.
func (s *Service) AbortCanary(ctx context.Context, t Target, app string, opts WriteOptions) (*Change, error) {
	return s.endCanary(ctx, t, app, false, opts)
}

func (s *Service) endCanary(ctx context.Context, t Target, app string, promote bool, opts WriteOptions) (*Change, error) {
	cs, err := s.client(t)
	if err != nil {
		return nil, err
	}
	ns := t.Namespace
	_, canary, total, err := canaryPair(ctx, cs, ns, app)
	if err != nil {
		return nil, err
	}
	img := image(&canary.Spec.Template.Spec)
	ch := &Change{DryRun: opts.DryRun, Summary: fmt.Sprintf("abort canary of %s/%s (%s); stable back to %d replicas", ns, app, img, total)}
	if promote {
		ch.Summary = fmt.Sprintf("promote canary %s of %s/%s to all %d replicas", img, ns, app, total)
	}
	oc, _, err := updateDeployment(ctx, cs, ns, app, opts, func(d *appsv1.Deployment) error {
		d.Spec.Replicas = &total
		delete(d.Annotations, AnnCanaryTotal)
		if promote {
			tmpl := canary.Spec.Template.DeepCopy()
			tmpl.Labels = with(tmpl.Labels, LabelTrack, "stable")
			delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
			d.Spec.Template = *tmpl
			setCause(d, "promote canary "+img)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ch.Objects = append(ch.Objects, oc)
	if err := cs.AppsV1().Deployments(ns).Delete(ctx, canary.Name, metav1.DeleteOptions{DryRun: opts.dryRun()}); err != nil && !apierrors.IsNotFound(err) {
		return nil, perr.FromAPI(err, "delete canary "+ns+"/"+canary.Name)
	}
	ch.Objects = append(ch.Objects, ObjectChange{Kind: "Deployment", Name: ns + "/" + canary.Name, Action: "delete"})
	return ch, nil
}

// SwitchBlueGreen points the app's Service at the other slot. The slot that was live keeps
// running, so switching again is an instant switch-back. Switching to a slot whose pods are not
// all ready is refused.
func (s *Service) SwitchBlueGreen(ctx context.Context, t Target, app string, opts WriteOptions) (*Change, error) {
	cs, err := s.client(t)
	if err != nil {
		return nil, err
	}
	ns := t.Namespace
	ch := &Change{DryRun: opts.DryRun}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		svc, err := cs.CoreV1().Services(ns).Get(ctx, app, metav1.GetOptions{})
		if err != nil {
			return err
		}
		active := svc.Annotations[AnnActiveSlot]
		if active == "" {
			return perr.New(perr.Invalid, "app %s is not a blue-green app", app)
		}
		next := otherSlot(active)
		target, err := cs.AppsV1().Deployments(ns).Get(ctx, slotName(app, next), metav1.GetOptions{})
		if err != nil {
			return err
		}
		want := deref(target.Spec.Replicas)
		if want == 0 || target.Status.ReadyReplicas < want || target.Status.UpdatedReplicas < want {
			return perr.New(perr.Conflict, "the %s slot of %s is not ready (%d/%d pods ready): deploy to it (set_image) and wait before switching",
				next, app, target.Status.ReadyReplicas, want)
		}
		live := svc.DeepCopy()
		svc.Spec.Selector = slotSelector(app, next)
		svc.Annotations[AnnActiveSlot] = next
		res, err := cs.CoreV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{DryRun: opts.dryRun()})
		if err != nil {
			return err
		}
		d, err := diff.Objects(live, res)
		if err != nil {
			return err
		}
		ch.Summary = fmt.Sprintf("switch %s/%s from %s to %s (%s); %s keeps running for switch-back",
			ns, app, active, next, image(&target.Spec.Template.Spec), active)
		ch.Objects = []ObjectChange{{Kind: "Service", Name: ns + "/" + app, Action: "update", Diff: d}}
		return nil
	})
	if err != nil {
		return nil, perr.FromAPI(err, "switch "+ns+"/"+app)
	}
	return ch, nil
}
