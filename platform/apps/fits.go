package apps

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"k8s-manage/platform/perr"
)

// fitsLimitRanges checks a container's resources against the namespace's LimitRanges (their
// container minimums, maximums and limit-to-request ratios). The API server applies them to pods,
// not to Deployments: a Deployment whose pods break one is accepted, and then no pod is created.
// So a change is refused here first, naming the field and the LimitRange.
func fitsLimitRanges(ctx context.Context, cs kubernetes.Interface, ns string, r corev1.ResourceRequirements) error {
	lrs, err := cs.CoreV1().LimitRanges(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return perr.FromAPI(err, "read the limit ranges of "+ns)
	}
	field := func(kind string, name corev1.ResourceName) string {
		if name == corev1.ResourceCPU {
			return "resources.cpu_" + kind
		}
		return "resources.memory_" + kind
	}
	for _, lr := range lrs.Items {
		for _, it := range lr.Spec.Limits {
			if it.Type != corev1.LimitTypeContainer {
				continue
			}
			for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, hasReq := r.Requests[name]
				lim, hasLim := r.Limits[name]
				if lo, ok := it.Min[name]; ok {
					for kind, v := range map[string]*resource.Quantity{"request": ptrIf(req, hasReq), "limit": ptrIf(lim, hasLim)} {
						if v != nil && v.Cmp(lo) < 0 {
							return perr.Invalidf(field(kind, name), "%s is below the minimum %s %s per container that LimitRange %s allows in %s",
								v.String(), lo.String(), name, lr.Name, ns)
						}
					}
				}
				if hi, ok := it.Max[name]; ok {
					for kind, v := range map[string]*resource.Quantity{"request": ptrIf(req, hasReq), "limit": ptrIf(lim, hasLim)} {
						if v != nil && v.Cmp(hi) > 0 {
							return perr.Invalidf(field(kind, name), "%s is above the maximum %s %s per container that LimitRange %s allows in %s",
								v.String(), hi.String(), name, lr.Name, ns)
						}
					}
				}
				if ratio, ok := it.MaxLimitRequestRatio[name]; ok && hasReq && hasLim && !req.IsZero() {
					if got := float64(lim.MilliValue()) / float64(req.MilliValue()); got > ratio.AsApproximateFloat64() {
						return perr.Invalidf(field("limit", name), "limit %s is %.1f times the request %s; LimitRange %s allows at most %s in %s",
							lim.String(), got, req.String(), lr.Name, ratio.String(), ns)
					}
				}
			}
		}
	}
	return nil
}

func ptrIf(q resource.Quantity, ok bool) *resource.Quantity {
	if !ok {
		return nil
	}
	return &q
}

// FitsQuota checks that raising an app's requests to r, for replicas pods, stays within the
// namespace's ResourceQuotas (requests.cpu, requests.memory, and cpu/memory): the pods would be
// refused otherwise. Lowering always fits.
func (s *Service) FitsQuota(ctx context.Context, t Target, app string, from, to Resources, replicas int32) error {
	cs, err := s.client(t)
	if err != nil {
		return err
	}
	qs, err := cs.CoreV1().ResourceQuotas(t.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return perr.FromAPI(err, "read the quotas of "+t.Namespace)
	}
	delta := func(a, b string) (resource.Quantity, bool) {
		nb, err := resource.ParseQuantity(b)
		if err != nil {
			return resource.Quantity{}, false // unset, or refused by the spec's own validation
		}
		if na, err := resource.ParseQuantity(a); err == nil {
			nb.Sub(na)
		}
		var total resource.Quantity
		for range replicas {
			total.Add(nb)
		}
		return total, true
	}
	for _, q := range qs.Items {
		for _, c := range []struct {
			names    []corev1.ResourceName
			from, to string
			field    string
		}{
			{[]corev1.ResourceName{corev1.ResourceRequestsCPU, corev1.ResourceCPU}, from.CPURequest, to.CPURequest, "resources.cpu_request"},
			{[]corev1.ResourceName{corev1.ResourceRequestsMemory, corev1.ResourceMemory}, from.MemoryRequest, to.MemoryRequest, "resources.memory_request"},
		} {
			d, ok := delta(c.from, c.to)
			if !ok || d.Sign() <= 0 {
				continue
			}
			for _, name := range c.names {
				hard, has := q.Status.Hard[name]
				if !has {
					continue
				}
				used := q.Status.Used[name]
				next := used.DeepCopy()
				next.Add(d)
				if next.Cmp(hard) > 0 {
					return perr.New(perr.QuotaExceeded, "%s to %s for %d pods of %s needs %s more %s, but quota %s has %s of %s used",
						c.field, c.to, replicas, app, d.String(), name, q.Name, used.String(), hard.String())
				}
			}
		}
	}
	return nil
}

// FitsLimits checks resources against the namespace's LimitRanges, as a change to them would be.
func (s *Service) FitsLimits(ctx context.Context, t Target, r Resources) error {
	probe := Spec{Name: "probe", Image: "x", Resources: r}
	if err := probe.Validate(); err != nil {
		return err
	}
	cs, err := s.client(t)
	if err != nil {
		return err
	}
	return checkFits(ctx, cs, t.Namespace, probe)
}

// checkFits is the LimitRange check of a spec's container.
func checkFits(ctx context.Context, cs kubernetes.Interface, ns string, spec Spec) error {
	return fitsLimitRanges(ctx, cs, ns, spec.container().Resources)
}
