package diagnose

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"k8s-manage/internal/textutil"
)

// Analyze resolves the scope against the snapshot, runs every analyzer over what is in it, and
// ranks the findings: causes before their symptoms (a symptom is folded into its cause as an
// effect), critical first, and shared context notes last.
func Analyze(s *Snapshot, scope Scope) *Report {
	a := newAnalysis(s, scope)
	for _, an := range analyzers() {
		an.run(a)
	}
	fs := a.findings
	if a.scoped() {
		// An info note about a shared resource does not touch the asked resource: context, not a cause.
		for i := range fs {
			if fs[i].App == "" && fs[i].Severity == Info {
				fs[i].Context = true
			}
		}
	}
	slices.SortStableFunc(fs, func(x, y Finding) int {
		if x.Context != y.Context { // context notes last, whatever their severity
			if x.Context {
				return 1
			}
			return -1
		}
		if x.Severity != y.Severity {
			return int(y.Severity) - int(x.Severity)
		}
		if x.symptom != y.symptom {
			if x.symptom {
				return 1
			}
			return -1
		}
		return 0
	})
	fs = fold(fs)
	r := &Report{Scope: scopeName(scope), Findings: fs, Checked: a.checked(), Unresolved: a.unresolved}
	r.Timeline = a.timeline(r.Findings)
	problems := slices.DeleteFunc(slices.Clone(fs), func(f Finding) bool { return f.Context })
	switch {
	case a.unresolved != "":
		r.Summary = fmt.Sprintf("nothing named %q in %s: %s", a.unresolved, scope.Namespace, a.suggest())
	case len(problems) == 0:
		r.Summary = "no problems found in " + r.Scope + ": nothing checked explains a failure (checked " + r.Checked + ")"
	default:
		r.Summary = fmt.Sprintf("%d problem(s) in %s; the cause: %s (%s)", len(problems), r.Scope, problems[0].Reason, problems[0].Resource)
	}
	return r
}

// fold moves each symptom into the first cause of the same app, as an effect in its evidence:
// "1 of 2 replicas unavailable" is what the missing ConfigMap does, not a second problem. A
// symptom with no known cause stays, as the best there is.
func fold(fs []Finding) []Finding {
	cause := map[string]int{} // app -> index in fs of its first cause
	for i, f := range fs {
		if _, seen := cause[f.App]; !seen && !f.symptom && !f.Context && f.App != "" {
			cause[f.App] = i
		}
	}
	effects := map[int][]string{}
	for _, f := range fs {
		if c, ok := cause[f.App]; ok && f.symptom {
			effects[c] = append(effects[c], "effect: "+f.Resource+": "+f.Reason)
		}
	}
	var out []Finding
	for i, f := range fs {
		if _, ok := cause[f.App]; ok && f.symptom {
			continue
		}
		f.Evidence = append(f.Evidence, effects[i]...)
		out = append(out, f)
	}
	return out
}

type analysis struct {
	s        *Snapshot
	scope    Scope
	w        *wiring
	in       map[string]bool     // resource keys in scope; nil: the whole namespace
	events   map[string][]string // "Kind/name" -> warning event lines
	findings []Finding
	grouped  map[string]int // app|reason -> index in findings (pods of one app failing alike)
	// unresolved is the asked name that matched nothing (the namespace is diagnosed instead).
	unresolved string
	// now is the analysis' clock (the snapshot's time).
	now time.Time
	// jumped are the times metrics jumped (trends), first signs for the timeline.
	jumped []Event
}

// An analyzer checks one kind of resource in the scope (one file each). noun and count name
// what it looked at in the report's "checked" line (count nil: named without a number).
type analyzer struct {
	noun  string
	count func(*Snapshot) int
	run   func(*analysis)
}

// analyzers is the registry: Analyze runs them in this order (references first: a missing
// ConfigMap explains a crash before the crash does) and the "checked" line names them. A new
// check is one file plus one line here.
func analyzers() []analyzer {
	return []analyzer{
		{"references", nil, (*analysis).refs},
		{"pods", func(s *Snapshot) int { return len(s.Pods) }, (*analysis).pods},
		{"deployments", func(s *Snapshot) int { return len(s.Deployments) }, (*analysis).deployments},
		{"statefulsets", func(s *Snapshot) int { return len(s.StatefulSets) }, (*analysis).statefulSets},
		{"services", func(s *Snapshot) int { return len(s.Services) }, (*analysis).services},
		{"ingresses", func(s *Snapshot) int { return len(s.Ingresses) }, (*analysis).ingresses},
		{"PVCs", func(s *Snapshot) int { return len(s.PVCs) }, (*analysis).pvcs},
		{"HPAs", func(s *Snapshot) int { return len(s.HPAs) }, (*analysis).hpas},
		{"PDBs", func(s *Snapshot) int { return len(s.PDBs) }, (*analysis).pdbs},
		{"admission webhooks", nil, (*analysis).webhooks},
		{"nodes", func(s *Snapshot) int { return len(s.Nodes) }, (*analysis).nodes},
		{"jobs and cronjobs", func(s *Snapshot) int { return len(s.Jobs) + len(s.CronJobs) }, (*analysis).jobs},
		{"quotas", func(s *Snapshot) int { return len(s.Quotas) }, (*analysis).quotas},
		{"network policies", func(s *Snapshot) int { return len(s.NetworkPolicies) }, (*analysis).networkPolicies},
		{"pods' usage", func(s *Snapshot) int { return len(s.Usage) }, (*analysis).usage},
		{"apps' metrics over time", func(s *Snapshot) int { return len(s.Trends) }, (*analysis).trends},
	}
}

func newAnalysis(s *Snapshot, scope Scope) *analysis {
	a := &analysis{s: s, scope: scope, w: newWiring(s), events: map[string][]string{}, grouped: map[string]int{}, now: s.Now}
	if a.now.IsZero() {
		a.now = time.Now()
	}
	if seeds, unresolved := a.w.resolve(scope); len(seeds) > 0 {
		a.in = a.w.expand(seeds)
	} else {
		a.unresolved = unresolved
	}
	for _, e := range s.Events {
		if e.Type != corev1.EventTypeWarning {
			continue
		}
		k := e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name
		line := fmt.Sprintf("event %s: %s", e.Reason, truncate(e.Message, 300))
		if e.Count > 1 {
			line += fmt.Sprintf(" (x%d)", e.Count)
		}
		if !slices.Contains(a.events[k], line) {
			a.events[k] = append(a.events[k], line)
		}
	}
	return a
}

// add records a finding; its app is the one the wiring gives its resource.
func (a *analysis) add(f Finding) {
	f.App = cmp.Or(a.w.appOf[f.Resource], f.App)
	a.findings = append(a.findings, f)
}

// scoped says whether the analysis is narrowed to what was asked about.
func (a *analysis) scoped() bool { return a.in != nil }

// has says whether a resource ("kind/name") is in scope.
func (a *analysis) has(key string) bool { return a.in == nil || a.in[key] }

func (a *analysis) warnings(kind, name string, max int) []string {
	ev := a.events[kind+"/"+name]
	return ev[:min(len(ev), max)]
}

// checked describes what the analysis looked at: the scope's objects, or the namespace's counts.
func (a *analysis) checked() string {
	s := a.s
	if !a.scoped() {
		var parts []string
		for _, an := range analyzers() {
			if an.count == nil {
				parts = append(parts, an.noun)
			} else {
				parts = append(parts, fmt.Sprintf("%d %s", an.count(s), an.noun))
			}
		}
		return strings.Join(append(parts, "events"), ", ")
	}
	pods := 0
	var named []string
	for k := range a.in {
		if strings.HasPrefix(k, "pod/") {
			pods++
		} else {
			named = append(named, k)
		}
	}
	slices.Sort(named)
	if len(named) > 12 {
		named = append(named[:12], fmt.Sprintf("%d more", len(named)-12))
	}
	var nouns []string
	for _, an := range analyzers() {
		nouns = append(nouns, an.noun)
	}
	return textutil.Truncate(strings.Join(append(named, fmt.Sprintf("%d pods", pods), "their "+strings.Join(nouns, ", ")+", events"), ", "), 600)
}

// suggest names what exists, for a name that matched nothing.
func (a *analysis) suggest() string {
	var names []string
	for key := range a.w.tmpl {
		names = append(names, a.w.appOf[key])
	}
	slices.Sort(names)
	names = slices.Compact(names)
	best, dist := "", 4
	for _, n := range names {
		if d := textutil.Distance(n, a.unresolved); d < dist {
			best, dist = n, d
		}
	}
	if best != "" {
		return "did you mean " + best + "?"
	}
	if len(names) > 10 {
		names = append(names[:10], "…")
	}
	return "the apps here are " + cmp.Or(strings.Join(names, ", "), "none")
}
