package agent_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"k8s-manage/agent"
	"k8s-manage/agent/approval"
	"k8s-manage/hack/sandbox/promtest"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/autoscale"
	"k8s-manage/platform/billing"
	"k8s-manage/platform/build"
	"k8s-manage/platform/catalog"
	pconfig "k8s-manage/platform/config"
	"k8s-manage/platform/envclone"
	"k8s-manage/platform/metrics"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/quota"
	"k8s-manage/platform/tenant"
	"k8s-manage/platform/usage"
	"k8s-manage/platform/vpa"
	"k8s-manage/tools"
)

// TestIsolationMatrix calls every tool of the catalog as every kind of caller (non-member,
// viewer, developer, operator, admin of tenant A) in tenant A and in tenant B (where none of
// them is a member), on the sandbox, through the agent's gate. A cell is allowed exactly when the
// catalog says so (member of the target tenant, at least the tool's role); an allowed read-only
// call runs, an allowed mutating call waits for an approval. A refused cell leaves no executed
// audit row, no approval, and nothing changes on the cluster.
func TestIsolationMatrix(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	keys, err := pconfig.NewKeyring("k1", map[string]string{"k1": pconfig.NewKey()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := pconfig.NewService(w.Store, w.Kube, keys, nil)
	use := usage.NewService(w.Kube)
	bills := billing.NewBills(w.Store, billing.Prices{CoreHour: 1, Currency: "USD"})
	mc, err := metrics.New(metrics.Options{URL: promtest.Start(t, w.Env).URL, ScrapeInterval: promtest.ScrapeInterval})
	if err != nil {
		t.Fatal(err)
	}
	reg := tools.NewRegistry(tools.Deps{Kube: w.Kube, Apps: apps.NewService(w.Kube), Autoscale: autoscale.NewService(w.Kube),
		Quota: quota.NewService(w.Kube), Tenants: w.Tenants, Knowledge: w.opts.Knowledge, Config: cfg,
		Bills: bills, Catalog: catalog.NewService(w.Kube),
		Builds: build.NewService(w.Store, w.Kube, keys, build.Registry{Host: "registry.local"}, nil), Clone: envclone.NewService(w.Kube, cfg),
		Usage: use, Sizer: usage.NewSizer(use, apps.NewService(w.Kube), bills, usage.SizerOptions{}), VPA: vpa.NewService(w.Kube),
		Metrics: mc, WaitReady: -1})
	s := w.service(t, func(o *agent.Options) { o.Tools = reg })

	otherAdmin := platformtest.Email("b-admin")
	other := w.Tenant(t, "matrix-b", []tenant.Member{{Email: otherAdmin, Role: tenant.Admin}})
	if _, err := apps.NewService(w.Kube).Create(ctx, apps.Target{As: tenant.Identity(otherAdmin), Namespace: tenant.Namespace(other, "dev")},
		apps.Spec{Name: "nginx", Image: "nginx:1.27", Replicas: 2, Ports: []apps.Port{{Port: 80}}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	callers := []struct {
		name, user string
		role       tenant.Role // in tenant A; "" for the non-member
	}{
		{"non-member", platformtest.Email("nobody"), ""},
		{"viewer", w.viewer, tenant.Viewer},
		{"developer", w.dev, tenant.Developer},
		{"operator", w.ops, tenant.Operator},
		{"admin", w.adm, tenant.Admin},
	}
	nss := []string{w.ns, tenant.Namespace(other, "dev")}
	before := fingerprint(t, w.Env.Client, nss)
	since := time.Now().Add(-time.Second)

	cells, allowedCells := 0, 0
	for _, tl := range reg.Tools() {
		spec := tl.Spec()
		args := sampleArgs(tl)
		for _, c := range callers {
			for _, target := range []string{"own", "other"} {
				cells++
				fix := agent.Fix{Tenant: w.tenant, Env: "dev", Tool: spec.Name}
				a := map[string]any{}
				for k, v := range args {
					a[k] = v
				}
				tenantName := w.tenant
				if target == "other" {
					a["tenant"], tenantName = other, other
					if c.role == "" { // the non-member's turn has no tenant at all
						fix.Tenant = ""
					}
				}
				raw, _ := json.Marshal(a)
				fix.Args = string(raw)
				want := target == "own" && c.role != "" && (spec.Role == "" || c.role.AtLeast(spec.Role))
				thread := fmt.Sprintf("m-%s-%s-%s", spec.Name, c.name, target)
				got, detail := runCell(t, s, c.user, thread, fix, spec)
				if got != want {
					t.Errorf("%s as %s in %s tenant: allowed=%v, want %v (%s)", spec.Name, c.name, target, got, want, detail)
				}
				if want {
					allowedCells++
				}
				_ = tenantName
			}
		}
	}
	// No refused cell executed anything: every executed row belongs to an allowed read-only cell.
	log, err := s.Approvals().AuditLog(ctx, other, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range log {
		if e.At.After(since) && (e.Outcome == "ok" || e.Outcome == "error") {
			t.Errorf("an executed audit row in tenant B: %+v", e)
		}
	}
	pending, err := s.Approvals().List(ctx, approval.Filter{Tenants: []string{other}})
	if err != nil || len(pending) != 0 {
		t.Errorf("approvals in tenant B: %d (%v)", len(pending), err)
	}
	ownLog, _ := s.Approvals().AuditLog(ctx, w.tenant, 5000)
	for _, e := range ownLog {
		if e.At.After(since) && e.Outcome == "ok" && e.Risk != tools.ReadOnly.String() {
			t.Errorf("a change ran without an approval: %+v", e)
		}
	}
	if after := fingerprint(t, w.Env.Client, nss); after != before {
		t.Errorf("the cluster changed during the matrix:\nbefore %s\nafter  %s", before, after)
	}
	t.Logf("%d cells, %d allowed", cells, allowedCells)
}

// runCell proposes one call and says whether it was allowed: it passed the authorization (a
// read-only call ran, a mutating call asked for an approval, or either failed for a reason
// other than who is asking, such as a canary that is not running).
func runCell(t *testing.T, s *agent.Service, user, thread string, fix agent.Fix, spec tools.Spec) (bool, string) {
	t.Helper()
	ch, err := s.Propose(context.Background(), agent.Turn{Surface: "matrix", Thread: thread, User: user}, fix)
	if err != nil {
		if errors.Is(err, agent.ErrForbidden) {
			return false, "refused at the entry: " + err.Error()
		}
		t.Fatalf("%s: %v", thread, err)
	}
	es := drain(t, ch)
	if req := find(es, agent.EventApprovalRequested); req != nil {
		return true, "approval " + req.Approval.ID
	}
	fin := find(es, agent.EventToolFinished)
	if fin == nil {
		return false, "not offered"
	}
	if strings.Contains(fin.Result, "not a member of tenant") || strings.Contains(fin.Result, "role in tenant") ||
		strings.Contains(fin.Result, "not available") {
		return false, fin.Result
	}
	// Authorized; the call itself may still be bad (no canary to promote, no earlier revision).
	return true, fin.Result
}

// sampleArgs fills a tool's required arguments with plausible values from its schema.
func sampleArgs(tl *tools.Tool) map[string]any {
	js := tl.Schema()
	out := map[string]any{}
	for _, name := range js.Required {
		p, _ := js.Properties.Get(name)
		switch {
		case len(p.Enum) > 0:
			out[name] = p.Enum[0]
		case name == "replicas" || name == "min_replicas":
			out[name] = 3
		case name == "max_replicas":
			out[name] = 4
		case p.Type == "integer" || p.Type == "number":
			out[name] = 10
		case p.Type == "object":
			out[name] = map[string]string{"pods": "25"}
		case name == "app":
			out[name] = "nginx"
		case name == "image":
			out[name] = "nginx:1.28"
		case name == "email":
			out[name] = "new-member@example.com"
		case name == "from_env":
			out[name] = "dev"
		case name == "to_env":
			out[name] = "prod"
		default:
			out[name] = "matrix"
		}
	}
	return out
}

// fingerprint summarises what a tool could change in the namespaces: specs and data, not
// status (controllers update status all the time).
func fingerprint(t *testing.T, cs kubernetes.Interface, nss []string) string {
	t.Helper()
	ctx := context.Background()
	var parts []string
	for _, ns := range nss {
		ds, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds.Items {
			parts = append(parts, fmt.Sprintf("deploy %s/%s gen=%d replicas=%d", ns, d.Name, d.Generation, *d.Spec.Replicas))
		}
		cms, _ := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		for _, c := range cms.Items {
			b, _ := json.Marshal(c.Data)
			parts = append(parts, fmt.Sprintf("cm %s/%s %x", ns, c.Name, sha256.Sum256(b)))
		}
		secs, _ := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
		for _, sc := range secs.Items {
			b, _ := json.Marshal(sc.Data)
			parts = append(parts, fmt.Sprintf("secret %s/%s %x", ns, sc.Name, sha256.Sum256(b)))
		}
		svcs, _ := cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		for _, sv := range svcs.Items {
			parts = append(parts, "svc "+ns+"/"+sv.Name)
		}
		hpas, _ := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{})
		for _, h := range hpas.Items {
			parts = append(parts, fmt.Sprintf("hpa %s/%s %d-%d", ns, h.Name, *h.Spec.MinReplicas, h.Spec.MaxReplicas))
		}
		qs, _ := cs.CoreV1().ResourceQuotas(ns).List(ctx, metav1.ListOptions{})
		for _, q := range qs.Items {
			b, _ := json.Marshal(q.Spec.Hard)
			parts = append(parts, fmt.Sprintf("quota %s/%s %s", ns, q.Name, b))
		}
		rbs, _ := cs.RbacV1().RoleBindings(ns).List(ctx, metav1.ListOptions{})
		for _, rb := range rbs.Items {
			b, _ := json.Marshal(rb.Subjects)
			parts = append(parts, fmt.Sprintf("rb %s/%s %x", ns, rb.Name, sha256.Sum256(b)))
		}
		jobs, _ := cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		sts, _ := cs.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
		parts = append(parts, fmt.Sprintf("jobs %s %d statefulsets %d", ns, len(jobs.Items), len(sts.Items)))
	}
	sort.Strings(parts)
	return strings.Join(slices.Compact(parts), "; ")
}
