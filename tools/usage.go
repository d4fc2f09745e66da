package tools

import (
	"context"
	"fmt"
	"time"

	"k8s-manage/internal/toolname"
	"k8s-manage/platform/tenant"
	"k8s-manage/platform/usage"
)

type topArgs struct {
	Target
	App    string `json:"app,omitempty" desc:"application name: its pods; default: every app in the environment"`
	SortBy string `json:"sort_by,omitempty" jsonschema:"enum=cpu,enum=memory" desc:"order apps and pods by cpu (default) or memory usage"`
	Pods   bool   `json:"pods,omitempty" desc:"include each pod's line (always for one app)"`
}

// laterUsage names what top waits for.
const laterUsage = "usage needs the metrics API client, which is not configured in this server"

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
