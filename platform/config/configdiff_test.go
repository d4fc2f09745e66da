package config_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/config"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

// Diff between two points in time: added, changed, removed and secret keys, with secret values masked.
func TestDiffBetweenVersions(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	ops := platformtest.Email("ops")
	name := w.Tenant(t, "cfgdiff", []tenant.Member{{Email: ops, Role: tenant.Operator}})
	if _, err := apps.NewService(w.Kube).Create(ctx, apps.Target{As: tenant.Identity(ops), Namespace: tenant.Namespace(name, "dev")},
		apps.Spec{Name: "api", Image: "nginx", Replicas: 1}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	keys, _ := config.NewKeyring("k1", map[string]string{"k1": config.NewKey()})
	clock := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	svc := config.NewService(w.Store, w.Kube, keys, func() time.Time { return clock })
	ref := config.Ref{Tenant: name, Env: "dev", App: "api"}
	set := func(key, value string, o config.SetOptions) {
		t.Helper()
		clock = clock.Add(time.Minute)
		if _, err := svc.Set(ctx, tenant.Identity(ops), ref, key, value, o); err != nil {
			t.Fatal(err)
		}
	}
	set("LOG_LEVEL", "info", config.SetOptions{InPlace: true})
	set("REGION", "eu", config.SetOptions{InPlace: true})
	set("DB_PASSWORD", "first-s3cret", config.SetOptions{Secret: true, InPlace: true})
	before := clock
	set("LOG_LEVEL", "debug", config.SetOptions{InPlace: true})
	set("REGION", "", config.SetOptions{Delete: true, InPlace: true})
	set("DB_PASSWORD", "second-s3cret", config.SetOptions{Secret: true, InPlace: true})
	set("TIMEOUT", "5s", config.SetOptions{InPlace: true})
	set("TIMEOUT", "5s", config.SetOptions{InPlace: true}) // same value again: not a change

	got, err := svc.Diff(ctx, ref, before, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	type kc struct{ key, change, from, to string }
	var short []kc
	for _, c := range got {
		short = append(short, kc{c.Key, c.Change, c.From, c.To})
	}
	want := []kc{
		{"DB_PASSWORD", "changed", config.Masked, config.Masked},
		{"LOG_LEVEL", "changed", "info", "debug"},
		{"REGION", "removed", "eu", ""},
		{"TIMEOUT", "added", "", "5s"},
	}
	if !reflect.DeepEqual(short, want) {
		t.Fatalf("diff =\n%+v\nwant\n%+v", short, want)
	}
	if got[1].FromVersion != 1 || got[1].ToVersion != 2 || got[1].Author != ops {
		t.Errorf("LOG_LEVEL versions/author = %+v", got[1])
	}
	if d, _ := svc.Diff(ctx, ref, clock, clock); len(d) != 0 {
		t.Errorf("diff of a moment with itself = %+v", d)
	}
	if _, err := svc.Diff(ctx, config.Ref{Tenant: name, App: "api"}, before, time.Time{}); !errors.Is(err, perr.ErrInvalid) {
		t.Errorf("missing env: %v", err)
	}
}
