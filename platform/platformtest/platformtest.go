// Package platformtest sets up the platform on the sandbox control plane for integration
// tests: a store, the Kubernetes clients, and tenants with chosen members, removed when the
// test ends.
package platformtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	yamlutil "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"k8s-manage/hack/sandbox/sandboxtest"
	"k8s-manage/internal/store"
	"k8s-manage/internal/store/storetest"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/tenant"
)

// World is the platform on the sandbox.
type World struct {
	Env     *sandboxtest.Env
	Kube    *kube.Clients
	Store   *store.Store
	Tenants *tenant.Service
}

// New starts (or reuses) the sandbox and builds the platform services over a fresh SQLite store.
func New(t testing.TB) *World {
	t.Helper()
	env := sandboxtest.Start(t)
	kc, err := kube.New(env.Admin)
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t, storetest.SQLite)
	ts := tenant.NewService(st, kc, nil)
	if err := ts.EnsureClusterRoles(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &World{Env: env, Kube: kc, Store: st, Tenants: ts}
}

// Tenant creates a tenant with the dev environment (or envs) and the given members; it is
// deleted when the test ends.
func (w *World) Tenant(t testing.TB, prefix string, members []tenant.Member, envs ...string) string {
	t.Helper()
	name := sandboxtest.Name(prefix)
	if len(envs) == 0 {
		envs = []string{"dev"}
	}
	if _, _, err := w.Tenants.Create(context.Background(), tenant.Spec{Name: name, Environments: envs, Members: members}); err != nil {
		t.Fatalf("create tenant %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := w.Tenants.Delete(context.Background(), name); err != nil {
			t.Logf("delete tenant %s: %v", name, err)
		}
	})
	return name
}

// Eventually polls cond until it holds or timeout passes; the last reason is reported.
func Eventually(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var why string
	for time.Now().Before(deadline) {
		var ok bool
		if ok, why = cond(); ok {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("condition not met within %s: %s", timeout, why)
}

// Consistently checks cond every 100ms for the whole window and fails at the first violation:
// for what must not happen (a duplicate post, a refused call) once the wanted thing has.
func Consistently(t testing.TB, window time.Duration, cond func() (bool, string)) {
	t.Helper()
	for deadline := time.Now().Add(window); ; {
		if ok, why := cond(); !ok {
			t.Fatalf("violated within %s: %s", window, why)
		}
		if !time.Now().Before(deadline) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Email returns a unique e-mail address for a role-named user (viewer-a-1f2e3d@example.com).
func Email(local string) string { return fmt.Sprintf("%s@example.com", sandboxtest.Name(local)) }

// Apply creates the objects of a YAML manifest (documents separated by ---) in namespace ns
// (cluster-scoped objects where they belong) as the admin, failing the test on any error.
func (w *World) Apply(t testing.TB, ns, manifest string) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(w.Kube.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(w.Kube.Admin().Discovery()))
	dec := yamlutil.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			t.Fatalf("manifest: %v", err)
		}
		if len(obj) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
		target := ""
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			target = ns
		}
		if _, err := dyn.Resource(m.Resource).Namespace(target).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s %s: %v", gvk.Kind, u.GetName(), err)
		}
	}
}
