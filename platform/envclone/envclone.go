// Package envclone copies a tenant environment into another: its apps (Deployments and Services),
// autoscalers, configuration (secrets re-encrypted for their new place) and quota, with image tag
// and replica overrides. It runs as the person asking, refuses to overwrite existing apps unless
// told to, and reports what it created. The source environment is only read.
package envclone

import (
	"context"
	"fmt"
	"maps"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/platform/apps"
	pconfig "k8s-manage/platform/config"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
)

// Override changes one app in the copy.
type Override struct {
	Image    string `json:"image,omitempty"`
	Replicas *int32 `json:"replicas,omitempty"`
}

// Options configure a clone.
type Options struct {
	Overrides map[string]Override
	// Overwrite replaces apps that already exist in the target environment.
	Overwrite bool
	DryRun    bool
}

// Report lists what a clone created, replaced and skipped.
type Report struct {
	From, To string
	Created  []string `json:"created"`
	Replaced []string `json:"replaced,omitempty"`
	Skipped  []string `json:"skipped,omitempty"`
}

// Service clones environments.
type Service struct {
	kube   *kube.Clients
	config *pconfig.Service
}

// NewService builds a Service; cfg copies configuration (nil skips it).
func NewService(clients *kube.Clients, cfg *pconfig.Service) *Service {
	return &Service{kube: clients, config: cfg}
}

func clean(m metav1.ObjectMeta, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: ns, Labels: maps.Clone(m.Labels), Annotations: cleanAnn(m.Annotations)}
}

func cleanAnn(a map[string]string) map[string]string {
	out := maps.Clone(a)
	delete(out, "deployment.kubernetes.io/revision")
	delete(out, "kubectl.kubernetes.io/last-applied-configuration")
	return out
}

// Clone copies env from into env to of tenant t, as the person.
func (s *Service) Clone(ctx context.Context, as kube.Identity, t, from, to string, o Options) (*Report, error) {
	if from == to {
		return nil, perr.Invalidf("to_env", "must differ from from_env")
	}
	cs, err := s.kube.As(as)
	if err != nil {
		return nil, err
	}
	src, dst := tenant.Namespace(t, from), tenant.Namespace(t, to)
	if _, err := cs.CoreV1().ResourceQuotas(dst).List(ctx, metav1.ListOptions{}); err != nil {
		return nil, perr.FromAPI(err, "environment "+to+" of "+t)
	}
	rep := &Report{From: src, To: dst}
	var dry []string
	if o.DryRun {
		dry = []string{metav1.DryRunAll}
	}
	managed := metav1.ListOptions{LabelSelector: apps.LabelManagedBy + "=" + apps.ManagedBy}
	deps, err := cs.AppsV1().Deployments(src).List(ctx, managed)
	if err != nil {
		return nil, perr.FromAPI(err, "list apps of "+src)
	}
	svcs, err := cs.CoreV1().Services(src).List(ctx, managed)
	if err != nil {
		return nil, perr.FromAPI(err, "list services of "+src)
	}
	hpas, err := cs.AutoscalingV2().HorizontalPodAutoscalers(src).List(ctx, managed)
	if err != nil {
		return nil, perr.FromAPI(err, "list autoscalers of "+src)
	}
	appNames := map[string]bool{}
	for _, d := range deps.Items {
		if d.Labels[apps.LabelTrack] == "canary" {
			rep.Skipped = append(rep.Skipped, "deployment "+d.Name+" (a running canary is not cloned)")
			continue
		}
		appNames[d.Labels[apps.LabelApp]] = true
	}
	for app := range o.Overrides {
		if !appNames[app] {
			return nil, perr.Invalidf("overrides."+app, "%s has no app %s", src, app)
		}
	}
	// Refuse before writing anything: existing apps are only replaced when asked.
	var existing []string
	for _, d := range deps.Items {
		if _, err := cs.AppsV1().Deployments(dst).Get(ctx, d.Name, metav1.GetOptions{}); err == nil {
			existing = append(existing, d.Name)
		}
	}
	if len(existing) > 0 && !o.Overwrite {
		slices.Sort(existing)
		return nil, perr.New(perr.Conflict, "%s already has %v: pass overwrite to replace them", dst, existing)
	}
	for _, d := range deps.Items {
		if d.Labels[apps.LabelTrack] == "canary" {
			continue
		}
		app := d.Labels[apps.LabelApp]
		next := &appsv1.Deployment{ObjectMeta: clean(d.ObjectMeta, dst), Spec: *d.Spec.DeepCopy()}
		if ov, ok := o.Overrides[app]; ok {
			if ov.Image != "" {
				for i := range next.Spec.Template.Spec.Containers {
					if next.Spec.Template.Spec.Containers[i].Name == "app" || len(next.Spec.Template.Spec.Containers) == 1 {
						next.Spec.Template.Spec.Containers[i].Image = ov.Image
					}
				}
			}
			if ov.Replicas != nil && (next.Spec.Replicas == nil || *next.Spec.Replicas > 0) { // idle blue-green slots stay at 0
				next.Spec.Replicas = ov.Replicas
			}
		}
		delete(next.Annotations, apps.AnnCanaryTotal)
		if _, err := cs.AppsV1().Deployments(dst).Create(ctx, next, metav1.CreateOptions{DryRun: dry}); apierrors.IsAlreadyExists(err) {
			live, gerr := cs.AppsV1().Deployments(dst).Get(ctx, d.Name, metav1.GetOptions{})
			if gerr != nil {
				return rep, perr.FromAPI(gerr, "replace "+dst+"/"+d.Name)
			}
			live.Spec, live.Labels = next.Spec, next.Labels
			if _, err := cs.AppsV1().Deployments(dst).Update(ctx, live, metav1.UpdateOptions{DryRun: dry}); err != nil {
				return rep, perr.FromAPI(err, "replace deployment "+dst+"/"+d.Name)
			}
			rep.Replaced = append(rep.Replaced, "deployment "+dst+"/"+d.Name)
		} else if err != nil {
			return rep, perr.FromAPI(err, "create deployment "+dst+"/"+d.Name)
		} else {
			rep.Created = append(rep.Created, "deployment "+dst+"/"+d.Name)
		}
	}
	for _, sv := range svcs.Items {
		next := &corev1.Service{ObjectMeta: clean(sv.ObjectMeta, dst), Spec: *sv.Spec.DeepCopy()}
		next.Spec.ClusterIP, next.Spec.ClusterIPs = "", nil
		if _, err := cs.CoreV1().Services(dst).Create(ctx, next, metav1.CreateOptions{DryRun: dry}); err != nil && !apierrors.IsAlreadyExists(err) {
			return rep, perr.FromAPI(err, "create service "+dst+"/"+sv.Name)
		} else if err == nil {
			rep.Created = append(rep.Created, "service "+dst+"/"+sv.Name)
		}
	}
	for _, h := range hpas.Items {
		next := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: clean(h.ObjectMeta, dst), Spec: *h.Spec.DeepCopy()}
		if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(dst).Create(ctx, next, metav1.CreateOptions{DryRun: dry}); err != nil && !apierrors.IsAlreadyExists(err) {
			return rep, perr.FromAPI(err, "create autoscaler "+dst+"/"+h.Name)
		} else if err == nil {
			rep.Created = append(rep.Created, "horizontalpodautoscaler "+dst+"/"+h.Name)
		}
	}
	if ings, err := cs.NetworkingV1().Ingresses(src).List(ctx, managed); err == nil {
		for _, ing := range ings.Items {
			rep.Skipped = append(rep.Skipped, "ingress "+ing.Name+" (hosts belong to one environment: bind the new environment's domain)")
		}
	}
	if s.config != nil && !o.DryRun {
		for _, app := range slices.Sorted(maps.Keys(appNames)) {
			items, err := s.config.Get(ctx, pconfig.Ref{Tenant: t, Env: from, App: app}, true)
			if err != nil {
				return rep, err
			}
			for _, it := range items {
				if _, err := s.config.Set(ctx, as, pconfig.Ref{Tenant: t, Env: to, App: app}, it.Key, it.Value, pconfig.SetOptions{Secret: it.Secret}); err != nil {
					return rep, fmt.Errorf("copy %s of %s: %w", it.Key, app, err)
				}
				kind := "config"
				if it.Secret {
					kind = "secret (re-encrypted)"
				}
				rep.Created = append(rep.Created, fmt.Sprintf("%s %s/%s.%s", kind, to, app, it.Key))
			}
		}
	}
	if q, err := cs.CoreV1().ResourceQuotas(src).Get(ctx, tenant.QuotaName, metav1.GetOptions{}); err == nil {
		live, err := cs.CoreV1().ResourceQuotas(dst).Get(ctx, tenant.QuotaName, metav1.GetOptions{})
		if err == nil {
			live.Spec.Hard = q.Spec.Hard.DeepCopy()
			if _, err := cs.CoreV1().ResourceQuotas(dst).Update(ctx, live, metav1.UpdateOptions{DryRun: dry}); err != nil {
				rep.Skipped = append(rep.Skipped, "quota ("+perr.FromAPI(err, "update quota").Error()+")")
			} else {
				rep.Created = append(rep.Created, "resourcequota "+dst+"/"+tenant.QuotaName+" (copied limits)")
			}
		}
	}
	return rep, nil
}
