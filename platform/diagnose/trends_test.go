package diagnose_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"k8s-manage/platform/diagnose"
)

// series is a metric that stays at before and, from the point at, moves to after (one point a
// minute over an hour ending at end).
func series(end time.Time, before, after float64, at int) []diagnose.Sample {
	out := make([]diagnose.Sample, 60)
	for i := range out {
		v := before
		if i >= at {
			v = after
		}
		out[i] = diagnose.Sample{T: end.Add(time.Duration(i-59) * time.Minute), V: v}
	}
	return out
}

func TestTrends(t *testing.T) {
	end := time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)
	jumpAt := end.Add(-15 * time.Minute) // point 44
	deploy := appsv1.Deployment{ObjectMeta: meta("web", web)}
	cases := []struct {
		name   string
		trends map[string][]diagnose.Sample
		want   []string // words of the finding; none: no trend finding
	}{
		{"5xx ratio jumped", map[string][]diagnose.Sample{diagnose.TrendErrorRatio: series(end, 0.001, 0.12, 44)},
			[]string{"5xx ratio jumped from 0.1% to 12.0%", "since 13:45:00"}},
		{"restart rate rising", map[string][]diagnose.Sample{diagnose.TrendRestarts: series(end, 0, 1.5, 44)},
			[]string{"restart rate jumped from 0.0/min to 1.5/min"}},
		{"latency doubled", map[string][]diagnose.Sample{diagnose.TrendLatencyP95: series(end, 0.08, 0.4, 44)},
			[]string{"p95 latency jumped from 80ms to 400ms"}},
		{"steady errors are not a jump", map[string][]diagnose.Sample{diagnose.TrendErrorRatio: series(end, 0.05, 0.05, 44)}, nil},
		{"a small rise is noise", map[string][]diagnose.Sample{diagnose.TrendLatencyP95: series(end, 0.10, 0.12, 44)}, nil},
		{"a jump that ended is no jump now", map[string][]diagnose.Sample{diagnose.TrendErrorRatio: series(end, 0.3, 0.001, 44)}, nil},
		{"too few points", map[string][]diagnose.Sample{diagnose.TrendErrorRatio: series(end, 0, 0.5, 44)[55:]}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := diagnose.Snapshot{Now: end, Deployments: []appsv1.Deployment{deploy},
				Trends: map[string]map[string][]diagnose.Sample{"web": tc.trends},
				// A config change ten minutes before the jump, and one after it.
				Changes: []diagnose.Change{
					{At: jumpAt.Add(-10 * time.Minute), Who: "alice", App: "web", Kind: "config", What: "config DB_POOL of web set to 2",
						Action: diagnose.Action("set_config"), Args: map[string]any{"key": "DB_POOL", "value": "20"}},
					{At: jumpAt.Add(5 * time.Minute), Who: "bob", App: "web", Kind: "scale", What: "web scaled to 4"},
				}}
			rep := diagnose.Analyze(&s, diagnose.Scope{Namespace: ns, App: "web"})
			var got *diagnose.Finding
			for i, f := range rep.Findings {
				if strings.Contains(f.Reason, "jumped") {
					got = &rep.Findings[i]
				}
			}
			if tc.want == nil {
				if got != nil {
					t.Fatalf("unexpected finding %q", got.Reason)
				}
				return
			}
			if got == nil {
				t.Fatalf("no trend finding: %+v", rep.Findings)
			}
			for _, w := range tc.want {
				if !strings.Contains(got.Reason, w) {
					t.Errorf("reason %q lacks %q", got.Reason, w)
				}
			}
			if got.Resource != "deployment/web" || got.App != "web" {
				t.Errorf("finding on %s (app %s)", got.Resource, got.App)
			}
			if got.LikelyChange == nil || !strings.Contains(got.LikelyChange.What, "DB_POOL") {
				t.Fatalf("likely change %+v, want the config change ten minutes before the jump", got.LikelyChange)
			}
			if got.Action != "set_config" {
				t.Errorf("action %q, want the change's undo", got.Action)
			}
			found := false
			for _, e := range rep.Timeline {
				found = found || e.Kind == "failure" && strings.Contains(e.What, "jumped")
			}
			if !found {
				t.Errorf("the jump is not on the timeline: %+v", rep.Timeline)
			}
		})
	}
}

func TestAppsInScope(t *testing.T) {
	s := diagnose.Snapshot{Deployments: []appsv1.Deployment{{ObjectMeta: meta("web", web)}, {ObjectMeta: meta("api", map[string]string{"app": "api"})}},
		StatefulSets: []appsv1.StatefulSet{{ObjectMeta: meta("db-pg", map[string]string{"k8s-manage.io/service-instance": "db"})}}}
	for _, tc := range []struct {
		scope diagnose.Scope
		want  []string
	}{
		{diagnose.Scope{}, []string{"web", "api", "db"}},
		{diagnose.Scope{App: "web"}, []string{"web"}},
		{diagnose.Scope{Target: "db-pg"}, []string{"db"}},
		{diagnose.Scope{Target: "nothing-of-this"}, []string{"web", "api", "db"}},
	} {
		if got := diagnose.Apps(&s, tc.scope); !slices.Equal(got, tc.want) {
			t.Errorf("Apps(%+v) = %v, want %v", tc.scope, got, tc.want)
		}
	}
}
