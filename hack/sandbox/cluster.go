package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// Fault injection: set FaultAnnotation on a pod (or a Deployment's pod template) to one of the
// Fault* values and kwok reports that failure for the pod's containers.
const (
	FaultAnnotation = "fault.sandbox.k8s-manage.io/type"
	// ExitCodeAnnotation sets the exit code of FaultCrashLoop (default 1).
	ExitCodeAnnotation = "fault.sandbox.k8s-manage.io/exit-code"

	FaultCrashLoop = "crashloop" // CrashLoopBackOff, restarts counting up, last exit code 1 (or ExitCodeAnnotation)
	FaultOOM       = "oom"       // CrashLoopBackOff after OOMKilled, exit code 137
	FaultImagePull = "imagepull" // Pending with ImagePullBackOff and a Failed event
	FaultUnready   = "unready"   // Running but not Ready, with "Readiness probe failed" events
)

// SystemNamespace holds the sandbox's own smoke Deployment.
const SystemNamespace = "sandbox-system"

func (s *Sandbox) clients() (kubernetes.Interface, dynamic.Interface, error) {
	cfg, err := s.RESTConfig()
	if err != nil {
		return nil, nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	return cs, dyn, nil
}

// prepare registers the fake nodes and waits for the smoke Deployment's pods to run.
func (s *Sandbox) prepare(ctx context.Context) error {
	cs, dyn, err := s.clients()
	if err != nil {
		return err
	}
	for i := 1; i <= s.opts.Nodes; i++ {
		if err := ensureNode(ctx, cs, i); err != nil {
			return err
		}
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		nodes, err := s.nodeStatus(ctx)
		if err != nil {
			return false, nil
		}
		ready := 0
		for _, n := range nodes {
			if n.Ready {
				ready++
			}
		}
		return ready >= s.opts.Nodes, nil
	}); err != nil {
		return fmt.Errorf("sandbox: nodes did not become Ready: %w", err)
	}
	s.logf("%d fake nodes Ready", s.opts.Nodes)
	if err := s.smoke(ctx, cs); err != nil {
		return err
	}
	if err := s.installCRDs(ctx, cs, dyn); err != nil {
		return err
	}
	return s.waitMetricsAPI(ctx, cs)
}

// installCRDs creates the CRDs under crds/ (kinds whose controllers do not run here, such as the
// VerticalPodAutoscaler) and waits until the API server serves them.
func (s *Sandbox) installCRDs(ctx context.Context, cs kubernetes.Interface, dyn dynamic.Interface) error {
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	files, err := crdFiles.ReadDir("crds")
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := crdFiles.ReadFile("crds/" + f.Name())
		if err != nil {
			return err
		}
		var obj map[string]any
		if err := yaml.Unmarshal(data, &obj); err != nil {
			return fmt.Errorf("sandbox: crd %s: %w", f.Name(), err)
		}
		u := &unstructured.Unstructured{Object: obj}
		if _, err := dyn.Resource(crdGVR).Create(ctx, u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("sandbox: install crd %s: %w", u.GetName(), err)
		}
		group, _, _ := unstructured.NestedString(obj, "spec", "group")
		if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := cs.Discovery().ServerResourcesForGroupVersion(group + "/v1")
			return err == nil, nil
		}); err != nil {
			return fmt.Errorf("sandbox: crd %s is not served: %w", u.GetName(), err)
		}
	}
	return nil
}

// waitMetricsAPI waits until the aggregated metrics API (metrics-server) answers. Pods get their
// first usage sample a resolution or two after they start (see UsageCPUAnnotation).
func (s *Sandbox) waitMetricsAPI(ctx context.Context, cs kubernetes.Interface) error {
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := cs.Discovery().ServerResourcesForGroupVersion("metrics.k8s.io/v1beta1")
		return err == nil, nil
	}); err != nil {
		return fmt.Errorf("sandbox: the metrics API (metrics-server) did not become available: %w (see %s)", err,
			filepath.Join(s.LogDir(), "metrics-server.log"))
	}
	s.logf("metrics API available")
	return nil
}

// ensureNode registers a kwok-managed node with the capacity of a small real VM (4 CPU, 16 GiB).
func ensureNode(ctx context.Context, cs kubernetes.Interface, i int) error {
	name := fmt.Sprintf("sandbox-node-%d", i)
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0",
				// Where metrics-server reads this node's resource metrics: kwok serves every node's
				// on one port, under a path per node.
				"metrics.k8s.io/resource-metrics-path": "/metrics/nodes/" + name + "/metrics/resource"},
			Labels: map[string]string{
				"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
				"type": "kwok", "node.kubernetes.io/instance-type": "sandbox.4c16g",
				"topology.kubernetes.io/zone": fmt.Sprintf("sandbox-zone-%d", (i-1)%3+1),
			},
		},
		Status: corev1.NodeStatus{
			Capacity: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"),
				corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
			},
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("3800m"), corev1.ResourceMemory: resource.MustParse("15Gi"),
				corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceEphemeralStorage: resource.MustParse("95Gi"),
			},
		},
	}
	_, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: register node %s: %w", name, err)
	}
	return nil
}

func (s *Sandbox) nodeStatus(ctx context.Context) ([]NodeStatus, error) {
	cs, _, err := s.clients()
	if err != nil {
		return nil, err
	}
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]NodeStatus, 0, len(list.Items))
	for _, n := range list.Items {
		ns := NodeStatus{Name: n.Name}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ns.Ready = true
			}
		}
		out = append(out, ns)
	}
	return out, nil
}

// smoke runs a 2-replica Deployment and waits until its pods are Running and Ready.
func (s *Sandbox) smoke(ctx context.Context, cs kubernetes.Interface) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: SystemNamespace}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: smoke namespace: %w", err)
	}
	replicas := int32(2)
	labels := map[string]string{"app": "sandbox-smoke"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "sandbox-smoke", Namespace: SystemNamespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(SystemNamespace).Create(ctx, dep, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: smoke deployment: %w", err)
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods(SystemNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app=sandbox-smoke"})
		if err != nil {
			return false, nil
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running >= int(replicas), nil
	})
	if err != nil {
		return fmt.Errorf("sandbox: smoke deployment pods are not Running: %w (logs in %s)", err, s.LogDir())
	}
	s.logf("smoke deployment %s/sandbox-smoke: %d pods Running", SystemNamespace, replicas)
	return nil
}

var logsGVR = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "logs"}

// SetLogs makes `kubectl logs` (and the API's pods/log) of a pod's container return lines, and
// `--previous` return previous. Either may be nil. Lines are written in the CRI log format kwok
// serves from.
func (s *Sandbox) SetLogs(ctx context.Context, namespace, pod, container string, lines, previous []string) error {
	_, dyn, err := s.clients()
	if err != nil {
		return err
	}
	dir := filepath.Join(s.opts.WorkDir, "podlogs", namespace)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(suffix string, ls []string) (string, error) {
		path := filepath.Join(dir, pod+"_"+container+suffix+".log")
		var b strings.Builder
		ts := time.Now().UTC().Add(-time.Duration(len(ls)) * time.Second)
		for i, l := range ls {
			fmt.Fprintf(&b, "%s stdout F %s\n", ts.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), l)
		}
		return path, os.WriteFile(path, []byte(b.String()), 0o644)
	}
	entry := map[string]any{"containers": []any{container}}
	cur, err := write("", lines)
	if err != nil {
		return err
	}
	entry["logsFile"] = cur
	if previous != nil {
		prev, err := write(".previous", previous)
		if err != nil {
			return err
		}
		entry["previousLogsFile"] = prev
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Logs",
		"metadata": map[string]any{"name": pod, "namespace": namespace},
		"spec":     map[string]any{"logs": []any{entry}},
	}}
	res := dyn.Resource(logsGVR).Namespace(namespace)
	existing, err := res.Get(ctx, pod, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = res.Create(ctx, obj, metav1.CreateOptions{})
	case err == nil:
		obj.SetResourceVersion(existing.GetResourceVersion())
		_, err = res.Update(ctx, obj, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("sandbox: set logs of %s/%s: %w", namespace, pod, err)
	}
	return nil
}

var execGVR = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "execs"}

// AllowExec lets `kubectl exec` (pods/exec) into a pod run commands locally on this machine, in
// workDir, through kwok's Exec resource: for tests of exec and the web terminal in the sandbox only.
func (s *Sandbox) AllowExec(ctx context.Context, namespace, pod, workDir string) error {
	_, dyn, err := s.clients()
	if err != nil {
		return err
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Exec",
		"metadata": map[string]any{"name": pod, "namespace": namespace},
		"spec":     map[string]any{"execs": []any{map[string]any{"local": map[string]any{"workDir": workDir}}}},
	}}
	if _, err := dyn.Resource(execGVR).Namespace(namespace).Create(ctx, obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: allow exec into %s/%s: %w", namespace, pod, err)
	}
	return nil
}
