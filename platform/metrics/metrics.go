// Package metrics answers named, safe questions about an app from a Prometheus HTTP API:
// its CPU, memory, restarts and network IO, and, where the app exposes the usual HTTP server
// metrics, its request rate, 5xx ratio and p95 latency.
//
// The PromQL is built here, never taken from a caller or a model: the app name is checked as
// a Kubernetes name, and the namespace matcher always comes from the authorized target, so a
// query can only ever read the caller's own namespace.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"k8s-manage/internal/redact"
	"k8s-manage/platform/perr"
)

// Options configures a Client. Zero values take the defaults shown.
type Options struct {
	// URL is the Prometheus server (http://prometheus:9090); required.
	URL string
	// Timeout bounds each query (default 5s), so a slow Prometheus never stalls a turn.
	Timeout time.Duration
	// MaxRange is the longest range a query may ask for (default 7 days).
	MaxRange time.Duration
	// ScrapeInterval is how often Prometheus scrapes the targets (default 30s); rates are taken
	// over at least four of them.
	ScrapeInterval time.Duration
	// Points is about how many points a series has (default 60).
	Points int
	// NamespaceLabel and PodLabel are the labels that carry a series' namespace and pod (default
	// "namespace" and "pod", as cAdvisor, kube-state-metrics and the usual pod relabeling give).
	NamespaceLabel, PodLabel string
	// TrendRange is how far back diagnosis looks for a jump in restarts, 5xx ratio or latency
	// (default 1h).
	TrendRange time.Duration
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
	// Now returns the current time (tests; default time.Now).
	Now func() time.Time
}

// Client runs the named queries.
type Client struct {
	api  promv1.API
	opts Options
	host string
}

// New builds a client; the URL must be an http(s) address.
func New(o Options) (*Client, error) {
	if o.URL == "" {
		return nil, errors.New("metrics: prometheus url is required")
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MaxRange <= 0 {
		o.MaxRange = 7 * 24 * time.Hour
	}
	if o.ScrapeInterval <= 0 {
		o.ScrapeInterval = 30 * time.Second
	}
	if o.TrendRange <= 0 {
		o.TrendRange = time.Hour
	}
	if o.Points <= 0 {
		o.Points = 60
	}
	if o.NamespaceLabel == "" {
		o.NamespaceLabel = "namespace"
	}
	if o.PodLabel == "" {
		o.PodLabel = "pod"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	rt := o.Transport
	if rt == nil {
		rt = &http.Transport{Proxy: http.ProxyFromEnvironment, DialContext: (&net.Dialer{Timeout: o.Timeout}).DialContext,
			ResponseHeaderTimeout: o.Timeout, MaxIdleConnsPerHost: 4}
	}
	c, err := api.NewClient(api.Config{Address: o.URL, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("metrics: prometheus url: %w", err)
	}
	return &Client{api: promv1.NewAPI(c), opts: o, host: hostOf(o.URL)}, nil
}

// MaxRange is the longest range a query may cover.
func (c *Client) MaxRange() time.Duration { return c.opts.MaxRange }

// Point is one sample of a series.
type Point struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// Series is a named query's answer: a small series and what a person reads off it.
type Series struct {
	Query     string `json:"query"`
	Title     string `json:"title"`
	App       string `json:"app"`
	Namespace string `json:"namespace"`
	// Unit is what the values count: cores, bytes, restarts/min, bytes/s, req/s, ratio, seconds.
	Unit   string  `json:"unit"`
	Range  string  `json:"range"`
	Step   string  `json:"step"`
	Points []Point `json:"points"`
	Min    float64 `json:"min"`
	Avg    float64 `json:"avg"`
	Max    float64 `json:"max"`
	Last   float64 `json:"last"`
	// Trend is rising, falling, steady or spiky, comparing the first and last thirds.
	Trend string `json:"trend,omitempty"`
	// Text is now, avg, min and max written in the unit, as people read them.
	Text Text `json:"text"`
	// Summary is the answer in one line ("CPU of payment over 1h: avg 250m, max 260m, steady").
	Summary string `json:"summary"`
	// NoData says why there are no points (the app exposes no such metric, or is not scraped).
	NoData string `json:"no_data,omitempty"`
}

// Text is a series' figures written in its unit ("250m", "1.2Mi/s", "3.4%", "180ms").
type Text struct {
	Now string `json:"now"`
	Avg string `json:"avg"`
	Min string `json:"min"`
	Max string `json:"max"`
}

// Request is one question: which query, about which app, over how long.
type Request struct {
	// Namespace is the authorized caller's namespace: every selector carries it.
	Namespace string
	App       string
	Query     string
	// Range is how far back from now (default 1h).
	Range time.Duration
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Range parses a range as people and Prometheus write it ("30m", "6h", "2d", "1w") and checks
// it against the maximum; field names the input in the error.
func (c *Client) Range(field, s string) (time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return time.Hour, nil
	}
	d, err := model.ParseDuration(strings.TrimSpace(s))
	if err != nil || d <= 0 {
		return 0, perr.Invalidf(field, "%q is not a duration like 30m, 6h or 2d", s)
	}
	if time.Duration(d) > c.opts.MaxRange {
		return 0, perr.Invalidf(field, "%s is longer than the %s this server allows", s, model.Duration(c.opts.MaxRange))
	}
	return time.Duration(d), nil
}

// Query runs one named query over its range, ending now.
func (c *Client) Query(ctx context.Context, r Request) (*Series, error) {
	def, ok := lookup(r.Query)
	if !ok {
		return nil, perr.Invalidf("metric", "unknown metric %q; one of %s", r.Query, strings.Join(Names(), ", "))
	}
	if !dnsLabel.MatchString(r.App) || len(r.App) > 63 {
		return nil, perr.Invalidf("app", "%q is not an application name", r.App)
	}
	if !dnsLabel.MatchString(r.Namespace) {
		return nil, perr.New(perr.Internal, "metrics: no namespace for the caller")
	}
	if r.Range <= 0 {
		r.Range = time.Hour
	}
	if r.Range > c.opts.MaxRange {
		return nil, perr.Invalidf("range", "%s is longer than the %s this server allows", model.Duration(r.Range), model.Duration(c.opts.MaxRange))
	}
	step := c.step(r.Range)
	promql := def.build(c.selector(r.Namespace, r.App), c.window(step))
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	points, err := c.series(ctx, promql, c.opts.Now(), r.Range, step)
	if err != nil {
		return nil, err
	}
	s := &Series{Query: def.name, Title: def.title, App: r.App, Namespace: r.Namespace, Unit: def.unit,
		Range: model.Duration(r.Range).String(), Step: model.Duration(step).String(), Points: points}
	s.summarize(def)
	return s, nil
}

// series runs an expression over the range ending at end and returns its first series' finite
// points (never nil); ctx carries the caller's timeout. Queries whose points are joined share one
// end, so their steps fall on the same times.
func (c *Client) series(ctx context.Context, promql string, end time.Time, rng, step time.Duration) ([]Point, error) {
	v, _, _, err := c.api.QueryRange(ctx, promql, promv1.Range{Start: end.Add(-rng), End: end, Step: step})
	if err != nil {
		return nil, c.failed(ctx, err)
	}
	points := []Point{}
	if m, _ := v.(model.Matrix); len(m) > 0 {
		for _, sp := range m[0].Values {
			if f := float64(sp.Value); !math.IsNaN(f) && !math.IsInf(f, 0) {
				points = append(points, Point{T: sp.Timestamp.Time().UTC(), V: f})
			}
		}
	}
	return points, nil
}

// failed turns a query error into one that says what was wrong, without the server's address
// parts that may carry credentials.
func (c *Client) failed(ctx context.Context, err error) error {
	var pe *promv1.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &pe) && pe.Type == promv1.ErrTimeout:
		return &perr.Error{Kind: perr.Unavailable, Message: fmt.Sprintf("prometheus at %s did not answer within %s", c.host, c.opts.Timeout)}
	case errors.As(err, &pe) && (pe.Type == promv1.ErrBadData || pe.Type == promv1.ErrExec):
		// The query is ours: Prometheus refusing it is the server's fault, not the caller's.
		return &perr.Error{Kind: perr.Internal, Message: "metrics: prometheus refused the query: " + redact.String(pe.Msg)}
	case errors.As(err, &pe):
		return &perr.Error{Kind: perr.Unavailable, Message: fmt.Sprintf("prometheus at %s answered %s", c.host, redact.String(pe.Msg))}
	default:
		return &perr.Error{Kind: perr.Unavailable, Message: fmt.Sprintf("prometheus at %s is unreachable: %s", c.host, redact.String(rootCause(err)))}
	}
}

// hostOf is the server's scheme and host, without credentials, path or query.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "the configured url"
	}
	return u.Scheme + "://" + u.Host
}

func rootCause(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Op + ": " + op.Err.Error()
	}
	return err.Error()
}

// step spreads the range over about Points points, never finer than the scrape interval.
func (c *Client) step(r time.Duration) time.Duration {
	s := (r / time.Duration(c.opts.Points)).Truncate(time.Second)
	if s < c.opts.ScrapeInterval {
		s = c.opts.ScrapeInterval
	}
	return s
}

// window is the rate() window: a step plus a scrape, and at least four scrapes (Grafana's
// $__rate_interval), so a rate always has samples to work from.
func (c *Client) window(step time.Duration) string {
	w := step + c.opts.ScrapeInterval
	if m := 4 * c.opts.ScrapeInterval; w < m {
		w = m
	}
	return model.Duration(w.Truncate(time.Second)).String()
}

// selector is the label matchers every query carries: the namespace, and the app's pods
// (a Deployment's <app>-<hash>-<id> or a StatefulSet's <app>-<n>).
func (c *Client) selector(ns, app string) string {
	return fmt.Sprintf(`%s=%q,%s=~%q`, c.opts.NamespaceLabel, ns, c.opts.PodLabel,
		fmt.Sprintf(`%s-[a-z0-9]+-[a-z0-9]+|%s-[0-9]+`, app, app))
}

// summarize fills min, avg, max, last, the trend and the one-line answer.
func (s *Series) summarize(d query) {
	if len(s.Points) == 0 {
		s.NoData = d.noData
		s.Summary = fmt.Sprintf("%s of %s over %s: no data (%s)", d.title, s.App, s.Range, d.noData)
		return
	}
	s.Min, s.Max = math.Inf(1), math.Inf(-1)
	sum := 0.0
	for _, p := range s.Points {
		s.Min, s.Max = math.Min(s.Min, p.V), math.Max(s.Max, p.V)
		sum += p.V
	}
	s.Avg = min(max(sum/float64(len(s.Points)), s.Min), s.Max) // no rounding past the extremes
	s.Last = s.Points[len(s.Points)-1].V
	s.Trend = trend(s.Points)
	s.Text = Text{Now: Format(s.Last, s.Unit), Avg: Format(s.Avg, s.Unit), Min: Format(s.Min, s.Unit), Max: Format(s.Max, s.Unit)}
	s.Summary = fmt.Sprintf("%s of %s over %s: now %s, avg %s, min %s, max %s, %s", d.title, s.App, s.Range,
		s.Text.Now, s.Text.Avg, s.Text.Min, s.Text.Max, s.Trend)
}

// trend compares the mean of the last third with the first: a change of more than a fifth of
// the range's mean is rising or falling; points far from both is spiky.
func trend(ps []Point) string {
	if len(ps) < 3 {
		return "steady"
	}
	third := len(ps) / 3
	mean := func(p []Point) float64 {
		s := 0.0
		for _, x := range p {
			s += x.V
		}
		return s / float64(len(p))
	}
	first, last, all := mean(ps[:third]), mean(ps[len(ps)-third:]), mean(ps)
	scale := math.Max(math.Abs(all), 1e-9)
	switch d := (last - first) / scale; {
	case d > 0.2:
		return "rising"
	case d < -0.2:
		return "falling"
	}
	vals := make([]float64, len(ps))
	for i, p := range ps {
		vals[i] = p.V
	}
	sort.Float64s(vals)
	if vals[len(vals)-1] > 2*math.Max(vals[len(vals)/2], 1e-9) && vals[len(vals)-1]-vals[len(vals)/2] > 0.2*scale {
		return "spiky"
	}
	return "steady"
}

// Format writes a value in its unit the way people read it: 250m cores, 300Mi, 1.2 req/s, 3.4%.
func Format(v float64, unit string) string {
	switch unit {
	case "cores":
		if v < 0.01 && v > 0 {
			return trim(fmt.Sprintf("%.1f", v*1000)) + "m"
		}
		if v < 1 {
			return fmt.Sprintf("%.0fm", v*1000)
		}
		return trim(fmt.Sprintf("%.2f", v)) + " cores"
	case "bytes", "bytes/s":
		suffix := ""
		if unit == "bytes/s" {
			suffix = "/s"
		}
		for _, u := range []struct {
			n string
			f float64
		}{{"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}} {
			if math.Abs(v) >= u.f {
				return trim(fmt.Sprintf("%.1f", v/u.f)) + u.n + suffix
			}
		}
		return fmt.Sprintf("%.0fB", v) + suffix
	case "ratio":
		return trim(fmt.Sprintf("%.2f", v*100)) + "%"
	case "seconds":
		if v < 1 {
			return fmt.Sprintf("%.0fms", v*1000)
		}
		return trim(fmt.Sprintf("%.2f", v)) + "s"
	default:
		return trim(fmt.Sprintf("%.2f", v)) + " " + unit
	}
}

func trim(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// query is one named query: how to build it from the selector and the rate window.
type query struct {
	name, title, unit, noData string
	build                     func(sel, window string) string
}

// queries are the named queries, in the order they are listed.
var queries = []query{
	{name: "cpu", title: "CPU", unit: "cores", noData: "no container CPU samples for its pods: is the kubelet's cAdvisor or resource endpoint scraped?",
		build: func(sel, w string) string {
			return fmt.Sprintf(`sum(rate(container_cpu_usage_seconds_total{%s,container!="",container!="POD"}[%s]))`, sel, w)
		}},
	{name: "memory", title: "Memory", unit: "bytes", noData: "no container memory samples for its pods: is the kubelet's cAdvisor or resource endpoint scraped?",
		build: func(sel, _ string) string {
			return fmt.Sprintf(`sum(container_memory_working_set_bytes{%s,container!="",container!="POD"})`, sel)
		}},
	{name: "restarts", title: "Restarts", unit: "restarts/min", noData: "no restart counts for its pods: is kube-state-metrics scraped?",
		build: func(sel, w string) string {
			return fmt.Sprintf(`sum(rate(kube_pod_container_status_restarts_total{%s}[%s])) * 60`, sel, w)
		}},
	{name: "network_in", title: "Network received", unit: "bytes/s", noData: "no network samples for its pods: is the kubelet's cAdvisor endpoint scraped?",
		build: func(sel, w string) string {
			return fmt.Sprintf(`sum(rate(container_network_receive_bytes_total{%s}[%s]))`, sel, w)
		}},
	{name: "network_out", title: "Network sent", unit: "bytes/s", noData: "no network samples for its pods: is the kubelet's cAdvisor endpoint scraped?",
		build: func(sel, w string) string {
			return fmt.Sprintf(`sum(rate(container_network_transmit_bytes_total{%s}[%s]))`, sel, w)
		}},
	{name: "request_rate", title: "Request rate", unit: "req/s", noData: "the app exposes no http_requests_total, or its pods are not scraped",
		build: func(sel, w string) string {
			return fmt.Sprintf(`sum(rate(http_requests_total{%s}[%s]))`, sel, w)
		}},
	{name: "error_ratio", title: "5xx ratio", unit: "ratio", noData: "the app exposes no http_requests_total with a code label, or served no requests",
		build: func(sel, w string) string {
			// No 5xx at all is a ratio of 0, not an empty series (a jump needs the time before it).
			return fmt.Sprintf(`(sum(rate(http_requests_total{%[1]s,code=~"5.."}[%[2]s])) or vector(0)) / sum(rate(http_requests_total{%[1]s}[%[2]s]))`, sel, w)
		}},
	{name: "latency_p95", title: "p95 latency", unit: "seconds", noData: "the app exposes no http_request_duration_seconds histogram, or served no requests",
		build: func(sel, w string) string {
			return fmt.Sprintf(`histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{%s}[%s])))`, sel, w)
		}},
}

func lookup(name string) (query, bool) {
	i := slices.IndexFunc(queries, func(q query) bool { return q.name == name })
	if i < 0 {
		return query{}, false
	}
	return queries[i], true
}

// Names are the query names, in their order.
func Names() []string {
	out := make([]string, len(queries))
	for i, q := range queries {
		out[i] = q.name
	}
	return out
}

// UsageSample is an app's CPU (cores) and memory (bytes) used and requested, summed over its
// pods, at one time.
type UsageSample struct {
	T                           time.Time
	CPUUsed, CPURequested       float64
	MemoryUsed, MemoryRequested float64
}

// Usage reads an app's usage against its requests over the window before now, in about a week's
// worth of hourly points (never finer than the scrape interval): CPU and memory used
// (cAdvisor) and requested (kube-state-metrics). Only times with all four are returned.
func (c *Client) Usage(ctx context.Context, ns, app string, window time.Duration) ([]UsageSample, error) {
	if !dnsLabel.MatchString(app) || !dnsLabel.MatchString(ns) {
		return nil, perr.Invalidf("app", "%q is not an application name", app)
	}
	window = min(window, c.opts.MaxRange)
	step := max((window / 168).Truncate(time.Second), c.opts.ScrapeInterval)
	sel := c.selector(ns, app)
	cpu, _ := lookup("cpu")
	mem, _ := lookup("memory")
	exprs := []string{cpu.build(sel, c.window(step)), mem.build(sel, ""),
		fmt.Sprintf(`sum(kube_pod_container_resource_requests{%s,resource="cpu"})`, sel),
		fmt.Sprintf(`sum(kube_pod_container_resource_requests{%s,resource="memory"})`, sel)}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	end := c.opts.Now()
	series := make([]map[time.Time]float64, len(exprs))
	errs := make([]error, len(exprs))
	var wg sync.WaitGroup
	for i, e := range exprs {
		wg.Go(func() {
			ps, err := c.series(ctx, e, end, window, step)
			series[i], errs[i] = map[time.Time]float64{}, err
			for _, p := range ps {
				series[i][p.T] = p.V
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []UsageSample
	for t, cpuUsed := range series[0] {
		memUsed, ok1 := series[1][t]
		cpuReq, ok2 := series[2][t]
		memReq, ok3 := series[3][t]
		if ok1 && ok2 && ok3 {
			out = append(out, UsageSample{T: t, CPUUsed: cpuUsed, MemoryUsed: memUsed, CPURequested: cpuReq, MemoryRequested: memReq})
		}
	}
	slices.SortFunc(out, func(a, b UsageSample) int { return a.T.Compare(b.T) })
	return out, nil
}

// TrendQueries are the queries diagnosis reads for jumps.
var TrendQueries = []string{"restarts", "error_ratio", "latency_p95"}

// Trends reads an app's restarts, 5xx ratio and p95 latency over the trend range, in parallel
// and within the client's timeout; a query that fails or has no data is left out (diagnosis
// goes on without it). The map is by query name.
func (c *Client) Trends(ctx context.Context, ns, app string) map[string][]Point {
	got := make([][]Point, len(TrendQueries))
	var wg sync.WaitGroup
	for i, q := range TrendQueries {
		wg.Go(func() {
			if s, err := c.Query(ctx, Request{Namespace: ns, App: app, Query: q, Range: c.opts.TrendRange}); err == nil {
				got[i] = s.Points
			}
		})
	}
	wg.Wait()
	out := map[string][]Point{}
	for i, ps := range got {
		if len(ps) > 0 {
			out[TrendQueries[i]] = ps
		}
	}
	return out
}

// PromQL is the expression a named query runs for an app in a namespace over a range (the
// dashboards and tests read it; it is never sent anywhere but the configured Prometheus).
func (c *Client) PromQL(name, ns, app string, r time.Duration) (string, bool) {
	q, ok := lookup(name)
	if !ok {
		return "", false
	}
	return q.build(c.selector(ns, app), c.window(c.step(r))), true
}
