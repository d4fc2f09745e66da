package diagnose_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"k8s-manage/hack/sandbox"
	"k8s-manage/platform/diagnose"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

// deploy is a one-container Deployment labelled app=<name> (the common convention, not the
// platform's app.kubernetes.io/name), with extra pod-spec and container YAML.
func deploy(name string, replicas int, podSpec, container string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: %[2]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
%[3]s      containers:
      - name: main
        image: registry.local/%[1]s:1.0
        ports: [{containerPort: 8080}]
        resources:
          requests: {cpu: 10m, memory: 32Mi}
          limits: {cpu: 20m, memory: 64Mi}
%[4]s---
`, name, replicas, podSpec, container)
}

// One row per analyzer addition: the fault as a manifest, the scope asked about, and what the
// top finding must name (empty: no cause in that scope).
func TestRootCauseOnTheSandbox(t *testing.T) {
	// An operator: secrets are read as the caller (the service account cannot read them), and
	// operators may.
	w, ns, cs := memberNamespace(t, "rootcause", tenant.Operator)
	ctx := context.Background()
	w.Apply(t, ns, deploy("healthy", 1, "", "")+
		deploy("picky", 1, "      nodeSelector: {disktype: nvme}\n", "")+
		deploy("spread", 4, `      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: spread}}
            topologyKey: kubernetes.io/hostname
`, "")+
		deploy("envless", 1, "", "        envFrom: [{configMapRef: {name: envless-config}}]\n")+
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: partial}\ndata: {A: '1'}\n---\n"+
		deploy("keyless", 1, "", "        env: [{name: B, valueFrom: {configMapKeyRef: {name: partial, key: B}}}]\n")+
		deploy("secretless", 1, "", "        env: [{name: T, valueFrom: {secretKeyRef: {name: api-token, key: token}}}]\n")+
		deploy("claimless", 1, "      volumes: [{name: d, persistentVolumeClaim: {claimName: no-such-claim}}]\n", "")+
		deploy("nobody", 1, "      serviceAccountName: ghost-sa\n", "")+
		deploy("unranked", 1, "      priorityClassName: ghost-priority\n", "")+
		deploy("private", 1, "      imagePullSecrets: [{name: ghost-regcred}]\n", "")+
		deploy("locked", 1, "", "")+
		"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-locked}\nspec: {podSelector: {matchLabels: {app: locked}}, policyTypes: [Ingress]}\n---\n"+
		"apiVersion: v1\nkind: Service\nmetadata: {name: typo-svc}\nspec: {selector: {app: healthyy}, ports: [{port: 80, targetPort: 8080}]}\n---\n"+
		"apiVersion: v1\nkind: Service\nmetadata: {name: healthy}\nspec: {selector: {app: healthy}, ports: [{port: 80, targetPort: 9999}]}\n---\n"+
		`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: storefront}
spec:
  rules:
  - host: shop.rootcause.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: storefront-web, port: {number: 80}}}}]}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: burst}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: bursty}
  minReplicas: 1
  maxReplicas: 3
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}]
`)
	d := diagnose.New(w.Env.Client)
	for _, tc := range []struct {
		name  string
		scope diagnose.Scope
		want  []string // all in the top finding; none: no cause in scope
	}{
		{"nodeSelector, app label only", diagnose.Scope{App: "picky"}, []string{"deployment/picky", "pod/picky-", "nodeSelector disktype=nvme", "0 of 3 nodes"}},
		{"pod anti-affinity", diagnose.Scope{App: "spread"}, []string{"pod anti-affinity", "kubernetes.io/hostname"}},
		{"missing ConfigMap", diagnose.Scope{App: "envless"}, []string{"deployment/envless", "ConfigMap envless-config does not exist"}},
		{"missing ConfigMap key", diagnose.Scope{App: "keyless"}, []string{"key B is not in ConfigMap partial", "it has: A"}},
		{"missing Secret", diagnose.Scope{App: "secretless"}, []string{"Secret api-token does not exist"}},
		{"missing PVC", diagnose.Scope{App: "claimless"}, []string{"PersistentVolumeClaim no-such-claim does not exist"}},
		{"missing ServiceAccount", diagnose.Scope{App: "nobody"}, []string{"ServiceAccount ghost-sa does not exist"}},
		{"missing PriorityClass", diagnose.Scope{App: "unranked"}, []string{"PriorityClass ghost-priority does not exist"}},
		{"missing imagePullSecret", diagnose.Scope{App: "private"}, []string{"imagePullSecret ghost-regcred does not exist"}},
		{"deny-all NetworkPolicy selects the app", diagnose.Scope{App: "locked"}, []string{"NetworkPolicy deny-locked denies all ingress"}},
		{"service by name, selector typo", diagnose.Scope{Target: "typo-svc"}, []string{"service/typo-svc", "selector app=healthyy matches no pods", "app=", "healthy"}},
		{"the app's Service, wrong targetPort", diagnose.Scope{App: "healthy"}, []string{"service/healthy", "targetPort 9999", "8080"}},
		{"ingress host, backend missing", diagnose.Scope{Target: "https://shop.rootcause.example.com/cart"}, []string{"ingress/storefront", "backend service storefront-web does not exist"}},
		{"HPA target missing", diagnose.Scope{Target: "burst"}, []string{"scaleTargetRef Deployment bursty does not exist"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rep *diagnose.Report
			platformtest.Eventually(t, 60*time.Second, func() (bool, string) {
				var err error
				if rep, err = d.Run(ctx, cs, diagnose.Scope{Namespace: ns, App: tc.scope.App, Pod: tc.scope.Pod, Target: tc.scope.Target}); err != nil {
					return false, err.Error()
				}
				if len(rep.Findings) == 0 || rep.Findings[0].Context {
					return false, "no cause: " + rep.Summary
				}
				top := rep.Findings[0]
				text := top.Resource + ": " + top.Reason + " " + strings.Join(top.Evidence, " ")
				for _, w := range tc.want {
					if !strings.Contains(text, w) {
						return false, fmt.Sprintf("top finding %q lacks %q", text, w)
					}
				}
				return true, ""
			})
			t.Logf("%s", rep.Summary)
		})
	}

	// Causes come before their symptoms: a missing ConfigMap's Deployment is not also reported as
	// "replicas unavailable"; that is folded into the cause as its effect.
	t.Run("symptoms fold into their cause", func(t *testing.T) {
		rep, err := d.Run(ctx, cs, diagnose.Scope{Namespace: ns, App: "nobody"})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range rep.Findings[1:] {
			if strings.Contains(f.Reason, "replicas unavailable") || strings.Contains(f.Reason, "FailedCreate") {
				t.Errorf("a symptom is reported beside its cause: %s %s", f.Resource, f.Reason)
			}
		}
		if !strings.Contains(strings.Join(rep.Findings[0].Evidence, "\n"), "effect: deployment/nobody") {
			t.Errorf("the cause does not carry its effect: %+v", rep.Findings[0].Evidence)
		}
	})

	// Abstention: the healthy app's pods are fine, and the other apps' faults are not its cause.
	t.Run("no cause in a healthy app's pods", func(t *testing.T) {
		rep, err := d.Run(ctx, cs, diagnose.Scope{Namespace: ns, Pod: podOf(t, w, ns, "healthy")})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range rep.Findings {
			if !f.Context && !strings.HasPrefix(f.Resource, "service/healthy") {
				t.Errorf("an unrelated finding in a healthy pod's diagnosis: %s %s", f.Resource, f.Reason)
			}
		}
	})

	// A name that matches nothing is said, and the namespace is diagnosed instead.
	t.Run("unknown name", func(t *testing.T) {
		rep, err := d.Run(ctx, cs, diagnose.Scope{Namespace: ns, Target: "pickyy"})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Unresolved != "pickyy" || !strings.Contains(rep.Summary, "did you mean picky?") || len(rep.Findings) < 5 {
			t.Fatalf("unknown name: %q, %d findings", rep.Summary, len(rep.Findings))
		}
	})
}

// devNamespace makes a tenant with a developer and returns its dev namespace and the
// developer's (impersonating) client.
func devNamespace(t *testing.T, prefix string) (*platformtest.World, string, kubernetes.Interface) {
	return memberNamespace(t, prefix, tenant.Developer)
}

// memberNamespace makes a tenant with one member of role and returns its dev namespace and the
// member's (impersonating) client.
func memberNamespace(t *testing.T, prefix string, role tenant.Role) (*platformtest.World, string, kubernetes.Interface) {
	t.Helper()
	w := platformtest.New(t)
	dev := platformtest.Email("dev")
	name := w.Tenant(t, prefix, []tenant.Member{{Email: dev, Role: role}})
	cs, err := w.Kube.As(tenant.Identity(dev))
	if err != nil {
		t.Fatal(err)
	}
	return w, tenant.Namespace(name, "dev"), cs
}

func podOf(t *testing.T, w *platformtest.World, ns, app string) string {
	t.Helper()
	var name string
	platformtest.Eventually(t, 30*time.Second, func() (bool, string) {
		pods, err := w.Env.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil || len(pods.Items) == 0 {
			return false, fmt.Sprint("no pod of ", app, err)
		}
		name = pods.Items[0].Name
		return true, ""
	})
	return name
}

// What changed before it broke: a rollout to a crashing version is named as the likely cause of
// the crash loop, with its revision, and the rollback to the revision before is proposed.
func TestRolloutBeforeTheCrashIsTheLikelyCause(t *testing.T) {
	w, ns, cs := devNamespace(t, "timeline")
	ctx := context.Background()
	w.Apply(t, ns, deploy("ledger", 1, "", ""))
	platformtest.Eventually(t, 60*time.Second, func() (bool, string) {
		d, err := w.Env.Client.AppsV1().Deployments(ns).Get(ctx, "ledger", metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 1, "ledger not available yet"
	})
	d, err := w.Env.Client.AppsV1().Deployments(ns).Get(ctx, "ledger", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Template.Spec.Containers[0].Image = "registry.local/ledger:2.0"
	d.Spec.Template.Annotations = map[string]string{sandbox.FaultAnnotation: sandbox.FaultCrashLoop}
	if _, err := w.Env.Client.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 60*time.Second, func() (bool, string) {
		rep, err := diagnose.New(w.Env.Client).Run(ctx, cs, diagnose.Scope{Namespace: ns, App: "ledger"})
		if err != nil {
			return false, err.Error()
		}
		if len(rep.Findings) == 0 {
			return false, rep.Summary
		}
		top := rep.Findings[0]
		lc := top.LikelyChange
		if !strings.Contains(top.Reason, "CrashLoopBackOff") || lc == nil {
			return false, fmt.Sprintf("top %q, likely change %+v", top.Reason, lc)
		}
		if !strings.Contains(lc.What, "revision 2") || !strings.Contains(lc.What, "ledger:2.0") || top.Action != diagnose.Rollback || top.Args["revision"] != 1 {
			return false, fmt.Sprintf("likely change %+v, proposal %s %v", lc, top.Action, top.Args)
		}
		if !slices.ContainsFunc(rep.Timeline, func(e diagnose.Event) bool { return e.Kind == "change" }) ||
			!slices.ContainsFunc(rep.Timeline, func(e diagnose.Event) bool { return e.Kind == "failure" && strings.Contains(e.What, "BackOff") }) {
			return false, fmt.Sprintf("timeline %+v", rep.Timeline)
		}
		return true, ""
	})
}
