package world_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/evals/dataset"
	"k8s-manage/evals/world"
	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

func newWorld(t *testing.T) (*world.World, *platformtest.World) {
	pw := platformtest.New(t)
	fixture, err := world.LoadFixture(filepath.Join("..", "fixtures", "apps.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := world.New(world.Options{Kube: pw.Kube, Tenants: pw.Tenants, Fixture: fixture[:2], Logs: pw.Env.Sandbox.SetLogs})
	if err != nil {
		t.Fatal(err)
	}
	return w, pw
}

// A case's tenant is created with the fixture, users get roles by naming convention, a fault
// manifest is applied and has shown its crash before the turn; Reset removes the setup and
// restores a changed fixture.
func TestPrepareAndReset(t *testing.T) {
	w, pw := newWorld(t)
	ctx := context.Background()
	name := sandboxtest.Name("evalw")
	t.Cleanup(func() { pw.Tenants.Delete(context.Background(), name) })
	c := dataset.Case{ID: "x", Kind: "diagnosis", Tenant: name, User: "ops-x@example.com", Input: "why is crashy crashing",
		Setup: []string{"f01-crashloop.yaml"}, Dir: filepath.Join("..", "datasets", "faults")}
	pc, err := w.Prepare(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if role, ok, _ := pw.Tenants.RoleOf(ctx, name, "ops-x@example.com"); !ok || role != tenant.Operator {
		t.Fatalf("user role by convention: %v %v", role, ok)
	}
	cs := pw.Env.Client
	pods, err := cs.CoreV1().Pods(pc.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=crashy"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("no crashy pod: %v", err)
	}
	st := pods.Items[0].Status.ContainerStatuses
	if len(st) == 0 || st[0].RestartCount == 0 {
		t.Fatalf("the crash loop has not shown before the turn: %+v", st)
	}
	// A case scaled a fixture app: Reset(mutated) restores it and removes the setup.
	d, _ := cs.AppsV1().Deployments(pc.Namespace).Get(ctx, "nginx", metav1.GetOptions{})
	five := int32(5)
	d.Spec.Replicas = &five
	if _, err := cs.AppsV1().Deployments(pc.Namespace).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Reset(ctx, pc, true); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 30*time.Second, func() (bool, string) {
		d, err := cs.AppsV1().Deployments(pc.Namespace).Get(ctx, "nginx", metav1.GetOptions{})
		return err == nil && *d.Spec.Replicas == 2, "nginx not restored"
	})
	if _, err := cs.AppsV1().Deployments(pc.Namespace).Get(ctx, "crashy", metav1.GetOptions{}); err == nil {
		if dd, _ := cs.AppsV1().Deployments(pc.Namespace).Get(ctx, "crashy", metav1.GetOptions{}); dd.DeletionTimestamp == nil {
			t.Fatal("the setup Deployment was not removed")
		}
	}
}
