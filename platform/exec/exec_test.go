package exec_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/platform/exec"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

func TestExecThroughTheAPIServer(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev, ops := platformtest.Email("dev"), platformtest.Email("ops")
	name := w.Tenant(t, "exec", []tenant.Member{{Email: dev, Role: tenant.Developer}, {Email: ops, Role: tenant.Operator}})
	ns := tenant.Namespace(name, "dev")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "term"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}}}
	if _, err := w.Env.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Env.Sandbox.AllowExec(ctx, ns, "term", t.TempDir()); err != nil {
		t.Fatal(err)
	}
	svc := exec.NewService(w.Kube)

	// A developer has no pods/exec right: the API server refuses.
	var out bytes.Buffer
	if err := svc.Run(ctx, tenant.Identity(dev), ns, "term", "", []string{"echo", "hi"}, exec.Streams{Stdout: &out}); !errors.Is(err, perr.ErrForbidden) {
		t.Fatalf("developer exec: %v", err)
	}
	// An operator gets a session; stdin reaches the command and its output comes back.
	platformtest.Eventually(t, 30*time.Second, func() (bool, string) {
		out.Reset()
		var stderr bytes.Buffer
		err := svc.Run(ctx, tenant.Identity(ops), ns, "term", "app", []string{"sh", "-c", "read line; echo \"got $line\""},
			exec.Streams{Stdin: strings.NewReader("ping\n"), Stdout: &out, Stderr: &stderr})
		if err != nil {
			return false, err.Error() + " " + stderr.String()
		}
		return strings.TrimSpace(out.String()) == "got ping", "output " + out.String()
	})
}
