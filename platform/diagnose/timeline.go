package diagnose

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Change is one change the platform knows of: a rollout (the ReplicaSet history), a config
// version, a scale, an HPA or quota edit (the audit log), with who made it and when.
type Change struct {
	At   time.Time `json:"at"`
	Who  string    `json:"who,omitempty"`
	App  string    `json:"app,omitempty"` // empty: the whole environment (a quota)
	Kind string    `json:"kind"`          // rollout, config, scale, autoscaling, quota, …
	What string    `json:"what"`
	// Action and Args undo it (a rollback, the previous config value), proposed through approval.
	Action Action         `json:"suggested_action,omitempty"`
	Args   map[string]any `json:"suggested_args,omitempty"`
	// Tool is the tool that carries Action out, filled in by the caller that knows the tools.
	Tool string `json:"suggested_tool,omitempty"`
}

// Event is one line of the timeline: a change, or a first sign of the failure.
type Event struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"` // "change" or "failure"
	What string    `json:"what"`
}

// likelyWindow is how long before a failure's first sign a change is named as its likely cause.
const likelyWindow = time.Hour

const revisionAnn = "deployment.kubernetes.io/revision"

// rollouts are the in-scope Deployments' revisions after the first, from their ReplicaSets.
func (a *analysis) rollouts() []Change {
	var out []Change
	for _, rs := range a.s.ReplicaSets {
		owner := a.w.rsOwner[rs.Name]
		rev, _ := strconv.Atoi(rs.Annotations[revisionAnn])
		if owner == "" || rev < 2 || !a.has(owner) {
			continue
		}
		app := a.w.appOf[owner]
		what := fmt.Sprintf("rollout of %s to revision %d (image %s)", owner, rev, images(&rs.Spec.Template.Spec))
		if c := rs.Annotations["kubernetes.io/change-cause"]; c != "" {
			what += ": " + c
		}
		out = append(out, Change{At: rs.CreationTimestamp.Time, App: app, Kind: "rollout", What: what,
			Action: Rollback, Args: map[string]any{"app": app, "revision": rev - 1}})
	}
	return out
}

func images(spec *corev1.PodSpec) string {
	var out []string
	for _, c := range spec.Containers {
		out = append(out, c.Image)
	}
	return strings.Join(out, ", ")
}

// firstSigns are the earliest warnings of the in-scope objects: warning events, and pods that
// could not be scheduled.
func (a *analysis) firstSigns() []Event {
	var out []Event
	for _, e := range a.s.Events {
		if e.Type != corev1.EventTypeWarning {
			continue
		}
		key := strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name
		if e.InvolvedObject.Kind == "ReplicaSet" {
			key = a.w.rsOwner[e.InvolvedObject.Name]
		}
		if key == "" || !a.has(key) {
			continue
		}
		at := e.FirstTimestamp.Time
		if at.IsZero() {
			at = e.EventTime.Time
		}
		if at.IsZero() {
			at = e.LastTimestamp.Time
		}
		if !at.IsZero() {
			out = append(out, Event{At: at, Kind: "failure", What: fmt.Sprintf("%s %s: %s", e.Reason, key, truncate(e.Message, 160))})
		}
	}
	out = append(out, a.jumped...)
	slices.SortFunc(out, func(x, y Event) int { return x.At.Compare(y.At) })
	return out
}

// timeline merges the scope's changes and the failure's first signs, and names the last change
// made within likelyWindow before the first sign as the likely cause of the top finding.
func (a *analysis) timeline(fs []Finding) []Event {
	var changes []Change
	for _, c := range slices.Concat(a.rollouts(), a.s.Changes) {
		if c.App == "" || !a.scoped() || a.inApp(c.App) {
			changes = append(changes, c)
		}
	}
	signs := a.firstSigns()
	var out []Event
	for _, c := range changes {
		out = append(out, Event{At: c.At, Kind: "change", What: strings.TrimSpace(c.What + " " + by(c.Who))})
	}
	out = append(out, signs[:min(len(signs), 5)]...)
	slices.SortStableFunc(out, func(x, y Event) int { return x.At.Compare(y.At) })
	if len(out) > 20 {
		out = out[len(out)-20:]
	}
	// A metric's jump is dated: the change just before it is named on that finding.
	for i := range fs {
		f := &fs[i]
		if f.began.IsZero() {
			continue
		}
		if c := likelyBefore(changes, f.began, f.App); c != nil {
			a.blame(f, c, Event{At: f.began, What: f.Reason})
		}
	}
	top := slices.IndexFunc(fs, func(f Finding) bool { return !f.Context })
	if top < 0 || len(signs) == 0 || fs[top].LikelyChange != nil {
		return out
	}
	if c := likelyBefore(changes, signs[0].At, fs[top].App); c != nil {
		a.blame(&fs[top], c, signs[0])
	}
	return out
}

// likelyBefore is the last change made within likelyWindow before a first sign (or a few
// seconds after: clocks differ), of the app or of the whole environment.
func likelyBefore(changes []Change, at time.Time, app string) *Change {
	var likely *Change
	for i := range changes {
		c := &changes[i]
		if c.At.After(at.Add(5*time.Second)) || at.Sub(c.At) > likelyWindow {
			continue
		}
		if c.App != "" && c.App != app && app != "" {
			continue
		}
		if likely == nil || c.At.After(likely.At) {
			likely = c
		}
	}
	return likely
}

// blame names a change as the likely cause of a finding, and its undo as the next step.
func (a *analysis) blame(f *Finding, likely *Change, first Event) {
	f.LikelyChange = likely
	f.Evidence = append(f.Evidence, fmt.Sprintf("changed before it broke: %s %s, %s before the first %s", likely.What, by(likely.Who),
		ago(first.At.Sub(likely.At)), first.What))
	if likely.Action != "" {
		f.Action, f.Args = likely.Action, likely.Args
		f.Suggestion = cmp.Or(f.Suggestion+"; ", "") + "this change came just before the failure: undo it (" + string(likely.Action) + ", with approval) if it is the cause"
	}
}

// inApp says whether an app name belongs to the scope.
func (a *analysis) inApp(app string) bool {
	for k := range a.in {
		if a.w.appOf[k] == app {
			return true
		}
	}
	return false
}

func by(who string) string {
	if who == "" {
		return ""
	}
	return "by " + who
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	default:
		return d.Round(time.Minute).String()
	}
}
