// Package diagnose turns cluster state into ranked findings, in the spirit of k8sgpt's analyzers:
// Pods, Deployments, Services, Ingresses, PVCs, HPAs, Nodes, Jobs and CronJobs, ResourceQuotas and
// NetworkPolicies. One snapshot of the namespace is read with a fixed number of list calls made in
// parallel (never one request per object), impersonating the person asking; only cluster-scoped
// facts that carry no tenant data (nodes, storage classes, whether a referenced secret exists) are
// read with the service's own identity.
package diagnose

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"k8s-manage/platform/perr"
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

// Finding is one diagnosed problem.
type Finding struct {
	Severity   Severity       `json:"severity"`
	Resource   string         `json:"resource"` // kind/name
	Reason     string         `json:"reason"`
	Evidence   []string       `json:"evidence"`
	Suggestion string         `json:"suggestion"`
	Tool       string         `json:"suggested_tool,omitempty"`
	Args       map[string]any `json:"suggested_args,omitempty"`
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

// Snapshot is the state analyzers read.
type Snapshot struct {
	Pods            []corev1.Pod
	Deployments     []appsv1.Deployment
	Services        []corev1.Service
	EndpointSlices  []discoveryv1.EndpointSlice
	Ingresses       []networkingv1.Ingress
	PVCs            []corev1.PersistentVolumeClaim
	HPAs            []autoscalingv2.HorizontalPodAutoscaler
	Jobs            []batchv1.Job
	CronJobs        []batchv1.CronJob
	Quotas          []corev1.ResourceQuota
	NetworkPolicies []networkingv1.NetworkPolicy
	Events          []corev1.Event
	Nodes           []corev1.Node
	StatefulSets    []appsv1.StatefulSet
	PDBs            []policyv1.PodDisruptionBudget
	// Webhooks are the cluster's admission webhooks (a broken one blocks every write it intercepts).
	ValidatingWebhooks []admissionregistrationv1.ValidatingWebhookConfiguration
	MutatingWebhooks   []admissionregistrationv1.MutatingWebhookConfiguration
	StorageClasses     []storagev1.StorageClass
	ConfigMaps         []corev1.ConfigMap
	ServiceAccounts    []corev1.ServiceAccount
	ReplicaSets        []appsv1.ReplicaSet
	PriorityClasses    []schedulingv1.PriorityClass
	// Unreadable names the optional lists the person may not read ("serviceaccounts",
	// "priorityclasses", …): the checks that need them are skipped, never guessed.
	Unreadable map[string]bool
	// SecretKeys returns the key names of a secret of the namespace (only the names leave the
	// service), ErrNotFound when it does not exist, or another error when that is unknown (the
	// check is then skipped); nil skips the secret checks.
	SecretKeys func(name string) (keys []string, err error)
	// ServiceExists answers whether a service exists in any namespace (for webhooks).
	ServiceExists func(namespace, name string) bool
	// Changes are the platform's own records of what changed in the namespace (rollouts, config
	// versions, scaling, HPA and quota edits), for the timeline; the caller fills them in.
	Changes []Change
}

// ErrNotFound is SecretKeys' answer for a secret that does not exist.
var ErrNotFound = errors.New("not found")

// Diagnoser reads snapshots and analyzes them.
type Diagnoser struct {
	admin kubernetes.Interface
}

// New builds a Diagnoser; admin is the service identity for cluster-scoped facts.
func New(admin kubernetes.Interface) *Diagnoser { return &Diagnoser{admin: admin} }

// Snapshot reads the namespace as cs (the person) with one list call per kind, in parallel.
func (d *Diagnoser) Snapshot(ctx context.Context, cs kubernetes.Interface, ns string) (*Snapshot, error) {
	s := &Snapshot{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	lo := metav1.ListOptions{ResourceVersion: "0"} // served from the API server's watch cache
	optional := map[string]bool{"poddisruptionbudgets": true, "validatingwebhookconfigurations": true, "mutatingwebhookconfigurations": true,
		"statefulsets": true, "storageclasses": true, "nodes": true, "configmaps": true, "serviceaccounts": true, "replicasets": true,
		"priorityclasses": true}
	s.Unreadable = map[string]bool{}
	run := func(what string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				if optional[what] && apierrors.IsForbidden(err) {
					mu.Lock()
					s.Unreadable[what] = true // a check the caller may not feed is skipped, not fatal
					mu.Unlock()
					return
				}
				mu.Lock()
				errs = append(errs, perr.FromAPI(err, "diagnose: list "+what+" in "+ns))
				mu.Unlock()
			}
		}()
	}
	run("pods", func() error {
		l, err := cs.CoreV1().Pods(ns).List(ctx, lo)
		if err == nil {
			s.Pods = l.Items
		}
		return err
	})
	run("deployments", func() error {
		l, err := cs.AppsV1().Deployments(ns).List(ctx, lo)
		if err == nil {
			s.Deployments = l.Items
		}
		return err
	})
	run("services", func() error {
		l, err := cs.CoreV1().Services(ns).List(ctx, lo)
		if err == nil {
			s.Services = l.Items
		}
		return err
	})
	run("endpointslices", func() error {
		l, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, lo)
		if err == nil {
			s.EndpointSlices = l.Items
		}
		return err
	})
	run("ingresses", func() error {
		l, err := cs.NetworkingV1().Ingresses(ns).List(ctx, lo)
		if err == nil {
			s.Ingresses = l.Items
		}
		return err
	})
	run("persistentvolumeclaims", func() error {
		l, err := cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, lo)
		if err == nil {
			s.PVCs = l.Items
		}
		return err
	})
	run("horizontalpodautoscalers", func() error {
		l, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, lo)
		if err == nil {
			s.HPAs = l.Items
		}
		return err
	})
	run("jobs", func() error {
		l, err := cs.BatchV1().Jobs(ns).List(ctx, lo)
		if err == nil {
			s.Jobs = l.Items
		}
		return err
	})
	run("cronjobs", func() error {
		l, err := cs.BatchV1().CronJobs(ns).List(ctx, lo)
		if err == nil {
			s.CronJobs = l.Items
		}
		return err
	})
	run("resourcequotas", func() error {
		l, err := cs.CoreV1().ResourceQuotas(ns).List(ctx, lo)
		if err == nil {
			s.Quotas = l.Items
		}
		return err
	})
	run("networkpolicies", func() error {
		l, err := cs.NetworkingV1().NetworkPolicies(ns).List(ctx, lo)
		if err == nil {
			s.NetworkPolicies = l.Items
		}
		return err
	})
	run("events", func() error {
		l, err := cs.CoreV1().Events(ns).List(ctx, lo)
		if err == nil {
			s.Events = l.Items
		}
		return err
	})
	run("statefulsets", func() error {
		l, err := cs.AppsV1().StatefulSets(ns).List(ctx, lo)
		if err == nil {
			s.StatefulSets = l.Items
		}
		return err
	})
	run("poddisruptionbudgets", func() error {
		l, err := cs.PolicyV1().PodDisruptionBudgets(ns).List(ctx, lo)
		if err == nil {
			s.PDBs = l.Items
		}
		return err
	})
	run("validatingwebhookconfigurations", func() error {
		l, err := d.admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(ctx, lo)
		if err == nil {
			s.ValidatingWebhooks = l.Items
		}
		return err
	})
	run("mutatingwebhookconfigurations", func() error {
		l, err := d.admin.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, lo)
		if err == nil {
			s.MutatingWebhooks = l.Items
		}
		return err
	})
	run("nodes", func() error {
		l, err := d.admin.CoreV1().Nodes().List(ctx, lo)
		if err == nil {
			s.Nodes = l.Items
		}
		return err
	})
	run("storageclasses", func() error {
		l, err := d.admin.StorageV1().StorageClasses().List(ctx, lo)
		if err == nil {
			s.StorageClasses = l.Items
		}
		return err
	})
	run("configmaps", func() error {
		l, err := cs.CoreV1().ConfigMaps(ns).List(ctx, lo)
		if err == nil {
			s.ConfigMaps = l.Items
		}
		return err
	})
	run("serviceaccounts", func() error {
		l, err := cs.CoreV1().ServiceAccounts(ns).List(ctx, lo)
		if err == nil {
			s.ServiceAccounts = l.Items
		}
		return err
	})
	run("replicasets", func() error {
		l, err := cs.AppsV1().ReplicaSets(ns).List(ctx, lo)
		if err == nil {
			s.ReplicaSets = l.Items
		}
		return err
	})
	run("priorityclasses", func() error {
		l, err := d.admin.SchedulingV1().PriorityClasses().List(ctx, lo)
		if err == nil {
			s.PriorityClasses = l.Items
		}
		return err
	})
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	type secretInfo struct {
		keys []string
		err  error
	}
	secrets := map[string]secretInfo{} // one read per referenced secret
	s.SecretKeys = func(name string) ([]string, error) {
		if info, seen := secrets[name]; seen {
			return info.keys, info.err
		}
		var info secretInfo
		// As the caller: the service account cannot read Secrets (deploy/helm RBAC), and a
		// caller whose role cannot read them gets no verdict on them.
		sec, err := cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			info.err = ErrNotFound
		case err != nil:
			info.err = err // unknown: the checks that need it are skipped
		default:
			info.keys = slices.Sorted(maps.Keys(sec.Data))
		}
		secrets[name] = info
		return info.keys, info.err
	}
	s.ServiceExists = func(namespace, name string) bool {
		_, err := d.admin.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
		return err == nil
	}
	return s, nil
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

// Run diagnoses scope as cs.
func (d *Diagnoser) Run(ctx context.Context, cs kubernetes.Interface, scope Scope) (*Report, error) {
	snap, err := d.Snapshot(ctx, cs, scope.Namespace)
	if err != nil {
		return nil, err
	}
	return Analyze(snap, scope), nil
}

// Analyze resolves the scope against the snapshot, runs every analyzer over what is in it, and
// ranks the findings: causes before their symptoms (a symptom is folded into its cause as an
// effect), critical first, and shared context notes last.
func Analyze(s *Snapshot, scope Scope) *Report {
	a := newAnalysis(s, scope)
	for _, f := range []func(){a.refs, a.pods, a.deployments, a.statefulSets, a.services, a.ingresses, a.pvcs, a.hpas, a.pdbs, a.webhooks,
		a.nodes, a.jobs, a.quotas, a.networkPolicies} {
		f()
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
