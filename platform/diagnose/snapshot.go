package diagnose

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

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
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"k8s-manage/platform/perr"
)

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
	// Now is when the snapshot was read: the analyzers' clock (a zero Now reads the wall clock).
	Now time.Time
	// Usage is what each pod's containers use now (the metrics API), by pod and container name;
	// the caller fills it in (nil: no usage checks).
	Usage map[string]map[string]ContainerUsage
	// Trends are apps' metrics over time (Prometheus), by app and metric (TrendRestarts,
	// TrendErrorRatio, TrendLatencyP95); the caller fills them in (nil: no trend checks).
	Trends map[string]map[string][]Sample
	// Changes are the platform's own records of what changed in the namespace (rollouts, config
	// versions, scaling, HPA and quota edits), for the timeline; the caller fills them in.
	Changes []Change
}

// ErrNotFound is SecretKeys' answer for a secret that does not exist.
var ErrNotFound = errors.New("not found")

// Diagnoser reads snapshots and analyzes them.
type Diagnoser struct {
	admin kubernetes.Interface
	now   func() time.Time
}

// New builds a Diagnoser; admin is the service identity for cluster-scoped facts.
func New(admin kubernetes.Interface) *Diagnoser { return &Diagnoser{admin: admin, now: time.Now} }

// WithClock sets the clock the snapshots are stamped with (tests).
func (d *Diagnoser) WithClock(now func() time.Time) *Diagnoser { d.now = now; return d }

// lister is what one list call of a snapshot needs.
type lister struct {
	ctx   context.Context
	cs    kubernetes.Interface // the person: the namespace's objects
	admin kubernetes.Interface // the service: cluster-scoped facts that carry no tenant data
	ns    string
	lo    metav1.ListOptions
	s     *Snapshot
}

// kind is one list of the snapshot. An optional list the person may not read is marked
// Unreadable and the checks that need it are skipped; any other failure fails the snapshot.
type kind struct {
	name     string
	optional bool
	list     func(l lister) error
}

// into stores a list call's items in dst: one line per kind, whatever its list type.
func into[T any, PT interface {
	*T
	runtime.Object
}](dst *[]T) func(runtime.Object, error) error {
	return func(list runtime.Object, err error) error {
		if err != nil {
			return err
		}
		objs, err := apimeta.ExtractList(list)
		if err != nil {
			return err
		}
		out := make([]T, 0, len(objs))
		for _, o := range objs {
			if p, ok := o.(PT); ok {
				out = append(out, *p)
			}
		}
		*dst = out
		return nil
	}
}

// kinds are the lists a snapshot reads, one call each, in parallel. A new kind is a Snapshot
// field and one line here.
func kinds() []kind {
	return []kind{
		{"pods", false, func(l lister) error { return into(&l.s.Pods)(l.cs.CoreV1().Pods(l.ns).List(l.ctx, l.lo)) }},
		{"deployments", false, func(l lister) error { return into(&l.s.Deployments)(l.cs.AppsV1().Deployments(l.ns).List(l.ctx, l.lo)) }},
		{"services", false, func(l lister) error { return into(&l.s.Services)(l.cs.CoreV1().Services(l.ns).List(l.ctx, l.lo)) }},
		{"endpointslices", false, func(l lister) error {
			return into(&l.s.EndpointSlices)(l.cs.DiscoveryV1().EndpointSlices(l.ns).List(l.ctx, l.lo))
		}},
		{"ingresses", false, func(l lister) error {
			return into(&l.s.Ingresses)(l.cs.NetworkingV1().Ingresses(l.ns).List(l.ctx, l.lo))
		}},
		{"persistentvolumeclaims", false, func(l lister) error {
			return into(&l.s.PVCs)(l.cs.CoreV1().PersistentVolumeClaims(l.ns).List(l.ctx, l.lo))
		}},
		{"horizontalpodautoscalers", false, func(l lister) error {
			return into(&l.s.HPAs)(l.cs.AutoscalingV2().HorizontalPodAutoscalers(l.ns).List(l.ctx, l.lo))
		}},
		{"jobs", false, func(l lister) error { return into(&l.s.Jobs)(l.cs.BatchV1().Jobs(l.ns).List(l.ctx, l.lo)) }},
		{"cronjobs", false, func(l lister) error { return into(&l.s.CronJobs)(l.cs.BatchV1().CronJobs(l.ns).List(l.ctx, l.lo)) }},
		{"resourcequotas", false, func(l lister) error { return into(&l.s.Quotas)(l.cs.CoreV1().ResourceQuotas(l.ns).List(l.ctx, l.lo)) }},
		{"networkpolicies", false, func(l lister) error {
			return into(&l.s.NetworkPolicies)(l.cs.NetworkingV1().NetworkPolicies(l.ns).List(l.ctx, l.lo))
		}},
		{"events", false, func(l lister) error { return into(&l.s.Events)(l.cs.CoreV1().Events(l.ns).List(l.ctx, l.lo)) }},
		{"statefulsets", true, func(l lister) error {
			return into(&l.s.StatefulSets)(l.cs.AppsV1().StatefulSets(l.ns).List(l.ctx, l.lo))
		}},
		{"poddisruptionbudgets", true, func(l lister) error {
			return into(&l.s.PDBs)(l.cs.PolicyV1().PodDisruptionBudgets(l.ns).List(l.ctx, l.lo))
		}},
		{"configmaps", true, func(l lister) error { return into(&l.s.ConfigMaps)(l.cs.CoreV1().ConfigMaps(l.ns).List(l.ctx, l.lo)) }},
		{"serviceaccounts", true, func(l lister) error {
			return into(&l.s.ServiceAccounts)(l.cs.CoreV1().ServiceAccounts(l.ns).List(l.ctx, l.lo))
		}},
		{"replicasets", true, func(l lister) error { return into(&l.s.ReplicaSets)(l.cs.AppsV1().ReplicaSets(l.ns).List(l.ctx, l.lo)) }},
		// Cluster-scoped, read as the service.
		{"validatingwebhookconfigurations", true, func(l lister) error {
			return into(&l.s.ValidatingWebhooks)(l.admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(l.ctx, l.lo))
		}},
		{"mutatingwebhookconfigurations", true, func(l lister) error {
			return into(&l.s.MutatingWebhooks)(l.admin.AdmissionregistrationV1().MutatingWebhookConfigurations().List(l.ctx, l.lo))
		}},
		{"nodes", true, func(l lister) error { return into(&l.s.Nodes)(l.admin.CoreV1().Nodes().List(l.ctx, l.lo)) }},
		{"storageclasses", true, func(l lister) error {
			return into(&l.s.StorageClasses)(l.admin.StorageV1().StorageClasses().List(l.ctx, l.lo))
		}},
		{"priorityclasses", true, func(l lister) error {
			return into(&l.s.PriorityClasses)(l.admin.SchedulingV1().PriorityClasses().List(l.ctx, l.lo))
		}},
	}
}

// Snapshot reads the namespace as cs (the person) with one list call per kind, in parallel.
func (d *Diagnoser) Snapshot(ctx context.Context, cs kubernetes.Interface, ns string) (*Snapshot, error) {
	s := &Snapshot{Unreadable: map[string]bool{}, Now: d.now()}
	l := lister{ctx: ctx, cs: cs, admin: d.admin, ns: ns, lo: metav1.ListOptions{ResourceVersion: "0"}, s: s} // the watch cache
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, k := range kinds() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := k.list(l)
			if err == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if k.optional && apierrors.IsForbidden(err) {
				s.Unreadable[k.name] = true // a check the caller may not feed is skipped, not fatal
				return
			}
			errs = append(errs, perr.FromAPI(err, "diagnose: list "+k.name+" in "+ns))
		}()
	}
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

// Run diagnoses scope as cs.
func (d *Diagnoser) Run(ctx context.Context, cs kubernetes.Interface, scope Scope) (*Report, error) {
	snap, err := d.Snapshot(ctx, cs, scope.Namespace)
	if err != nil {
		return nil, err
	}
	return Analyze(snap, scope), nil
}
