package diagnose

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Sample is one point of an app's metric over time.
type Sample struct {
	T time.Time
	V float64
}

// The metrics of Snapshot.Trends the trends analyzer reads.
const (
	TrendRestarts   = "restarts"    // restarts per minute
	TrendErrorRatio = "error_ratio" // the share of requests answered 5xx
	TrendLatencyP95 = "latency_p95" // seconds
)

// jump is what counts as a jump of one metric: the recent level must pass floor, and be at
// least factor times the baseline plus margin.
type jump struct {
	metric, title string
	floor, margin float64
	factor        float64
	format        func(float64) string
	severity      Severity
	suggestion    string
}

var jumps = []jump{
	{TrendRestarts, "restart rate", 0.2, 0.1, 2, func(v float64) string { return fmt.Sprintf("%.1f/min", v) }, Critical,
		"read the previous container's logs (get_pod_logs previous) for why it exits; undo the change before it if that is the cause"},
	{TrendErrorRatio, "5xx ratio", 0.02, 0.01, 2, func(v float64) string { return fmt.Sprintf("%.1f%%", v*100) }, Critical,
		"read the app's logs for the failing requests; undo the change before it (rollback_app) if that is the cause"},
	{TrendLatencyP95, "p95 latency", 0.05, 0.05, 1.5, func(v float64) string {
		if v < 1 {
			return fmt.Sprintf("%.0fms", v*1000)
		}
		return fmt.Sprintf("%.2fs", v)
	}, Warning, "check what the app waits on (CPU throttling, a dependency, the database); undo the change before it if that is the cause"},
}

// trendJump finds where a series jumped: the baseline is the median of its first half, the
// recent level the median of its last quarter; when the recent level is a jump over the
// baseline, since is the first point from which the series stayed above the midpoint.
func trendJump(ps []Sample, j jump) (base, recent float64, since time.Time, ok bool) {
	if len(ps) < 8 {
		return 0, 0, time.Time{}, false
	}
	median := func(p []Sample) float64 {
		vs := make([]float64, len(p))
		for i, x := range p {
			vs[i] = x.V
		}
		sort.Float64s(vs)
		return vs[len(vs)/2]
	}
	base, recent = median(ps[:len(ps)/2]), median(ps[len(ps)*3/4:])
	if recent < j.floor || recent < j.factor*base+j.margin {
		return base, recent, time.Time{}, false
	}
	mid := (base + recent) / 2
	i := len(ps) - 1
	for i > 0 && ps[i-1].V > mid {
		i--
	}
	return base, recent, ps[i].T, true
}

// trends: an app whose restart rate, 5xx ratio or p95 latency jumped (Snapshot.Trends, read
// from Prometheus where one is configured); each finding dates the jump, so the timeline can
// name the change that came just before it.
func (a *analysis) trends() {
	apps := make([]string, 0, len(a.s.Trends))
	for app := range a.s.Trends {
		apps = append(apps, app)
	}
	slices.Sort(apps)
	for _, app := range apps {
		res := a.workloadOf(app)
		if res == "" || !a.has(res) {
			continue
		}
		for _, j := range jumps {
			base, recent, since, ok := trendJump(a.s.Trends[app][j.metric], j)
			if !ok {
				continue
			}
			a.add(Finding{Severity: j.severity, Resource: res, App: app,
				Reason: fmt.Sprintf("%s jumped from %s to %s since %s", j.title, j.format(base), j.format(recent), since.UTC().Format("15:04:05")),
				Evidence: []string{fmt.Sprintf("Prometheus: %s of %s was %s before %s and %s since", j.title, app, j.format(base),
					since.UTC().Format(time.RFC3339), j.format(recent))},
				Suggestion: j.suggestion, began: since})
			a.jumped = append(a.jumped, Event{At: since, Kind: "failure", What: fmt.Sprintf("%s of %s jumped to %s", j.title, res, j.format(recent))})
		}
	}
}

// workloadOf is the in-snapshot Deployment or StatefulSet of an app ("deployment/web").
func (a *analysis) workloadOf(app string) string {
	for _, d := range a.s.Deployments {
		if k := "deployment/" + d.Name; a.w.appOf[k] == app {
			return k
		}
	}
	for _, st := range a.s.StatefulSets {
		if k := "statefulset/" + st.Name; a.w.appOf[k] == app {
			return k
		}
	}
	return ""
}

// Apps are the applications of the Deployments and StatefulSets a diagnosis of scope looks at,
// in the snapshot's order: the asked resource's and what its wiring reaches, or every one when the
// scope names nothing or nothing it names is found. The caller reads their trends for the
// snapshot with it, so the names match the ones the analyzers give.
func Apps(s *Snapshot, scope Scope) []string {
	w := newWiring(s)
	var in map[string]bool
	if seeds, _ := w.resolve(scope); len(seeds) > 0 {
		in = w.expand(seeds)
	}
	var keys, out []string
	for _, d := range s.Deployments {
		keys = append(keys, "deployment/"+d.Name)
	}
	for _, st := range s.StatefulSets {
		keys = append(keys, "statefulset/"+st.Name)
	}
	for _, k := range keys {
		if app := w.appOf[k]; (in == nil || in[k]) && !slices.Contains(out, app) {
			out = append(out, app)
		}
	}
	return out
}
