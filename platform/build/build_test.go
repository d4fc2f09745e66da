package build_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/build"
	pconfig "k8s-manage/platform/config"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

const secret = "webhook-secret-0123456789"

func sign(body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func push(branch, commit string) string {
	return fmt.Sprintf(`{"ref":"refs/heads/%s","after":"%s","repository":{"clone_url":"https://github.com/acme/web.git","html_url":"https://github.com/acme/web"},
		"head_commit":{"id":"%s","message":"fix: checkout timeout\n\nlonger text","author":{"name":"Alice","email":"alice@example.com"}}}`, branch, commit, commit)
}

func TestWebhooksAndBuilds(t *testing.T) {
	w := platformtest.New(t)
	ctx := context.Background()
	dev, viewer := platformtest.Email("dev"), platformtest.Email("viewer")
	name := w.Tenant(t, "ci", []tenant.Member{{Email: dev, Role: tenant.Developer}, {Email: viewer, Role: tenant.Viewer}})
	ns := tenant.Namespace(name, "dev")
	keys, _ := pconfig.NewKeyring("k1", map[string]string{"k1": pconfig.NewKey()})
	svc := build.NewService(w.Store, w.Kube, keys, build.Registry{Host: "harbor.example.com"}, nil)
	if err := svc.Register(ctx, build.Source{Tenant: name, Env: "dev", App: "web", RepoURL: "https://github.com/acme/web",
		Branches: []string{"main", "release/*"}, WebhookSecret: secret}); err != nil {
		t.Fatal(err)
	}
	var pe *perr.Error
	if err := svc.Register(ctx, build.Source{Tenant: name, Env: "dev", App: "x", RepoURL: "git@github.com:a/b", WebhookSecret: secret}); !errors.As(err, &pe) || pe.Field != "repo_url" {
		t.Fatalf("bad repo url: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/webhooks/git/", svc.WebhookHandler(nil, 1<<20))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	deliver := func(provider, body string, hdr map[string]string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/webhooks/git/"+provider, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	jobs := func() int {
		l, err := w.Env.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return len(l.Items)
	}
	gh := func(body, id string) map[string]string {
		return map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": id, "X-Hub-Signature-256": "sha256=" + sign(body)}
	}

	// A bad signature gets 401 and creates nothing.
	body := push("main", "3f2a1c9d8e7f")
	bad := gh(body, "d-0")
	bad["X-Hub-Signature-256"] = "sha256=" + sign(body+"tampered")
	if code, out := deliver("github", body, bad); code != 401 || jobs() != 0 {
		t.Fatalf("bad signature: %d %s, jobs %d", code, out, jobs())
	}
	if bs, _ := svc.List(ctx, name, "dev", "", 10); len(bs) != 0 {
		t.Fatal("a build was recorded for a forged delivery")
	}

	// A signed push to main builds.
	code, out := deliver("github", body, gh(body, "d-1"))
	if code != 200 || !strings.Contains(out, `"status":"built"`) || jobs() != 1 {
		t.Fatalf("signed push: %d %s, jobs %d", code, out, jobs())
	}
	bs, _ := svc.List(ctx, name, "dev", "web", 10)
	if len(bs) != 1 || bs[0].Commit != "3f2a1c9d8e7f" || bs[0].Author != "alice@example.com" || bs[0].Message != "fix: checkout timeout" ||
		bs[0].Image != "harbor.example.com/"+name+"/web:main-3f2a1c9" || bs[0].Trigger != "webhook:github" {
		t.Fatalf("build record = %+v", bs)
	}
	job, err := w.Env.Client.BatchV1().Jobs(ns).Get(ctx, bs[0].Job, metav1.GetOptions{})
	if err != nil || !strings.Contains(strings.Join(job.Spec.Template.Spec.Containers[0].Args, " "), "--destination=harbor.example.com/"+name+"/web:main-3f2a1c9") {
		t.Fatalf("job = %+v %v", job, err)
	}

	// The same delivery again is ignored; a branch outside the rules does not build.
	if code, out := deliver("github", body, gh(body, "d-1")); code != 200 || !strings.Contains(out, "duplicate") || jobs() != 1 {
		t.Fatalf("replay: %d %s, jobs %d", code, out, jobs())
	}
	other := push("feature/x", "aaaaaaa1")
	if code, out := deliver("github", other, gh(other, "d-2")); code != 200 || !strings.Contains(out, "ignored") || jobs() != 1 {
		t.Fatalf("feature branch: %d %s", code, out)
	}

	// GitLab (token) and Gitea (hex signature) deliveries.
	gl := `{"ref":"refs/heads/release/1.2","checkout_sha":"bbbbbbb2","project":{"web_url":"https://github.com/acme/web"},"commits":[{"id":"bbbbbbb2","message":"release","author":{"email":"bob@example.com"}}]}`
	if code, out := deliver("gitlab", gl, map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": secret, "X-Gitlab-Event-UUID": "g-1"}); code != 200 || !strings.Contains(out, "built") {
		t.Fatalf("gitlab: %d %s", code, out)
	}
	if code, _ := deliver("gitlab", gl, map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "wrong", "X-Gitlab-Event-UUID": "g-2"}); code != 401 {
		t.Fatalf("gitlab wrong token: %d", code)
	}
	gt := push("main", "ccccccc3")
	if code, out := deliver("gitea", gt, map[string]string{"X-Gitea-Event": "push", "X-Gitea-Delivery": "t-1", "X-Gitea-Signature": sign(gt)}); code != 200 || !strings.Contains(out, "built") {
		t.Fatalf("gitea: %d %s", code, out)
	}

	// kwok completes the build pod; Sync records success and the log the test chose.
	var podName string
	platformtest.Eventually(t, 60*time.Second, func() (bool, string) {
		pods, _ := w.Env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "k8s-manage.io/build=" + bs[0].ID})
		if len(pods.Items) == 0 {
			return false, "no build pod"
		}
		podName = pods.Items[0].Name
		return true, ""
	})
	if err := w.Env.Sandbox.SetLogs(ctx, ns, podName, "build", []string{"INFO Retrieving image manifest nginx:1.27", "INFO Pushing image to harbor.example.com"}, nil); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 60*time.Second, func() (bool, string) {
		if err := svc.Sync(ctx, name, "dev"); err != nil {
			return false, err.Error()
		}
		b, err := svc.Get(ctx, name, "dev", bs[0].ID)
		if err != nil {
			return false, err.Error()
		}
		return b.Status == "succeeded" && strings.Contains(b.Log, "Pushing image"), fmt.Sprintf("status %s log %q", b.Status, b.Log)
	})

	// Deploying the artifact puts its image on the app (the one-step rollback to an earlier build).
	if _, err := apps.NewService(w.Kube).Create(ctx, apps.Target{As: tenant.Identity(dev), Namespace: ns},
		apps.Spec{Name: "web", Image: "harbor.example.com/old:1", Replicas: 1}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Deploy(ctx, apps.NewService(w.Kube), tenant.Identity(dev), name, "dev", bs[0].ID, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	d, _ := w.Env.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if got := d.Spec.Template.Spec.Containers[0].Image; got != bs[0].Image {
		t.Fatalf("deployed image %s, want %s", got, bs[0].Image)
	}

	// A build the person starts (the trigger_build tool) runs as that person.
	cs, _ := w.Kube.As(tenant.Identity(viewer))
	if _, err := svc.Start(ctx, cs, build.Trigger{Tenant: name, Env: "dev", App: "web", By: "tool"}); !errors.Is(err, perr.ErrForbidden) {
		t.Fatalf("viewer build: %v", err)
	}
	cs, _ = w.Kube.As(tenant.Identity(dev))
	if b, err := svc.Start(ctx, cs, build.Trigger{Tenant: name, Env: "dev", App: "web", By: "tool"}); err != nil || b.Ref != "main" {
		t.Fatalf("developer build: %+v %v", b, err)
	}
}
