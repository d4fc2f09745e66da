// Package report turns eval results into results.jsonl, summary.json, a Markdown report, a
// self-contained HTML report with charts, a console table, and threshold checks.
package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"k8s-manage/agent"
	"k8s-manage/evals/dataset"
	"k8s-manage/evals/runner"
)

// KindScore is a kind's pass count.
type KindScore struct {
	Cases  int     `json:"cases"`
	Passed int     `json:"passed"`
	Rate   float64 `json:"rate"`
}

// RetrievalScore are the retrieval metrics (over expected ids).
type RetrievalScore struct {
	RecallAt1 float64 `json:"recall_at_1"`
	RecallAt5 float64 `json:"recall_at_5"`
	MRR       float64 `json:"mrr"`
}

// ModelScore is one model's side of the comparison.
type ModelScore struct {
	Cases        int                  `json:"cases"`
	Passed       int                  `json:"passed"`
	ByKind       map[string]KindScore `json:"by_kind"`
	LatencyP50MS int64                `json:"latency_p50_ms"`
	LatencyP95MS int64                `json:"latency_p95_ms"`
	TokensIn     int64                `json:"tokens_in"`
	TokensOut    int64                `json:"tokens_out"`
	Cost         float64              `json:"cost"`
	// Bound of BoundOf cases that expect tool calls had every needed tool's schema on the
	// model's first step.
	Bound   int `json:"bound_first_step"`
	BoundOf int `json:"bound_first_step_of"`
}

// Summary is summary.json.
type Summary struct {
	Cases     int                   `json:"cases"`
	Passed    int                   `json:"passed"`
	ByKind    map[string]KindScore  `json:"by_kind"`
	Retrieval RetrievalScore        `json:"retrieval"`
	Models    []string              `json:"models"`
	ByModel   map[string]ModelScore `json:"by_model"`
	Repeat    int                   `json:"repeat"`
	Started   time.Time             `json:"started"`
	Seconds   float64               `json:"seconds"`
	Currency  string                `json:"currency,omitempty"`
}

func rate(p, n int) float64 {
	if n == 0 {
		return 0
	}
	return math.Round(float64(p)/float64(n)*1000) / 1000
}

func percentile(ms []int64, p float64) int64 {
	if len(ms) == 0 {
		return 0
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// Summarize scores results.
func Summarize(rs []runner.Result, models []string, repeat int, started time.Time) Summary {
	s := Summary{ByKind: map[string]KindScore{}, Models: models, ByModel: map[string]ModelScore{}, Repeat: repeat, Started: started,
		Seconds: math.Round(time.Since(started).Seconds()*10) / 10}
	lat := map[string][]int64{}
	var r1, r5, mrr float64
	var nRet int
	for _, r := range rs {
		s.Cases++
		k := s.ByKind[r.Kind]
		k.Cases++
		m := s.ByModel[r.Model]
		if m.ByKind == nil {
			m.ByKind = map[string]KindScore{}
		}
		mk := m.ByKind[r.Kind]
		mk.Cases++
		m.Cases++
		if r.Pass {
			s.Passed++
			k.Passed++
			mk.Passed++
			m.Passed++
		}
		if r.Bound != nil {
			m.BoundOf++
			if *r.Bound {
				m.Bound++
			}
		}
		m.TokensIn += r.TokensIn
		m.TokensOut += r.TokensOut
		m.Cost += r.Cost
		if r.Kind != dataset.Retrieval {
			lat[r.Model] = append(lat[r.Model], r.LatencyMS)
		} else {
			nRet++
			if r.Rank == 1 {
				r1++
			}
			if r.Rank >= 1 && r.Rank <= 5 {
				r5++
				mrr += 1 / float64(r.Rank)
			}
		}
		mk.Rate = rate(mk.Passed, mk.Cases)
		m.ByKind[r.Kind] = mk
		s.ByModel[r.Model] = m
		k.Rate = rate(k.Passed, k.Cases)
		s.ByKind[r.Kind] = k
	}
	for name, m := range s.ByModel {
		m.LatencyP50MS, m.LatencyP95MS = percentile(lat[name], 0.5), percentile(lat[name], 0.95)
		m.Cost = math.Round(m.Cost*10000) / 10000
		s.ByModel[name] = m
	}
	if nRet > 0 {
		s.Retrieval = RetrievalScore{RecallAt1: rate(int(r1), nRet), RecallAt5: rate(int(r5), nRet), MRR: math.Round(mrr/float64(nRet)*1000) / 1000}
	}
	return s
}

// Write saves results.jsonl, summary.json, report.md and report.html in dir.
func Write(dir string, rs []runner.Result, s Summary) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	var jl strings.Builder
	for _, r := range rs {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		jl.Write(b)
		jl.WriteByte('\n')
	}
	sb, _ := json.MarshalIndent(s, "", "  ")
	files := map[string]string{"results.jsonl": jl.String(), "summary.json": string(sb) + "\n", "report.md": Markdown(rs, s)}
	html, err := HTML(rs, s)
	if err != nil {
		return err
	}
	files["report.html"] = html
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o640); err != nil {
			return err
		}
	}
	return nil
}

func kinds(s Summary) []string {
	var out []string
	for _, k := range dataset.Kinds {
		if _, ok := s.ByKind[k]; ok {
			out = append(out, k)
		}
	}
	return out
}

// Table is the console table: pass rates per kind and model, latency, tokens and cost.
func Table(s Summary) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	head := []string{"model"}
	for _, k := range kinds(s) {
		head = append(head, k)
	}
	head = append(head, "all", "bound@1", "p50 ms", "p95 ms", "tokens in/out", "cost")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, name := range s.Models {
		m := s.ByModel[name]
		row := []string{name}
		for _, k := range kinds(s) {
			ks := m.ByKind[k]
			row = append(row, fmt.Sprintf("%d/%d %.2f", ks.Passed, ks.Cases, ks.Rate))
		}
		row = append(row, fmt.Sprintf("%d/%d %.2f", m.Passed, m.Cases, rate(m.Passed, m.Cases)), boundCell(m), strconv.FormatInt(m.LatencyP50MS, 10),
			strconv.FormatInt(m.LatencyP95MS, 10), fmt.Sprintf("%d/%d", m.TokensIn, m.TokensOut), fmt.Sprintf("%.4f", m.Cost))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	if _, ok := s.ByKind[dataset.Retrieval]; ok {
		fmt.Fprintf(&b, "retrieval (hybrid, top 5): recall@1 %.3f  recall@5 %.3f  MRR %.3f\n", s.Retrieval.RecallAt1, s.Retrieval.RecallAt5, s.Retrieval.MRR)
	}
	return b.String()
}

// boundCell is the share of cases whose needed tools were bound on the first step ("-": none
// expected a tool).
func boundCell(m ModelScore) string {
	if m.BoundOf == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d %.2f", m.Bound, m.BoundOf, rate(m.Bound, m.BoundOf))
}

// Markdown is report.md.
func Markdown(rs []runner.Result, s Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# k8s-manage eval report\n\n%s, %d results (%d cases × %d model(s) × %d repeat(s)), %d passed, %.1fs.\n\n",
		s.Started.UTC().Format(time.RFC3339), s.Cases, s.Cases/max(1, len(s.Models)*max(1, s.Repeat)), len(s.Models), s.Repeat, s.Passed, s.Seconds)
	b.WriteString("## Pass rates by kind and model\n\n| model |")
	for _, k := range kinds(s) {
		b.WriteString(" " + k + " |")
	}
	b.WriteString(" all | needed tool bound on the first step | latency p50 / p95 ms | tokens in / out | cost |\n|---|")
	for range kinds(s) {
		b.WriteString("---|")
	}
	b.WriteString("---|---|---|---|---|\n")
	for _, name := range s.Models {
		m := s.ByModel[name]
		fmt.Fprintf(&b, "| %s |", name)
		for _, k := range kinds(s) {
			ks := m.ByKind[k]
			fmt.Fprintf(&b, " %.2f (%d/%d) |", ks.Rate, ks.Passed, ks.Cases)
		}
		fmt.Fprintf(&b, " %.2f | %s | %d / %d | %d / %d | %.4f %s |\n", rate(m.Passed, m.Cases), boundCell(m), m.LatencyP50MS, m.LatencyP95MS, m.TokensIn, m.TokensOut, m.Cost, s.Currency)
	}
	if _, ok := s.ByKind[dataset.Retrieval]; ok {
		fmt.Fprintf(&b, "\nRetrieval (hybrid, top 5): recall@1 %.3f, recall@5 %.3f, MRR %.3f.\n", s.Retrieval.RecallAt1, s.Retrieval.RecallAt5, s.Retrieval.MRR)
	}
	b.WriteString(groupTable(rs))
	b.WriteString(diagnosisTable(rs))
	b.WriteString("\n## Failures\n\n")
	n := 0
	for _, r := range rs {
		if r.Pass {
			continue
		}
		n++
		fmt.Fprintf(&b, "### %s (%s, %s, repeat %d)\n\n- input: %s\n", r.ID, r.Kind, r.Model, r.Repeat, r.Input)
		if r.Direct != nil && !r.Direct.Pass {
			fmt.Fprintf(&b, "- direct diagnose: top finding %q\n", r.Direct.TopFinding)
			for _, f := range r.Direct.Failures {
				fmt.Fprintf(&b, "  - direct: %s\n", f)
			}
		}
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "- %s\n", f)
		}
		if len(r.Transcript) > 0 {
			b.WriteString("\n```\n" + transcript(r) + "\n```\n")
		}
		b.WriteString("\n")
	}
	if n == 0 {
		b.WriteString("None.\n")
	}
	return b.String()
}

func transcript(r runner.Result) string {
	var lines []string
	text := ""
	for _, e := range r.Transcript {
		switch e.Type {
		case "text_delta":
			text += e.Text
			continue
		case "tool_started":
			lines = append(lines, fmt.Sprintf("tool %s %s", e.Tool, e.Args))
		case "tool_finished":
			lines = append(lines, fmt.Sprintf("  -> %s", truncate(e.Result, 240)))
		case "approval_requested", "approval_decided":
			lines = append(lines, string(e.Type)+": "+e.Text)
		case "final":
			lines = append(lines, "answer: "+truncate(e.Text, 600))
		case "error":
			lines = append(lines, "error: "+e.Error)
		}
	}
	if text != "" && !slices.ContainsFunc(r.Transcript, func(e agent.Event) bool { return e.Type == "final" }) {
		lines = append(lines, "partial answer: "+truncate(text, 600))
	}
	return strings.Join(lines, "\n")
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// bar is one bar of a chart.
type bar struct {
	Label  string
	Series string
	Value  float64
	X, W   float64
	Y, H   float64
	Color  string
	Text   string
}

var palette = []string{"#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2"}

// chart lays out grouped bars (groups × series) in a 640×220 SVG.
func chart(groups, series []string, value func(g, s string) float64, maxV float64, format string) []bar {
	var out []bar
	gw := 600.0 / float64(max(1, len(groups)))
	bw := (gw - 16) / float64(max(1, len(series)))
	for gi, g := range groups {
		for si, sname := range series {
			v := value(g, sname)
			h := 0.0
			if maxV > 0 {
				h = v / maxV * 170
			}
			out = append(out, bar{Label: g, Series: sname, Value: v, X: 30 + float64(gi)*gw + 8 + float64(si)*bw, W: bw - 2, Y: 190 - h, H: h,
				Color: palette[si%len(palette)], Text: fmt.Sprintf(format, v)})
		}
	}
	return out
}

var page = template.Must(template.New("r").Funcs(template.FuncMap{"pct": func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>k8s-manage eval report</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#111827;padding:0 16px}
table{border-collapse:collapse;width:100%;margin:8px 0 20px}th,td{border-bottom:1px solid #e5e7eb;padding:6px 8px;text-align:left;vertical-align:top}
.fail{color:#b91c1c}.pass{color:#15803d}pre{background:#111827;color:#e5e7eb;padding:8px;border-radius:6px;overflow-x:auto;font-size:12px;white-space:pre-wrap}
details{margin:6px 0}summary{cursor:pointer}.legend span{display:inline-block;margin-right:12px}.sw{display:inline-block;width:10px;height:10px;margin-right:4px}
</style></head><body>
<h1>k8s-manage eval report</h1>
<p>{{.S.Started.UTC.Format "2006-01-02 15:04 MST"}} · {{.S.Cases}} results · {{.S.Passed}} passed · {{.S.Seconds}}s · repeat {{.S.Repeat}}</p>
<h2>Pass rate by kind</h2>
<div class="legend">{{range $i, $m := .S.Models}}<span><i class="sw" style="background:{{index $.Palette $i}}"></i>{{$m}}</span>{{end}}</div>
<svg width="640" height="230" role="img" aria-label="pass rate by kind and model">
<line x1="30" y1="190" x2="630" y2="190" stroke="#9ca3af"/>
{{range .Pass}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{.Color}}"><title>{{.Series}} {{.Label}}: {{.Text}}</title></rect>
<text x="{{.X}}" y="{{.Y}}" dy="-3" font-size="10">{{.Text}}</text>{{end}}
{{range $i, $k := .Kinds}}<text x="{{index $.KindX $i}}" y="206" font-size="12">{{$k}}</text>{{end}}
</svg>
<h2>Models side by side</h2>
<table><tr><th>model</th>{{range .Kinds}}<th>{{.}}</th>{{end}}<th>all</th><th>bound@1</th><th>latency p50 / p95 ms</th><th>tokens in / out</th><th>cost</th></tr>
{{range .Rows}}<tr><td>{{.Name}}</td>{{range .Kinds}}<td>{{pct .Rate}} ({{.Passed}}/{{.Cases}})</td>{{end}}<td>{{pct .All}}</td><td>{{.Bound}}</td><td>{{.P50}} / {{.P95}}</td><td>{{.In}} / {{.Out}}</td><td>{{printf "%.4f" .Cost}} {{$.S.Currency}}</td></tr>{{end}}
</table>
<h2>Latency (turns, ms)</h2>
<svg width="640" height="230" role="img" aria-label="latency p50 and p95 by model">
<line x1="30" y1="190" x2="630" y2="190" stroke="#9ca3af"/>
{{range .Lat}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{.Color}}"><title>{{.Label}} {{.Series}}: {{.Text}} ms</title></rect>
<text x="{{.X}}" y="{{.Y}}" dy="-3" font-size="10">{{.Series}} {{.Text}}</text>{{end}}
{{range $i, $m := .S.Models}}<text x="{{index $.ModelX $i}}" y="206" font-size="12">{{$m}}</text>{{end}}
</svg>
{{if .HasRetrieval}}<p>Retrieval (hybrid, top 5): recall@1 {{printf "%.3f" .S.Retrieval.RecallAt1}}, recall@5 {{printf "%.3f" .S.Retrieval.RecallAt5}}, MRR {{printf "%.3f" .S.Retrieval.MRR}}.</p>{{end}}
<h2>Failures ({{len .Failures}})</h2>
{{range .Failures}}<details><summary><b>{{.R.ID}}</b> · {{.R.Kind}} · {{.R.Model}} · <span class="fail">{{index .R.Failures 0}}</span></summary>
<p>input: {{.R.Input}}</p><ul>{{range .R.Failures}}<li>{{.}}</li>{{end}}</ul>{{if .T}}<pre>{{.T}}</pre>{{end}}</details>
{{else}}<p class="pass">No failures.</p>{{end}}
</body></html>
`))

type row struct {
	Name     string
	Kinds    []KindScore
	All      float64
	P50, P95 int64
	Bound    string
	In, Out  int64
	Cost     float64
}

type failure struct {
	R runner.Result
	T string
}

// HTML is report.html: self-contained (inline CSS and SVG charts, no scripts).
func HTML(rs []runner.Result, s Summary) (string, error) {
	ks := kinds(s)
	data := map[string]any{"S": s, "Kinds": ks, "Palette": palette}
	data["Pass"] = chart(ks, s.Models, func(k, m string) float64 { return s.ByModel[m].ByKind[k].Rate }, 1, "%.2f")
	var kx []float64
	for i := range ks {
		kx = append(kx, 30+float64(i)*600/float64(max(1, len(ks)))+8)
	}
	data["KindX"] = kx
	maxLat := 1.0
	for _, m := range s.ByModel {
		maxLat = math.Max(maxLat, float64(m.LatencyP95MS))
	}
	data["Lat"] = chart(s.Models, []string{"p50", "p95"}, func(m, p string) float64 {
		if p == "p50" {
			return float64(s.ByModel[m].LatencyP50MS)
		}
		return float64(s.ByModel[m].LatencyP95MS)
	}, maxLat, "%.0f")
	var mx []float64
	for i := range s.Models {
		mx = append(mx, 30+float64(i)*600/float64(max(1, len(s.Models)))+8)
	}
	data["ModelX"] = mx
	var rows []row
	for _, name := range s.Models {
		m := s.ByModel[name]
		r := row{Name: name, All: rate(m.Passed, m.Cases), P50: m.LatencyP50MS, P95: m.LatencyP95MS, Bound: boundCell(m), In: m.TokensIn, Out: m.TokensOut, Cost: m.Cost}
		for _, k := range ks {
			r.Kinds = append(r.Kinds, m.ByKind[k])
		}
		rows = append(rows, r)
	}
	data["Rows"] = rows
	var fs []failure
	for _, r := range rs {
		if !r.Pass {
			fs = append(fs, failure{R: r, T: transcript(r)})
		}
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].R.Kind < fs[j].R.Kind })
	data["Failures"] = fs
	_, data["HasRetrieval"] = s.ByKind[dataset.Retrieval]
	var b strings.Builder
	if err := page.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Threshold is a --min-pass kind=rate.
type Threshold struct {
	Kind string
	Rate float64
}

// ParseThreshold reads "kind=rate".
func ParseThreshold(s string) (Threshold, error) {
	k, v, ok := strings.Cut(s, "=")
	r, err := strconv.ParseFloat(v, 64)
	if !ok || err != nil || r < 0 || r > 1 || !(slices.Contains(dataset.Kinds, k) || k == "all") {
		return Threshold{}, fmt.Errorf("--min-pass %q: use KIND=RATE with a kind of %s or all, and a rate between 0 and 1", s, strings.Join(dataset.Kinds, ", "))
	}
	return Threshold{Kind: k, Rate: r}, nil
}

// Check returns the thresholds a model missed.
func Check(s Summary, ts []Threshold) []string {
	var out []string
	for _, name := range s.Models {
		m := s.ByModel[name]
		for _, t := range ts {
			got := rate(m.Passed, m.Cases)
			if t.Kind != "all" {
				ks, ok := m.ByKind[t.Kind]
				if !ok {
					out = append(out, fmt.Sprintf("%s: no %s cases ran (threshold %.2f)", name, t.Kind, t.Rate))
					continue
				}
				got = ks.Rate
			}
			if got < t.Rate {
				out = append(out, fmt.Sprintf("%s: %s pass rate %.3f is below %.2f", name, t.Kind, got, t.Rate))
			}
		}
	}
	return out
}

// diagnosisTable compares, per fault kind, diagnosis cases through chat (the model chose the
// call) and through the diagnose tool directly on the case's scope: "" when no case ran both.
func diagnosisTable(rs []runner.Result) string {
	type cell struct{ chat, direct, n int }
	cells := map[[2]string]*cell{}
	var groups, models []string
	for _, r := range rs {
		if r.Direct == nil {
			continue
		}
		g := cmp.Or(r.Group, r.ID)
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
		if !slices.Contains(models, r.Model) {
			models = append(models, r.Model)
		}
		for _, k := range [][2]string{{r.Model, g}, {r.Model, ""}} {
			if cells[k] == nil {
				cells[k] = &cell{}
			}
			cells[k].n++
			if r.Pass {
				cells[k].chat++
			}
			if r.Direct.Pass {
				cells[k].direct++
			}
		}
	}
	if len(groups) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## Diagnosis by fault kind: through chat, and through diagnose directly\n\n| model | fault kind | cases | chat | direct |\n|---|---|---|---|---|\n")
	for _, m := range models {
		for _, g := range append(groups, "") {
			c := cells[[2]string{m, g}]
			if c == nil {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %d/%d | %d/%d |\n", m, cmp.Or(g, "**total**"), c.n, c.chat, c.n, c.direct, c.n)
		}
	}
	return b.String()
}

// groupTable is the pass rate of the cases that name a group, per group and language (per
// model when there are several): "" when no case names one.
func groupTable(rs []runner.Result) string {
	type cell struct{ pass, n int }
	cells := map[[3]string]*cell{}
	var groups, models []string
	for _, r := range rs {
		if r.Group == "" {
			continue
		}
		if !slices.Contains(groups, r.Group) {
			groups = append(groups, r.Group)
		}
		if !slices.Contains(models, r.Model) {
			models = append(models, r.Model)
		}
		for _, lang := range []string{r.Lang, "all"} {
			k := [3]string{r.Model, r.Group, lang}
			if cells[k] == nil {
				cells[k] = &cell{}
			}
			cells[k].n++
			if r.Pass {
				cells[k].pass++
			}
		}
	}
	if len(groups) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## Pass rates by group and language\n\n| model | group | zh | en | all |\n|---|---|---|---|---|\n")
	for _, m := range models {
		for _, g := range append(groups, "") {
			fmt.Fprintf(&b, "| %s | %s |", m, cmp.Or(g, "**total**"))
			for _, lang := range []string{"zh", "en", "all"} {
				p, n := 0, 0
				for _, gg := range groups {
					if c := cells[[3]string{m, gg, lang}]; c != nil && (g == "" || gg == g) {
						p, n = p+c.pass, n+c.n
					}
				}
				if n == 0 {
					b.WriteString(" – |")
					continue
				}
				fmt.Fprintf(&b, " %d/%d |", p, n)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
