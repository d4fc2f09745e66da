// Package world prepares, on the sandbox, what an eval case needs: tenants (team-a, team-b and any
// other a case names) with the fixture apps in their dev environment, users with roles by naming
// convention (viewer-*, dev-*, ops-*, admin-*) or as the case says, and the case's setup manifests;
// after a case it removes the setup and restores the fixture if anything changed.
package world

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	yamlutil "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"k8s-manage/evals/dataset"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/tenant"
)

// Eval identities: the owner of the eval tenants and the default approver.
const (
	Owner    = "admin-eval@eval.k8s-manage.local"
	Approver = "ops-approver@eval.k8s-manage.local"
)

// Environments of an eval tenant (test is the target of environment clones).
var Environments = []string{"dev", "test"}

// Logs sets the sandbox's container logs of a pod (sandbox.Sandbox.SetLogs).
type Logs func(ctx context.Context, namespace, pod, container string, lines, previous []string) error

// Runbook adds (markdown != "") or removes a tenant's runbook in the knowledge base.
type Runbook func(ctx context.Context, tenant, name, markdown string) error

// Options configure the World.
type Options struct {
	Runbook    Runbook // nil: Runbook setup objects fail
	Kube       *kube.Clients
	Tenants    *tenant.Service
	Fixture    []apps.Spec
	Logs       Logs   // nil: SandboxLogs setup objects fail
	Kubeconfig string // for verify commands and task scripts
	Kubectl    string // kubectl binary put on the scripts' PATH (optional)
	Out        io.Writer
}

// World is the eval's sandbox state.
type World struct {
	o        Options
	apps     *apps.Service
	dyn      dynamic.Interface
	mapper   meta.RESTMapper
	prepared map[string]bool
}

// New builds the World.
func New(o Options) (*World, error) {
	dyn, err := dynamic.NewForConfig(o.Kube.RESTConfig())
	if err != nil {
		return nil, err
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(o.Kube.Admin().Discovery()))
	return &World{o: o, apps: apps.NewService(o.Kube), dyn: dyn, mapper: mapper, prepared: map[string]bool{}}, nil
}

// LoadFixture reads evals/fixtures/apps.yaml.
func LoadFixture(path string) ([]apps.Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var specs []apps.Spec
	if err := yaml.Unmarshal(b, &specs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return specs, nil
}

// Case is a prepared case: where it runs and what to undo.
type Case struct {
	Tenant, Env, Namespace, User string
	Tenants                      []string
	created                      []created
	runbooks                     []string
}

type created struct {
	gvr       schema.GroupVersionResource
	namespace string
	name      string
}

// TenantOf is the case's tenant (team-a by default) and env (dev).
func TenantOf(c dataset.Case) (string, string) {
	t, e := c.Tenant, c.Env
	if t == "" {
		t = "team-a"
	}
	if e == "" {
		e = "dev"
	}
	return t, e
}

// UserOf is the case's user (dev-eval@… of its tenant by default).
func UserOf(c dataset.Case) string {
	if c.User != "" {
		return strings.ToLower(c.User)
	}
	return "dev-eval@eval.k8s-manage.local"
}

// roleByName is the naming convention: the local part's prefix names the role.
func roleByName(email string) (tenant.Role, bool) {
	local, _, _ := strings.Cut(strings.ToLower(email), "@")
	for _, p := range []struct {
		prefix string
		role   tenant.Role
	}{{"viewer", tenant.Viewer}, {"dev", tenant.Developer}, {"ops", tenant.Operator}, {"admin", tenant.Admin}} {
		if strings.HasPrefix(local, p.prefix) {
			return p.role, true
		}
	}
	return "", false
}

// Prepare makes the world the case needs.
func (w *World) Prepare(ctx context.Context, c dataset.Case) (*Case, error) {
	t, e := TenantOf(c)
	pc := &Case{Tenant: t, Env: e, Namespace: tenant.Namespace(t, e), User: UserOf(c)}
	want := map[string]map[string]tenant.Role{t: {}} // tenant -> user -> role
	if len(c.Users) == 0 {
		if r, ok := roleByName(pc.User); ok {
			want[t][pc.User] = r
		}
		if c.Approver != "" {
			if r, ok := roleByName(c.Approver); ok {
				want[t][strings.ToLower(c.Approver)] = r
			}
		}
	}
	for u, spec := range c.Users {
		tn, role := t, spec
		if before, after, ok := strings.Cut(spec, ":"); ok {
			tn, role = before, after
		}
		if want[tn] == nil {
			want[tn] = map[string]tenant.Role{}
		}
		want[tn][strings.ToLower(u)] = tenant.Role(role)
	}
	for tn, members := range want {
		if err := w.ensureTenant(ctx, tn); err != nil {
			return nil, err
		}
		pc.Tenants = append(pc.Tenants, tn)
		for u, r := range members {
			if got, ok, err := w.o.Tenants.RoleOf(ctx, tn, u); err == nil && ok && got == r {
				continue
			}
			if _, err := w.o.Tenants.SetMember(ctx, tn, u, r); err != nil {
				return nil, fmt.Errorf("member %s of %s: %w", u, tn, err)
			}
		}
	}
	slices.Sort(pc.Tenants)
	for _, s := range c.Setup {
		if err := w.apply(ctx, pc, filepath.Join(c.Dir, s)); err != nil {
			w.Reset(ctx, pc, false)
			return nil, fmt.Errorf("setup %s: %w", s, err)
		}
	}
	if c.SetupScript != "" {
		if out, err := w.Script(ctx, pc, c.SetupScript); err != nil {
			return nil, fmt.Errorf("setup script: %w: %s", err, out)
		}
	}
	return pc, nil
}

// ensureTenant creates an eval tenant with the fixture apps, once per run (an existing tenant
// from an earlier run is reused and its fixture restored).
func (w *World) ensureTenant(ctx context.Context, name string) error {
	if w.prepared[name] {
		return nil
	}
	if _, err := w.o.Tenants.Get(ctx, name); err != nil {
		if err := w.removeStale(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(w.o.Out, "eval: creating tenant %s with %d fixture apps\n", name, len(w.o.Fixture))
		if _, _, err := w.o.Tenants.Create(ctx, tenant.Spec{Name: name, Environments: Environments,
			Members: []tenant.Member{{Email: Owner, Role: tenant.Admin}, {Email: Approver, Role: tenant.Operator}}}); err != nil {
			return fmt.Errorf("create tenant %s: %w", name, err)
		}
	}
	w.prepared[name] = true
	return w.restore(ctx, name)
}

// removeStale deletes the namespaces an earlier run (with another database) left for a tenant
// name, and waits for them to go.
func (w *World) removeStale(ctx context.Context, name string) error {
	cs := w.o.Kube.Admin()
	sel := metav1.ListOptions{LabelSelector: tenant.LabelTenant + "=" + name}
	nss, err := cs.CoreV1().Namespaces().List(ctx, sel)
	if err != nil || len(nss.Items) == 0 {
		return err
	}
	fmt.Fprintf(w.o.Out, "eval: removing %d namespaces of tenant %s left by an earlier run\n", len(nss.Items), name)
	for _, ns := range nss.Items {
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		left, err := cs.CoreV1().Namespaces().List(ctx, sel)
		if err != nil {
			return err
		}
		if len(left.Items) == 0 {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("namespaces of tenant %s are still terminating after 2m", name)
}

// restore brings a tenant's environments back to the fixture: extra workloads are deleted and
// fixture apps whose replicas or image changed are recreated.
func (w *World) restore(ctx context.Context, name string) error {
	cs := w.o.Kube.Admin()
	for _, env := range Environments {
		ns := tenant.Namespace(name, env)
		fixture := map[string]apps.Spec{}
		if env == "dev" {
			for _, s := range w.o.Fixture {
				fixture[s.Name] = s
			}
		}
		deps, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, d := range deps.Items {
			spec, keep := fixture[d.Name]
			if keep && d.Spec.Replicas != nil && *d.Spec.Replicas == spec.Replicas && len(d.Spec.Template.Spec.Containers) > 0 &&
				d.Spec.Template.Spec.Containers[0].Image == spec.Image && d.Spec.Paused == false {
				have[d.Name] = true
				continue
			}
			if err := cs.AppsV1().Deployments(ns).Delete(ctx, d.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
		svcs, err := cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, s := range svcs.Items {
			if _, keep := fixture[s.Name]; !keep || !have[s.Name] {
				_ = cs.CoreV1().Services(ns).Delete(ctx, s.Name, metav1.DeleteOptions{})
			}
		}
		hpas, _ := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{})
		for _, h := range hpas.Items {
			_ = cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Delete(ctx, h.Name, metav1.DeleteOptions{})
		}
		sts, _ := cs.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
		for _, s := range sts.Items {
			_ = cs.AppsV1().StatefulSets(ns).Delete(ctx, s.Name, metav1.DeleteOptions{})
		}
		pvcs, _ := cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{}) // a StatefulSet's claims outlive it
		for _, c := range pvcs.Items {
			_ = cs.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, c.Name, metav1.DeleteOptions{})
		}
		jobs, _ := cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		bg := metav1.DeletePropagationBackground
		for _, j := range jobs.Items {
			_ = cs.BatchV1().Jobs(ns).Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
		}
		for _, s := range w.o.Fixture {
			if env != "dev" || have[s.Name] {
				continue
			}
			if err := w.recreate(ctx, ns, s); err != nil {
				return fmt.Errorf("fixture %s/%s: %w", ns, s.Name, err)
			}
		}
	}
	return nil
}

// recreate creates a fixture app, retrying while a deleted one of the same name is still going.
func (w *World) recreate(ctx context.Context, ns string, s apps.Spec) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := w.apps.Create(ctx, apps.Target{As: tenant.Identity(Owner), Namespace: ns}, s, apps.WriteOptions{})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(300 * time.Millisecond) // the deleted one is still going, or a conflict: try again
	}
}

// sandboxLogs is the setup pseudo-object that sets container logs of an app's pods.
type sandboxLogs struct {
	Kind     string   `yaml:"kind"`
	App      string   `yaml:"app"`
	Lines    []string `yaml:"lines"`
	Previous []string `yaml:"previous"`
}

// apply creates every object of a manifest file in the case's namespace (kind SandboxLogs sets
// the logs of an app's pods instead) and waits for the pods of new workloads to show a state.
func (w *World) apply(ctx context.Context, pc *Case, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := yamlutil.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var workloads []workload
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		if len(obj) == 0 {
			continue
		}
		if obj["kind"] == "Runbook" {
			name, _ := obj["name"].(string)
			text, _ := obj["text"].(string)
			if w.o.Runbook == nil || name == "" || text == "" {
				return errors.New("Runbook needs name and text, and a knowledge base")
			}
			if err := w.o.Runbook(ctx, pc.Tenant, name, text); err != nil {
				return err
			}
			pc.runbooks = append(pc.runbooks, name)
			continue
		}
		if obj["kind"] == "SandboxLogs" {
			raw, _ := yaml.Marshal(obj)
			var sl sandboxLogs
			_ = yaml.Unmarshal(raw, &sl)
			if err := w.setLogs(ctx, pc.Namespace, sl); err != nil {
				return err
			}
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		gvk := u.GroupVersionKind()
		m, err := w.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("%s: %w", gvk, err)
		}
		ri := w.dyn.Resource(m.Resource)
		ns := ""
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ns = pc.Namespace
			u.SetNamespace(ns)
		}
		if _, err := ri.Namespace(ns).Create(ctx, u, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s %s: %w", gvk.Kind, u.GetName(), err)
		}
		pc.created = append(pc.created, created{gvr: m.Resource, namespace: ns, name: u.GetName()})
		fault, _, _ := unstructured.NestedString(u.Object, "spec", "template", "metadata", "annotations", "fault.sandbox.k8s-manage.io/type")
		if gvk.Kind == "Pod" {
			fault, _, _ = unstructured.NestedString(u.Object, "metadata", "annotations", "fault.sandbox.k8s-manage.io/type")
		}
		workloads = append(workloads, workload{kind: gvk.Kind, name: u.GetName(), fault: fault})
	}
	return w.settle(ctx, pc.Namespace, workloads)
}

// workload is a created object the world waits for.
type workload struct{ kind, name, fault string }

// settle waits until every created object shows the state a person would see, by watching
// conditions and events, not the clock: a workload's pods with a container state or a
// scheduling verdict (crash faults: a restart, and the BackOff event), or the controller's
// verdict that it cannot create them (ReplicaFailure, a FailedCreate event); a PVC bound or
// refused; a Service's EndpointSlice; an HPA's conditions. What never settles fails the setup
// after 60s, naming what it waited for.
func (w *World) settle(ctx context.Context, ns string, objs []workload) error {
	deadline := time.Now().Add(60 * time.Second)
	for _, o := range objs {
		for {
			ok, what, err := w.settled(ctx, ns, o)
			if err != nil {
				return err
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s %s did not settle in 60s: %s", o.kind, o.name, what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// settled says whether one object shows its state, and what it still waits for.
func (w *World) settled(ctx context.Context, ns string, o workload) (bool, string, error) {
	cs := w.o.Kube.Admin()
	events := func(kind, name string) ([]string, error) {
		l, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=" + kind + ",involvedObject.name=" + name})
		if err != nil {
			return nil, err
		}
		var out []string
		for _, e := range l.Items {
			out = append(out, e.Reason)
		}
		return out, nil
	}
	switch o.kind {
	case "Deployment", "StatefulSet":
		var gen, observed int64
		replicas, failed := int32(1), false
		var sel *metav1.LabelSelector
		if o.kind == "Deployment" {
			d, err := cs.AppsV1().Deployments(ns).Get(ctx, o.name, metav1.GetOptions{})
			if err != nil {
				return false, "", err
			}
			gen, observed, sel = d.Generation, d.Status.ObservedGeneration, d.Spec.Selector
			replicas = ptrOr(d.Spec.Replicas, 1)
			failed = slices.ContainsFunc(d.Status.Conditions, func(c appsv1.DeploymentCondition) bool {
				return c.Type == appsv1.DeploymentReplicaFailure && c.Status == "True"
			})
		} else {
			st, err := cs.AppsV1().StatefulSets(ns).Get(ctx, o.name, metav1.GetOptions{})
			if err != nil {
				return false, "", err
			}
			gen, observed, sel = st.Generation, st.Status.ObservedGeneration, st.Spec.Selector
			replicas = ptrOr(st.Spec.Replicas, 1)
		}
		if observed < gen {
			return false, "the controller to observe it", nil
		}
		if failed { // it cannot create (all of) its pods: that is its state
			return true, "", nil
		}
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(sel)})
		if err != nil {
			return false, "", err
		}
		if len(pods.Items) < int(replicas) {
			if o.kind == "Deployment" {
				if rsFailed, err := w.replicaSetFailed(ctx, ns, o.name); rsFailed || err != nil {
					return rsFailed, "", err
				}
			}
			if o.kind == "StatefulSet" && len(pods.Items) > 0 { // ordered start: the first pod's state is the set's
				return podSettled(&pods.Items[0], o.fault, events)
			}
			return false, fmt.Sprintf("%d of %d pods", len(pods.Items), replicas), nil
		}
		for _, p := range pods.Items {
			if ok, what, err := podSettled(&p, o.fault, events); !ok || err != nil {
				return ok, what, err
			}
		}
		return true, "", nil
	case "Pod":
		p, err := cs.CoreV1().Pods(ns).Get(ctx, o.name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return podSettled(p, o.fault, events)
	case "PersistentVolumeClaim":
		c, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, o.name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		if c.Status.Phase == "Bound" {
			return true, "", nil
		}
		ev, err := events("PersistentVolumeClaim", o.name)
		return len(ev) > 0, "an event of the PVC", err
	case "Service":
		l, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + o.name})
		if err != nil {
			return false, "", err
		}
		return len(l.Items) > 0, "its EndpointSlice", nil
	case "HorizontalPodAutoscaler":
		h, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, o.name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return len(h.Status.Conditions) > 0, "the autoscaler's conditions", nil
	}
	return true, "", nil // ConfigMaps, Secrets, Ingresses, policies, cron jobs: no controller state to wait for
}

// replicaSetFailed says whether a Deployment's ReplicaSet reported that it cannot create pods
// (a FailedCreate event: quota, admission), before the Deployment's condition says so.
func (w *World) replicaSetFailed(ctx context.Context, ns, deployment string) (bool, error) {
	cs := w.o.Kube.Admin()
	rss, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, err
	}
	for _, rs := range rss.Items {
		if c := metav1.GetControllerOf(&rs); c == nil || c.Name != deployment {
			continue
		}
		l, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=ReplicaSet,involvedObject.name=" + rs.Name + ",reason=FailedCreate"})
		if err != nil {
			return false, err
		}
		if len(l.Items) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// podSettled: the pod has a container state or a scheduling verdict with its event; a crash
// fault has restarted and shows its BackOff event; an image fault its failed pull.
func podSettled(p *corev1.Pod, fault string, events func(kind, name string) ([]string, error)) (bool, string, error) {
	name := p.Name
	for _, c := range p.Status.Conditions {
		if c.Type == "PodScheduled" && c.Status == "False" {
			ev, err := events("Pod", name)
			return slices.Contains(ev, "FailedScheduling"), "the FailedScheduling event", err
		}
	}
	if len(p.Status.ContainerStatuses) == 0 {
		return false, "a container state of pod " + name, nil
	}
	want := map[string]string{"crashloop": "BackOff", "oom": "BackOff", "imagepull": "Failed", "unready": "Unhealthy"}[fault]
	if fault == "crashloop" || fault == "oom" {
		cs := p.Status.ContainerStatuses[0]
		if cs.RestartCount == 0 || cs.State.Waiting == nil {
			return false, "the first restart of pod " + name, nil
		}
	}
	if want == "" {
		return true, "", nil
	}
	ev, err := events("Pod", name)
	return slices.Contains(ev, want), "the " + want + " event of pod " + name, err
}

func (w *World) setLogs(ctx context.Context, ns string, sl sandboxLogs) error {
	if w.o.Logs == nil {
		return errors.New("SandboxLogs needs the sandbox cluster")
	}
	pods, err := w.o.Kube.Admin().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + sl.App})
	if err != nil {
		return err
	}
	if len(pods.Items) == 0 {
		return fmt.Errorf("SandboxLogs: app %s has no pods in %s", sl.App, ns)
	}
	for _, p := range pods.Items {
		for _, c := range p.Spec.Containers {
			if err := w.o.Logs(ctx, ns, p.Name, c.Name, sl.Lines, sl.Previous); err != nil {
				return err
			}
		}
	}
	return nil
}

// Script runs a task script or verify command with the case's environment.
func (w *World) Script(ctx context.Context, pc *Case, script string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	if _, err := os.Stat(script); err == nil {
		abs, _ := filepath.Abs(script)
		cmd = exec.CommandContext(ctx, "bash", abs)
		cmd.Dir = filepath.Dir(abs)
	}
	cmd.Env = append(os.Environ(), "KUBECONFIG="+w.o.Kubeconfig, "NAMESPACE="+pc.Namespace, "TENANT="+pc.Tenant, "ENV="+pc.Env)
	if w.o.Kubectl != "" {
		cmd.Env = append(cmd.Env, "PATH="+filepath.Dir(w.o.Kubectl)+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Reset removes the case's setup objects and, when the case changed anything, restores the
// fixture of its tenants.
func (w *World) Reset(ctx context.Context, pc *Case, mutated bool) error {
	var errs []error
	for i := len(pc.created) - 1; i >= 0; i-- {
		c := pc.created[i]
		bg := metav1.DeletePropagationBackground
		if err := w.dyn.Resource(c.gvr).Namespace(c.namespace).Delete(ctx, c.name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	for _, name := range pc.runbooks {
		if err := w.o.Runbook(ctx, pc.Tenant, name, ""); err != nil {
			errs = append(errs, err)
		}
	}
	if mutated {
		for _, t := range pc.Tenants {
			if err := w.restore(ctx, t); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
