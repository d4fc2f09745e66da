package tenant_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

func TestCreateMakesNamespacesAndPolicies(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev := platformtest.Email("dev")
	name := w.Tenant(t, "acme", []tenant.Member{{Email: dev, Role: tenant.Developer}}, "dev", "prod")

	for _, env := range []string{"dev", "prod"} {
		ns := tenant.Namespace(name, env)
		got, err := w.Env.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("namespace %s: %v", ns, err)
		}
		if got.Labels[tenant.LabelTenant] != name || got.Labels[tenant.LabelEnv] != env {
			t.Errorf("namespace %s labels = %v", ns, got.Labels)
		}
		rb, err := w.Env.Client.RbacV1().RoleBindings(ns).Get(ctx, "k8sm-developer", metav1.GetOptions{})
		if err != nil || len(rb.Subjects) != 1 || rb.Subjects[0].Name != dev {
			t.Errorf("developer binding in %s = %+v, %v", ns, rb, err)
		}
		q, err := w.Env.Client.CoreV1().ResourceQuotas(ns).Get(ctx, tenant.QuotaName, metav1.GetOptions{})
		if err != nil || q.Spec.Hard.Pods().String() != "30" {
			t.Errorf("quota in %s: %+v %v", ns, q, err)
		}
		if _, err := w.Env.Client.CoreV1().LimitRanges(ns).Get(ctx, tenant.LimitRangeName, metav1.GetOptions{}); err != nil {
			t.Errorf("limit range in %s: %v", ns, err)
		}
		np, err := w.Env.Client.NetworkingV1().NetworkPolicies(ns).Get(ctx, tenant.NetworkPolicyName, metav1.GetOptions{})
		if err != nil || np.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels[tenant.LabelTenant] != name {
			t.Errorf("network policy in %s: %+v %v", ns, np, err)
		}
	}
	if role, ok, err := w.Tenants.RoleOf(ctx, name, dev); err != nil || !ok || role != tenant.Developer {
		t.Errorf("RoleOf = %v %v %v", role, ok, err)
	}
}

func TestCreateValidation(t *testing.T) {
	w := platformtest.New(t)
	tests := []struct {
		spec  tenant.Spec
		field string
	}{
		{tenant.Spec{Name: "Bad_Name"}, "name"},
		{tenant.Spec{Name: "ok", Environments: []string{"dev", "dev"}}, "environments"},
		{tenant.Spec{Name: "ok", Quota: tenant.Quota{corev1.ResourcePods: "lots"}}, "quota.pods"},
		{tenant.Spec{Name: "ok", Members: []tenant.Member{{Email: "a@example.com", Role: "boss"}}}, "members[0].role"},
	}
	for _, tc := range tests {
		_, _, err := w.Tenants.Create(context.Background(), tc.spec)
		var pe *perr.Error
		if !errors.As(err, &pe) || pe.Kind != perr.Invalid || pe.Field != tc.field {
			t.Errorf("spec %+v: want Invalid on %s, got %v", tc.spec, tc.field, err)
		}
	}
}

// A failure half-way leaves neither rows nor namespaces behind.
func TestCreateFailureLeavesNothing(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	name := "clash-" + platformtest.Email("x")[:6]
	// Occupy the second environment's namespace so creation fails there.
	blocker := tenant.Namespace(name, "test")
	if _, err := w.Env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: blocker}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Env.DeleteNamespace(blocker) })

	_, _, err := w.Tenants.Create(ctx, tenant.Spec{Name: name, Environments: []string{"dev", "test"},
		Members: []tenant.Member{{Email: "someone@example.com", Role: tenant.Admin}}})
	if !errors.Is(err, perr.ErrAlreadyExists) {
		t.Fatalf("want AlreadyExists, got %v", err)
	}
	if _, err := w.Tenants.Get(ctx, name); !errors.Is(err, perr.ErrNotFound) {
		t.Errorf("tenant row left behind: %v", err)
	}
	ns, err := w.Env.Client.CoreV1().Namespaces().Get(ctx, tenant.Namespace(name, "dev"), metav1.GetOptions{})
	if err == nil && ns.DeletionTimestamp == nil {
		t.Errorf("namespace %s left behind", ns.Name)
	}
}

type action struct {
	name string
	do   func(ctx context.Context, w *platformtest.World, id kube.Identity, ns string) error
}

var (
	listPods = action{"list pods", func(ctx context.Context, w *platformtest.World, id kube.Identity, ns string) error {
		cs, err := w.Kube.As(id)
		if err != nil {
			return err
		}
		_, err = cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return perr.FromAPI(err, "list pods")
	}}
	readSecrets = action{"read secrets", func(ctx context.Context, w *platformtest.World, id kube.Identity, ns string) error {
		cs, err := w.Kube.As(id)
		if err != nil {
			return err
		}
		_, err = cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
		return perr.FromAPI(err, "list secrets")
	}}
	createApp = action{"create app", func(ctx context.Context, w *platformtest.World, id kube.Identity, ns string) error {
		_, err := apps.NewService(w.Kube).Create(ctx, apps.Target{As: id, Namespace: ns},
			apps.Spec{Name: "probe", Image: "nginx:1.27", Replicas: 1}, apps.WriteOptions{DryRun: true})
		return err
	}}
	scaleApp = action{"scale app", func(ctx context.Context, w *platformtest.World, id kube.Identity, ns string) error {
		_, err := apps.NewService(w.Kube).Scale(ctx, apps.Target{As: id, Namespace: ns}, "web", 2, apps.WriteOptions{DryRun: true})
		return err
	}}
)

// The API server itself keeps tenants apart: impersonated requests across tenants are Forbidden,
// a viewer cannot scale, a developer can.
func TestIsolationMatrix(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	viewerA, devA, devB, opsA := platformtest.Email("viewer-a"), platformtest.Email("dev-a"), platformtest.Email("dev-b"), platformtest.Email("ops-a")
	a := w.Tenant(t, "team-a", []tenant.Member{{Email: viewerA, Role: tenant.Viewer}, {Email: devA, Role: tenant.Developer}, {Email: opsA, Role: tenant.Operator}})
	b := w.Tenant(t, "team-b", []tenant.Member{{Email: devB, Role: tenant.Developer}})
	nsA, nsB := tenant.Namespace(a, "dev"), tenant.Namespace(b, "dev")
	admin := apps.NewService(w.Kube)
	for _, ns := range []string{nsA, nsB} { // an app to scale in each tenant, created as a member
		owner := devA
		if ns == nsB {
			owner = devB
		}
		if _, err := admin.Create(ctx, apps.Target{As: tenant.Identity(owner), Namespace: ns},
			apps.Spec{Name: "web", Image: "nginx:1.27", Replicas: 1}, apps.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		who     string
		ns      string
		act     action
		allowed bool
	}{
		{viewerA, nsA, listPods, true},
		{viewerA, nsA, readSecrets, false},
		{viewerA, nsA, createApp, false},
		{viewerA, nsA, scaleApp, false},
		{devA, nsA, listPods, true},
		{devA, nsA, createApp, true},
		{devA, nsA, scaleApp, true},
		{devA, nsA, readSecrets, false},
		{opsA, nsA, readSecrets, true},
		{devA, nsB, listPods, false},
		{devA, nsB, scaleApp, false},
		{devA, nsB, createApp, false},
		{viewerA, nsB, listPods, false},
		{devB, nsA, scaleApp, false},
		{devB, nsB, scaleApp, true},
	}
	for _, tc := range tests {
		t.Run(tc.who[:6]+" "+tc.act.name+" in "+tc.ns[:6], func(t *testing.T) {
			err := tc.act.do(ctx, w, tenant.Identity(tc.who), tc.ns)
			switch {
			case tc.allowed && err != nil:
				t.Fatalf("want allowed, got %v", err)
			case !tc.allowed && !errors.Is(err, perr.ErrForbidden):
				t.Fatalf("want Forbidden from the API server, got %v", err)
			}
		})
	}
}

func TestMembershipUpdatesRoleBindings(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev, user := platformtest.Email("dev"), platformtest.Email("newcomer")
	name := w.Tenant(t, "team", []tenant.Member{{Email: dev, Role: tenant.Developer}})
	ns := tenant.Namespace(name, "dev")
	svc := apps.NewService(w.Kube)
	if _, err := svc.Create(ctx, apps.Target{As: tenant.Identity(dev), Namespace: ns}, apps.Spec{Name: "web", Image: "nginx", Replicas: 1}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	target := apps.Target{As: tenant.Identity(user), Namespace: ns}
	scale := func() error { _, err := svc.Scale(ctx, target, "web", 2, apps.WriteOptions{DryRun: true}); return err }

	if err := scale(); !errors.Is(err, perr.ErrForbidden) {
		t.Fatalf("non-member: want Forbidden, got %v", err)
	}
	rep, err := w.Tenants.SetMember(ctx, name, user, tenant.Viewer)
	if err != nil || len(rep.Updated) != 1 {
		t.Fatalf("add viewer: %+v %v", rep, err)
	}
	if err := scale(); !errors.Is(err, perr.ErrForbidden) {
		t.Fatalf("viewer: want Forbidden, got %v", err)
	}
	if _, err := w.Tenants.SetMember(ctx, name, user, tenant.Developer); err != nil {
		t.Fatal(err)
	}
	if err := scale(); err != nil {
		t.Fatalf("developer: want allowed, got %v", err)
	}
	if _, err := w.Tenants.RemoveMember(ctx, name, user); err != nil {
		t.Fatal(err)
	}
	if err := scale(); !errors.Is(err, perr.ErrForbidden) {
		t.Fatalf("removed member: want Forbidden, got %v", err)
	}
}

func TestDeleteReportsWhatItRemoved(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev := platformtest.Email("dev")
	name := platformtest.Email("gone")[:10]
	if _, _, err := w.Tenants.Create(ctx, tenant.Spec{Name: name, Environments: []string{"dev"}, Members: []tenant.Member{{Email: dev, Role: tenant.Developer}}}); err != nil {
		t.Fatal(err)
	}
	ns := tenant.Namespace(name, "dev")
	if _, err := apps.NewService(w.Kube).Create(ctx, apps.Target{As: tenant.Identity(dev), Namespace: ns}, apps.Spec{Name: "api", Image: "nginx", Replicas: 1}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := w.Tenants.Delete(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"deployment " + ns + "/api": false, "namespace " + ns: false, "tenant " + name: false}
	for _, r := range rep.Removed {
		if _, ok := want[r]; ok {
			want[r] = true
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("report lacks %q: %v", k, rep.Removed)
		}
	}
	if _, err := w.Tenants.Get(ctx, name); !errors.Is(err, perr.ErrNotFound) {
		t.Errorf("tenant still in store: %v", err)
	}
}

// Namespaces are tenant-env, so an environment with a '-' could name another tenant's namespace:
// tenant "team" with env "a-dev" is "team-a-dev", the "dev" of tenant "team-a". Such
// environments are refused, and nothing of the refused tenant is left behind.
func TestNamespaceCollisionRefused(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev := platformtest.Email("dev")
	suffix := platformtest.Email("c")[:6]
	teamA := "team" + suffix + "-a"
	if _, _, err := w.Tenants.Create(ctx, tenant.Spec{Name: teamA, Environments: []string{"dev"}, Members: []tenant.Member{{Email: dev, Role: tenant.Developer}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = w.Tenants.Delete(context.Background(), teamA) })
	team := "team" + suffix
	if tenant.Namespace(team, "a-dev") != tenant.Namespace(teamA, "dev") {
		t.Fatal("test premise: the two names should collide")
	}
	_, _, err := w.Tenants.Create(ctx, tenant.Spec{Name: team, Environments: []string{"a-dev"}, Members: []tenant.Member{{Email: dev, Role: tenant.Admin}}})
	var pe *perr.Error
	if !errors.As(err, &pe) || pe.Kind != perr.Invalid || pe.Field != "environments" || !strings.Contains(err.Error(), "a-dev") {
		t.Fatalf("want Invalid on environments naming a-dev, got %v", err)
	}
	if _, err := w.Tenants.Get(ctx, team); !errors.Is(err, perr.ErrNotFound) {
		t.Errorf("refused tenant is in the store: %v", err)
	}
	ns, err := w.Env.Client.CoreV1().Namespaces().Get(ctx, tenant.Namespace(teamA, "dev"), metav1.GetOptions{})
	if err != nil || ns.Labels[tenant.LabelTenant] != teamA {
		t.Errorf("team-a's namespace changed: %v %v", ns.Labels, err)
	}
}

func TestAuthorize(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev, stranger := platformtest.Email("dev"), platformtest.Email("stranger")
	name := w.Tenant(t, "authz", []tenant.Member{{Email: dev, Role: tenant.Developer}}, "dev", "prod")
	other := w.Tenant(t, "authz-other", []tenant.Member{{Email: stranger, Role: tenant.Admin}})
	tests := []struct {
		name, tenant, env, user string
		kind                    perr.Kind
		field                   string
	}{
		{"member", name, "dev", dev, -1, ""},
		{"member, case-insensitive e-mail", name, "prod", strings.ToUpper(dev), -1, ""},
		{"unknown env", name, "staging", dev, perr.Invalid, "env"},
		{"env that spells another namespace", name, "a-dev", dev, perr.Invalid, "env"},
		{"non-member", other, "dev", dev, perr.Forbidden, ""},
		{"no such tenant", "nope" + name, "dev", dev, perr.Forbidden, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := w.Tenants.Authorize(ctx, tc.tenant, tc.env, tc.user)
			if tc.kind < 0 {
				if err != nil || a.Role != tenant.Developer || a.Env != tc.env {
					t.Fatalf("Authorize = %+v, %v", a, err)
				}
				return
			}
			var pe *perr.Error
			if !errors.As(err, &pe) || pe.Kind != tc.kind || pe.Field != tc.field || !strings.Contains(err.Error(), tc.tenant) {
				t.Fatalf("want %v (field %q) naming %s, got %v", tc.kind, tc.field, tc.tenant, err)
			}
		})
	}
}
