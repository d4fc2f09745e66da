// Package quota reads and sets a tenant environment's ResourceQuota: usage against hard limits
// per resource, from the quota's status as the API server keeps it.
package quota

import (
	"context"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/diff"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
)

// Service reads and sets quotas.
type Service struct{ kube *kube.Clients }

// NewService builds a Service.
func NewService(clients *kube.Clients) *Service { return &Service{kube: clients} }

// Line is one resource's usage.
type Line struct {
	Resource string  `json:"resource"`
	Used     string  `json:"used"`
	Hard     string  `json:"hard"`
	Percent  float64 `json:"percent"`
}

// Usage is a namespace's quota usage.
type Usage struct {
	Namespace string `json:"namespace"`
	Lines     []Line `json:"lines"`
}

// Get reports used vs hard for every resource of the namespace's platform quota.
func (s *Service) Get(ctx context.Context, t apps.Target) (*Usage, error) {
	cs, err := s.kube.As(t.As)
	if err != nil {
		return nil, err
	}
	q, err := cs.CoreV1().ResourceQuotas(t.Namespace).Get(ctx, tenant.QuotaName, metav1.GetOptions{})
	if err != nil {
		return nil, perr.FromAPI(err, "read quota of "+t.Namespace)
	}
	u := &Usage{Namespace: t.Namespace}
	// Hard limits as configured (spec); usage as the quota controller counted it (status).
	for _, name := range slices.Sorted(maps.Keys(q.Spec.Hard)) {
		hard, used := q.Spec.Hard[name], q.Status.Used[name]
		pct := 0.0
		if hard.MilliValue() > 0 {
			pct = float64(used.MilliValue()) * 100 / float64(hard.MilliValue())
		}
		u.Lines = append(u.Lines, Line{Resource: string(name), Used: used.String(), Hard: hard.String(), Percent: pct})
	}
	return u, nil
}

// Set changes hard limits (only the resources given; others keep their value). Lowering a limit
// below current usage is refused, naming the resource.
func (s *Service) Set(ctx context.Context, t apps.Target, hard map[string]string, opts apps.WriteOptions) (*apps.Change, error) {
	if len(hard) == 0 {
		return nil, perr.Invalidf("hard", "give at least one resource, e.g. requests.cpu=8")
	}
	want := corev1.ResourceList{}
	for k, v := range hard {
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() < 0 {
			return nil, perr.Invalidf("hard."+k, "%q is not a non-negative quantity", v)
		}
		want[corev1.ResourceName(k)] = q
	}
	cs, err := s.kube.As(t.As)
	if err != nil {
		return nil, err
	}
	var dry []string
	if opts.DryRun {
		dry = []string{metav1.DryRunAll}
	}
	ch := &apps.Change{DryRun: opts.DryRun, Summary: fmt.Sprintf("set quota of %s", t.Namespace)}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		live, err := cs.CoreV1().ResourceQuotas(t.Namespace).Get(ctx, tenant.QuotaName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for name, q := range want {
			if used, ok := live.Status.Used[name]; ok && q.Cmp(used) < 0 {
				return perr.Invalidf("hard."+string(name), "%s is below current usage %s", q.String(), used.String())
			}
		}
		next := live.DeepCopy()
		maps.Copy(next.Spec.Hard, want)
		res, err := cs.CoreV1().ResourceQuotas(t.Namespace).Update(ctx, next, metav1.UpdateOptions{DryRun: dry})
		if err != nil {
			return err
		}
		d, err := diff.Objects(live.Spec, res.Spec)
		ch.Objects = []apps.ObjectChange{{Kind: "ResourceQuota", Name: t.Namespace + "/" + tenant.QuotaName, Action: "update", Diff: d}}
		return err
	})
	if err != nil {
		return nil, perr.FromAPI(err, "set quota of "+t.Namespace)
	}
	return ch, nil
}
