package tenant

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// The owner of a namespace comes from its labels, is cached for the TTL and read again after.
func TestOwnersCacheAndLabels(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a-dev",
		Labels: map[string]string{LabelTenant: "team-a", LabelEnv: "dev"}}})
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	o := NewOwners(cs, OwnersOptions{TTL: time.Minute, Now: func() time.Time { return now }})
	for _, tc := range []struct{ ns, tenant, env string }{{"team-a-dev", "team-a", "dev"}, {"kube-system", "", ""}} {
		tn, env, err := o.Owner(ctx, tc.ns)
		if err != nil || tn != tc.tenant || env != tc.env {
			t.Fatalf("Owner(%s) = %q %q %v, want %q %q", tc.ns, tn, env, err, tc.tenant, tc.env)
		}
	}
	ns, _ := cs.CoreV1().Namespaces().Get(ctx, "team-a-dev", metav1.GetOptions{})
	ns.Labels[LabelTenant] = "team-b"
	if _, err := cs.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if tn, _, _ := o.Owner(ctx, "team-a-dev"); tn != "team-a" {
		t.Fatalf("within the TTL the cached owner is kept, got %q", tn)
	}
	now = now.Add(2 * time.Minute)
	if tn, _, _ := o.Owner(ctx, "team-a-dev"); tn != "team-b" {
		t.Fatalf("after the TTL the label is read again, got %q", tn)
	}
}
