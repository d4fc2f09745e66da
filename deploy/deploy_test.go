// Package deploy_test checks the install shapes under deploy/: the Helm chart lints clean and
// validates its values, the kustomize base is the chart's current render, the chart's tenant
// roles are the service's, and the chart and both overlays are accepted by the sandbox's real
// API server with their pods scheduled on the kwok nodes.
package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	yamlutil "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/hack/tools/toolstest"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

const chart = "helm/k8s-manage"

func helm(t *testing.T) string { return toolstest.Helm(t) }

func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func render(t *testing.T, release, ns string, set ...string) string {
	t.Helper()
	args := []string{"template", release, chart, "--namespace", ns}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := run(t, helm(t), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// objects splits a multi-document manifest.
func objects(t *testing.T, manifest string) []*unstructured.Unstructured {
	t.Helper()
	dec := yamlutil.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var out []*unstructured.Unstructured
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("manifest: %v", err)
		}
		if len(obj) > 0 {
			out = append(out, &unstructured.Unstructured{Object: obj})
		}
	}
}

func TestHelmLintIsClean(t *testing.T) {
	for _, set := range [][]string{
		nil,
		{"replicaCount=3", "persistence.enabled=false", "secrets.existingSecret=k8s-manage", "secrets.items.storeDSN=dsn",
			"ingress.enabled=true", "monitoring.serviceMonitor.enabled=true", "monitoring.prometheusRule.enabled=true",
			"monitoring.grafanaDashboards.enabled=true"},
	} {
		args := []string{"lint", "--strict", chart}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		out, err := run(t, helm(t), args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !strings.Contains(out, "0 chart(s) failed") || strings.Contains(out, "[WARNING]") || strings.Contains(out, "[INFO]") {
			t.Errorf("helm lint %v:\n%s", set, out)
		}
	}
}

// Bad values are refused before anything renders, naming the value.
func TestChartRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"replicaCount=-1"}, "replicaCount"},
		{[]string{"image.pullPolicy=Sometimes"}, "pullPolicy"},
		{[]string{"config.store.dsn=mysql://x"}, "/config/store/dsn"},
		{[]string{"config.slack.bot_token=xoxb-1"}, "/config/slack"},
		{[]string{"replicaCount=3"}, "replicaCount > 1 needs a shared store"},
		{[]string{"secrets.items.modelAPIKey=key"}, "secrets.existingSecret is empty"},
		{[]string{"servce.port=80"}, "servce"},
	} {
		args := []string{"template", "x", chart}
		for _, s := range tc.set {
			args = append(args, "--set", s)
		}
		_, err := run(t, helm(t), args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want an error naming %q, got %v", tc.set, tc.want, err)
		}
	}
}

func TestKustomizeBaseIsCurrent(t *testing.T) {
	if out, err := run(t, "go", "run", "../hack/genkustomize", "-check", "-root", "..", "-helm", helm(t)); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// The chart ships the four ClusterRoles tenant members are bound to; the service leaves them
// alone only when their rules are exactly its own.
func TestChartTenantRolesMatchTheService(t *testing.T) {
	got := map[string][]rbacv1.PolicyRule{}
	for _, u := range objects(t, render(t, "x", "x")) {
		if u.GetKind() != "ClusterRole" || !strings.HasPrefix(u.GetName(), "k8sm-") {
			continue
		}
		var cr rbacv1.ClusterRole
		b, _ := u.MarshalJSON()
		if err := yaml.Unmarshal(b, &cr); err != nil {
			t.Fatal(err)
		}
		got[cr.Name] = cr.Rules
	}
	for _, r := range tenant.Roles {
		name := tenant.ClusterRoleName(r)
		if !equality.Semantic.DeepEqual(got[name], tenant.Rules(r)) {
			t.Errorf("ClusterRole %s in the chart differs from platform/tenant:\nchart   %v\nservice %v", name, got[name], tenant.Rules(r))
		}
	}
}

// kubectl returns the sandbox's kubectl and admin kubeconfig.
func kubectl(t *testing.T, env *sandboxtest.Env) (string, string) {
	t.Helper()
	bin, err := env.Sandbox.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(bin, "kubectl"), env.Sandbox.KubeconfigPath()
}

// TestChartAndOverlaysApplyOnTheSandbox server-side applies the chart (with monitoring on) and
// both kustomize overlays, each into a namespace of its own, and waits for every replica to be
// scheduled on a kwok node and ready.
func TestChartAndOverlaysApplyOnTheSandbox(t *testing.T) {
	env := sandboxtest.Start(t)
	kc, kubeconfig := kubectl(t, env)
	ctx := context.Background()
	// The monitoring kinds are Prometheus Operator CRDs; a structural stand-in lets the API
	// server accept (and store) the chart's ServiceMonitor and PrometheusRule.
	if out, err := run(t, kc, "--kubeconfig", kubeconfig, "apply", "--server-side", "-f", "testdata/monitoring-crds.yaml"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Cleanup(func() { // the service's own cluster-wide objects (the tenant roles stay: other tests use them)
		_ = env.Client.RbacV1().ClusterRoleBindings().Delete(context.Background(), "k8s-manage", metav1.DeleteOptions{})
		_ = env.Client.RbacV1().ClusterRoles().Delete(context.Background(), "k8s-manage", metav1.DeleteOptions{})
	})
	kustomize := func(overlay string) string {
		out, err := run(t, kc, "kustomize", "kustomize/overlays/"+overlay)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		manifest func(ns string) string
		replicas int32
		claim    bool
	}{
		{"helm", func(ns string) string {
			return render(t, "k8s-manage", ns, "monitoring.serviceMonitor.enabled=true", "monitoring.prometheusRule.enabled=true", "ingress.enabled=true",
				"monitoring.grafanaDashboards.enabled=true")
		}, 1, true},
		{"kustomize-single", func(string) string { return kustomize("single") }, 1, true},
		{"kustomize-ha", func(string) string { return kustomize("ha") }, 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := sandboxtest.Name("inst")
			manifest := tc.manifest(ns)
			if tc.name != "helm" { // the overlays name their namespace; move them to this test's
				manifest = strings.ReplaceAll(manifest, "namespace: k8s-manage", "namespace: "+ns)
				manifest = strings.Replace(manifest, "kind: Namespace\nmetadata:\n  name: k8s-manage", "kind: Namespace\nmetadata:\n  name: "+ns, 1)
			} else if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { env.DeleteNamespace(ns) })
			if tc.claim {
				// kwok runs no volume provisioner: a static volume the claim binds to.
				pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: ns + "-data"}, Spec: corev1.PersistentVolumeSpec{
					Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")},
					AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + ns}},
					ClaimRef:               &corev1.ObjectReference{Namespace: ns, Name: "k8s-manage-data"},
				}}
				if _, err := env.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					_ = env.Client.CoreV1().PersistentVolumes().Delete(context.Background(), pv.Name, metav1.DeleteOptions{})
				})
			}
			cmd := exec.Command(kc, "--kubeconfig", kubeconfig, "apply", "--server-side", "--force-conflicts", "--field-manager", "deploy-test", "-f", "-")
			cmd.Stdin = strings.NewReader(manifest)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("server-side apply: %v\n%s", err, out)
			}
			kinds := map[string]int{}
			for _, u := range objects(t, manifest) {
				kinds[u.GetKind()]++
			}
			t.Logf("applied %v", kinds)
			for _, k := range []string{"Deployment", "Service", "ServiceAccount", "ConfigMap", "ClusterRole", "ClusterRoleBinding", "NetworkPolicy"} {
				if kinds[k] == 0 {
					t.Errorf("no %s in the manifest", k)
				}
			}
			var dep *appsv1.Deployment
			platformtest.Eventually(t, 90*time.Second, func() (bool, string) {
				var err error
				dep, err = env.Client.AppsV1().Deployments(ns).Get(ctx, "k8s-manage", metav1.GetOptions{})
				if err != nil {
					return false, err.Error()
				}
				return dep.Status.ReadyReplicas == tc.replicas && dep.Status.UpdatedReplicas == tc.replicas,
					fmt.Sprintf("ready %d/%d", dep.Status.ReadyReplicas, tc.replicas)
			})
			pods, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=k8s-manage"})
			if err != nil {
				t.Fatal(err)
			}
			nodes := map[string]bool{}
			for _, p := range pods.Items {
				if p.Spec.NodeName == "" {
					t.Errorf("pod %s is not scheduled", p.Name)
				}
				nodes[p.Spec.NodeName] = true
				sc := p.Spec.Containers[0].SecurityContext
				if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || p.Spec.SecurityContext.RunAsNonRoot == nil {
					t.Errorf("pod %s: the security context was lost", p.Name)
				}
			}
			if tc.replicas == 3 && len(nodes) != 3 {
				t.Errorf("3 replicas on %d nodes, want one per node (topology spread)", len(nodes))
			}
		})
	}
}

// The chart ships the Grafana dashboards as a ConfigMap with the sidecar's label when asked, and
// not otherwise.
func TestChartShipsTheDashboards(t *testing.T) {
	if strings.Contains(render(t, "k8s-manage", "ops"), "-dashboards") {
		t.Error("the dashboards ConfigMap is rendered by default")
	}
	var cm *unstructured.Unstructured
	for _, o := range objects(t, render(t, "k8s-manage", "ops", "monitoring.grafanaDashboards.enabled=true")) {
		if o.GetKind() == "ConfigMap" && strings.HasSuffix(o.GetName(), "-dashboards") {
			cm = o
		}
	}
	if cm == nil {
		t.Fatal("no dashboards ConfigMap")
	}
	if cm.GetLabels()["grafana_dashboard"] != "1" {
		t.Errorf("labels %v lack grafana_dashboard: \"1\"", cm.GetLabels())
	}
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	for _, f := range []string{"k8s-manage-service.json", "k8s-manage-tenant-apps.json"} {
		var d struct {
			UID    string `json:"uid"`
			Panels []any  `json:"panels"`
		}
		if err := json.Unmarshal([]byte(data[f]), &d); err != nil || d.UID == "" || len(d.Panels) == 0 {
			t.Errorf("%s: %v (uid %q, %d panels)", f, err, d.UID, len(d.Panels))
		}
	}
}
