package tools

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cloudwego/eino/components/retriever"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/internal/textutil"
	"k8s-manage/internal/toolname"
	"k8s-manage/knowledge"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/billing"
	"k8s-manage/platform/diagnose"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
)

type (
	podArgs struct {
		Target
		App string `json:"app,omitempty" desc:"application name (its pods); default: all pods"`
		Pod string `json:"pod,omitempty" desc:"a pod name"`
	}
	logArgs struct {
		Target
		App       string `json:"app,omitempty" desc:"application name; its pod with the most restarts is read (give app or pod)"`
		Pod       string `json:"pod,omitempty" desc:"pod name (give app or pod)"`
		Container string `json:"container,omitempty" desc:"container name; default: the first"`
		Previous  bool   `json:"previous,omitempty" desc:"logs of the previous (crashed) container; default false"`
		TailLines int    `json:"tail_lines,omitempty" jsonschema:"minimum=1,maximum=1000" desc:"how many last lines; default 100"`
		Since     int64  `json:"since_seconds,omitempty" jsonschema:"minimum=1" desc:"only lines from the last N seconds"`
		Grep      string `json:"grep,omitempty" desc:"only lines containing this text (case-insensitive)"`
	}
	eventArgs struct {
		Target
		Object string `json:"object,omitempty" desc:"only events of this object (app, pod or other name prefix)"`
	}
	diagnoseArgs struct {
		Target
		App string `json:"app,omitempty" desc:"application to diagnose; default: the whole environment"`
		Pod string `json:"pod,omitempty" desc:"pod to diagnose"`
		// Resource takes whatever the person named, resolved against the namespace.
		Resource string `json:"resource,omitempty" desc:"any name the person used (workload, pod or its prefix, service, ingress host, PVC, HPA, cron job), resolved against what exists"`
	}
	billArgs struct {
		Target
		Period string `json:"period,omitempty" desc:"month as YYYY-MM; default: the current month"`
	}
	searchArgs struct {
		Target
		Query string `json:"query" jsonschema:"required" desc:"the question to look up in the help manual, the on-call FAQ and the tenant's runbooks"`
		TopK  int    `json:"top_k,omitempty" jsonschema:"minimum=1,maximum=10" desc:"how many chunks; default 5"`
	}
)

// Output caps for text the cluster produces.
const (
	maxLogBytes      = 8 << 10
	maxEvidenceBytes = 1 << 10
	maxEvents        = 50
)

func (d Deps) observeTools() []*Tool {
	v := tenant.Viewer
	return []*Tool{
		define[podArgs](Spec{Name: toolname.ListPods, Desc: "List pods (of an application, or all) with phase, readiness, restarts, failure reason and node.", Risk: ReadOnly, Role: v,
			Examples: []string{"pods of web-api?", "order-service 的容器组看一下"},
			Intents: []Intent{
				{Verbs: []string{"pod", "容器组", "节点"}, Not: []string{"重启"}, Weight: 4},
			}},
			func(ctx context.Context, c Call, in *podArgs, _ bool) (any, error) {
				return d.listPods(ctx, c, in.App, in.Pod)
			}),
		define[logArgs](Spec{Name: toolname.GetPodLogs, Desc: "Container logs of an application's pod or a named pod: the last lines, or the previous (crashed) container.", Risk: ReadOnly, Role: v,
			Examples: []string{"logs of web-api", "user-center 崩溃前的日志"},
			Intents: []Intent{
				{Verbs: []string{"日志", "log", "grep", "tail", "lines", "previous container", "上一个容器", "崩溃前"}, Required: []string{"app"}, Weight: 6},
			}},
			func(ctx context.Context, c Call, in *logArgs, _ bool) (any, error) { return d.logs(ctx, c, in) }),
		define[eventArgs](Spec{Name: toolname.GetEvents, Desc: "Recent Kubernetes events of the environment, warnings first, optionally for one object.", Risk: ReadOnly, Role: v,
			Examples: []string{"any events for checkout?", "nginx 有什么 event"},
			Intents: []Intent{
				{Verbs: []string{"事件", "event"}, Weight: 5},
			}},
			func(ctx context.Context, c Call, in *eventArgs, _ bool) (any, error) {
				return d.listEvents(ctx, c, in.Object)
			}),
		define[diagnoseArgs](Spec{Name: toolname.Diagnose, Desc: "Root cause of a failure in an app, pod, service, ingress host, PVC or the whole environment (references, scheduling, crashes, wiring), with the changes made just before, evidence and fixes.", Risk: ReadOnly, Role: v,
			ChatOnly: true, // the console shows the diagnoses of alerts; a diagnosis on demand is asked in chat
			Examples: []string{"why is order-service crashing", "user-center 起不来"},
			Intents: []Intent{
				{Verbs: []string{"为什么", "为啥", "挂了", "起不来", "报错", "崩溃", "一直重启", "老是重启", "crash", "restarting", "won't start", "wont start", "not starting", "what's wrong", "whats wrong", "503", "502", "500", "排查", "诊断", "diagnose", "going on", "error", "failing", "broken", "not running", "isn't running", "没跑起来", "不正常", "出问题", "pending"}, Required: []string{"app"}, Weight: 5},
			}},
			func(ctx context.Context, c Call, in *diagnoseArgs, _ bool) (any, error) {
				return d.diagnose(ctx, c, diagnose.Scope{App: in.App, Pod: in.Pod, Target: in.Resource})
			}),
		define[noArgs](Spec{Name: toolname.GetQuota, Desc: "Resource quota of the environment: used versus hard limit per resource.", Risk: ReadOnly, Role: v,
			Examples: []string{"how much quota do we have left", "team-a 的资源配额"},
			Intents: []Intent{
				{Verbs: []string{"配额", "quota", "resourcequota", "resource limits", "资源限制", "limits"}, Weight: 5},
			}},
			func(ctx context.Context, c Call, _ *noArgs, _ bool) (any, error) {
				return d.Quota.Get(ctx, d.target(c))
			}),
		unless(d.Bills != nil, laterBilling,
			define[billArgs](Spec{Name: toolname.GetBill, Desc: "The tenant's bill for a month with line items per app, environment and resource.", Risk: ReadOnly, Role: v,
				Examples: []string{"how much have we spent this month?", "bill for nov 2026"},
				Intents: []Intent{
					{Verbs: []string{"账单", "花了多少", "费用", "开销", "bill", "spend", "spent", "cost", "花费", "pay", "paid"}, Weight: 5},
				}},
				func(ctx context.Context, c Call, in *billArgs, _ bool) (any, error) {
					from, to := billing.MonthOf(time.Now())
					if in.Period != "" {
						p, err := time.Parse("2006-01", in.Period)
						if err != nil {
							return nil, perr.Invalidf("period", "%q must look like 2026-11", in.Period)
						}
						from, to = billing.MonthOf(p)
					}
					return d.Bills.For(ctx, c.Tenant, from, to)
				}))[0],
		define[searchArgs](Spec{Name: toolname.SearchKnowledge, Desc: "Look up the help manual, the on-call FAQ and the tenant's runbooks; returns chunks with ids to cite.", Risk: ReadOnly,
			ChatOnly: true, // the docs are searched from chat (the console links the help pages)
			Examples: []string{"search the runbooks for disk pressure", "look up oncall faq about 502 errors"},
			Intents: []Intent{
				{Verbs: []string{"知识库", "runbook", "文档", "docs", "documentation", "manual", "faq", "oncall", "on-call"}, Needs: []string{"搜", "查", "search", "look up", "find"}, Required: []string{"query"}, Weight: 6},
			}},
			func(ctx context.Context, c Call, in *searchArgs, _ bool) (any, error) { return d.search(ctx, c, in) }),
	}
}

func (d Deps) listPods(ctx context.Context, c Call, app, pod string) (any, error) {
	cs, err := d.Kube.As(tenant.Identity(c.User))
	if err != nil {
		return nil, err
	}
	opts := metav1.ListOptions{}
	if app != "" {
		opts.LabelSelector = apps.LabelApp + "=" + app
	}
	list, err := cs.CoreV1().Pods(c.Namespace).List(ctx, opts)
	if err != nil {
		return nil, perr.FromAPI(err, "list pods in "+c.Namespace)
	}
	out := []apps.PodStatus{}
	for i := range list.Items {
		p := &list.Items[i]
		if pod != "" && p.Name != pod {
			continue
		}
		out = append(out, apps.PodSummary(p))
	}
	return out, nil
}

// logs reads a container's log, capped for the model (the end, plus earlier error lines). The
// pod is chosen by the platform's one rule (apps.Service.Logs), the same as the REST route's.
func (d Deps) logs(ctx context.Context, c Call, in *logArgs) (any, error) {
	if in.Pod == "" && in.App == "" {
		return nil, perr.Invalidf("app", "give an app or a pod")
	}
	tail := int64(in.TailLines)
	if tail <= 0 {
		tail = 100
	}
	pod, rc, err := d.Apps.Logs(ctx, apps.Target{As: tenant.Identity(c.User), Namespace: c.Namespace}, apps.LogOptions{
		App: in.App, Pod: in.Pod, Container: in.Container, Previous: in.Previous, TailLines: min(tail, 1000), SinceSeconds: in.Since})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, 8<<20))
	if err != nil {
		return nil, perr.New(perr.Unavailable, "read logs of %s: %v", pod, err)
	}
	body := string(raw)
	if in.Grep != "" {
		var kept []string
		needle := strings.ToLower(in.Grep)
		for _, l := range strings.Split(body, "\n") {
			if strings.Contains(strings.ToLower(l), needle) {
				kept = append(kept, l)
			}
		}
		body = strings.Join(kept, "\n") + "\n"
	}
	text, capped := CapLog(body, 200)
	text, cut := textutil.CapTail(text, maxLogBytes)
	return map[string]any{"pod": pod, "container": in.Container, "previous": in.Previous, "truncated": capped || cut,
		"log": textutil.Quote("log", text)}, nil
}

// Event is a Kubernetes event as tools report it.
type Event struct {
	Type    string `json:"type"`
	Reason  string `json:"reason"`
	Object  string `json:"object"`
	Message string `json:"message"`
	Count   int32  `json:"count"`
	Last    string `json:"last"`
}

func (d Deps) listEvents(ctx context.Context, c Call, object string) ([]Event, error) {
	cs, err := d.Kube.As(tenant.Identity(c.User))
	if err != nil {
		return nil, err
	}
	list, err := cs.CoreV1().Events(c.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, perr.FromAPI(err, "list events in "+c.Namespace)
	}
	var out []Event
	for _, e := range list.Items {
		obj := strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name
		if object != "" && !strings.HasPrefix(e.InvolvedObject.Name, object) {
			continue
		}
		last := e.LastTimestamp.Time
		if last.IsZero() {
			last = e.EventTime.Time
		}
		out = append(out, Event{Type: e.Type, Reason: e.Reason, Object: obj, Message: textutil.Quote("event", textutil.Truncate(e.Message, 600)), Count: max(e.Count, 1), Last: last.UTC().Format("2006-01-02T15:04:05Z")})
	}
	slices.SortStableFunc(out, func(a, b Event) int {
		if (a.Type == "Warning") != (b.Type == "Warning") {
			if a.Type == "Warning" {
				return -1
			}
			return 1
		}
		return strings.Compare(b.Last, a.Last)
	})
	if len(out) > maxEvents {
		out = out[:maxEvents]
	}
	return out, nil
}

func (d Deps) search(ctx context.Context, c Call, in *searchArgs) (any, error) {
	if err := required("query", in.Query); err != nil {
		return nil, err
	}
	if d.Knowledge == nil {
		return nil, perr.New(perr.Unavailable, "the knowledge base is not configured")
	}
	k := in.TopK
	if k <= 0 || k > 10 {
		k = 5
	}
	docs, err := d.Knowledge.Retrieve(ctx, in.Query, retriever.WithTopK(k), knowledge.WithTenant(c.Tenant))
	if err != nil {
		return nil, fmt.Errorf("search_knowledge: %w", err)
	}
	type hit struct {
		ID      string  `json:"id"`
		Title   string  `json:"title"`
		Section string  `json:"section"`
		Source  string  `json:"source"`
		Score   float64 `json:"score"`
		Content string  `json:"content"`
	}
	out := []hit{}
	for _, doc := range docs {
		ch := knowledge.FromDocument(doc)
		out = append(out, hit{ID: ch.ID, Title: ch.Title, Section: strings.Join(ch.Section, " > "), Source: ch.Source,
			Score: doc.Score(), Content: textutil.Quote("document", Redact(ch.Content))})
	}
	return out, nil
}
