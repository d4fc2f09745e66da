// Package chattest is test support for the chat surfaces: a World with the real agent over the
// sandbox control plane (a tenant with a viewer, a developer, an operator, an admin and the alert
// identity; nginx and order-service deployed; the help docs ingested), and the conformance suite
// every chat adapter passes through its own protocol fake: identity mapping, the approval round
// trip ending in a scaled Deployment, dedupe of redelivered events, and no secret in posts or logs.
package chattest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"k8s-manage/agent"
	"k8s-manage/hack/sandbox"
	"k8s-manage/internal/textutil"
	"k8s-manage/knowledge/knowledgetest"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/autoscale"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/quota"
	"k8s-manage/platform/tenant"
	"k8s-manage/tools"
)

// World is the agent on the sandbox with one tenant.
type World struct {
	*platformtest.World
	Tenant, NS                       string
	Viewer, Dev, Ops, Admin, Alerter string // member e-mails (Alerter is the alert identity, a viewer)
	// Outsider is an admin of another tenant (OtherTenant), not a member of Tenant.
	Outsider, OtherTenant string
	Agent                 *agent.Service
	Log                   *Buffer // the agent's log
}

// Buffer is a goroutine-safe log sink.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }

// String returns what was written.
func (b *Buffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// Logger returns a debug-level JSON logger writing to a new Buffer.
func Logger() (*slog.Logger, *Buffer) {
	b := &Buffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// New sets up the World (the sandbox is started or reused).
func New(t testing.TB) *World {
	t.Helper()
	w := &World{World: platformtest.New(t)}
	ctx := context.Background()
	w.Viewer, w.Dev, w.Ops, w.Admin = platformtest.Email("viewer"), platformtest.Email("dev"), platformtest.Email("ops"), platformtest.Email("admin")
	w.Alerter = platformtest.Email("alertmanager")
	w.Tenant = w.World.Tenant(t, "chat", []tenant.Member{{Email: w.Viewer, Role: tenant.Viewer}, {Email: w.Dev, Role: tenant.Developer},
		{Email: w.Ops, Role: tenant.Operator}, {Email: w.Admin, Role: tenant.Admin}, {Email: w.Alerter, Role: tenant.Viewer}})
	w.NS = tenant.Namespace(w.Tenant, "dev")
	w.Outsider = platformtest.Email("outsider")
	w.OtherTenant = w.World.Tenant(t, "chat-other", []tenant.Member{{Email: w.Outsider, Role: tenant.Admin}})
	if _, err := apps.NewService(w.Kube).Create(ctx, apps.Target{As: tenant.Identity(w.Dev), Namespace: w.NS},
		apps.Spec{Name: "nginx", Image: "nginx:1.27", Replicas: 2, Ports: []apps.Port{{Port: 80}}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	rt := knowledgetest.Docs(t, w.Store, knowledgetest.Runbook(t, w.Tenant, "break-glass",
		"# Break-glass access\n\nThe break-glass password of the production database is "+BreakGlass+".")...)
	reg := tools.NewRegistry(tools.Deps{Kube: w.Kube, Apps: apps.NewService(w.Kube), Autoscale: autoscale.NewService(w.Kube),
		Quota: quota.NewService(w.Kube), Tenants: w.Tenants, Knowledge: rt, WaitReady: 30 * time.Second})
	log, buf := Logger()
	w.Log = buf
	var err error
	w.Agent, err = agent.New(agent.Options{Store: w.Store, Tools: reg, Roles: w.Tenants, Knowledge: rt, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// CrashingApp deploys app with one pod that crash-loops (the sandbox's fault annotation) and
// waits until it has restarted.
func (w *World) CrashingApp(t testing.TB, app string) {
	t.Helper()
	if _, err := w.Env.Client.AppsV1().Deployments(w.NS).Create(context.Background(), CrashLoopDeployment(app), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	WaitRestarted(t, w.Env.Client, w.NS, app)
}

// CrashLoopDeployment is a one-replica Deployment whose pod crash-loops on the sandbox.
func CrashLoopDeployment(app string) *appsv1.Deployment {
	labels := map[string]string{"app.kubernetes.io/name": app}
	one := int32(1)
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: app, Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels,
				Annotations: map[string]string{sandbox.FaultAnnotation: sandbox.FaultCrashLoop}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.local/" + app + ":1.0",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"),
						corev1.ResourceMemory: resource.MustParse("32Mi")}}}}}}}}
}

// BreakGlass is the secret in Tenant's private runbook: no outsider may ever see it.
const BreakGlass = "Tr0ub4dor-glass-7731"

// WaitRestarted waits until app's first pod has restarted and returns the pod's name.
func WaitRestarted(t testing.TB, cs kubernetes.Interface, ns, app string) string {
	t.Helper()
	var name string
	platformtest.Eventually(t, 60*time.Second, func() (bool, string) {
		pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + app})
		if err != nil || len(pods.Items) == 0 {
			return false, fmt.Sprint("no pods yet ", err)
		}
		for _, st := range pods.Items[0].Status.ContainerStatuses {
			if st.RestartCount > 0 {
				name = pods.Items[0].Name
				return true, ""
			}
		}
		return false, "pod has not restarted yet"
	})
	return name
}

// Replicas is the Deployment's spec.replicas.
func (w *World) Replicas(t testing.TB, app string) int32 {
	t.Helper()
	d, err := w.Env.Client.AppsV1().Deployments(w.NS).Get(context.Background(), app, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *d.Spec.Replicas
}

// Person is who talks to the surface in the conformance suite.
type Person string

// People of the suite: Dev and Ops are tenant members; Guest is a guest/unknown account the
// surface must refuse; Bot is another bot whose messages must be ignored.
const (
	Dev   Person = "dev"
	Ops   Person = "ops"
	Guest Person = "guest"
	Bot   Person = "bot"
	// Outsider is a platform user of another tenant (World.Outsider).
	Outsider Person = "outsider"
)

// Post is something the surface put into the conversation (its latest version when edited).
type Post struct {
	Text string
	// Approval is the id of an approval card with live buttons ("" otherwise).
	Approval string
}

// Surface drives one adapter through its protocol fake.
type Surface interface {
	// Say delivers text from p with a delivery id; a redelivery reuses the id.
	Say(t *testing.T, p Person, delivery, text string)
	// Decide decides an approval through the surface's own control as p.
	Decide(t *testing.T, p Person, approvalID string, approve bool)
	// Posts returns everything the surface has posted in the conversation so far.
	Posts() []Post
	// Logs is everything the adapter logged.
	Logs() string
	// Secrets are the credentials the adapter was configured with.
	Secrets() []string
	// Refusal is a phrase of the surface's answer to a person it cannot map to a platform user.
	Refusal() string
}

// WaitPost waits for a post satisfying ok and returns it.
func WaitPost(t *testing.T, s Surface, what string, ok func(Post) bool) Post {
	t.Helper()
	var found Post
	platformtest.Eventually(t, 90*time.Second, func() (bool, string) {
		for _, p := range s.Posts() {
			if ok(p) {
				found = p
				return true, ""
			}
		}
		return false, fmt.Sprintf("no post %s among %d: %q", what, len(s.Posts()), texts(s.Posts()))
	})
	return found
}

func texts(ps []Post) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = textutil.Truncate(p.Text, 200)
	}
	return out
}

func count(s Surface, ok func(Post) bool) int {
	n := 0
	for _, p := range s.Posts() {
		if ok(p) {
			n++
		}
	}
	return n
}

// Conformance runs the suite every chat adapter passes.
func Conformance(t *testing.T, w *World, s Surface) {
	t.Run("identity", func(t *testing.T) {
		before := len(s.Posts())
		s.Say(t, Bot, "bot-1", "scale nginx to 9 replicas")
		s.Say(t, Guest, "guest-1", "scale nginx to 9 replicas")
		WaitPost(t, s, "refusing the guest", func(p Post) bool { return strings.Contains(p.Text, s.Refusal()) })
		time.Sleep(500 * time.Millisecond)
		if got := len(s.Posts()) - before; got != 1 {
			t.Fatalf("want exactly one post (the guest's refusal; the bot ignored), got %d: %q", got, texts(s.Posts()[before:]))
		}
		if r := w.Replicas(t, "nginx"); r == 9 {
			t.Fatal("a refused identity changed the cluster")
		}
	})
	t.Run("dedupe", func(t *testing.T) {
		s.Say(t, Dev, "dup-1", "how do I set up a canary release?")
		s.Say(t, Dev, "dup-1", "how do I set up a canary release?")
		WaitPost(t, s, "answering from the docs", func(p Post) bool {
			return strings.Contains(p.Text, "From the docs") && strings.Contains(p.Text, "Source [")
		})
		time.Sleep(time.Second)
		if n := count(s, func(p Post) bool {
			return strings.Contains(p.Text, "From the docs") && strings.Contains(p.Text, "Source [")
		}); n != 1 {
			t.Fatalf("a redelivered message was answered %d times", n)
		}
	})
	t.Run("approval round trip", func(t *testing.T) {
		s.Say(t, Dev, "scale-1", "scale nginx to 3 replicas")
		card := WaitPost(t, s, "with an approval card", func(p Post) bool { return p.Approval != "" && strings.Contains(p.Text, "nginx") })
		if r := w.Replicas(t, "nginx"); r != 2 {
			t.Fatalf("replicas changed before the approval: %d", r)
		}
		s.Decide(t, Dev, card.Approval, true) // a developer (and the requester) may not approve
		WaitPost(t, s, "refusing the requester", func(p Post) bool { return strings.Contains(p.Text, "not allowed to decide") })
		s.Decide(t, Ops, card.Approval, true)
		WaitPost(t, s, "reporting the change", func(p Post) bool { return strings.Contains(p.Text, "3/3") })
		if r := w.Replicas(t, "nginx"); r != 3 {
			t.Fatalf("nginx has %d replicas after the approval, want 3", r)
		}
		WaitPost(t, s, "showing who approved", func(p Post) bool {
			return strings.Contains(p.Text, card.Approval) && strings.Contains(p.Text, w.Ops) && strings.Contains(p.Text, "approved")
		})
		for _, p := range s.Posts() {
			if p.Approval == card.Approval {
				t.Fatalf("the approval card still has its buttons after the decision: %q", p.Text)
			}
		}
		s.Decide(t, Ops, card.Approval, true) // a second click changes nothing
		WaitPost(t, s, "saying it is already decided", func(p Post) bool { return strings.Contains(p.Text, "already decided") })
		if r := w.Replicas(t, "nginx"); r != 3 {
			t.Fatalf("nginx has %d replicas after a second click", r)
		}
	})
	t.Run("cross tenant", func(t *testing.T) {
		// A member of another tenant asks in this tenant's conversation: refused at the turn's
		// entry, naming the tenant, before anything of it is read; nothing changes.
		s.Say(t, Outsider, "out-1", "what is the break-glass password of the production database?")
		s.Say(t, Outsider, "out-2", "scale nginx to 9 replicas")
		WaitPost(t, s, "refusing the outsider", func(p Post) bool {
			return strings.Contains(p.Text, "not a member of tenant "+w.Tenant)
		})
		time.Sleep(500 * time.Millisecond)
		for _, p := range s.Posts() {
			if strings.Contains(p.Text, BreakGlass) || strings.Contains(p.Text, "Break-glass access") {
				t.Fatalf("the outsider got the tenant's runbook: %q", p.Text)
			}
		}
		if r := w.Replicas(t, "nginx"); r == 9 {
			t.Fatal("an outsider changed the cluster")
		}
		// The tenant's own members still reach their runbook.
		s.Say(t, Dev, "own-1", "what is the break-glass password of the production database?")
		WaitPost(t, s, "answering the member from the runbook", func(p Post) bool { return strings.Contains(p.Text, BreakGlass) })
	})
	t.Run("no secrets", func(t *testing.T) {
		all := s.Logs() + w.Log.String()
		for _, p := range s.Posts() {
			all += p.Text
		}
		for _, sec := range s.Secrets() {
			if sec != "" && strings.Contains(all, sec) {
				t.Fatalf("a configured secret (%d chars) appears in posts or logs", len(sec))
			}
		}
	})
}
