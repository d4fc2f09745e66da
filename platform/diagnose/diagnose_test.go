package diagnose_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"

	"k8s-manage/hack/sandbox"
	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/diagnose"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

func deployment(name string, replicas int32, mutate func(*corev1.PodSpec, *metav1.ObjectMeta)) *appsv1.Deployment {
	labels := map[string]string{"app.kubernetes.io/name": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27", Ports: []corev1.ContainerPort{{ContainerPort: 80}},
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}}}}}}},
	}
	if mutate != nil {
		mutate(&d.Spec.Template.Spec, &d.Spec.Template.ObjectMeta)
	}
	return d
}

func fault(kind string) func(*corev1.PodSpec, *metav1.ObjectMeta) {
	return func(_ *corev1.PodSpec, m *metav1.ObjectMeta) {
		m.Annotations = map[string]string{sandbox.FaultAnnotation: kind}
	}
}

// For each fault, the top finding for the app names the cause.
func TestTopFindingNamesTheCause(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev := platformtest.Email("dev")
	name := w.Tenant(t, "diag", []tenant.Member{{Email: dev, Role: tenant.Developer}})
	ns := tenant.Namespace(name, "dev")
	admin := w.Env.Client
	create := func(objs ...any) {
		for _, o := range objs {
			var err error
			switch o := o.(type) {
			case *appsv1.Deployment:
				_, err = admin.AppsV1().Deployments(ns).Create(ctx, o, metav1.CreateOptions{})
			case *corev1.Service:
				_, err = admin.CoreV1().Services(ns).Create(ctx, o, metav1.CreateOptions{})
			case *networkingv1.Ingress:
				_, err = admin.NetworkingV1().Ingresses(ns).Create(ctx, o, metav1.CreateOptions{})
			case *appsv1.StatefulSet:
				_, err = admin.AppsV1().StatefulSets(ns).Create(ctx, o, metav1.CreateOptions{})
			case *corev1.PersistentVolumeClaim:
				_, err = admin.CoreV1().PersistentVolumeClaims(ns).Create(ctx, o, metav1.CreateOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	sc := "fast-ssd"
	create(
		deployment("crashy", 1, fault(sandbox.FaultCrashLoop)),
		deployment("hungry", 1, fault(sandbox.FaultOOM)),
		deployment("pully", 1, fault(sandbox.FaultImagePull)),
		deployment("shy", 1, fault(sandbox.FaultUnready)),
		deployment("picky", 1, func(ps *corev1.PodSpec, _ *metav1.ObjectMeta) { ps.NodeSelector = map[string]string{"disktype": "ssd"} }),
		deployment("greedy", 40, nil), // the tenant quota allows 30 pods
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "lonely", Labels: map[string]string{"app.kubernetes.io/name": "lonely"}},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app.kubernetes.io/name": "ghost"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}}}},
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"app.kubernetes.io/name": "nope"}},
			Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{
				HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr(networkingv1.PathTypePrefix),
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "nope", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "ledger", Labels: map[string]string{"app.kubernetes.io/name": "ledger"}},
			Spec: appsv1.StatefulSetSpec{ServiceName: "ledger-headless", Replicas: ptr(int32(1)),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "ledger"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app.kubernetes.io/name": "ledger"}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &sc, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}},
	)

	cs, err := w.Kube.As(tenant.Identity(dev))
	if err != nil {
		t.Fatal(err)
	}
	d := diagnose.New(admin)
	tests := []struct {
		app, resource string // scope by app, or look the resource up namespace-wide
		want          []string
	}{
		{app: "crashy", want: []string{"CrashLoopBackOff", "exit code 1"}},
		{app: "hungry", want: []string{"OOMKilled", "137"}},
		{app: "pully", want: []string{"ImagePullBackOff"}},
		{app: "shy", want: []string{"readiness probe failing"}},
		{app: "picky", want: []string{"unschedulable", "node affinity/selector"}},
		{app: "greedy", want: []string{"exceeded quota", "pods"}},
		{app: "lonely", want: []string{"matches no pods"}},
		{app: "nope", want: []string{"backend service nope does not exist"}},
		{resource: "persistentvolumeclaim/data", want: []string{"StorageClass fast-ssd does not exist"}},
		{app: "ledger", want: []string{"governing service ledger-headless does not exist"}},
	}
	for _, tc := range tests {
		t.Run(tc.app+tc.resource, func(t *testing.T) {
			var got string
			platformtest.Eventually(t, 60*time.Second, func() (bool, string) {
				rep, err := d.Run(ctx, cs, diagnose.Scope{Namespace: ns, App: tc.app})
				if err != nil {
					return false, err.Error()
				}
				var top *diagnose.Finding
				for i := range rep.Findings {
					if tc.resource == "" || rep.Findings[i].Resource == tc.resource {
						top = &rep.Findings[i]
						break
					}
				}
				if top == nil {
					return false, "no findings: " + rep.Checked
				}
				got = top.Reason
				for _, w := range tc.want {
					if !strings.Contains(top.Reason, w) {
						return false, fmt.Sprintf("top finding %q (%s) lacks %q", top.Reason, top.Resource, w)
					}
				}
				return true, ""
			})
			t.Logf("%s: %s", tc.app+tc.resource, got)
		})
	}
}

func ptr[T any](v T) *T { return &v }

// BenchmarkDiagnoseHealthyNamespace: 200 pods, 50 Deployments and 50 Services, all healthy.
func BenchmarkDiagnoseHealthyNamespace(b *testing.B) {
	env := sandboxtest.Start(b)
	ctx := context.Background()
	ns := env.Namespace(b, "bench-diag", nil)
	for i := range 50 {
		name := fmt.Sprintf("svc-%02d", i)
		if _, err := env.Client.AppsV1().Deployments(ns).Create(ctx, deployment(name, 4, nil), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		if _, err := env.Client.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app.kubernetes.io/name": name}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}}}},
			metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	platformtest.Eventually(b, 3*time.Minute, func() (bool, string) {
		pods, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		ready := 0
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		deps, err := env.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		available := 0
		for _, d := range deps.Items {
			if d.Status.AvailableReplicas == 4 {
				available++
			}
		}
		return ready == 200 && available == 50, fmt.Sprintf("%d/200 pods ready, %d/50 deployments available", ready, available)
	})
	// Back to back, the diagnoses would measure client-go's token bucket (the sandbox client's
	// 200 requests/s, about 18 list calls a diagnosis) once its burst is spent, not the diagnosis a
	// person waits for: the benchmark's client has no client-side limit.
	cfg := rest.CopyConfig(env.Admin)
	cfg.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	d := diagnose.New(cs)
	for _, sc := range []struct {
		name  string
		scope diagnose.Scope
	}{
		{"namespace", diagnose.Scope{Namespace: ns}},
		{"app", diagnose.Scope{Namespace: ns, App: "svc-17"}}, // resolved, and its wiring followed
		{"service", diagnose.Scope{Namespace: ns, Target: "svc-31"}},
	} {
		b.Run(sc.name, func(b *testing.B) {
			for range b.N {
				rep, err := d.Run(ctx, cs, sc.scope)
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Findings) != 0 {
					b.Fatalf("a healthy namespace has findings: %+v", rep.Findings[0])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/diagnosis")
		})
	}
}

var _ = apps.LabelApp
