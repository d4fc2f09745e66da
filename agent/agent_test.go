package agent_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/agent"
	"k8s-manage/agent/approval"
	"k8s-manage/knowledge/knowledgetest"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/autoscale"
	pconfig "k8s-manage/platform/config"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/quota"
	"k8s-manage/platform/tenant"
	"k8s-manage/tools"
)

type world struct {
	*platformtest.World
	tenant, ns            string
	viewer, dev, ops, adm string
	opts                  agent.Options
}

func setup(t testing.TB) *world {
	t.Helper()
	w := platformtest.New(t)
	ctx := context.Background()
	viewer, dev, ops, adm := platformtest.Email("viewer"), platformtest.Email("dev"), platformtest.Email("ops"), platformtest.Email("admin")
	name := w.Tenant(t, "agent", []tenant.Member{{Email: viewer, Role: tenant.Viewer}, {Email: dev, Role: tenant.Developer},
		{Email: ops, Role: tenant.Operator}, {Email: adm, Role: tenant.Admin}})
	ns := tenant.Namespace(name, "dev")
	if _, err := apps.NewService(w.Kube).Create(ctx, apps.Target{As: tenant.Identity(dev), Namespace: ns},
		apps.Spec{Name: "nginx", Image: "nginx:1.27", Replicas: 2, Ports: []apps.Port{{Port: 80}}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	rt := knowledgetest.Docs(t, w.Store)
	reg := tools.NewRegistry(tools.Deps{Kube: w.Kube, Apps: apps.NewService(w.Kube), Autoscale: autoscale.NewService(w.Kube),
		Quota: quota.NewService(w.Kube), Tenants: w.Tenants, Knowledge: rt, WaitReady: 30 * time.Second})
	return &world{World: w, tenant: name, ns: ns, viewer: viewer, dev: dev, ops: ops, adm: adm,
		opts: agent.Options{Store: w.Store, Tools: reg, Roles: w.Tenants, Knowledge: rt}}
}

func (w *world) service(t testing.TB, mod ...func(*agent.Options)) *agent.Service {
	t.Helper()
	o := w.opts
	for _, f := range mod {
		f(&o)
	}
	s, err := agent.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func drain(t *testing.T, ch <-chan agent.Event) []agent.Event {
	t.Helper()
	var out []agent.Event
	timeout := time.After(90 * time.Second)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, e)
		case <-timeout:
			t.Fatal("turn did not finish")
		}
	}
}

func (w *world) send(t *testing.T, s *agent.Service, user, text string) []agent.Event {
	t.Helper()
	ch, err := s.Send(context.Background(), agent.Turn{Surface: "test", Thread: t.Name() + user, User: user, Tenant: w.tenant, Env: "dev", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return drain(t, ch)
}

func find(es []agent.Event, typ agent.EventType) *agent.Event {
	for i := range es {
		if es[i].Type == typ {
			return &es[i]
		}
	}
	return nil
}

func final(t *testing.T, es []agent.Event) string {
	t.Helper()
	if e := find(es, agent.EventError); e != nil {
		t.Fatalf("turn error: %s", e.Error)
	}
	f := find(es, agent.EventFinal)
	if f == nil {
		t.Fatalf("no final answer in %+v", es)
	}
	return f.Text
}

func (w *world) replicas(t *testing.T) int32 {
	d, err := w.Env.Client.AppsV1().Deployments(w.ns).Get(context.Background(), "nginx", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *d.Spec.Replicas
}

func TestHowToQuestionIsAnsweredFromTheDocs(t *testing.T) {
	w := setup(t)
	es := w.send(t, w.service(t), w.viewer, "怎么做金丝雀发布？")
	answer := final(t, es)
	if find(es, agent.EventToolStarted) != nil {
		t.Errorf("a how-to question ran a tool: %+v", es)
	}
	if !strings.Contains(answer, "manual/canary") && !strings.Contains(answer, "faq-040") {
		t.Fatalf("answer does not cite the canary docs:\n%s", answer)
	}
}

func TestReadOnlyToolRunsWithoutApproval(t *testing.T) {
	w := setup(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	es := w.send(t, w.service(t, func(o *agent.Options) { o.Tracer = tp.Tracer("test") }), w.viewer, "nginx 状态怎么样")
	var spans []string
	for _, sp := range rec.Ended() {
		spans = append(spans, sp.Name())
	}
	if !slices.Contains(spans, "agent.turn") || !slices.Contains(spans, "agent.tool get_app_status") {
		t.Errorf("spans = %v", spans)
	}
	answer := final(t, es)
	if started := find(es, agent.EventToolStarted); started == nil || started.Tool != "get_app_status" {
		t.Fatalf("events %+v", es)
	}
	if find(es, agent.EventApprovalRequested) != nil || !strings.Contains(answer, "nginx") {
		t.Fatalf("answer %q", answer)
	}
}

// A mutating call pauses, survives a restart of the service, and on approval runs exactly once
// even when 100 decisions race.
func TestScalePausesSurvivesRestartAndRunsOnce(t *testing.T) {
	w := setup(t)
	es := w.send(t, w.service(t), w.dev, "扩容 nginx 到 3 个副本")
	req := find(es, agent.EventApprovalRequested)
	if req == nil || req.Approval == nil {
		t.Fatalf("no approval requested: %+v", es)
	}
	a := req.Approval
	if a.Tool != "scale_app" || !strings.Contains(a.Preview, `"path":"spec.replicas","from":"2","to":"3"`) || a.Requester != w.dev {
		t.Fatalf("approval request = %+v", a)
	}
	if find(es, agent.EventFinal) != nil || w.replicas(t) != 2 {
		t.Fatal("the change ran before approval")
	}

	restarted := w.service(t) // a new process: nothing in memory, only the store
	var wins atomic.Int32
	var winner <-chan agent.Event
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch, err := restarted.Decide(context.Background(), a.ID, w.ops, true, "")
			switch {
			case err == nil:
				wins.Add(1)
				mu.Lock()
				winner = ch
				mu.Unlock()
			case errors.Is(err, approval.ErrAlreadyDecided):
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d decisions won, want 1", wins.Load())
	}
	after := drain(t, winner)
	answer := final(t, after)
	if !strings.Contains(answer, "3/3") || w.replicas(t) != 3 {
		t.Fatalf("after approval: replicas %d, answer %q", w.replicas(t), answer)
	}
	log, err := restarted.Approvals().AuditLog(context.Background(), w.tenant, 100)
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	for _, e := range log {
		if e.Tool == "scale_app" && e.Outcome == "ok" && e.ApprovalID == a.ID {
			runs++
		}
	}
	if runs != 1 {
		t.Fatalf("scale_app ran %d times", runs)
	}
}

func TestRejectionAndExpiry(t *testing.T) {
	w := setup(t)
	s := w.service(t)
	es := w.send(t, s, w.dev, "重启 nginx")
	a := find(es, agent.EventApprovalRequested).Approval
	ch, err := s.Decide(context.Background(), a.ID, w.ops, false, "change freeze")
	if err != nil {
		t.Fatal(err)
	}
	answer := final(t, drain(t, ch))
	if !strings.Contains(answer, "rejected") || !strings.Contains(answer, "change freeze") {
		t.Fatalf("rejection answer %q", answer)
	}

	short := w.service(t, func(o *agent.Options) { o.ApprovalTTL = time.Millisecond })
	es = w.send(t, short, w.dev, "扩容 nginx 到 4 个副本")
	a = find(es, agent.EventApprovalRequested).Approval
	time.Sleep(5 * time.Millisecond)
	n, err := short.ExpireDue(context.Background())
	if err != nil || n < 1 {
		t.Fatalf("expired %d, %v", n, err)
	}
	if _, err := short.Decide(context.Background(), a.ID, w.ops, true, ""); !errors.Is(err, approval.ErrExpired) {
		t.Fatalf("deciding an expired request: %v", err)
	}
	if w.replicas(t) != 2 {
		t.Fatal("an expired request ran")
	}
}

func TestViewerGetsNoMutatingToolsAndSelfApprovalIsRefused(t *testing.T) {
	w := setup(t)
	s := w.service(t)
	es := w.send(t, s, w.viewer, "扩容 nginx 到 5 个副本")
	if find(es, agent.EventApprovalRequested) != nil || find(es, agent.EventToolStarted) != nil {
		t.Fatalf("a viewer got a mutating tool: %+v", es)
	}
	if answer := final(t, es); !strings.Contains(answer, "scale_app") {
		t.Fatalf("viewer answer %q", answer)
	}

	es = w.send(t, s, w.dev, "扩容 nginx 到 3 个副本")
	a := find(es, agent.EventApprovalRequested).Approval
	for _, who := range []string{w.dev, w.viewer} {
		if _, err := s.Decide(context.Background(), a.ID, who, true, ""); !errors.Is(err, agent.ErrNotApprover) {
			t.Fatalf("%s deciding: want ErrNotApprover, got %v", who, err)
		}
	}
	lenient := w.service(t, func(o *agent.Options) {
		o.AllowSelfApproval = map[string]bool{w.tenant: true}
		o.ApproverRole = tenant.Developer
	})
	ch, err := lenient.Decide(context.Background(), a.ID, w.dev, true, "")
	if err != nil {
		t.Fatalf("self-approval allowed by the tenant: %v", err)
	}
	final(t, drain(t, ch))
	if w.replicas(t) != 3 {
		t.Fatalf("replicas %d", w.replicas(t))
	}
}

// With a sealer, a paused turn's checkpoint is encrypted at rest (the tool arguments are not readable
// in the store), a new process with the same key resumes it, and one without the key says why it cannot.
func TestCheckpointsSealedAtRest(t *testing.T) {
	w := setup(t)
	keys, err := pconfig.NewKeyring("k1", map[string]string{"k1": pconfig.NewKey()})
	if err != nil {
		t.Fatal(err)
	}
	sealed := func(o *agent.Options) { o.Sealer = keys }
	es := w.send(t, w.service(t, sealed), w.dev, "扩容 nginx 到 4 个副本")
	req := find(es, agent.EventApprovalRequested)
	if req == nil || req.Approval == nil {
		t.Fatalf("no approval requested: %+v", es)
	}
	var data []byte
	if err := w.Store.QueryRowContext(context.Background(), "SELECT data FROM checkpoints WHERE id = ?",
		req.Approval.CheckpointID).Scan(&data); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("k8sm-sealed-v1\x00k1\x00")) || bytes.Contains(data, []byte("replicas")) || bytes.Contains(data, []byte("scale_app")) {
		t.Fatalf("checkpoint is not sealed: %q", data[:min(len(data), 80)])
	}
	if _, err := w.service(t).Decide(context.Background(), req.Approval.ID, w.ops, true, ""); err == nil {
		t.Fatal("decision without the key: want an error")
	} else if !strings.Contains(err.Error(), "sealed") {
		t.Fatalf("decision without the key: %v", err)
	}
	if a, err := w.service(t).Approvals().Get(context.Background(), req.Approval.ID); err != nil || a.Status != approval.Pending {
		t.Fatalf("after the failed decision the request is %v (%v), want pending", a.Status, err)
	}
	ch, err := w.service(t, sealed).Decide(context.Background(), req.Approval.ID, w.ops, true, "")
	if err != nil {
		t.Fatal(err)
	}
	if answer := final(t, drain(t, ch)); !strings.Contains(answer, "4/4") || w.replicas(t) != 4 {
		t.Fatalf("after approval: replicas %d, answer %q", w.replicas(t), answer)
	}
}

// A follow-up refers to a call still waiting for its approval: the pending call is in the
// conversation, and the builtin model gets the tenant's apps with their replica counts.
func TestFollowUpRefersToAPendingCall(t *testing.T) {
	w := setup(t)
	s := w.service(t)
	first := find(w.send(t, s, w.dev, "scale nginx to 3"), agent.EventApprovalRequested)
	if first == nil || !strings.Contains(first.Approval.Preview, `"to":"3"`) {
		t.Fatalf("first request: %+v", first)
	}
	second := find(w.send(t, s, w.dev, "actually make it 4"), agent.EventApprovalRequested)
	if second == nil || second.Approval.Tool != "scale_app" || !strings.Contains(second.Approval.Preview, `"to":"4"`) {
		t.Fatalf("the correction: %+v", second)
	}
	if ev := find(w.send(t, s, w.dev, "and its pods?"), agent.EventToolFinished); ev == nil || ev.Tool != "list_pods" || !strings.Contains(ev.Result, "nginx") {
		t.Fatalf("the ellipsis: %+v", ev)
	}
	// A relative amount without a conversation starts from the app's replica count now (2).
	third := find(w.send(t, s, w.adm, "double nginx"), agent.EventApprovalRequested)
	if third == nil || !strings.Contains(third.Approval.Preview, `"from":"2","to":"4"`) {
		t.Fatalf("double nginx: %+v", third)
	}
	if w.replicas(t) != 2 {
		t.Fatal("a change ran without an approval")
	}
}
