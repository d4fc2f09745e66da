// Package usage reads what pods use, from the metrics API (metrics.k8s.io, served by
// metrics-server), against what they request and are limited to: per pod, per app and for the
// environment. Every read impersonates the person it is for. A cluster without a metrics API
// still answers with requests and limits, and says why usage is missing.
package usage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/perr"
)

// Service reads usage.
type Service struct{ kube *kube.Clients }

// NewService builds a Service.
func NewService(clients *kube.Clients) *Service { return &Service{kube: clients} }

// Amount is CPU in millicores and memory in bytes.
type Amount struct {
	CPUMilli    int64 `json:"cpu_millicores"`
	MemoryBytes int64 `json:"memory_bytes"`
}

func (a *Amount) add(b Amount) { a.CPUMilli += b.CPUMilli; a.MemoryBytes += b.MemoryBytes }

// Line is one pod's, one app's or the environment's usage against its requests and limits.
// A limit of 0 means none is set on some container (so there is no ceiling for the sum).
type Line struct {
	Name     string `json:"name"`
	App      string `json:"app,omitempty"`
	Pods     int    `json:"pods"`
	Usage    Amount `json:"usage"`
	Requests Amount `json:"requests"`
	Limits   Amount `json:"limits"`
	// Measured counts the pods the metrics API reported (a pod just started has no sample yet).
	Measured int `json:"measured"`
	// CPUOfRequest and MemoryOfRequest are usage as a percentage of requests (0: no request).
	CPUOfRequest    int `json:"cpu_of_request_pct,omitempty"`
	MemoryOfRequest int `json:"memory_of_request_pct,omitempty"`
	// CPUOfLimit and MemoryOfLimit are usage as a percentage of limits (0: no limit).
	CPUOfLimit    int `json:"cpu_of_limit_pct,omitempty"`
	MemoryOfLimit int `json:"memory_of_limit_pct,omitempty"`
}

// Report is the environment's usage.
type Report struct {
	Namespace string `json:"namespace"`
	// Apps are sorted by the chosen resource, largest first; Pods likewise.
	Apps  []Line `json:"apps"`
	Pods  []Line `json:"pods,omitempty"`
	Total Line   `json:"total"`
	// SortedBy is "cpu" or "memory".
	SortedBy string `json:"sorted_by"`
	// Window is the metrics API's sampling window; At its newest sample.
	Window string    `json:"window,omitempty"`
	At     time.Time `json:"at,omitzero"`
	// Unavailable says why usage is missing (no metrics API in the cluster, or not reachable):
	// requests and limits are still reported.
	Unavailable string `json:"unavailable,omitempty"`
}

// Options narrow a report.
type Options struct {
	// App keeps one application's pods (empty: every app).
	App string
	// SortBy is "cpu" (default) or "memory".
	SortBy string
	// Pods includes the per-pod lines (always for one app).
	Pods bool
}

// Sorts are the values Options.SortBy takes.
var Sorts = []string{"cpu", "memory"}

// ErrNoMetricsAPI is wrapped by errors from a cluster that serves no metrics.k8s.io.
var ErrNoMetricsAPI = errors.New("the cluster serves no metrics API (metrics.k8s.io): install metrics-server")

// Top reports usage in the target's namespace.
func (s *Service) Top(ctx context.Context, t apps.Target, o Options) (*Report, error) {
	if t.Namespace == "" {
		return nil, perr.Invalidf("namespace", "is required")
	}
	o.SortBy = cmp.Or(o.SortBy, "cpu")
	if !slices.Contains(Sorts, o.SortBy) {
		return nil, perr.Invalidf("sort_by", "must be cpu or memory, got %q", o.SortBy)
	}
	cs, err := s.kube.As(t.As)
	if err != nil {
		return nil, err
	}
	sel := labels.Everything().String()
	if o.App != "" {
		sel = apps.LabelApp + "=" + o.App
	}
	pods, err := cs.CoreV1().Pods(t.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, perr.FromAPI(err, "list pods in "+t.Namespace)
	}
	if o.App != "" && len(pods.Items) == 0 {
		return nil, perr.New(perr.NotFound, "app %s has no pods in %s", o.App, t.Namespace)
	}
	rep := &Report{Namespace: t.Namespace, SortedBy: o.SortBy}
	used, window, at, err := s.podUsage(ctx, t, sel)
	if err != nil {
		if !errors.Is(err, ErrNoMetricsAPI) {
			return nil, err
		}
		rep.Unavailable = err.Error()
	}
	if window > 0 {
		rep.Window = window.String()
	}
	rep.At = at
	rep.Apps, rep.Pods, rep.Total = Summarize(pods.Items, used, o.SortBy)
	if !o.Pods && o.App == "" {
		rep.Pods = nil
	}
	return rep, nil
}

// listMetrics lists a namespace's pod metrics through cfg (the person's, or the service's).
func listMetrics(ctx context.Context, cfg *rest.Config, ns, sel string) ([]metricsv1beta1.PodMetrics, error) {
	mc, err := metricsclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("usage: metrics client: %w", err)
	}
	list, err := mc.MetricsV1beta1().PodMetricses(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, MetricsError(err, "read pod metrics in "+ns)
	}
	return list.Items, nil
}

// PodUsage reads every pod's usage in a namespace as the service itself (metering is platform
// work, never a person's request).
func (s *Service) PodUsage(ctx context.Context, namespace string) (map[string]Amount, error) {
	items, err := listMetrics(ctx, s.kube.RESTConfig(), namespace, "")
	if err != nil {
		return nil, err
	}
	out := make(map[string]Amount, len(items))
	for _, pm := range items {
		out[pm.Name] = podAmount(pm)
	}
	return out, nil
}

// Containers reads what each pod's containers use now in the target's namespace, as the person,
// by pod and container name (for diagnosis). An error wrapping ErrNoMetricsAPI means there is no
// metrics API.
func (s *Service) Containers(ctx context.Context, t apps.Target) (map[string]map[string]Amount, error) {
	cfg, err := s.kube.RESTConfigAs(t.As)
	if err != nil {
		return nil, err
	}
	items, err := listMetrics(ctx, cfg, t.Namespace, "")
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]Amount, len(items))
	for _, pm := range items {
		cs := make(map[string]Amount, len(pm.Containers))
		for _, c := range pm.Containers {
			cs[c.Name] = Amount{CPUMilli: c.Usage.Cpu().MilliValue(), MemoryBytes: c.Usage.Memory().Value()}
		}
		out[pm.Name] = cs
	}
	return out, nil
}

// podUsage lists the pods' usage by name, with the sampling window and the newest sample's time.
func (s *Service) podUsage(ctx context.Context, t apps.Target, sel string) (map[string]Amount, time.Duration, time.Time, error) {
	cfg, err := s.kube.RESTConfigAs(t.As)
	if err != nil {
		return nil, 0, time.Time{}, err
	}
	items, err := listMetrics(ctx, cfg, t.Namespace, sel)
	if err != nil {
		return nil, 0, time.Time{}, err
	}
	out := make(map[string]Amount, len(items))
	var window time.Duration
	var at time.Time
	for _, pm := range items {
		out[pm.Name] = podAmount(pm)
		window = max(window, pm.Window.Duration)
		if pm.Timestamp.After(at) {
			at = pm.Timestamp.Time
		}
	}
	return out, window, at, nil
}

// MetricsError maps a metrics API error: no API (not found, or the aggregated API not
// available) wraps ErrNoMetricsAPI; the rest map as other API errors do.
func MetricsError(err error, what string) error {
	var se apierrors.APIStatus
	if apierrors.IsNotFound(err) || apierrors.IsServiceUnavailable(err) ||
		(errors.As(err, &se) && se.Status().Code == 503) {
		return fmt.Errorf("%s: %w", what, ErrNoMetricsAPI)
	}
	return perr.FromAPI(err, what)
}

func podAmount(pm metricsv1beta1.PodMetrics) Amount {
	var a Amount
	for _, c := range pm.Containers {
		a.CPUMilli += c.Usage.Cpu().MilliValue()
		a.MemoryBytes += c.Usage.Memory().Value()
	}
	return a
}

// specOf sums a pod's container requests and limits; a container without a limit makes the
// pod's limit of that resource 0 (none).
func specOf(p corev1.Pod) (req, lim Amount) {
	noCPU, noMem := false, false
	for _, c := range p.Spec.Containers {
		req.CPUMilli += c.Resources.Requests.Cpu().MilliValue()
		req.MemoryBytes += c.Resources.Requests.Memory().Value()
		if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
			lim.CPUMilli += q.MilliValue()
		} else {
			noCPU = true
		}
		if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
			lim.MemoryBytes += q.Value()
		} else {
			noMem = true
		}
	}
	if noCPU {
		lim.CPUMilli = 0
	}
	if noMem {
		lim.MemoryBytes = 0
	}
	return req, lim
}

// Summarize builds the pod, app and total lines from pods and their usage by pod name. Pods that
// are done (Succeeded, Failed) are left out. Lines are sorted by sortBy ("cpu" or "memory"),
// largest first, then by name.
func Summarize(pods []corev1.Pod, used map[string]Amount, sortBy string) (appLines, podLines []Line, total Line) {
	byApp := map[string]*Line{}
	appLimitless := map[string][2]bool{}
	totalLimitless := [2]bool{}
	total.Name = "total"
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		app := cmp.Or(p.Labels[apps.LabelApp], p.Name)
		req, lim := specOf(p)
		u, measured := used[p.Name]
		pl := Line{Name: p.Name, App: app, Pods: 1, Usage: u, Requests: req, Limits: lim}
		if measured {
			pl.Measured = 1
		}
		podLines = append(podLines, pl.withPercents())
		al := byApp[app]
		if al == nil {
			al = &Line{Name: app, App: app}
			byApp[app] = al
		}
		nl := appLimitless[app]
		for i, none := range [2]bool{lim.CPUMilli == 0, lim.MemoryBytes == 0} {
			nl[i] = nl[i] || none
			totalLimitless[i] = totalLimitless[i] || none
		}
		appLimitless[app] = nl
		for _, l := range []*Line{al, &total} {
			l.Pods++
			l.Measured += pl.Measured
			l.Usage.add(u)
			l.Requests.add(req)
			l.Limits.add(lim)
		}
	}
	clearLimits := func(l *Line, none [2]bool) {
		if none[0] {
			l.Limits.CPUMilli = 0
		}
		if none[1] {
			l.Limits.MemoryBytes = 0
		}
	}
	for app, l := range byApp {
		clearLimits(l, appLimitless[app])
		appLines = append(appLines, l.withPercents())
	}
	clearLimits(&total, totalLimitless)
	total = total.withPercents()
	key := func(l Line) int64 {
		if sortBy == "memory" {
			return l.Usage.MemoryBytes
		}
		return l.Usage.CPUMilli
	}
	order := func(a, b Line) int { return cmp.Or(cmp.Compare(key(b), key(a)), cmp.Compare(a.Name, b.Name)) }
	slices.SortFunc(appLines, order)
	slices.SortFunc(podLines, order)
	return appLines, podLines, total
}

func pct(part, whole int64) int {
	if whole <= 0 {
		return 0
	}
	return int((part*100 + whole/2) / whole)
}

func (l Line) withPercents() Line {
	l.CPUOfRequest = pct(l.Usage.CPUMilli, l.Requests.CPUMilli)
	l.MemoryOfRequest = pct(l.Usage.MemoryBytes, l.Requests.MemoryBytes)
	l.CPUOfLimit = pct(l.Usage.CPUMilli, l.Limits.CPUMilli)
	l.MemoryOfLimit = pct(l.Usage.MemoryBytes, l.Limits.MemoryBytes)
	return l
}

// CPU formats millicores the way kubectl does: "250m", "2".
func CPU(milli int64) string { return resource.NewMilliQuantity(milli, resource.DecimalSI).String() }

// Memory formats bytes in binary units, rounded to Mi above 1Mi: "512Mi", "1.5Gi".
func Memory(b int64) string {
	const mi, gi = 1 << 20, 1 << 30
	switch {
	case b >= gi && b%gi != 0 && b >= 10*gi:
		return fmt.Sprintf("%dGi", (b+gi/2)/gi)
	case b >= gi:
		if b%gi == 0 {
			return fmt.Sprintf("%dGi", b/gi)
		}
		return fmt.Sprintf("%.1fGi", float64(b)/gi)
	case b >= mi:
		return fmt.Sprintf("%dMi", (b+mi/2)/mi)
	default:
		return fmt.Sprintf("%dKi", (b+512)/1024)
	}
}
