// Package billing meters what every tenant requests and uses, and bills it. A metering loop samples
// each tenant environment's requested CPU, memory and storage per app (from the pods and persistent
// volume claims of its namespaces), and the CPU and memory its pods use (the metrics API, where the
// cluster serves one), into an append-only ledger: each sample charges the interval
// since the previous one, whose time is kept in the store, so restarts and gaps lose nothing, and
// a repeated sample of the same interval is ignored, so nothing is counted twice. Bills price the
// ledger per tenant and period with line items per app, environment and resource.
package billing

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"k8s-manage/internal/store"
	"k8s-manage/platform/tenant"
	"k8s-manage/platform/usage"
)

// Prices are per unit of time.
type Prices struct {
	CoreHour        float64 `json:"core_hour"`
	GiBHour         float64 `json:"gib_hour"`
	StorageGiBMonth float64 `json:"storage_gib_month"`
	// PlanMonth prices a service catalog instance per month by plan (small, medium, large).
	PlanMonth map[string]float64 `json:"plan_month"`
	Currency  string             `json:"currency"`
	// Basis is what CPU and memory are charged on: BasisRequests (the default), BasisUsage, or
	// BasisMax, the larger of the two in each sampled interval. Where no usage was measured (no
	// metrics API) requests are charged, and the bill says so.
	Basis string `json:"basis,omitempty"`
}

// The bases CPU and memory are charged on.
const (
	BasisRequests = "requests"
	BasisUsage    = "usage"
	BasisMax      = "max"
)

// Bases lists the valid Prices.Basis values.
var Bases = []string{BasisRequests, BasisUsage, BasisMax}

// usedSuffix marks a ledger resource that is measured usage ("cpu-used"), beside the requests
// of the same resource ("cpu").
const usedSuffix = "-used"

// UsageSource reads what a namespace's pods use, by pod name (usage.Service.PodUsage). An error
// wrapping usage.ErrNoMetricsAPI means the cluster serves no metrics API.
type UsageSource interface {
	PodUsage(ctx context.Context, namespace string) (map[string]usage.Amount, error)
}

const hoursPerMonth = 730

// Meter samples requests (and usage, with a UsageSource) into the ledger.
type Meter struct {
	db    *store.Store
	kube  kubernetes.Interface
	now   func() time.Time
	usage UsageSource
}

// WithUsage makes the meter sample usage beside requests.
func (m *Meter) WithUsage(u UsageSource) *Meter { m.usage = u; return m }

// NewMeter builds a Meter with the service's identity (metering is platform work).
func NewMeter(db *store.Store, admin kubernetes.Interface, now func() time.Time) *Meter {
	if now == nil {
		now = time.Now
	}
	return &Meter{db: db, kube: admin, now: now}
}

type key struct{ tenant, env, app, resource string }

// measure returns each tenant/env/app's requested cpu cores, memory GiB and storage GiB now.
func (m *Meter) measure(ctx context.Context) (map[key]float64, error) {
	nss, err := m.kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: tenant.LabelTenant})
	if err != nil {
		return nil, fmt.Errorf("meter: list tenant namespaces: %w", err)
	}
	out := map[key]float64{}
	for _, ns := range nss.Items {
		t, env := ns.Labels[tenant.LabelTenant], ns.Labels[tenant.LabelEnv]
		pods, err := m.kube.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return nil, fmt.Errorf("meter: list pods of %s: %w", ns.Name, err)
		}
		var used map[string]usage.Amount
		if m.usage != nil {
			// No usage (no metrics API, or it failed) is no reason to lose the requests' sample:
			// those intervals are billed on requests.
			used, _ = m.usage.PodUsage(ctx, ns.Name)
		}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed || p.Spec.NodeName == "" {
				continue // not holding resources
			}
			app := appOf(p.Labels)
			if u, ok := used[p.Name]; ok {
				out[key{t, env, app, "cpu" + usedSuffix}] += float64(u.CPUMilli) / 1000
				out[key{t, env, app, "memory" + usedSuffix}] += float64(u.MemoryBytes) / (1 << 30)
			}
			for _, c := range p.Spec.Containers {
				if q, ok := c.Resources.Requests[corev1.ResourceCPU]; ok {
					out[key{t, env, app, "cpu"}] += float64(q.MilliValue()) / 1000
				}
				if q, ok := c.Resources.Requests[corev1.ResourceMemory]; ok {
					out[key{t, env, app, "memory"}] += float64(q.Value()) / (1 << 30)
				}
			}
		}
		sts, err := m.kube.AppsV1().StatefulSets(ns.Name).List(ctx, metav1.ListOptions{ResourceVersion: "0", LabelSelector: planLabel})
		if err != nil {
			return nil, fmt.Errorf("meter: list service instances of %s: %w", ns.Name, err)
		}
		for _, st := range sts.Items {
			out[key{t, env, st.Name, "plan:" + st.Labels[planLabel]}]++ // one instance of that plan
		}
		pvcs, err := m.kube.CoreV1().PersistentVolumeClaims(ns.Name).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return nil, fmt.Errorf("meter: list claims of %s: %w", ns.Name, err)
		}
		for _, c := range pvcs.Items {
			if q, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
				out[key{t, env, appOf(c.Labels), "storage"}] += float64(q.Value()) / (1 << 30)
			}
		}
	}
	return out, nil
}

func appOf(l map[string]string) string {
	if a := l["app.kubernetes.io/name"]; a != "" {
		return a
	}
	return "(other)"
}

const stateName = "requests"

// planLabel marks service catalog instances with their plan (platform/catalog).
const planLabel = "k8s-manage.io/service-plan"

// Sample charges the interval since the previous sample at the requests measured now. The first
// sample only records the time. Sampling again for an interval already charged changes nothing.
func (m *Meter) Sample(ctx context.Context) (int, error) {
	now := m.now().UnixMilli()
	var last int64
	err := m.db.QueryRowContext(ctx, "SELECT last_ms FROM meter_state WHERE name = ?", stateName).Scan(&last)
	first := errors.Is(err, sql.ErrNoRows)
	if err != nil && !first {
		return 0, fmt.Errorf("meter: read state: %w", err)
	}
	if !first && now <= last {
		return 0, nil
	}
	sample, err := m.measure(ctx)
	if err != nil {
		return 0, err
	}
	written := 0
	err = m.db.InTx(ctx, func(tx *store.Tx) error {
		if first {
			_, err := tx.ExecContext(ctx, "INSERT INTO meter_state (name, last_ms) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", stateName, now)
			return err
		}
		for _, k := range slices.SortedFunc(maps.Keys(sample), func(a, b key) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) }) {
			res, err := tx.ExecContext(ctx, `INSERT INTO usage_ledger (tenant, env, app, resource, quantity, from_ms, to_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (tenant, env, app, resource, from_ms) DO NOTHING`, k.tenant, k.env, k.app, k.resource, sample[k], last, now)
			if err != nil {
				return fmt.Errorf("meter: ledger: %w", err)
			}
			n, _ := res.RowsAffected()
			written += int(n)
		}
		// Conditional: a concurrent sampler that already advanced the state wins.
		res, err := tx.ExecContext(ctx, "UPDATE meter_state SET last_ms = ? WHERE name = ? AND last_ms = ?", now, stateName, last)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errConcurrent
		}
		return nil
	})
	if errors.Is(err, errConcurrent) {
		return 0, nil
	}
	return written, err
}

var errConcurrent = errors.New("another meter advanced the state")

// Line is one line item of a bill.
type Line struct {
	Env      string  `json:"env"`
	App      string  `json:"app"`
	Resource string  `json:"resource"`
	Usage    float64 `json:"usage"` // what is charged: core-hours, GiB-hours or GiB-months
	Unit     string  `json:"unit"`
	Cost     float64 `json:"cost"`
	// Requested and Used are CPU's and memory's requested and measured amounts over the period
	// (Used is absent where no usage was measured).
	Requested float64  `json:"requested,omitempty"`
	Used      *float64 `json:"used,omitempty"`
}

// Bill is a tenant's bill for a period.
type Bill struct {
	Tenant   string    `json:"tenant"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Currency string    `json:"currency"`
	Lines    []Line    `json:"lines"`
	Total    float64   `json:"total"`
	// Basis is what CPU and memory were charged on (requests, usage, max).
	Basis string `json:"basis"`
	// Note says where the basis could not be followed (no usage measured: requests charged).
	Note string `json:"note,omitempty"`
}

// Bills prices the ledger.
type Bills struct {
	db     *store.Store
	prices Prices
}

// NewBills builds a biller.
func NewBills(db *store.Store, p Prices) *Bills { return &Bills{db: db, prices: p} }

func (b *Bills) basis() string {
	if b.prices.Basis == "" {
		return BasisRequests
	}
	return b.prices.Basis
}

// For bills a tenant for [from, to); intervals crossing the edges are prorated.
func (b *Bills) For(ctx context.Context, t string, from, to time.Time) (*Bill, error) {
	if !to.After(from) {
		return nil, fmt.Errorf("billing: the period must end after it starts")
	}
	rows, err := b.db.QueryContext(ctx, `SELECT env, app, resource, quantity, from_ms, to_ms FROM usage_ledger
		WHERE tenant = ? AND to_ms > ? AND from_ms < ?`, t, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("billing: %w", err)
	}
	defer rows.Close()
	type lk struct{ env, app, resource string }
	type ik struct {
		lk
		from, to int64
	}
	// One sampled interval of a resource: requests, and usage where it was measured.
	type interval struct {
		req, used float64
		measured  bool
	}
	intervals := map[ik]*interval{}
	for rows.Next() {
		var env, app, res string
		var q float64
		var f, e int64
		if err := rows.Scan(&env, &app, &res, &q, &f, &e); err != nil {
			return nil, err
		}
		base, isUsed := strings.CutSuffix(res, usedSuffix)
		k := ik{lk{env, app, base}, f, e}
		iv := intervals[k]
		if iv == nil {
			iv = &interval{}
			intervals[k] = iv
		}
		if isUsed {
			iv.used += q
			iv.measured = true
		} else {
			iv.req += q
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	basis := b.basis()
	charged, requested, used := map[lk]float64{}, map[lk]float64{}, map[lk]float64{}
	measured, fellBack := map[lk]bool{}, false
	for k, iv := range intervals {
		hours := float64(min(k.to, to.UnixMilli())-max(k.from, from.UnixMilli())) / 3.6e6
		q := iv.req
		if k.resource == "cpu" || k.resource == "memory" {
			requested[k.lk] += iv.req * hours
			if iv.measured {
				used[k.lk] += iv.used * hours
				measured[k.lk] = true
			}
			switch {
			case basis == BasisRequests:
			case !iv.measured:
				fellBack = true
			case basis == BasisUsage:
				q = iv.used
			case basis == BasisMax:
				q = max(iv.req, iv.used)
			}
		}
		charged[k.lk] += q * hours
	}
	bill := &Bill{Tenant: t, From: from, To: to, Currency: b.prices.Currency, Basis: basis}
	if fellBack {
		bill.Note = "no usage was measured for part of the period (the cluster served no metrics API then): CPU and memory were charged on requests there"
	}
	for _, k := range slices.SortedFunc(maps.Keys(charged), func(a, c lk) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(c)) }) {
		l := Line{Env: k.env, App: k.app, Resource: k.resource}
		switch k.resource {
		case "cpu":
			l.Usage, l.Unit, l.Cost = charged[k], "core-hours", charged[k]*b.prices.CoreHour
		case "memory":
			l.Usage, l.Unit, l.Cost = charged[k], "GiB-hours", charged[k]*b.prices.GiBHour
		case "storage":
			l.Usage, l.Unit = charged[k]/hoursPerMonth, "GiB-months"
			l.Cost = l.Usage * b.prices.StorageGiBMonth
		default:
			if plan, ok := strings.CutPrefix(k.resource, "plan:"); ok {
				l.Usage, l.Unit = charged[k]/hoursPerMonth, "instance-months"
				l.Cost = l.Usage * b.prices.PlanMonth[plan]
			}
		}
		if k.resource == "cpu" || k.resource == "memory" {
			l.Requested = round(requested[k], 4)
			if measured[k] {
				u := round(used[k], 4)
				l.Used = &u
			}
		}
		l.Usage, l.Cost = round(l.Usage, 4), round(l.Cost, 4)
		bill.Lines = append(bill.Lines, l)
		bill.Total += l.Cost
	}
	bill.Total = round(bill.Total, 2)
	return bill, nil
}

func round(x float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(x*p) / p
}

// CSV renders a bill as CSV.
func (b *Bill) CSV() string {
	var sb strings.Builder
	w := csv.NewWriter(&sb)
	w.Write([]string{"tenant", "from", "to", "env", "app", "resource", "usage", "unit", "cost", "currency", "requested", "used", "basis"}) //nolint:errcheck
	for _, l := range b.Lines {
		req, used := "", ""
		if l.Resource == "cpu" || l.Resource == "memory" {
			req = fmt.Sprintf("%.4f", l.Requested)
		}
		if l.Used != nil {
			used = fmt.Sprintf("%.4f", *l.Used)
		}
		w.Write([]string{b.Tenant, b.From.UTC().Format(time.RFC3339), b.To.UTC().Format(time.RFC3339), l.Env, l.App, l.Resource, //nolint:errcheck
			fmt.Sprintf("%.4f", l.Usage), l.Unit, fmt.Sprintf("%.4f", l.Cost), b.Currency, req, used, b.Basis})
	}
	w.Write([]string{b.Tenant, "", "", "", "", "total", "", "", fmt.Sprintf("%.2f", b.Total), b.Currency, "", "", b.Basis}) //nolint:errcheck
	w.Flush()
	return sb.String()
}

// MonthOf returns the calendar month containing t (UTC).
func MonthOf(t time.Time) (time.Time, time.Time) {
	t = t.UTC()
	from := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return from, from.AddDate(0, 1, 0)
}

// Samples reads an app's metered intervals since a time, oldest first (the ledger's history, for
// right-sizing).
func (b *Bills) Samples(ctx context.Context, tenantName, env, app string, since time.Time) ([]usage.Sample, error) {
	rows, err := b.db.QueryContext(ctx, `SELECT resource, quantity, from_ms, to_ms FROM usage_ledger
		WHERE tenant = ? AND env = ? AND app = ? AND to_ms > ? AND resource IN ('cpu', 'memory', 'cpu-used', 'memory-used')
		ORDER BY from_ms`, tenantName, env, app, since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("billing: samples: %w", err)
	}
	defer rows.Close()
	var out []usage.Sample
	at := map[int64]int{}
	for rows.Next() {
		var res string
		var q float64
		var f, e int64
		if err := rows.Scan(&res, &q, &f, &e); err != nil {
			return nil, err
		}
		i, ok := at[f]
		if !ok {
			i = len(out)
			at[f] = i
			out = append(out, usage.Sample{From: time.UnixMilli(f).UTC(), To: time.UnixMilli(e).UTC()})
		}
		s := &out[i]
		switch res {
		case "cpu":
			s.CPURequested = q
		case "memory":
			s.MemoryRequested = q
		case "cpu" + usedSuffix:
			s.CPUUsed, s.Measured = q, true
		case "memory" + usedSuffix:
			s.MemoryUsed, s.Measured = q, true
		}
	}
	return out, rows.Err()
}
