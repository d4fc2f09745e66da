package config_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/config"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

func TestConfigCenter(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev, ops := platformtest.Email("dev"), platformtest.Email("ops")
	name := w.Tenant(t, "cfg", []tenant.Member{{Email: dev, Role: tenant.Developer}, {Email: ops, Role: tenant.Operator}})
	ns := tenant.Namespace(name, "dev")
	if _, err := apps.NewService(w.Kube).Create(ctx, apps.Target{As: tenant.Identity(dev), Namespace: ns},
		apps.Spec{Name: "web", Image: "nginx", Replicas: 1}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	k1 := config.NewKey()
	keys, err := config.NewKeyring("k1", map[string]string{"k1": k1})
	if err != nil {
		t.Fatal(err)
	}
	svc := config.NewService(w.Store, w.Kube, keys, nil)
	ref := config.Ref{Tenant: name, Env: "dev", App: "web"}

	// A plain value: ConfigMap written, app wired to it and rolled.
	gen0 := deploymentGen(t, w, ns)
	ch, err := svc.Set(ctx, tenant.Identity(dev), ref, "LOG_LEVEL", "debug", config.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ch.Render(), "data.LOG_LEVEL: debug") {
		t.Errorf("change:\n%s", ch.Render())
	}
	cm, err := w.Env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "web-config", metav1.GetOptions{})
	if err != nil || cm.Data["LOG_LEVEL"] != "debug" {
		t.Fatalf("config map = %+v %v", cm, err)
	}
	d, _ := w.Env.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if d.Generation == gen0 || d.Spec.Template.Annotations[config.ChecksumAnnotation] == "" || len(d.Spec.Template.Spec.Containers[0].EnvFrom) != 2 {
		t.Fatalf("app not wired and rolled: %+v", d.Spec.Template)
	}

	// A developer may not write secrets: the API server refuses, and nothing is stored.
	if _, err := svc.Set(ctx, tenant.Identity(dev), ref, "DB_PASSWORD", "hunter2", config.SetOptions{Secret: true}); !errors.Is(err, perr.ErrForbidden) {
		t.Fatalf("developer secret: want Forbidden, got %v", err)
	}
	if h, _ := svc.History(ctx, ref, "DB_PASSWORD"); len(h) != 0 {
		t.Fatalf("refused secret was stored: %+v", h)
	}
	// A dry run stores nothing either.
	if _, err := svc.Set(ctx, tenant.Identity(ops), ref, "DB_PASSWORD", "hunter2", config.SetOptions{Secret: true, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if h, _ := svc.History(ctx, ref, "DB_PASSWORD"); len(h) != 0 {
		t.Fatal("dry run stored a version")
	}
	if _, err := svc.Set(ctx, tenant.Identity(ops), ref, "DB_PASSWORD", "hunter2", config.SetOptions{Secret: true}); err != nil {
		t.Fatal(err)
	}

	// The store holds ciphertext only.
	rows, err := w.Store.QueryContext(ctx, "SELECT value, ciphertext FROM config_versions WHERE item = 'DB_PASSWORD'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v string
		var ct []byte
		rows.Scan(&v, &ct)
		if v != "" || len(ct) == 0 || bytes.Contains(ct, []byte("hunter2")) {
			t.Fatalf("secret stored in plaintext: value=%q ciphertext=%q", v, ct)
		}
	}
	rows.Close()

	// Masked unless revealed.
	items, _ := svc.Get(ctx, ref, false)
	if got := value(items, "DB_PASSWORD"); got != config.Masked {
		t.Fatalf("masked read = %q", got)
	}
	items, _ = svc.Get(ctx, ref, true)
	if value(items, "DB_PASSWORD") != "hunter2" || value(items, "LOG_LEVEL") != "debug" {
		t.Fatalf("revealed = %+v", items)
	}
	sec, err := w.Env.Client.CoreV1().Secrets(ns).Get(ctx, "web-secrets", metav1.GetOptions{})
	if err != nil || string(sec.Data["DB_PASSWORD"]) != "hunter2" {
		t.Fatalf("cluster secret = %v %v", sec, err)
	}

	// Rotating the key keeps every secret readable, even after the old key is gone.
	k2 := config.NewKey()
	both, _ := config.NewKeyring("k2", map[string]string{"k1": k1, "k2": k2})
	n, err := config.NewService(w.Store, w.Kube, both, nil).RotateKeys(ctx)
	if err != nil || n != 1 {
		t.Fatalf("rotated %d, %v", n, err)
	}
	onlyNew, _ := config.NewKeyring("k2", map[string]string{"k2": k2})
	svc = config.NewService(w.Store, w.Kube, onlyNew, nil)
	items, err = svc.Get(ctx, ref, true)
	if err != nil || value(items, "DB_PASSWORD") != "hunter2" {
		t.Fatalf("after rotation: %+v %v", items, err)
	}

	// History keeps versions, secret values masked; deleting removes the key.
	if _, err := svc.Set(ctx, tenant.Identity(dev), ref, "LOG_LEVEL", "info", config.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	h, _ := svc.History(ctx, ref, "LOG_LEVEL")
	if len(h) != 2 || h[0].Value != "debug" || h[1].Value != "info" || h[1].Version != 2 {
		t.Fatalf("history = %+v", h)
	}
	if _, err := svc.Set(ctx, tenant.Identity(dev), ref, "LOG_LEVEL", "", config.SetOptions{Delete: true}); err != nil {
		t.Fatal(err)
	}
	items, _ = svc.Get(ctx, ref, false)
	if value(items, "LOG_LEVEL") != "" {
		t.Fatal("deleted key still present")
	}
	var pe *perr.Error
	if _, err := svc.Set(ctx, tenant.Identity(dev), ref, "bad key!", "x", config.SetOptions{}); !errors.As(err, &pe) || pe.Field != "key" {
		t.Fatalf("bad key: %v", err)
	}
}

func deploymentGen(t *testing.T, w *platformtest.World, ns string) int64 {
	d, err := w.Env.Client.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Generation
}

func value(items []config.Item, key string) string {
	for _, it := range items {
		if it.Key == key {
			return it.Value
		}
	}
	return ""
}

func TestKeyring(t *testing.T) {
	if _, err := config.NewKeyring("k1", map[string]string{"k1": "c2hvcnQ="}); err == nil || strings.Contains(err.Error(), "c2hvcnQ") {
		t.Fatalf("short key: %v", err)
	}
	k, _ := config.NewKeyring("k1", map[string]string{"k1": config.NewKey()})
	id, ct, _ := k.Encrypt([]byte("s3cret"), []byte("a"))
	if _, err := k.Decrypt(id, ct, []byte("b")); err == nil {
		t.Fatal("ciphertext opened under another location")
	}
	ct[len(ct)-1] ^= 1
	if _, err := k.Decrypt(id, ct, []byte("a")); err == nil {
		t.Fatal("tampered ciphertext opened")
	}
}
