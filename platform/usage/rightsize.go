package usage

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/perr"
)

// Sample is one metered interval of an app: the CPU (cores) and memory (GiB) its pods requested
// in total and, where measured, used.
type Sample struct {
	From, To                    time.Time
	CPURequested, CPUUsed       float64
	MemoryRequested, MemoryUsed float64
	// Measured says usage was measured in this interval.
	Measured bool
}

// History reads an app's metered intervals since a time (billing.Bills.Samples).
type History interface {
	Samples(ctx context.Context, tenant, env, app string, since time.Time) ([]Sample, error)
}

// Sizer suggests requests and limits from observed usage.
type Sizer struct {
	usage   *Service
	apps    *apps.Service
	history History
	opts    SizerOptions
}

// SizerOptions tune the suggestions. Zero values take the defaults shown.
type SizerOptions struct {
	// Window is how much history is read (default 7 days).
	Window time.Duration
	// MinSamples is how many measured intervals a suggestion needs (default 6).
	MinSamples int
	// Headroom multiplies the observed percentile (default 1.15: 15% above it).
	Headroom float64
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// NewSizer builds a Sizer.
func NewSizer(u *Service, a *apps.Service, h History, o SizerOptions) *Sizer {
	if o.Window <= 0 {
		o.Window = 7 * 24 * time.Hour
	}
	if o.MinSamples <= 0 {
		o.MinSamples = 6
	}
	if o.Headroom <= 0 {
		o.Headroom = 1.15
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sizer{usage: u, apps: a, history: h, opts: o}
}

// Sizing is one resource's suggestion, per pod.
type Sizing struct {
	Request string `json:"request"`
	Limit   string `json:"limit,omitempty"`
	// P95 and Peak are the observed per-pod usage: the 95th percentile and the maximum.
	P95  string `json:"p95"`
	Peak string `json:"peak"`
	// SuggestedRequest and SuggestedLimit are the new values (limit only where one is set).
	SuggestedRequest string `json:"suggested_request"`
	SuggestedLimit   string `json:"suggested_limit,omitempty"`
	// Change is lower, raise or keep.
	Change string `json:"change"`
}

// Suggestion is an app's right-sizing.
type Suggestion struct {
	App     string `json:"app"`
	Samples int    `json:"samples"`
	Since   string `json:"since"`
	CPU     Sizing `json:"cpu"`
	Memory  Sizing `json:"memory"`
	// Resources are the suggested requests and limits, ready for update_app with Version.
	Resources apps.Resources `json:"resources"`
	Version   string         `json:"version"`
	Summary   string         `json:"summary"`
	// Refused says why the suggestion cannot be applied (a LimitRange or quota it would break).
	Refused string `json:"refused,omitempty"`
	// Config is the app's configuration the suggestion was made against.
	Config *apps.Config `json:"-"`
}

// Where locates an app for the sizer: the person, the namespace, and the tenant environment
// whose metering history is read.
type Where struct {
	Target      apps.Target
	Tenant, Env string
}

// Suggest sizes one app from its metered usage: CPU at the 95th percentile of usage against
// requests, memory at its peak (running out of memory kills the pod), each with headroom.
// Limits keep their current ratio to requests.
func (z *Sizer) Suggest(ctx context.Context, w Where, app string) (*Suggestion, error) {
	if app == "" {
		return nil, perr.Invalidf("app", "is required")
	}
	cfg, err := z.apps.GetConfig(ctx, w.Target, app)
	if err != nil {
		return nil, err
	}
	// The pods' effective requests and limits (a LimitRange may have defaulted them).
	top, err := z.usage.Top(ctx, w.Target, Options{App: app, Pods: true})
	if err != nil {
		return nil, err
	}
	since := z.opts.Now().Add(-z.opts.Window)
	samples, err := z.history.Samples(ctx, w.Tenant, w.Env, app, since)
	if err != nil {
		return nil, err
	}
	var cpuRatios, memRatios []float64
	for _, s := range samples {
		if !s.Measured || s.CPURequested <= 0 || s.MemoryRequested <= 0 {
			continue
		}
		cpuRatios = append(cpuRatios, s.CPUUsed/s.CPURequested)
		memRatios = append(memRatios, s.MemoryUsed/s.MemoryRequested)
	}
	if len(cpuRatios) < z.opts.MinSamples {
		return nil, perr.New(perr.NotFound, "not enough usage history to size %s: %d measured samples since %s, %d needed (the meter samples usage on every interval where the cluster serves a metrics API, and only for pods with requests)",
			app, len(cpuRatios), since.Format(time.DateOnly), z.opts.MinSamples)
	}
	pod := podSpec(top)
	if pod.Requests.CPUMilli <= 0 || pod.Requests.MemoryBytes <= 0 {
		return nil, perr.New(perr.Invalid, "%s has no CPU or memory request to size", app)
	}
	cpuP95, cpuPeak := percentile(cpuRatios, 0.95), percentile(cpuRatios, 1)
	memP95, memPeak := percentile(memRatios, 0.95), percentile(memRatios, 1)

	newCPU := roundCPU(float64(pod.Requests.CPUMilli) * cpuP95 * z.opts.Headroom)
	newMem := roundMemory(float64(pod.Requests.MemoryBytes) * memPeak * z.opts.Headroom)
	sug := &Suggestion{App: app, Samples: len(cpuRatios), Since: since.Format(time.RFC3339), Version: cfg.Version, Config: cfg}
	sug.CPU = sizing(CPU(pod.Requests.CPUMilli), limitText(pod.Limits.CPUMilli, CPU),
		CPU(int64(float64(pod.Requests.CPUMilli)*cpuP95)), CPU(int64(float64(pod.Requests.CPUMilli)*cpuPeak)),
		pod.Requests.CPUMilli, newCPU, pod.Limits.CPUMilli, CPU, roundCPU)
	sug.Memory = sizing(Memory(pod.Requests.MemoryBytes), limitText(pod.Limits.MemoryBytes, Memory),
		Memory(int64(float64(pod.Requests.MemoryBytes)*memP95)), Memory(int64(float64(pod.Requests.MemoryBytes)*memPeak)),
		pod.Requests.MemoryBytes, newMem, pod.Limits.MemoryBytes, mebibytes, roundMemory)
	sug.Resources = apps.Resources{CPURequest: sug.CPU.SuggestedRequest, MemoryRequest: sug.Memory.SuggestedRequest,
		CPULimit: sug.CPU.SuggestedLimit, MemoryLimit: sug.Memory.SuggestedLimit}
	current := apps.Resources{CPURequest: CPU(pod.Requests.CPUMilli), MemoryRequest: mebibytes(pod.Requests.MemoryBytes)}
	if err := z.apps.FitsLimits(ctx, w.Target, sug.Resources); err != nil {
		sug.Refused = err.Error()
	} else if err := z.apps.FitsQuota(ctx, w.Target, app, current, sug.Resources, cfg.Replicas); err != nil {
		sug.Refused = err.Error()
	}
	sug.Summary = fmt.Sprintf("%s: CPU request %s, p95 usage %s → %s; memory request %s, peak usage %s → %s (%d samples)",
		app, sug.CPU.Request, sug.CPU.P95, sug.CPU.SuggestedRequest, sug.Memory.Request, sug.Memory.Peak, sug.Memory.SuggestedRequest, sug.Samples)
	return sug, nil
}

// Skipped is an app the sizer could not size, and why.
type Skipped struct {
	App    string `json:"app"`
	Reason string `json:"reason"`
}

// SuggestAll sizes every app with pods in the environment, those that would change first.
func (z *Sizer) SuggestAll(ctx context.Context, w Where) ([]*Suggestion, []Skipped, error) {
	top, err := z.usage.Top(ctx, w.Target, Options{})
	if err != nil {
		return nil, nil, err
	}
	var out []*Suggestion
	var skipped []Skipped
	for _, a := range top.Apps {
		s, err := z.Suggest(ctx, w, a.Name)
		if err != nil {
			skipped = append(skipped, Skipped{App: a.Name, Reason: err.Error()})
			continue
		}
		out = append(out, s)
	}
	changes := func(s *Suggestion) int {
		n := 0
		for _, c := range []string{s.CPU.Change, s.Memory.Change} {
			if c != "keep" {
				n++
			}
		}
		return n
	}
	slices.SortStableFunc(out, func(a, b *Suggestion) int { return changes(b) - changes(a) })
	return out, skipped, nil
}

// podSpec is the largest request (and its limits) among the app's pods.
func podSpec(r *Report) Line {
	var best Line
	for _, p := range r.Pods {
		if p.Requests.CPUMilli > best.Requests.CPUMilli || best.Pods == 0 {
			best = p
		}
	}
	return best
}

func sizing(req, lim, p95, peak string, reqN, newReq, limN int64, format func(int64) string, round func(float64) int64) Sizing {
	s := Sizing{Request: req, Limit: lim, P95: p95, Peak: peak, SuggestedRequest: format(newReq)}
	if limN > 0 {
		s.SuggestedLimit = format(max(newReq, round(float64(limN)*float64(newReq)/float64(reqN))))
	}
	switch d := float64(newReq-reqN) / float64(reqN); {
	case math.Abs(d) < 0.1:
		s.Change = "keep"
	case d < 0:
		s.Change = "lower"
	default:
		s.Change = "raise"
	}
	return s
}

func limitText(n int64, format func(int64) string) string {
	if n <= 0 {
		return ""
	}
	return format(n)
}

// percentile is the p-th (0..1) value of xs, nearest rank.
func percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// roundCPU rounds millicores up to 5m (10m at least).
func roundCPU(m float64) int64 { return max(10, int64(math.Ceil(m/5))*5) }

// roundMemory rounds bytes up to a Mi (16Mi at least).
func roundMemory(b float64) int64 {
	const mi = 1 << 20
	return max(16*mi, int64(math.Ceil(b/mi))*mi)
}

// mebibytes writes an amount the sizer rounded to whole Mi exactly: "300Mi".
func mebibytes(b int64) string { return fmt.Sprintf("%dMi", b>>20) }
