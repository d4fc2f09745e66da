package usage

import (
	"context"
	"time"

	"k8s-manage/platform/metrics"
	"k8s-manage/platform/tenant"
)

// PrometheusHistory is the right-sizing history read from Prometheus where one is configured:
// the app's CPU and memory used (cAdvisor) against requested (kube-state-metrics) over the
// window, at up to hourly points. Where Prometheus has none of it (or fails), the meter's
// history (Fallback) is read instead.
type PrometheusHistory struct {
	Metrics  *metrics.Client
	Fallback History
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Samples implements History.
func (h PrometheusHistory) Samples(ctx context.Context, tenantName, env, app string, since time.Time) ([]Sample, error) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	us, err := h.Metrics.Usage(ctx, tenant.Namespace(tenantName, env), app, now().Sub(since))
	if err != nil || len(us) == 0 {
		return h.Fallback.Samples(ctx, tenantName, env, app, since)
	}
	out := make([]Sample, 0, len(us))
	prev := since
	for _, u := range us {
		out = append(out, Sample{From: prev, To: u.T, CPURequested: u.CPURequested, CPUUsed: u.CPUUsed,
			MemoryRequested: u.MemoryRequested / (1 << 30), MemoryUsed: u.MemoryUsed / (1 << 30), Measured: true})
		prev = u.T
	}
	return out, nil
}
