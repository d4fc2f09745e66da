package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/catalog"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

func TestProvisionRedis(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev, ops := platformtest.Email("dev"), platformtest.Email("ops")
	name := w.Tenant(t, "cat", []tenant.Member{{Email: dev, Role: tenant.Developer}, {Email: ops, Role: tenant.Operator}})
	ns := tenant.Namespace(name, "dev")
	svc := catalog.NewService(w.Kube)
	opsT, devT := apps.Target{As: tenant.Identity(ops), Namespace: ns}, apps.Target{As: tenant.Identity(dev), Namespace: ns}
	c := w.Env.Client

	var pe *perr.Error
	if _, err := svc.Provision(ctx, opsT, catalog.Spec{Type: "oracle", Name: "db"}, apps.WriteOptions{}); !errors.As(err, &pe) || pe.Field != "type" {
		t.Fatalf("bad type: %v", err)
	}
	if _, err := svc.Provision(ctx, opsT, catalog.Spec{Type: "redis", Name: "db", Plan: "huge"}, apps.WriteOptions{}); !errors.As(err, &pe) || pe.Field != "plan" {
		t.Fatalf("bad plan: %v", err)
	}
	// A developer may not create the credentials Secret: refused, nothing left behind.
	if _, err := svc.Provision(ctx, devT, catalog.Spec{Type: "redis", Name: "cache"}, apps.WriteOptions{}); !errors.Is(err, perr.ErrForbidden) {
		t.Fatalf("developer provision: %v", err)
	}
	if _, err := c.CoreV1().Services(ns).Get(ctx, "cache", metav1.GetOptions{}); err == nil {
		t.Fatal("a refused provision left a service")
	}

	ch, err := svc.Provision(ctx, opsT, catalog.Spec{Type: "redis", Name: "cache", Plan: "small"}, apps.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ch.Summary, "redis cache (small") {
		t.Errorf("summary %q", ch.Summary)
	}
	sts, err := c.AppsV1().StatefulSets(ns).Get(ctx, "cache", metav1.GetOptions{})
	if err != nil || sts.Spec.ServiceName != "cache" {
		t.Fatalf("statefulset: %+v %v", sts, err)
	}
	hs, err := c.CoreV1().Services(ns).Get(ctx, "cache", metav1.GetOptions{})
	if err != nil || hs.Spec.ClusterIP != "None" || hs.Spec.Ports[0].Port != 6379 {
		t.Fatalf("headless service: %+v %v", hs, err)
	}
	sec, err := c.CoreV1().Secrets(ns).Get(ctx, "cache-credentials", metav1.GetOptions{})
	if err != nil || len(sec.Data["password"]) < 20 {
		t.Fatalf("credentials: %v", err)
	}
	platformtest.Eventually(t, 30*time.Second, func() (bool, string) {
		_, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-cache-0", metav1.GetOptions{})
		return err == nil, "no PVC data-cache-0 yet"
	})

	list, err := svc.List(ctx, devT)
	if err != nil || len(list) != 1 || list[0].Secret != "cache-credentials" || list[0].Port != 6379 || list[0].Storage != "5Gi" {
		t.Fatalf("list = %+v %v", list, err)
	}
	out, _ := json.Marshal(list)
	if strings.Contains(string(out), string(sec.Data["password"])) {
		t.Fatal("the password is in the listing")
	}

	ch, err = svc.Delete(ctx, opsT, "cache", apps.WriteOptions{})
	if err != nil || !strings.Contains(ch.Summary, "ALL ITS DATA") {
		t.Fatalf("delete: %+v %v", ch, err)
	}
	if _, err := c.CoreV1().Secrets(ns).Get(ctx, "cache-credentials", metav1.GetOptions{}); err == nil {
		t.Fatal("credentials left after delete")
	}
}
