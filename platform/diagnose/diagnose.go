// Package diagnose turns cluster state into ranked findings, in the spirit of k8sgpt's analyzers:
// Pods, Deployments, StatefulSets, Services, Ingresses, PVCs, HPAs, PDBs, admission webhooks,
// Nodes, Jobs and CronJobs, ResourceQuotas and NetworkPolicies, plus the references of every pod
// template. One snapshot of the namespace is read with one list call per kind, in parallel
// (snapshot.go: a kind is a Snapshot field and one line in kinds), impersonating the person
// asking; only cluster-scoped facts that carry no tenant data (nodes, storage classes, whether a
// referenced secret exists) are read with the service's own identity.
//
// Each analyzer is one file over one kind of resource, registered by one line in analyzers
// (analysis.go), which both Analyze and the report's "checked" line read. Findings suggest their
// next step as a typed Action; the tools layer maps it to the tool that does it.
package diagnose

import (
	"fmt"
	"strings"
	"time"
)

// Severity ranks findings.
type Severity int

const (
	Info Severity = iota + 1
	Warning
	Critical
)

func (s Severity) String() string {
	return map[Severity]string{Info: "info", Warning: "warning", Critical: "critical"}[s]
}

// MarshalText writes the severity as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	for _, v := range []Severity{Info, Warning, Critical} {
		if v.String() == string(b) {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("unknown severity %q", b)
}

// Action is a next step a finding or a change suggests, named by what it does.
type Action string

// The actions findings suggest. Their arguments are the ones the matching tools take.
const (
	Rollback     Action = "rollback"       // roll the app back: app, and revision when known
	ReadLogs     Action = "read-logs"      // read a pod's log: pod, previous
	ShowQuota    Action = "show-quota"     // show the environment's quota use
	SetAutoscale Action = "set-autoscale"  // change an app's HPA bounds: app, min/max replicas
	RestoreValue Action = "restore-config" // set a config value back: app, key, value
)

// Finding is one diagnosed problem.
type Finding struct {
	Severity   Severity `json:"severity"`
	Resource   string   `json:"resource"` // kind/name
	Reason     string   `json:"reason"`
	Evidence   []string `json:"evidence"`
	Suggestion string   `json:"suggestion"`
	// Action is the next step it suggests, with its arguments; proposed through approval.
	Action Action         `json:"suggested_action,omitempty"`
	Args   map[string]any `json:"suggested_args,omitempty"`
	// Tool is the tool that carries Action out, filled in by the caller that knows the tools
	// (the platform names no tool).
	Tool string `json:"suggested_tool,omitempty"`
	// App is the application the resource belongs to, when known.
	App string `json:"app,omitempty"`
	// Context marks a shared resource's note (a quota nearly used, a node) kept in the full
	// result of an app's or a pod's diagnosis but left out of its summary and answer.
	Context bool `json:"context,omitempty"`
	// LikelyChange is the platform change made shortly before this failure began.
	LikelyChange *Change `json:"likely_change,omitempty"`
	// symptom marks an effect (replicas unavailable, no ready endpoints, a pod waiting for its
	// volume) that is folded into a cause of the same app when one is known.
	symptom bool
	// began is when a metric jumped (trends): the change just before it is named for this
	// finding itself, wherever it ranks.
	began time.Time
}

// Scope selects what to diagnose.
type Scope struct {
	Namespace string
	// App narrows to one application (label app.kubernetes.io/name) and what serves it.
	App string
	// Pod narrows to one pod.
	Pod string
	// Target is any name the person used: an app, a workload, a pod (or its name's start), a
	// service, an ingress or its host, a PVC, an HPA, a (cron) job. It is resolved against what
	// exists in the namespace.
	Target string
}

// Report is a diagnosis.
type Report struct {
	Scope    string    `json:"scope"`
	Findings []Finding `json:"findings"`
	// Checked says what was looked at, so that "no cause found" is an answer with its grounds.
	Checked string `json:"checked"`
	Summary string `json:"summary"`
	// Timeline puts the scope's recent changes and the failure's first signs in time order.
	Timeline []Event `json:"timeline,omitempty"`
	// Unresolved is set when the asked name matches nothing in the namespace.
	Unresolved string `json:"unresolved,omitempty"`
}

func scopeName(s Scope) string {
	switch {
	case s.Pod != "":
		return s.Namespace + "/pod/" + s.Pod
	case s.Target != "":
		return s.Namespace + "/" + s.Target
	case s.App != "":
		return s.Namespace + "/" + s.App
	default:
		return s.Namespace
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

const appLabel = "app.kubernetes.io/name"
