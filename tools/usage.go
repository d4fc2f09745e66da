package tools

import (
	"context"
	"fmt"
	"time"

	"k8s-manage/internal/toolname"
	"k8s-manage/platform/metrics"
	"k8s-manage/platform/tenant"
	"k8s-manage/platform/usage"
	"k8s-manage/platform/vpa"
)

type topArgs struct {
	Target
	App    string `json:"app,omitempty" desc:"application name: its pods; default: every app in the environment"`
	SortBy string `json:"sort_by,omitempty" jsonschema:"enum=cpu,enum=memory" desc:"order apps and pods by cpu (default) or memory usage"`
	Pods   bool   `json:"pods,omitempty" desc:"include each pod's line (always for one app)"`
}

type vpaArgs struct {
	Target
	App        string `json:"app" jsonschema:"required" desc:"application name"`
	UpdateMode string `json:"update_mode" jsonschema:"required,enum=Off,enum=Initial,enum=Recreate,enum=InPlaceOrRecreate" desc:"Off: recommendations only; Initial: set requests when pods start; Recreate: evict pods to apply; InPlaceOrRecreate: resize in place where possible"`
	MinCPU     string `json:"min_cpu,omitempty" desc:"lowest CPU request the VPA may set, e.g. 100m"`
	MaxCPU     string `json:"max_cpu,omitempty" desc:"highest CPU request the VPA may set, e.g. 2"`
	MinMemory  string `json:"min_memory,omitempty" desc:"lowest memory request, e.g. 128Mi"`
	MaxMemory  string `json:"max_memory,omitempty" desc:"highest memory request, e.g. 4Gi"`
	Controlled string `json:"controlled_resources,omitempty" jsonschema:"enum=cpu,enum=memory" desc:"only this resource (default both); memory only can sit beside a CPU HPA"`
}

type metricsArgs struct {
	Target
	App    string `json:"app" jsonschema:"required" desc:"application name"`
	Metric string `json:"metric" jsonschema:"required,enum=cpu,enum=memory,enum=restarts,enum=network_in,enum=network_out,enum=request_rate,enum=error_ratio,enum=latency_p95" desc:"cpu (cores), memory (working set), restarts (per minute), network_in / network_out (bytes/s), request_rate (req/s), error_ratio (5xx share), latency_p95 (seconds); the last three need the app's HTTP server metrics"`
	Range  string `json:"range,omitempty" desc:"how far back from now: 30m, 6h, 2d (default 1h)"`
}

type rightsizeArgs struct {
	Target
	App string `json:"app,omitempty" desc:"application to size; default: every app in the environment"`
}

// laterUsage names what top and rightsize wait for.
const (
	laterUsage     = "usage needs the metrics API client, which is not configured in this server"
	laterRightsize = "right-sizing needs the metering history, which is not configured in this server"
	laterVPA       = "vertical autoscaling is not configured in this server"
	laterMetrics   = "metrics over time need a Prometheus server, which is not configured in this server (prometheus.url)"
)

// SuggestedCall is the call a result proposes; "apply it" makes it, through approval.
type SuggestedCall struct {
	Tool string         `json:"tool"`
	Args map[string]any `json:"args"`
}

// RightsizeResult is rightsize's answer: one app's suggestion with the update_app call that
// applies it, or the environment's.
type RightsizeResult struct {
	*usage.Suggestion
	SuggestedCall *SuggestedCall    `json:"suggested_call,omitempty"`
	Apps          []RightsizeResult `json:"apps,omitempty"`
	Skipped       []usage.Skipped   `json:"skipped,omitempty"`
}

func (d Deps) rightsize(ctx context.Context, c Call, in *rightsizeArgs) (any, error) {
	w := usage.Where{Target: d.target(c), Tenant: c.Tenant, Env: c.Env}
	one := func(s *usage.Suggestion) RightsizeResult {
		r := RightsizeResult{Suggestion: s}
		if s.Refused == "" && (s.CPU.Change != "keep" || s.Memory.Change != "keep") {
			r.SuggestedCall = &SuggestedCall{Tool: toolname.UpdateApp, Args: updateArgsOf(s)}
		}
		return r
	}
	if in.App != "" {
		s, err := d.Sizer.Suggest(ctx, w, in.App)
		if err != nil {
			return nil, err
		}
		return one(s), nil
	}
	all, skipped, err := d.Sizer.SuggestAll(ctx, w)
	if err != nil {
		return nil, err
	}
	out := RightsizeResult{Skipped: skipped}
	for _, s := range all {
		out.Apps = append(out.Apps, one(s))
	}
	return out, nil
}

// updateArgsOf is the update_app call that sets a suggestion's resources and keeps the rest of
// the app's configuration; its version makes it fail if the app changed meanwhile.
func updateArgsOf(s *usage.Suggestion) map[string]any {
	c := s.Config
	args := map[string]any{"app": s.App, "image": c.Image, "replicas": c.Replicas, "version": s.Version, "resources": s.Resources}
	if len(c.Command) > 0 {
		args["command"] = c.Command
	}
	if len(c.Args) > 0 {
		args["args"] = c.Args
	}
	if len(c.Env) > 0 {
		args["env_vars"] = c.Env
	}
	if len(c.Ports) > 0 {
		args["ports"] = c.Ports
	}
	if c.Readiness != nil {
		args["readiness"] = c.Readiness
	}
	if c.Liveness != nil {
		args["liveness"] = c.Liveness
	}
	return args
}

func (d Deps) usageTools() []*Tool {
	return []*Tool{
		unless(d.Usage != nil, laterUsage,
			define[topArgs](Spec{Name: toolname.Top, Desc: "CPU and memory actually used (metrics API) against requests and limits, per app and per pod, with the environment's totals; sorted by cpu or memory.", Risk: ReadOnly, Role: tenant.Viewer,
				Examples: []string{"payment 用了多少 CPU", "which of our apps uses the most memory?", "kubectl top pods for checkout", "哪个应用最费内存"},
				Intents: []Intent{
					{Verbs: []string{"用了多少", "用多少", "使用量", "用量", "占用", "消耗了", "最费", "最耗", "最吃", "使用率", "利用率", "资源使用",
						"usage", "uses the most", "using the most", "use the most", "top!", "how much cpu", "how much memory", "utilization", "utilisation",
						"consum", "hog", "eating"},
						Not: []string{"quota", "配额", "bill", "账单", "费用", "花了", "钱"}, Weight: 7},
					// How close usage runs to a limit or request: "near its cpu limit", "快到内存上限了吗".
					{Verbs: []string{"near", "close to", "hitting", "接近", "快到", "快满"}, Needs: []string{"limit", "上限", "request", "限制"},
						Not: []string{"quota", "配额"}, Weight: 7},
				}},
				func(ctx context.Context, c Call, in *topArgs, _ bool) (any, error) {
					rep, err := d.Usage.Top(ctx, d.target(c), usage.Options{App: in.App, SortBy: in.SortBy, Pods: in.Pods})
					if err != nil {
						return nil, err
					}
					return topView(rep), nil
				}))[0],
		unless(d.Sizer != nil, laterRightsize,
			define[rightsizeArgs](Spec{Name: toolname.Rightsize, Desc: "Right-size requests and limits from metered usage (CPU at its p95, memory at its peak, with headroom): the suggestion and the update_app call that applies it through approval.", Risk: ReadOnly, Role: tenant.Viewer,
				Examples: []string{"are we over-provisioned?", "right-size payment", "checkout 的 requests 应该设多少"},
				Intents: []Intent{
					{Verbs: []string{"right-siz", "rightsiz", "right siz", "over-provision", "overprovision", "under-provision", "oversiz", "over-sized",
						"申请多了", "给多了", "要多了", "资源浪费", "浪费资源", "合适的 request", "合适的request", "应该设多少", "该设多少", "设多少合适", "估一下",
						"krr", "wasting", "too much cpu requested", "too much memory requested"}, Weight: 8},
					{Verbs: []string{"should", "应该", "合适", "建议"}, Needs: []string{"request", "limit", "requests", "limits"}, Not: []string{"quota", "配额"}, Weight: 8},
				}},
				func(ctx context.Context, c Call, in *rightsizeArgs, _ bool) (any, error) {
					return d.rightsize(ctx, c, in)
				}))[0],
		unless(d.Metrics != nil, laterMetrics,
			define[metricsArgs](Spec{Name: toolname.QueryMetrics, Desc: "An application's metric over time from Prometheus (named queries, never PromQL): CPU, memory, restarts, network IO, and, where the app exposes HTTP server metrics, request rate, 5xx ratio and p95 latency; a small series with min, avg, max and its trend.", Risk: ReadOnly, Role: tenant.Viewer,
				Examples: []string{"payment p95 latency over the last 6 hours", "checkout 的错误率", "how many requests per second does web-api get", "payment 最近一天的网络流量"},
				Intents: []Intent{
					{Verbs: []string{"latency", "p95", "p99", "response time", "5xx", "error rate", "error ratio", "qps", "rps", "req/s", "requests per second", "request rate", "throughput",
						"network io", "network traffic", "bandwidth", "bytes sent", "bytes received", "restart rate", "over time", "graph", "chart", "trend", "sparkline",
						"延迟", "时延", "响应时间", "耗时", "错误率", "报错率", "失败率", "请求量", "请求数", "访问量", "吞吐", "网络流量", "网络io", "带宽", "趋势", "曲线", "走势", "监控图", "指标"},
						Not: []string{"quota", "配额", "bill", "账单"}, Required: []string{"app", "metric"}, Weight: 2},
					// What is measured, over a window of time: "nginx cpu over the last 2 minutes", "内存 过去一小时".
					{Verbs: []string{"cpu", "memory", "内存", "restarts", "重启", "network", "网络", "requests", "请求", "errors", "错误"},
						Needs: []string{"last", "past", "over the", "since", "today", "yesterday", "最近", "过去", "今天", "昨天", "以来"},
						Not:   []string{"quota", "配额", "bill", "账单", "log", "日志"}, Required: []string{"app", "metric"}, Weight: 2},
				}},
				func(ctx context.Context, c Call, in *metricsArgs, _ bool) (any, error) {
					r, err := d.Metrics.Range("range", in.Range)
					if err != nil {
						return nil, err
					}
					return d.Metrics.Query(ctx, metrics.Request{Namespace: c.Namespace, App: in.App, Query: in.Metric, Range: r})
				}))[0],
		unless(d.VPA != nil, laterVPA,
			define[appArgs](Spec{Name: toolname.GetVPA, Desc: "An application's VerticalPodAutoscaler: update mode, bounds and the recommender's target requests (where the VPA CRD is installed).", Risk: ReadOnly, Role: tenant.Viewer,
				Examples: []string{"what does the vpa recommend for payment", "checkout 的 VPA 推荐值"},
				Intents: []Intent{
					{Verbs: []string{"vpa", "vertical pod autoscal", "vertical autoscal", "垂直扩缩", "垂直伸缩"}, Not: []string{"set", "enable", "turn on", "开启", "启用", "配置", "设置", "mode"}, Required: []string{"app"}, Weight: 8},
				}},
				func(ctx context.Context, c Call, in *appArgs, _ bool) (any, error) {
					return d.VPA.Get(ctx, d.target(c), in.App)
				}))[0],
		unless(d.VPA != nil, laterVPA,
			define[vpaArgs](Spec{Name: toolname.SetVPA, Desc: "Create or change an application's VerticalPodAutoscaler (update mode Off, Initial, Recreate or InPlaceOrRecreate; optional bounds). Refused beside an HPA that scales on the same resource.", Risk: Mutating, Role: tenant.Developer,
				Examples: []string{"set up a vpa for payment in recommend-only mode", "给 checkout 开 VPA，模式 Recreate"},
				Intents: []Intent{
					{Verbs: []string{"vpa", "vertical pod autoscal", "vertical autoscal", "垂直扩缩", "垂直伸缩"}, Needs: []string{"set", "enable", "turn on", "create", "add", "开启", "启用", "开", "配置", "设置", "mode", "模式"}, Required: []string{"app", "update_mode"}, Weight: 9},
				}},
				func(ctx context.Context, c Call, in *vpaArgs, dry bool) (any, error) {
					return d.VPA.Set(ctx, d.target(c), in.App, vpa.Spec{Mode: in.UpdateMode, MinCPU: in.MinCPU, MaxCPU: in.MaxCPU,
						MinMemory: in.MinMemory, MaxMemory: in.MaxMemory, Controlled: in.Controlled}, wopts(dry))
				}))[0],
	}
}

// TopLine is one line of top's answer: the numbers, and the same amounts written as people
// read them.
type TopLine struct {
	usage.Line
	CPU    string `json:"cpu"`    // "120m used / 500m requested / 1 limit"
	Memory string `json:"memory"` // "300Mi used / 512Mi requested / no limit"
}

// TopResult is top's answer.
type TopResult struct {
	Namespace   string    `json:"namespace"`
	SortedBy    string    `json:"sorted_by"`
	Apps        []TopLine `json:"apps"`
	Pods        []TopLine `json:"pods,omitempty"`
	Total       TopLine   `json:"total"`
	Window      string    `json:"window,omitempty"`
	At          time.Time `json:"at,omitzero"`
	Unavailable string    `json:"unavailable,omitempty"`
}

func topView(r *usage.Report) TopResult {
	line := func(l usage.Line) TopLine {
		t := TopLine{Line: l}
		unmeasured := l.Measured == 0
		t.CPU = amount(usage.CPU(l.Usage.CPUMilli), usage.CPU(l.Requests.CPUMilli), usage.CPU(l.Limits.CPUMilli),
			l.Requests.CPUMilli, l.Limits.CPUMilli, l.CPUOfRequest, unmeasured)
		t.Memory = amount(usage.Memory(l.Usage.MemoryBytes), usage.Memory(l.Requests.MemoryBytes), usage.Memory(l.Limits.MemoryBytes),
			l.Requests.MemoryBytes, l.Limits.MemoryBytes, l.MemoryOfRequest, unmeasured)
		return t
	}
	out := TopResult{Namespace: r.Namespace, SortedBy: r.SortedBy, Window: r.Window, At: r.At, Unavailable: r.Unavailable, Total: line(r.Total)}
	for _, l := range r.Apps {
		out.Apps = append(out.Apps, line(l))
	}
	for _, l := range r.Pods {
		out.Pods = append(out.Pods, line(l))
	}
	return out
}

func amount(used, req, lim string, reqN, limN int64, pct int, unmeasured bool) string {
	s := used + " used"
	if unmeasured {
		s = "usage not reported yet"
	}
	if reqN > 0 {
		s += " / " + req + " requested"
		if !unmeasured {
			s += fmt.Sprintf(" (%d%%)", pct)
		}
	} else {
		s += " / no request"
	}
	if limN > 0 {
		s += " / " + lim + " limit"
	} else {
		s += " / no limit"
	}
	return s
}
