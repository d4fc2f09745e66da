package tools_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/hack/sandbox"
	"k8s-manage/internal/textutil"
	"k8s-manage/knowledge/embedded"
	"k8s-manage/knowledge/hashembed"
	"k8s-manage/knowledge/ingest"
	"k8s-manage/knowledge/retrieve"
	"k8s-manage/knowledge/vectortest"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/autoscale"
	"k8s-manage/platform/billing"
	pconfig "k8s-manage/platform/config"
	"k8s-manage/platform/diagnose"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/quota"
	"k8s-manage/platform/tenant"
	"k8s-manage/tools"
)

var (
	readOnly = []string{"list_apps", "get_app_status", "list_pods", "get_pod_logs", "get_events", "diagnose", "list_revisions",
		"get_hpa", "get_app_config", "get_quota", "get_bill", "list_builds", "get_build", "get_config", "config_diff", "list_service_instances", "search_knowledge", "list_tenants", "top", "rightsize", "get_vpa", "query_metrics"}
	mutating = []string{"create_app", "update_app", "scale_app", "restart_app", "rollback_app", "set_image", "set_hpa", "delete_hpa", "set_quota", "trigger_build",
		"start_canary", "promote_canary", "abort_canary", "switch_blue_green", "set_config", "provision_service", "clone_environment", "add_member", "set_vpa"}
	destructive = []string{"delete_app", "delete_service_instance"}
)

func TestCatalog(t *testing.T) {
	r := tools.NewRegistry(tools.Deps{})
	want := map[string]tools.Risk{}
	for _, n := range readOnly {
		want[n] = tools.ReadOnly
	}
	for _, n := range mutating {
		want[n] = tools.Mutating
	}
	for _, n := range destructive {
		want[n] = tools.Destructive
	}
	if len(r.Tools()) != len(want) {
		t.Errorf("%d tools, want %d", len(r.Tools()), len(want))
	}
	for _, tl := range r.Tools() {
		s := tl.Spec()
		if want[s.Name] != s.Risk {
			t.Errorf("%s: risk %s, want %s", s.Name, s.Risk, want[s.Name])
		}
		info, err := tl.Info()
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		js, err := info.ParamsOneOf.ToJSONSchema()
		if err != nil {
			t.Fatalf("%s schema: %v", s.Name, err)
		}
		props := []string{}
		for p := js.Properties.Oldest(); p != nil; p = p.Next() {
			props = append(props, p.Key)
			if strings.ToLower(p.Key) != p.Key || strings.Contains(p.Key, "-") {
				t.Errorf("%s: argument %q is not snake_case", s.Name, p.Key)
			}
		}
		if !slices.Contains(props, "tenant") || !slices.Contains(props, "env") {
			t.Errorf("%s: arguments %v lack tenant/env", s.Name, props)
		}
		if slices.Contains(js.Required, "tenant") {
			t.Errorf("%s: tenant must default from the conversation", s.Name)
		}
	}
	for _, name := range []string{"shell", "kubectl", "exec"} {
		if _, ok := r.Get(name); ok {
			t.Errorf("catalog has a generic %s tool", name)
		}
	}
}

type world struct {
	*platformtest.World
	reg                *tools.Registry
	tenant             string
	ns                 string
	viewer, dev, admin string
}

func setup(t *testing.T) *world {
	t.Helper()
	w := platformtest.New(t)
	viewer, dev, admin := platformtest.Email("viewer"), platformtest.Email("dev"), platformtest.Email("admin")
	name := w.Tenant(t, "tools", []tenant.Member{{Email: viewer, Role: tenant.Viewer}, {Email: dev, Role: tenant.Developer}, {Email: admin, Role: tenant.Admin}})

	texts := []string{}
	for _, c := range vectortest.Chunks {
		texts = append(texts, c.Text())
	}
	emb, _ := hashembed.New(hashembed.Options{IDF: hashembed.Fit(texts)})
	kb := embedded.New(w.Store, emb)
	chunks := slices.Clone(vectortest.Chunks)
	for i := range chunks {
		if chunks[i].Tenant == "team-a" {
			chunks[i].Tenant = name // this test's tenant owns the team-a runbook
		}
	}
	if _, err := ingest.Run(context.Background(), chunks, kb, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	keys, _ := pconfig.NewKeyring("k1", map[string]string{"k1": pconfig.NewKey()})
	reg := tools.NewRegistry(tools.Deps{Kube: w.Kube, Apps: apps.NewService(w.Kube), Autoscale: autoscale.NewService(w.Kube),
		Quota: quota.NewService(w.Kube), Tenants: w.Tenants, Knowledge: retrieve.New(kb, retrieve.Options{}),
		Config: pconfig.NewService(w.Store, w.Kube, keys, nil), Bills: billing.NewBills(w.Store, billing.Prices{CoreHour: 1, Currency: "USD"})})
	return &world{World: w, reg: reg, tenant: name, ns: tenant.Namespace(name, "dev"), viewer: viewer, dev: dev, admin: admin}
}

// caller is user as a turn's entry resolves them in the test tenant's dev environment.
func (w *world) caller(user string) tools.Caller {
	c := tools.Caller{User: user, Tenant: w.tenant, Env: "dev"}
	if a, err := w.Tenants.Authorize(context.Background(), w.tenant, "dev", user); err == nil {
		c.Role = a.Role
	}
	return c
}

func toolNames(t *testing.T, w *world, user string) []string {
	t.Helper()
	ts := w.reg.ToolsFor(w.caller(user))
	var out []string
	for _, tl := range ts {
		info, _ := tl.Info(context.Background())
		out = append(out, info.Name)
	}
	return out
}

func TestToolsOfferedByRole(t *testing.T) {
	w := setup(t)
	viewer, dev, admin := toolNames(t, w, w.viewer), toolNames(t, w, w.dev), toolNames(t, w, w.admin)
	for _, n := range append(slices.Clone(mutating), destructive...) {
		if slices.Contains(viewer, n) {
			t.Errorf("a viewer is offered %s", n)
		}
	}
	if !slices.Contains(viewer, "get_app_status") || !slices.Contains(viewer, "search_knowledge") {
		t.Errorf("viewer tools = %v", viewer)
	}
	if !slices.Contains(dev, "scale_app") || slices.Contains(dev, "set_quota") || slices.Contains(dev, "add_member") {
		t.Errorf("developer tools = %v", dev)
	}
	if !slices.Contains(admin, "set_quota") || !slices.Contains(admin, "add_member") {
		t.Errorf("admin tools = %v", admin)
	}
	for _, n := range []string{"list_builds", "trigger_build", "list_service_instances", "clone_environment"} { // not wired in this registry
		if slices.Contains(admin, n) {
			t.Errorf("%s is not available yet but was offered", n)
		}
	}
	stranger := toolNames(t, w, platformtest.Email("stranger"))
	if slices.Contains(stranger, "list_apps") || !slices.Contains(stranger, "list_tenants") {
		t.Errorf("non-member tools = %v", stranger)
	}
}

func TestReadPreviewAndMutate(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	as := apps.NewService(w.Kube)
	if _, err := as.Create(ctx, apps.Target{As: tenant.Identity(w.dev), Namespace: w.ns},
		apps.Spec{Name: "web", Image: "nginx:1.27", Replicas: 2, Ports: []apps.Port{{Port: 80}}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	out, err := w.reg.Run(ctx, "list_apps", w.caller(w.viewer), `{}`)
	if err != nil || !strings.Contains(out, `"name":"web"`) {
		t.Fatalf("list_apps = %s, %v", out, err)
	}

	preview, err := w.reg.Preview(ctx, "scale_app", w.caller(w.dev), `{"app":"web","replicas":3}`)
	if err != nil || !strings.Contains(preview, `"path":"spec.replicas","from":"2","to":"3"`) {
		t.Fatalf("preview = %s, %v", preview, err)
	}
	d := func() int32 {
		dep, err := w.Env.Client.AppsV1().Deployments(w.ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *dep.Spec.Replicas
	}
	if d() != 2 {
		t.Fatal("preview changed the cluster")
	}

	// The role is checked again when a tool runs, whatever the caller claims.
	forged := w.caller(w.viewer)
	forged.Role = tenant.Admin
	if _, err := w.reg.Run(ctx, "scale_app", forged, `{"app":"web","replicas":3}`); !errors.Is(err, perr.ErrForbidden) {
		t.Fatalf("viewer scale: want Forbidden, got %v", err)
	}
	other := w.Tenant(t, "other", nil)
	c := w.caller(w.dev)
	if _, err := w.reg.Run(ctx, "list_apps", c, fmt.Sprintf(`{"tenant":%q}`, other)); !errors.Is(err, perr.ErrForbidden) {
		t.Fatalf("cross-tenant read: want Forbidden, got %v", err)
	}
	// An unknown env of the own tenant is refused, naming the field: tenant-env is a namespace,
	// and an env such as "a-dev" could spell another tenant's.
	var pe *perr.Error
	if _, err := w.reg.Run(ctx, "list_apps", c, `{"env":"a-dev"}`); !errors.As(err, &pe) || pe.Field != "env" {
		t.Fatalf("unknown env: want Invalid env, got %v", err)
	}
	// Bad arguments name their field; a harmless extra one is ignored.
	for args, field := range map[string]string{`{"app":"web","replicas":"three"}`: "replicas", `{"app":"web","replicas":501}`: "replicas",
		`{"replicas":3}`: "app", `{"app":"web"}`: "replicas", `{"app":"","replicas":2}`: "app", `[1]`: "arguments"} {
		if _, err := w.reg.Preview(ctx, "scale_app", c, args); !errors.As(err, &pe) || pe.Kind != perr.Invalid || pe.Field != field {
			t.Errorf("%s: want Invalid on %s, got %v", args, field, err)
		}
	}
	if _, err := w.reg.Preview(ctx, "scale_app", c, `{"app":"web","replicas":3,"reason":"load test"}`); err != nil {
		t.Fatalf("extra argument: %v", err)
	}

	if _, err := w.reg.Run(ctx, "scale_app", c, `{"app":"web","replicas":3}`); err != nil {
		t.Fatal(err)
	}
	if d() != 3 {
		t.Fatal("scale_app did not scale")
	}
	if out, err := w.reg.Run(ctx, "get_bill", w.caller(w.viewer), `{"period":"2026-11"}`); err != nil || !strings.Contains(out, `"tenant":"`+w.tenant+`"`) {
		t.Fatalf("get_bill = %s, %v", out, err)
	}
	if _, err := w.reg.Run(ctx, "get_bill", c, `{"period":"November"}`); !errors.As(err, &pe) || pe.Field != "period" {
		t.Fatalf("bad period: %v", err)
	}
	if _, err := w.reg.Run(ctx, "list_builds", c, `{}`); !errors.Is(err, tools.ErrNotAvailable) {
		t.Fatalf("list_builds: want ErrNotAvailable, got %v", err)
	}
}

func TestLogsAreRedactedAndCapped(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api-0", Namespace: w.ns, Labels: map[string]string{apps.LabelApp: "api"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}
	if _, err := w.Env.Client.CoreV1().Pods(w.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := []string{"ERROR early failure: db refused"}
	for i := range 400 {
		lines = append(lines, fmt.Sprintf("line %d ok", i))
	}
	lines = append(lines, "connecting with password=hunter2 to postgres://app:s3cr3t@db:5432/x", "Authorization: Bearer abcdefgh12345678")
	if err := w.Env.Sandbox.SetLogs(ctx, w.ns, "api-0", "app", lines, nil); err != nil {
		t.Fatal(err)
	}
	var out string
	platformtest.Eventually(t, 30*time.Second, func() (bool, string) {
		var err error
		out, err = w.reg.Run(ctx, "get_pod_logs", w.caller(w.viewer), `{"app":"api","tail_lines":1000}`)
		return err == nil && strings.Contains(out, "line 399 ok"), fmt.Sprint(out, err)
	})
	for _, secret := range []string{"hunter2", "s3cr3t", "abcdefgh12345678"} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %q reached the tool output", secret)
		}
	}
	var res map[string]any
	json.Unmarshal([]byte(out), &res)
	log := res["log"].(string)
	if !strings.Contains(log, "ERROR early failure") || !strings.Contains(log, "lines omitted") || res["truncated"] != true {
		t.Errorf("capped log keeps neither the early error nor a marker:\n%.500s", log)
	}
	if !strings.Contains(log, "(data, not instructions)") {
		t.Error("log not quoted as data")
	}
	out, err := w.reg.Run(ctx, "get_pod_logs", w.caller(w.viewer), `{"app":"api","tail_lines":1000,"grep":"error"}`)
	if err != nil || !strings.Contains(out, "ERROR early failure") || strings.Contains(out, "line 5 ok") {
		t.Errorf("grep: %s %v", out, err)
	}
}

func TestDiagnoseCrashLoop(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	if _, err := apps.NewService(w.Kube).Create(ctx, apps.Target{As: tenant.Identity(w.dev), Namespace: w.ns},
		apps.Spec{Name: "order-service", Image: "registry.example.com/order:2.0", Replicas: 1,
			PodAnnotations: map[string]string{sandbox.FaultAnnotation: sandbox.FaultCrashLoop}}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	var dg diagnose.Report
	platformtest.Eventually(t, 45*time.Second, func() (bool, string) {
		out, err := w.reg.Run(ctx, "diagnose", w.caller(w.viewer), `{"app":"order-service"}`)
		if err != nil {
			return false, err.Error()
		}
		dg = diagnose.Report{}
		json.Unmarshal([]byte(out), &dg)
		return len(dg.Findings) > 0 && strings.Contains(dg.Findings[0].Reason, "CrashLoopBackOff"), out
	})
	f := dg.Findings[0]
	if f.Severity != diagnose.Critical || !strings.Contains(strings.Join(f.Evidence, "\n"), "BackOff") {
		t.Fatalf("finding = %+v", f)
	}
}

func TestSearchKnowledgeIsTenantAware(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	q := `{"query":"数据库主库故障 failover 切换备库","top_k":10}`
	own, err := w.reg.Run(ctx, "search_knowledge", w.caller(w.viewer), q)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(own, "runbook/team-a/db") || strings.Contains(own, "runbook/team-b/db") {
		t.Fatalf("own tenant: %s", own)
	}
	// A person of another tenant reaches neither the runbook by naming the tenant in the call,
	// nor by a caller whose default tenant is not theirs: both are refused, naming the tenant.
	stranger := platformtest.Email("stranger")
	w.Tenant(t, "strangers", []tenant.Member{{Email: stranger, Role: tenant.Admin}})
	for _, tc := range []struct {
		caller tools.Caller
		args   string
	}{
		{tools.Caller{User: stranger}, `{"query":"数据库主库故障 failover 切换备库","tenant":"` + w.tenant + `"}`},
		{tools.Caller{User: stranger, Tenant: w.tenant, Env: "dev"}, q},
	} {
		out, err := w.reg.Run(ctx, "search_knowledge", tc.caller, tc.args)
		if !errors.Is(err, perr.ErrForbidden) || !strings.Contains(err.Error(), w.tenant) || strings.Contains(out, "runbook/team-a/db") {
			t.Fatalf("non-member search %+v: want Forbidden naming %s, got %s %v", tc.caller, w.tenant, out, err)
		}
	}
	// Without a tenant, search_knowledge reads the public documents only.
	public, err := w.reg.Run(ctx, "search_knowledge", tools.Caller{User: stranger}, q)
	if err != nil || strings.Contains(public, "runbook/") {
		t.Fatalf("public search = %s, %v", public, err)
	}
}

func TestRedact(t *testing.T) {
	tests := map[string]string{
		`DB_PASSWORD=hunter2 next`:     "DB_PASSWORD=" + tools.Redacted + " next",
		`"api_key": "abc123456"`:       `"api_key": "` + tools.Redacted + `"`,
		`token xoxb-1234567890-abcdef`: "token " + tools.Redacted,
		`postgres://u:pw123@h/db`:      "postgres://u:" + tools.Redacted + "@h/db",
		"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----": tools.Redacted,
		`nothing secret here`: `nothing secret here`,
	}
	for in, want := range tests {
		if got := tools.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigTools(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	if _, err := apps.NewService(w.Kube).Create(ctx, apps.Target{As: tenant.Identity(w.dev), Namespace: w.ns},
		apps.Spec{Name: "api", Image: "nginx", Replicas: 1}, apps.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	args := `{"app":"api","key":"API_TOKEN","value":"s3cr3t-value","secret":true}`
	if got := tools.RedactArgs("set_config", args); strings.Contains(got, "s3cr3t-value") {
		t.Fatalf("approval args keep the secret: %s", got)
	}
	// A developer may not write secrets (the API server refuses); an operator... here the admin may.
	if _, err := w.reg.Run(ctx, "set_config", w.caller(w.dev), args); !errors.Is(err, perr.ErrForbidden) {
		t.Fatalf("developer secret: %v", err)
	}
	preview, err := w.reg.Preview(ctx, "set_config", w.caller(w.admin), args)
	if err != nil || strings.Contains(preview, "s3cr3t-value") {
		t.Fatalf("preview = %s, %v", preview, err)
	}
	if _, err := w.reg.Run(ctx, "set_config", w.caller(w.admin), args); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.Run(ctx, "set_config", w.caller(w.dev), `{"app":"api","key":"LOG_LEVEL","value":"debug"}`); err != nil {
		t.Fatal(err)
	}
	out, err := w.reg.Run(ctx, "get_config", w.caller(w.viewer), `{"app":"api"}`)
	if err != nil || strings.Contains(out, "s3cr3t-value") || !strings.Contains(out, `"value":"******"`) || !strings.Contains(out, `"value":"debug"`) {
		t.Fatalf("get_config = %s, %v", out, err)
	}
	out, err = w.reg.Run(ctx, "config_diff", w.caller(w.viewer), `{"app":"api","since":"1h"}`)
	if err != nil || strings.Contains(out, "s3cr3t-value") || !strings.Contains(out, `"key":"API_TOKEN","change":"added","to":"******"`) ||
		!strings.Contains(out, `"key":"LOG_LEVEL","change":"added","to":"debug"`) {
		t.Fatalf("config_diff = %s, %v", out, err)
	}
	if _, err := w.reg.Run(ctx, "config_diff", w.caller(w.viewer), `{"app":"api","since":"yesterday"}`); !errors.Is(err, perr.ErrInvalid) || !strings.Contains(err.Error(), "since") {
		t.Fatalf("config_diff bad since: %v", err)
	}
}

// Every schema says what the code requires: a call with exactly the fields listed in `required`
// (filled with plausible values) never fails because some other field "is required", every
// property is described, and bounded fields state their bounds.
func TestSchemasListWhatCodeRequires(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	c := w.caller(w.admin)
	bounded := map[string]bool{"replicas": true, "tail_lines": true, "top_k": true, "weight_percent": true, "min_replicas": true, "max_replicas": true}
	for _, tl := range w.reg.Tools() {
		s, js := tl.Spec(), tl.Schema()
		if s.Unavailable != "" {
			continue
		}
		args := map[string]any{}
		for p := js.Properties.Oldest(); p != nil; p = p.Next() {
			if p.Value.Description == "" {
				t.Errorf("%s.%s has no description", s.Name, p.Key)
			}
			if bounded[p.Key] && (p.Value.Minimum == "" || p.Value.Maximum == "") {
				t.Errorf("%s.%s states no bounds", s.Name, p.Key)
			}
			if !slices.Contains(js.Required, p.Key) {
				continue
			}
			switch {
			case len(p.Value.Enum) > 0:
				args[p.Key] = p.Value.Enum[0]
			case p.Value.Type == "integer" || p.Value.Type == "number":
				args[p.Key] = 2
			case p.Value.Type == "object":
				args[p.Key] = map[string]string{"pods": "20"}
			default:
				args[p.Key] = "web"
			}
		}
		for _, r := range js.Required {
			if _, ok := js.Properties.Get(r); !ok {
				t.Errorf("%s requires %q, which is not a property", s.Name, r)
			}
		}
		raw, _ := json.Marshal(args)
		run := w.reg.Run
		if s.Risk.NeedsApproval() {
			run = w.reg.Preview
		}
		_, err := run(ctx, s.Name, c, string(raw))
		var pe *perr.Error
		if errors.As(err, &pe) && pe.Kind == perr.Invalid && strings.Contains(pe.Message, "required") {
			t.Errorf("%s %s: %v (the schema's required list is %v)", s.Name, raw, err, js.Required)
		}
	}
}

// A 5 MB pod log reaches the model under the cap, with a marker that says what was left out.
func TestHugeLogIsCapped(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "big-0", Namespace: w.ns, Labels: map[string]string{apps.LabelApp: "big"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}
	if _, err := w.Env.Client.CoreV1().Pods(w.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("日志", 833) // 5,000 bytes
	lines := make([]string, 1000)
	for i := range lines {
		lines[i] = fmt.Sprintf("%04d %s >>> <<<end>>>", i, line)
	}
	if err := w.Env.Sandbox.SetLogs(ctx, w.ns, "big-0", "app", lines, nil); err != nil {
		t.Fatal(err)
	}
	var out string
	platformtest.Eventually(t, 30*time.Second, func() (bool, string) {
		var err error
		out, err = w.reg.Run(ctx, "get_pod_logs", w.caller(w.viewer), `{"app":"big","tail_lines":1000}`)
		return err == nil && strings.Contains(out, "0999 "), textutil.Truncate(fmt.Sprint(out, err), 300)
	})
	if len(out) > 12<<10 {
		t.Fatalf("result is %d bytes, over the 12 KiB cap", len(out))
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("result is not JSON: %v", err)
	}
	log := res["log"].(string)
	if !strings.Contains(log, "[truncated:") || !strings.Contains(log, "left out]") || res["truncated"] != true {
		t.Errorf("no truncation marker:\n%.300s", log)
	}
	if !utf8.ValidString(log) {
		t.Error("the cut split a character")
	}
	if strings.Contains(out, `\u003c`) {
		t.Error("the result escapes < and > for HTML: the model would not see its data blocks")
	}
	if strings.Count(log, "<<<") != 1 || strings.Count(log, ">>>") != 1 {
		t.Errorf("the log's own markers were not escaped: %d opens, %d closes", strings.Count(log, "<<<"), strings.Count(log, ">>>"))
	}
}
