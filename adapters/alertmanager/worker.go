package alertmanager

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"k8s-manage/agent"
)

// Diagnoser is the agent's read-only diagnosis path (agent.Service).
type Diagnoser interface {
	Diagnose(ctx context.Context, r agent.DiagnoseRequest) (*agent.Diagnosis, error)
}

// Owners maps a namespace to the tenant and environment that own it ("" when none).
type Owners interface {
	Owner(ctx context.Context, namespace string) (tenant, env string, err error)
}

// Notifier posts a notice to a channel of one chat surface, in thread (empty: start one), and
// returns the thread the post belongs to.
type Notifier interface {
	Notify(ctx context.Context, channel, thread string, n agent.Notice) (string, error)
}

// Finder is a Notifier that can search its channel for a delivery (Slack, by message metadata).
// After a worker died between posting and recording the post, the next worker asks it instead
// of posting again; surfaces without it (DingTalk robots) are posted at least once.
type Finder interface {
	Posted(ctx context.Context, channel, thread, id string) (ref string, found bool, err error)
}

// Target is a channel of a surface: slack + channel id, dingtalk + robot name.
type Target struct {
	Surface string
	Channel string
}

func (t Target) String() string { return t.Surface + ":" + t.Channel }

// Route sends alerts whose labels match every Match entry to Targets. The keys tenant and env
// match the tenant and environment the alert was mapped to. Every matching route applies.
type Route struct {
	Match   map[string]string
	Targets []Target
}

// WorkerOptions configure the diagnosis worker.
type WorkerOptions struct {
	Queue     *Queue
	Agent     Diagnoser
	Owners    Owners
	Notifiers map[string]Notifier // by surface name
	Routes    []Route
	// Identity is the platform user diagnoses run as (a viewer member of each tenant).
	Identity string
	Chinese  bool
	// RateLimit is how many posts a group may get per RateWindow (default 5 per 10m); the rest
	// are recorded as suppressed.
	RateLimit  int
	RateWindow time.Duration
	// Concurrency bounds the alerts worked at once (default 4).
	Concurrency int
	// Lease is how long a claimed alert may stay in work before another worker takes it over
	// (default 2m): the crash-recovery delay.
	Lease time.Duration
	// Poll is the idle re-check interval (default 1s); Wake shortens it.
	Poll        time.Duration
	Wake        <-chan struct{}
	MaxAttempts int // default 5
	Log         *slog.Logger
	Registry    prometheus.Registerer
}

// Worker works off the alert queue.
type Worker struct {
	o       WorkerOptions
	groups  sync.Map // group key -> *sync.Mutex: one alert of a group at a time
	handled *prometheus.CounterVec
}

// NewWorker checks the options and builds a Worker.
func NewWorker(o WorkerOptions) (*Worker, error) {
	if o.Queue == nil || o.Agent == nil {
		return nil, errors.New("alertmanager: Queue and Agent are required")
	}
	if o.Identity == "" {
		return nil, errors.New("alertmanager: Identity (alerts.identity) is required")
	}
	for _, r := range o.Routes {
		for _, t := range r.Targets {
			if o.Notifiers[t.Surface] == nil {
				return nil, fmt.Errorf("alertmanager: route target %s: surface %q is not configured", t, t.Surface)
			}
		}
	}
	o.RateLimit = cmp.Or(o.RateLimit, 5)
	o.RateWindow = cmp.Or(o.RateWindow, 10*time.Minute)
	o.Concurrency = cmp.Or(o.Concurrency, 4)
	o.Lease = cmp.Or(o.Lease, 2*time.Minute)
	o.Poll = cmp.Or(o.Poll, time.Second)
	o.MaxAttempts = cmp.Or(o.MaxAttempts, 5)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	w := &Worker{o: o, handled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "k8sm_alerts_handled_total",
		Help: "Alerts worked off by the diagnosis worker, by final state."}, []string{"state"})}
	if o.Registry != nil {
		age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "k8sm_alert_queue_oldest_seconds",
			Help: "Age of the oldest alert waiting in the shared queue (the same on every replica)."}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			d, err := o.Queue.OldestQueued(ctx)
			if err != nil {
				return -1
			}
			return d.Seconds()
		})
		for _, c := range []prometheus.Collector{w.handled, age} {
			if err := o.Registry.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return w, nil
}

// Run works the queue until ctx ends, then waits for the alerts in work.
func (w *Worker) Run(ctx context.Context) error {
	sem := make(chan struct{}, w.o.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		free := cap(sem) - len(sem)
		var items []Item
		if free > 0 {
			var err error
			items, err = w.o.Queue.Claim(ctx, free, w.o.Lease)
			if err != nil && ctx.Err() == nil {
				w.o.Log.Error("alert queue claim", "err", err)
			}
		}
		if len(items) > 0 {
			w.o.Log.Debug("alerts claimed", "n", len(items))
		}
		for _, it := range items {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				w.handle(context.WithoutCancel(ctx), it)
			}()
		}
		if len(items) > 0 && len(items) == free {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.o.Wake:
		case <-time.After(w.o.Poll):
		}
	}
}

// outcome is what the queue row records about the work done.
type outcome struct {
	Posted  []string `json:"posted,omitempty"`
	Tenant  string   `json:"tenant,omitempty"`
	Env     string   `json:"env,omitempty"`
	App     string   `json:"app,omitempty"`
	Finding string   `json:"finding,omitempty"`
	Error   string   `json:"error,omitempty"`
	// Diagnosis is the diagnosis text posted, and Fixes the fixes proposed with it.
	Diagnosis string      `json:"diagnosis,omitempty"`
	Fixes     []agent.Fix `json:"fixes,omitempty"`
	// Sending are the targets whose post was under way or failed without an answer: whether
	// it went out is unknown until the channel is searched.
	Sending []string `json:"sending,omitempty"`
}

func (w *Worker) finish(ctx context.Context, it Item, state string, oc outcome) {
	b, _ := json.Marshal(oc)
	if err := w.o.Queue.Finish(ctx, it, state, string(b)); err != nil {
		w.o.Log.Error("alert finish", "alert", it.ID, "err", err)
		return
	}
	w.handled.WithLabelValues(state).Inc()
	w.o.Log.Info("alert handled", "alert", it.ID, "group", it.GroupKey, "status", it.Status, "state", state, "posted", len(oc.Posted),
		"tenant", oc.Tenant, "app", oc.App)
}

// handle works one alert: map, rate-limit, diagnose (firing), post, record.
func (w *Worker) handle(ctx context.Context, it Item) {
	mu, _ := w.groups.LoadOrStore(it.GroupKey, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	var prev outcome
	_ = json.Unmarshal([]byte(it.Outcome), &prev)
	oc := outcome{Posted: prev.Posted, Sending: prev.Sending}
	oc.Tenant, oc.Env = it.Labels["tenant"], it.Labels["env"]
	if ns := it.Labels["namespace"]; oc.Tenant == "" && ns != "" && w.o.Owners != nil {
		t, e, err := w.o.Owners.Owner(ctx, ns)
		if err != nil {
			w.retry(ctx, it, oc, fmt.Errorf("namespace %s owner: %w", ns, err))
			return
		}
		oc.Tenant, oc.Env = t, e
	}
	oc.Env = cmp.Or(oc.Env, "dev")
	it.Tenant = oc.Tenant // written with every outcome (finish, progress, retry)
	app, pod := appOf(it.Labels), it.Labels["pod"]
	oc.App = app
	targets := w.targets(it.Labels, oc.Tenant, oc.Env)
	if len(targets) == 0 && oc.Tenant == "" {
		w.finish(ctx, it, Unrouted, oc)
		return
	}
	// An alert of a tenant with no channel is still diagnosed: the console's Alerts page shows it.
	if len(targets) > 0 && len(oc.Posted) == 0 { // retries of a partly posted alert are not counted again
		n, err := w.o.Queue.PostedSince(ctx, it.GroupKey, time.Now().Add(-w.o.RateWindow))
		if err != nil {
			w.retry(ctx, it, oc, err)
			return
		}
		if n >= w.o.RateLimit {
			w.finish(ctx, it, Suppressed, oc)
			return
		}
	}
	notice := agent.Notice{Key: it.GroupKey, Labels: it.Labels, Severity: it.Labels["severity"], Resolved: it.Status == "resolved"}
	name := cmp.Or(it.Labels["alertname"], "alert")
	where := strings.Trim(cmp.Or(app, pod, it.Labels["namespace"])+" ("+oc.Tenant+"/"+oc.Env+")", " ")
	desc := cmp.Or(it.Annotations["summary"], it.Annotations["description"], it.Annotations["message"])
	if notice.Resolved {
		notice.Title = fmt.Sprintf("[RESOLVED] %s — %s", name, where)
		notice.Text = pick(w.o.Chinese, "告警已恢复。", "The alert has resolved.")
		if desc != "" {
			notice.Text += " " + desc
		}
	} else {
		notice.Title = fmt.Sprintf("[FIRING] %s — %s", name, where)
		var b strings.Builder
		if desc != "" {
			b.WriteString(desc + "\n\n")
		}
		switch {
		case oc.Tenant == "":
			b.WriteString(pick(w.o.Chinese, "无法确定告警所属租户，未做诊断。", "No tenant owns this alert's namespace: not diagnosed."))
		default:
			d, err := w.o.Agent.Diagnose(ctx, agent.DiagnoseRequest{User: w.o.Identity, Tenant: oc.Tenant, Env: oc.Env, App: app, Pod: pod,
				Chinese: w.o.Chinese})
			if err != nil {
				w.o.Log.Warn("alert diagnosis failed", "alert", it.ID, "tenant", oc.Tenant, "err", err)
				b.WriteString(pick(w.o.Chinese, "诊断失败：", "Diagnosis failed: ") + err.Error())
				break
			}
			b.WriteString(pick(w.o.Chinese, "诊断：", "Diagnosis: ") + d.Text)
			oc.Diagnosis = d.Text
			for _, f := range d.Findings {
				if oc.Finding == "" {
					oc.Finding = f.Resource + ": " + f.Reason
				}
				if f.Fix != nil && len(notice.Fixes) < 3 && !slices.Contains(notice.Fixes, *f.Fix) {
					notice.Fixes = append(notice.Fixes, *f.Fix)
				}
			}
		}
		notice.Text = b.String()
		oc.Fixes = notice.Fixes
	}
	notice.ID = it.ID
	if len(targets) == 0 {
		w.finish(ctx, it, Unrouted, oc)
		return
	}
	var errs []error
	for _, t := range targets {
		if slices.Contains(oc.Posted, t.String()) {
			continue
		}
		if slices.Contains(prev.Sending, t.String()) {
			// The previous worker died while posting here: look before posting again.
			if found, err := w.find(ctx, it, t); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", t, err))
				continue
			} else if found {
				oc.Posted = append(oc.Posted, t.String())
				oc.Sending = slices.DeleteFunc(oc.Sending, func(s string) bool { return s == t.String() })
				continue
			}
		}
		if !slices.Contains(oc.Sending, t.String()) {
			oc.Sending = append(oc.Sending, t.String())
		}
		if err := w.progress(ctx, it, oc); err != nil {
			w.o.Log.Warn("alert taken over", "alert", it.ID, "err", err)
			return
		}
		if err := w.post(ctx, it.GroupKey, t, notice); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t, err)) // Sending stays: a timeout may have gone out
			continue
		}
		oc.Posted = append(oc.Posted, t.String())
		oc.Sending = slices.DeleteFunc(oc.Sending, func(s string) bool { return s == t.String() })
		if err := w.progress(ctx, it, oc); err != nil {
			w.o.Log.Warn("alert taken over", "alert", it.ID, "err", err)
			return
		}
	}
	if len(errs) > 0 {
		w.retry(ctx, it, oc, errors.Join(errs...))
		return
	}
	w.finish(ctx, it, Done, oc)
}

func (w *Worker) progress(ctx context.Context, it Item, oc outcome) error {
	b, _ := json.Marshal(oc)
	return w.o.Queue.Progress(ctx, it, string(b))
}

// find asks a Finder surface whether the delivery already reached t (recording the thread it
// started); a surface that cannot search says no.
func (w *Worker) find(ctx context.Context, it Item, t Target) (bool, error) {
	f, ok := w.o.Notifiers[t.Surface].(Finder)
	if !ok {
		return false, nil
	}
	thread, err := w.o.Queue.Thread(ctx, it.GroupKey, t.Surface, t.Channel)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ref, found, err := f.Posted(ctx, t.Channel, thread, it.ID)
	if err != nil || !found {
		return false, err
	}
	w.o.Log.Info("alert was already posted", "alert", it.ID, "target", t.String())
	if thread == "" && ref != "" {
		return true, w.o.Queue.SetThread(ctx, it.GroupKey, t.Surface, t.Channel, ref)
	}
	return true, nil
}

func (w *Worker) post(ctx context.Context, group string, t Target, n agent.Notice) error {
	thread, err := w.o.Queue.Thread(ctx, group, t.Surface, t.Channel)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ref, err := w.o.Notifiers[t.Surface].Notify(ctx, t.Channel, thread, n)
	if err != nil {
		return err
	}
	if thread == "" && ref != "" {
		return w.o.Queue.SetThread(ctx, group, t.Surface, t.Channel, ref)
	}
	return nil
}

func (w *Worker) retry(ctx context.Context, it Item, oc outcome, err error) {
	oc.Error = err.Error()
	if it.Attempts >= w.o.MaxAttempts {
		w.o.Log.Error("alert given up", "alert", it.ID, "attempts", it.Attempts, "err", err)
		w.finish(ctx, it, Failed, oc)
		return
	}
	b, _ := json.Marshal(oc)
	delay := time.Duration(1<<min(it.Attempts, 8)) * time.Second
	w.o.Log.Warn("alert retry", "alert", it.ID, "attempt", it.Attempts, "in", delay, "err", err)
	if err := w.o.Queue.Retry(ctx, it, string(b), delay); err != nil {
		w.o.Log.Error("alert retry", "alert", it.ID, "err", err)
	}
}

// targets are the channels of every route matching the alert.
func (w *Worker) targets(labels map[string]string, tenant, env string) []Target {
	var out []Target
	for _, r := range w.o.Routes {
		match := true
		for k, v := range r.Match {
			got := labels[k]
			switch k {
			case "tenant":
				got = tenant
			case "env":
				got = env
			}
			if got != v {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		for _, t := range r.Targets {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// appOf names the application an alert is about, from the usual kube-state-metrics labels.
func appOf(l map[string]string) string {
	for _, k := range []string{"deployment", "statefulset", "app_kubernetes_io_name", "app", "service", "job_name"} {
		if v := l[k]; v != "" && !(k == "service" && strings.HasPrefix(v, "kube-state-metrics")) {
			return v
		}
	}
	return ""
}

func pick(cn bool, zh, en string) string {
	if cn {
		return zh
	}
	return en
}
