package apps_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

type fixture struct {
	w   *platformtest.World
	svc *apps.Service
	t   apps.Target
	ns  string
}

func setup(t *testing.T) *fixture {
	t.Helper()
	w := platformtest.New(t)
	dev := platformtest.Email("dev")
	name := w.Tenant(t, "apps", []tenant.Member{{Email: dev, Role: tenant.Developer}})
	ns := tenant.Namespace(name, "dev")
	return &fixture{w: w, svc: apps.NewService(w.Kube), t: apps.Target{As: tenant.Identity(dev), Namespace: ns}, ns: ns}
}

func (f *fixture) create(t *testing.T, spec apps.Spec) {
	t.Helper()
	if _, err := f.svc.Create(context.Background(), f.t, spec, apps.WriteOptions{}); err != nil {
		t.Fatalf("create %s: %v", spec.Name, err)
	}
}

// waitReady waits until the app's rollout is complete with want ready pods of image.
func (f *fixture) waitReady(t *testing.T, app string, want int32, image string) *apps.Status {
	t.Helper()
	var st *apps.Status
	platformtest.Eventually(t, 60*time.Second, func() (bool, string) {
		var err error
		st, err = f.svc.Get(context.Background(), f.t, app)
		if err != nil {
			return false, err.Error()
		}
		ready, serving := 0, 0
		for _, p := range st.Pods {
			if st.BlueGreen != nil && p.Slot != st.BlueGreen.Active {
				continue // the idle slot's pods do not serve
			}
			serving++
			if p.Ready && p.Phase == "Running" && p.Image == image {
				ready++
			}
		}
		return st.Rollout == "complete" && st.Ready == want && ready == int(want) && serving == int(want),
			fmt.Sprintf("rollout=%s ready=%d/%d serving pods=%d with %s ready=%d", st.Rollout, st.Ready, want, serving, image, ready)
	})
	return st
}

func (f *fixture) deployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	d, err := f.w.Env.Client.AppsV1().Deployments(f.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *fixture) service(t *testing.T, name string) *corev1.Service {
	t.Helper()
	s, err := f.w.Env.Client.CoreV1().Services(f.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var web = apps.Spec{Name: "web", Image: "nginx:1.26", Replicas: 2, Ports: []apps.Port{{Name: "http", Port: 80}},
	Env: map[string]string{"LOG_LEVEL": "info"}, Resources: apps.Resources{CPURequest: "100m", MemoryRequest: "64Mi"},
	Readiness: &apps.Probe{Path: "/healthz", Port: 80}}

func TestCreateStatusAndIngress(t *testing.T) {
	f := setup(t)
	spec := web
	spec.Ingress = &apps.Ingress{Host: "web.example.com", TLSSecret: "web-tls"}
	f.create(t, spec)
	st := f.waitReady(t, "web", 2, "nginx:1.26")
	if st.Strategy != apps.Rolling || st.Desired != 2 || st.Revision != 1 {
		t.Errorf("status = %+v", st)
	}
	ing, err := f.w.Env.Client.NetworkingV1().Ingresses(f.ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil || ing.Spec.Rules[0].Host != "web.example.com" || ing.Spec.TLS[0].SecretName != "web-tls" {
		t.Fatalf("ingress = %+v %v", ing, err)
	}
	list, err := f.svc.List(context.Background(), f.t)
	if err != nil || len(list) != 1 || list[0].Name != "web" || list[0].Ready != 2 {
		t.Fatalf("list = %+v %v", list, err)
	}
	// Bad input names the field and creates nothing.
	_, err = f.svc.Create(context.Background(), f.t, apps.Spec{Name: "api", Image: "x", Replicas: 1, Ports: []apps.Port{{Port: 70000}}}, apps.WriteOptions{})
	var pe *perr.Error
	if !errors.As(err, &pe) || pe.Field != "ports[0].port" {
		t.Fatalf("want invalid ports[0].port, got %v", err)
	}
	if _, err := f.w.Env.Client.AppsV1().Deployments(f.ns).Get(context.Background(), "api", metav1.GetOptions{}); err == nil {
		t.Fatal("invalid app was created")
	}
}

func TestImageEnvRestartAndRollback(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.create(t, web)
	f.waitReady(t, "web", 2, "nginx:1.26")
	before := f.deployment(t, "web").Spec.Template.Spec

	if _, err := f.svc.SetImage(ctx, f.t, "web", "nginx:1.27", apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Each change its own revision: the controller coalesces a template changed again before it
	// made the previous one's ReplicaSet.
	f.waitReady(t, "web", 2, "nginx:1.27")
	if _, err := f.svc.SetEnv(ctx, f.t, "web", map[string]string{"FEATURE_X": "on"}, []string{"LOG_LEVEL"}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	f.waitReady(t, "web", 2, "nginx:1.27")
	revs, err := f.svc.Revisions(ctx, f.t, "web")
	if err != nil || len(revs) != 3 || !revs[0].Current || revs[2].Image != "nginx:1.26" {
		t.Fatalf("revisions = %+v %v", revs, err)
	}

	ch, err := f.svc.Rollback(ctx, f.t, "web", revs[2].Number, apps.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ch.Render(), "nginx:1.27 -> nginx:1.26") {
		t.Errorf("rollback diff does not show the image change:\n%s", ch.Render())
	}
	f.waitReady(t, "web", 2, "nginx:1.26")
	after := f.deployment(t, "web").Spec.Template.Spec
	if after.Containers[0].Image != before.Containers[0].Image || !slices.Equal(after.Containers[0].Env, before.Containers[0].Env) {
		t.Fatalf("rollback did not restore the pod template: env %v, want %v", after.Containers[0].Env, before.Containers[0].Env)
	}

	if _, err := f.svc.Restart(ctx, f.t, "web", apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if f.deployment(t, "web").Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
		t.Error("restart did not stamp the pod template")
	}
	if _, err := f.svc.Rollback(ctx, f.t, "web", 99, apps.WriteOptions{}); !errors.Is(err, perr.ErrInvalid) {
		t.Errorf("rollback to a missing revision: want Invalid, got %v", err)
	}
}

func TestCanaryStartPromote(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	spec := web
	spec.Replicas = 4
	f.create(t, spec)
	f.waitReady(t, "web", 4, "nginx:1.26")

	if _, err := f.svc.StartCanary(ctx, f.t, "web", "nginx:1.27", 25, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 60*time.Second, func() (bool, string) {
		st, err := f.svc.Get(ctx, f.t, "web")
		if err != nil || st.Canary == nil {
			return false, fmt.Sprint(err)
		}
		return st.Canary.Ready == 1 && st.Ready == 3 && st.Canary.WeightPercent == 25,
			fmt.Sprintf("canary ready %d, stable ready %d", st.Canary.Ready, st.Ready)
	})
	// The Service selects both tracks: traffic splits by replica ratio.
	sel := f.service(t, "web").Spec.Selector
	if len(sel) != 1 || sel[apps.LabelApp] != "web" {
		t.Fatalf("service selector = %v, want only %s=web", sel, apps.LabelApp)
	}
	canary := f.deployment(t, "web-canary")
	if canary.Spec.Template.Labels[apps.LabelTrack] != "canary" || canary.Spec.Template.Spec.Containers[0].Image != "nginx:1.27" {
		t.Fatalf("canary deployment = %+v", canary.Spec.Template)
	}
	if _, err := f.svc.Scale(ctx, f.t, "web", 6, apps.WriteOptions{}); !errors.Is(err, perr.ErrConflict) {
		t.Errorf("scale during canary: want Conflict, got %v", err)
	}
	if _, err := f.svc.SetCanaryWeight(ctx, f.t, "web", 50, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := *f.deployment(t, "web-canary").Spec.Replicas; got != 2 {
		t.Fatalf("canary replicas at 50%% = %d, want 2", got)
	}

	if _, err := f.svc.PromoteCanary(ctx, f.t, "web", apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	st := f.waitReady(t, "web", 4, "nginx:1.27")
	if st.Canary != nil {
		t.Fatalf("canary still present after promote: %+v", st.Canary)
	}
	if _, err := f.w.Env.Client.AppsV1().Deployments(f.ns).Get(ctx, "web-canary", metav1.GetOptions{}); err == nil {
		t.Fatal("canary deployment not removed")
	}
	for _, p := range st.Pods {
		if p.Track != "stable" {
			t.Errorf("pod %s track %q after promote", p.Name, p.Track)
		}
	}
}

func TestCanaryAbort(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.create(t, web)
	f.waitReady(t, "web", 2, "nginx:1.26")
	if _, err := f.svc.StartCanary(ctx, f.t, "web", "nginx:bad", 50, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AbortCanary(ctx, f.t, "web", apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	st := f.waitReady(t, "web", 2, "nginx:1.26")
	if st.Canary != nil {
		t.Fatal("canary still present after abort")
	}
}

func TestBlueGreenSwitchAndSwitchBack(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	spec := web
	spec.Strategy = apps.Strategy{Type: apps.BlueGreen}
	f.create(t, spec)
	f.waitReady(t, "web", 2, "nginx:1.26")
	if got := f.service(t, "web").Spec.Selector[apps.LabelSlot]; got != "blue" {
		t.Fatalf("service slot = %q, want blue", got)
	}
	if _, err := f.svc.SwitchBlueGreen(ctx, f.t, "web", apps.WriteOptions{}); !errors.Is(err, perr.ErrConflict) {
		t.Fatalf("switch to an empty green slot: want Conflict, got %v", err)
	}

	if _, err := f.svc.SetImage(ctx, f.t, "web", "nginx:1.27", apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 60*time.Second, func() (bool, string) {
		g := f.deployment(t, "web-green")
		return g.Status.ReadyReplicas == 2 && g.Status.UpdatedReplicas == 2, fmt.Sprintf("green ready %d", g.Status.ReadyReplicas)
	})
	if got := f.service(t, "web").Spec.Selector[apps.LabelSlot]; got != "blue" {
		t.Fatalf("deploying to the idle slot moved traffic: slot %q", got)
	}

	ch, err := f.svc.SwitchBlueGreen(ctx, f.t, "web", apps.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ch.Render(), "blue -> green") {
		t.Errorf("switch diff: %s", ch.Render())
	}
	st := f.waitReady(t, "web", 2, "nginx:1.27")
	if st.BlueGreen == nil || st.BlueGreen.Active != "green" || st.BlueGreen.IdleImage != "nginx:1.26" || st.BlueGreen.IdleReady != 2 {
		t.Fatalf("after switch: %+v", st.BlueGreen)
	}
	if got := f.service(t, "web").Spec.Selector[apps.LabelSlot]; got != "green" {
		t.Fatalf("service slot = %q, want green", got)
	}

	// Instant switch-back: blue kept running.
	if _, err := f.svc.SwitchBlueGreen(ctx, f.t, "web", apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err = f.svc.Get(ctx, f.t, "web")
	if err != nil || st.BlueGreen.Active != "blue" || st.Image != "nginx:1.26" || st.Ready != 2 {
		t.Fatalf("after switch-back: %+v %v", st, err)
	}
	if got := f.service(t, "web").Spec.Selector[apps.LabelSlot]; got != "blue" {
		t.Fatalf("service slot = %q, want blue", got)
	}
}

// The preview runs the change through the API server as a dry run: the diff names the field,
// and nothing changes on the cluster.
func TestDryRunPreview(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.create(t, web)
	f.waitReady(t, "web", 2, "nginx:1.26")
	rv := f.deployment(t, "web").ResourceVersion

	ch, err := f.svc.Scale(ctx, f.t, "web", 5, apps.WriteOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !ch.DryRun || !strings.Contains(ch.Render(), "~ spec.replicas: 2 -> 5") {
		t.Fatalf("preview:\n%s", ch.Render())
	}
	ch, err = f.svc.SetImage(ctx, f.t, "web", "nginx:1.29", apps.WriteOptions{DryRun: true})
	if err != nil || !strings.Contains(ch.Render(), "spec.template.spec.containers[app].image: nginx:1.26 -> nginx:1.29") {
		t.Fatalf("image preview: %v\n%v", err, ch)
	}
	if _, err := f.svc.Delete(ctx, f.t, "web", apps.WriteOptions{DryRun: true}); err != nil {
		t.Fatal(err)
	}
	d := f.deployment(t, "web")
	if d.ResourceVersion != rv || *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].Image != "nginx:1.26" {
		t.Fatalf("dry runs changed the cluster: rv %s -> %s, replicas %d", rv, d.ResourceVersion, *d.Spec.Replicas)
	}
	f.service(t, "web") // still there after the dry-run delete
}

func TestQuotaExceeded(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.create(t, web) // 2 pods of 100m; tenant quota: 30 pods, requests.cpu 4
	f.waitReady(t, "web", 2, "nginx:1.26")

	// Preflight: 50 pods exceed both the pod count and the CPU requests.
	_, err := f.svc.Scale(ctx, f.t, "web", 50, apps.WriteOptions{})
	var pe *perr.Error
	if !errors.As(err, &pe) || pe.Kind != perr.QuotaExceeded || !slices.Contains(pe.Resources, "pods") || !slices.Contains(pe.Resources, "requests.cpu") {
		t.Fatalf("want QuotaExceeded naming pods and requests.cpu, got %v", err)
	}
	if got := *f.deployment(t, "web").Spec.Replicas; got != 2 {
		t.Fatalf("refused scale changed replicas to %d", got)
	}

	// The API server's own quota admission, seen through status: pods the ReplicaSet cannot create.
	big := apps.Spec{Name: "big", Image: "nginx", Replicas: 3, Resources: apps.Resources{CPURequest: "1500m", CPULimit: "2"}}
	f.create(t, big)
	platformtest.Eventually(t, 30*time.Second, func() (bool, string) {
		st, err := f.svc.Get(ctx, f.t, "big")
		if err != nil {
			return false, err.Error()
		}
		for _, p := range st.Problems {
			if strings.Contains(p, "quota exceeded for") && strings.Contains(p, "requests.cpu") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("problems %v", st.Problems)
	})
}
