package quota_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/quota"
	"k8s-manage/platform/tenant"
)

func TestQuotaUsageAndSet(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev, admin := platformtest.Email("dev"), platformtest.Email("admin")
	name := w.Tenant(t, "quota", []tenant.Member{{Email: dev, Role: tenant.Developer}, {Email: admin, Role: tenant.Admin}})
	ns := tenant.Namespace(name, "dev")
	devT, adminT := apps.Target{As: tenant.Identity(dev), Namespace: ns}, apps.Target{As: tenant.Identity(admin), Namespace: ns}
	if _, err := apps.NewService(w.Kube).Create(ctx, devT, apps.Spec{Name: "api", Image: "nginx", Replicas: 3,
		Resources: apps.Resources{CPURequest: "250m"}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := quota.NewService(w.Kube)
	platformtest.Eventually(t, 30*time.Second, func() (bool, string) {
		u, err := svc.Get(ctx, devT)
		if err != nil {
			return false, err.Error()
		}
		for _, l := range u.Lines {
			if l.Resource == "requests.cpu" && l.Used == "750m" && l.Hard == "4" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", u.Lines)
	})

	if _, err := svc.Set(ctx, devT, map[string]string{"requests.cpu": "8"}, apps.WriteOptions{}); !errors.Is(err, perr.ErrForbidden) {
		t.Fatalf("developer raising the quota: want Forbidden, got %v", err)
	}
	var pe *perr.Error
	if _, err := svc.Set(ctx, adminT, map[string]string{"requests.cpu": "500m"}, apps.WriteOptions{}); !errors.As(err, &pe) || pe.Field != "hard.requests.cpu" {
		t.Fatalf("below usage: want invalid hard.requests.cpu, got %v", err)
	}
	if _, err := svc.Set(ctx, adminT, map[string]string{"pods": "many"}, apps.WriteOptions{}); !errors.As(err, &pe) || pe.Field != "hard.pods" {
		t.Fatalf("bad quantity: want invalid hard.pods, got %v", err)
	}
	ch, err := svc.Set(ctx, adminT, map[string]string{"requests.cpu": "8"}, apps.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ch.Render(), "hard.requests.cpu: 4 -> 8") {
		t.Errorf("diff:\n%s", ch.Render())
	}
	u, err := svc.Get(ctx, devT)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range u.Lines {
		if l.Resource == "requests.cpu" && l.Hard != "8" {
			t.Errorf("requests.cpu hard = %s after set", l.Hard)
		}
	}
}
