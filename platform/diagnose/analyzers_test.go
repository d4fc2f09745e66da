package diagnose_test

import (
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"k8s-manage/platform/diagnose"
)

const ns = "team-a-dev"

func meta(name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}
}

var web = map[string]string{"app.kubernetes.io/name": "web"}

// runningPod is a ready pod of app web on node n1, serving port 8080.
func runningPod(name string) corev1.Pod {
	return corev1.Pod{ObjectMeta: meta(name, web), Spec: corev1.PodSpec{NodeName: "n1",
		Containers: []corev1.Container{{Name: "app", Image: "web:1", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
}

// Each analyzer on constructed objects, with no API server: the fault it exists to find is the
// top finding, naming the resource and the cause in Kubernetes' words.
func TestEachAnalyzer(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		snap     diagnose.Snapshot
		resource string
		reason   []string
	}{
		{name: "refs: a missing ConfigMap", resource: "deployment/web", reason: []string{"configmap", "web-config"},
			snap: diagnose.Snapshot{Deployments: []appsv1.Deployment{{ObjectMeta: meta("web", web), Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: web}, Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: web},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{
						LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}}}}}}}}}}}}},
		{name: "pods: CrashLoopBackOff with its exit code", resource: "pod/web-1", reason: []string{"CrashLoopBackOff"},
			snap: func() diagnose.Snapshot {
				p := runningPod("web-1")
				p.Status.ContainerStatuses[0] = corev1.ContainerStatus{Name: "app", RestartCount: 5,
					State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: metav1.NewTime(now.Add(-time.Minute))}}}
				return diagnose.Snapshot{Pods: []corev1.Pod{p}}
			}()},
		{name: "deployments: exceeded quota", resource: "deployment/web", reason: []string{"exceeded quota"},
			snap: diagnose.Snapshot{Deployments: []appsv1.Deployment{{ObjectMeta: meta("web", web), Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(2)),
				Selector: &metav1.LabelSelector{MatchLabels: web}, Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: web}}},
				Status: appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue,
					Message: `pods "web-x" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=4, limited: pods=4`}}}}}}},
		{name: "statefulsets: no governing service", resource: "statefulset/db", reason: []string{"governing service db-headless does not exist"},
			snap: diagnose.Snapshot{StatefulSets: []appsv1.StatefulSet{{ObjectMeta: meta("db", nil), Spec: appsv1.StatefulSetSpec{ServiceName: "db-headless", Replicas: ptr(int32(0)),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}}}}}},
		{name: "services: a selector that matches no pod", resource: "service/web", reason: []string{"matches no pods"},
			snap: diagnose.Snapshot{Pods: []corev1.Pod{runningPod("web-1")}, Services: []corev1.Service{{ObjectMeta: meta("web", nil),
				Spec: corev1.ServiceSpec{Selector: map[string]string{"app.kubernetes.io/name": "wbe"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt(8080)}}}}}}},
		{name: "services: a targetPort no container serves", resource: "service/web", reason: []string{"targetPort 9090"},
			snap: diagnose.Snapshot{Pods: []corev1.Pod{runningPod("web-1")}, Services: []corev1.Service{{ObjectMeta: meta("web", nil),
				Spec: corev1.ServiceSpec{Selector: web, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt(9090)}}}}}}},
		{name: "ingresses: a backend service that does not exist", resource: "ingress/web", reason: []string{"backend service web-svc does not exist"},
			snap: diagnose.Snapshot{Ingresses: []networkingv1.Ingress{{ObjectMeta: meta("web", nil), Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "web.example.com",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/",
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web-svc", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}}}}},
		{name: "pvcs: a StorageClass that does not exist", resource: "persistentvolumeclaim/data", reason: []string{"StorageClass fast-ssd does not exist"},
			snap: diagnose.Snapshot{PVCs: []corev1.PersistentVolumeClaim{{ObjectMeta: meta("data", nil), Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr("fast-ssd")},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}}}},
		{name: "hpas: a scaleTargetRef that does not exist", resource: "horizontalpodautoscaler/web", reason: []string{"scaleTargetRef Deployment wbe does not exist"},
			snap: diagnose.Snapshot{HPAs: []autoscalingv2.HorizontalPodAutoscaler{{ObjectMeta: meta("web", nil), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "wbe"}, MaxReplicas: 5}}}}},
		{name: "pdbs: no disruption allowed", resource: "poddisruptionbudget/web", reason: []string{"allows no disruption"},
			snap: diagnose.Snapshot{Pods: []corev1.Pod{runningPod("web-1")}, PDBs: []policyv1.PodDisruptionBudget{{ObjectMeta: meta("web", nil),
				Spec:   policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: web}},
				Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 0, ExpectedPods: 1, CurrentHealthy: 1, DesiredHealthy: 1}}}}},
		{name: "webhooks: a failing webhook's service is gone", resource: "validatingwebhookconfiguration/policy", reason: []string{"does not exist", "refused"},
			snap: diagnose.Snapshot{ServiceExists: func(string, string) bool { return false },
				ValidatingWebhooks: []admissionregistrationv1.ValidatingWebhookConfiguration{{ObjectMeta: metav1.ObjectMeta{Name: "policy"},
					Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "p.example.com", ClientConfig: admissionregistrationv1.WebhookClientConfig{
						Service: &admissionregistrationv1.ServiceReference{Namespace: "policy", Name: "policy-webhook"}}}}}}}},
		{name: "nodes: NotReady under the app's pod", resource: "node/n1", reason: []string{"NotReady"},
			snap: diagnose.Snapshot{Pods: []corev1.Pod{runningPod("web-1")}, Nodes: []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "n1"},
				Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown"}}}}}}},
		{name: "jobs: a failed job", resource: "job/migrate", reason: []string{"job failed", "BackoffLimitExceeded"},
			snap: diagnose.Snapshot{Jobs: []batchv1.Job{{ObjectMeta: meta("migrate", nil), Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{
				Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}}}}}}},
		{name: "quotas: exhausted", resource: "resourcequota/compute", reason: []string{"quota exhausted for pods"},
			snap: diagnose.Snapshot{Quotas: []corev1.ResourceQuota{{ObjectMeta: meta("compute", nil), Status: corev1.ResourceQuotaStatus{
				Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("4")}, Used: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("4")}}}}}},
		{name: "network policies: all ingress denied", resource: "networkpolicy/deny-all", reason: []string{"denies all ingress"},
			snap: diagnose.Snapshot{Pods: []corev1.Pod{runningPod("web-1")}, NetworkPolicies: []networkingv1.NetworkPolicy{{ObjectMeta: meta("deny-all", nil),
				Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}}}},
		{name: "usage: CPU at its limit (throttled)", resource: "deployment/web", reason: []string{"CPU at its limit", "throttled", "2 of 2 pods"},
			snap: func() diagnose.Snapshot {
				var pods []corev1.Pod
				for _, n := range []string{"web-7d9c-a", "web-7d9c-b"} {
					p := runningPod(n)
					p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-7d9c"}}
					p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")}
					pods = append(pods, p)
				}
				return diagnose.Snapshot{Pods: pods, Deployments: []appsv1.Deployment{{ObjectMeta: meta("web", web)}},
					Usage: map[string]map[string]diagnose.ContainerUsage{"web-7d9c-a": {"app": {CPUMilli: 498, MemoryBytes: 100 << 20}}, "web-7d9c-b": {"app": {CPUMilli: 470, MemoryBytes: 90 << 20}}}}
			}()},
		{name: "usage: memory near its limit", resource: "pod/web-1", reason: []string{"memory near its limit", "OOM"},
			snap: func() diagnose.Snapshot {
				p := runningPod("web-1")
				p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")}
				return diagnose.Snapshot{Pods: []corev1.Pod{p}, Usage: map[string]map[string]diagnose.ContainerUsage{"web-1": {"app": {CPUMilli: 5, MemoryBytes: 500 << 20}}}}
			}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.snap
			s.Now = now
			s.SecretKeys = func(string) ([]string, error) { return nil, diagnose.ErrNotFound }
			rep := diagnose.Analyze(&s, diagnose.Scope{Namespace: ns})
			if len(rep.Findings) == 0 {
				t.Fatalf("no finding; checked %s", rep.Checked)
			}
			top := rep.Findings[0]
			if top.Resource != tc.resource {
				t.Fatalf("top finding %s: %s, want one on %s (all: %+v)", top.Resource, top.Reason, tc.resource, rep.Findings)
			}
			for _, w := range tc.reason {
				if !strings.Contains(strings.ToLower(top.Reason), strings.ToLower(w)) {
					t.Errorf("reason %q lacks %q", top.Reason, w)
				}
			}
		})
	}
	// A healthy namespace has no finding, and the report says what it checked.
	healthy := diagnose.Snapshot{Now: now, Pods: []corev1.Pod{runningPod("web-1")}, Services: []corev1.Service{{ObjectMeta: meta("web", nil),
		Spec: corev1.ServiceSpec{Selector: web, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt(8080)}}}}}}
	healthy.Usage = map[string]map[string]diagnose.ContainerUsage{"web-1": {"app": {CPUMilli: 400, MemoryBytes: 400 << 20}}} // no limits: no ceiling
	rep := diagnose.Analyze(&healthy, diagnose.Scope{Namespace: ns})
	if len(rep.Findings) != 0 {
		t.Errorf("healthy namespace: %+v", rep.Findings)
	}
	for _, noun := range []string{"1 pods", "1 services", "network policies", "events"} {
		if !strings.Contains(rep.Checked, noun) {
			t.Errorf("checked %q lacks %q", rep.Checked, noun)
		}
	}
}
