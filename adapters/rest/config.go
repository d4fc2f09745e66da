package rest

import (
	"fmt"
	"net/http"
	"time"

	"k8s-manage/internal/httpserver"
	"k8s-manage/platform/billing"
	pconfig "k8s-manage/platform/config"
	"k8s-manage/platform/tenant"
)

// bill: GET /api/v1/bills?tenant=T&period=2026-11[&format=csv]
func (p *API) bill(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, ok := p.authorize(w, r, q.Get("tenant"), "", tenant.Viewer)
	if !ok {
		return
	}
	from, to := billing.MonthOf(p.o.Now())
	if ps := q.Get("period"); ps != "" {
		t, err := time.Parse("2006-01", ps)
		if err != nil {
			httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "period", Message: "must look like 2026-11"})
			return
		}
		from, to = billing.MonthOf(t)
	}
	b, err := p.o.Bills.For(r.Context(), a.Tenant, from, to)
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	if q.Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="bill-%s-%s.csv"`, b.Tenant, from.Format("2006-01")))
		fmt.Fprint(w, b.CSV())
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, b)
}

// getConfig: GET /api/v1/config?tenant=T&env=E&app=A[&reveal=true]; revealing secrets needs operator.
func (p *API) getConfig(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	reveal := q.Get("reveal") == "true"
	min := tenant.Viewer
	if reveal {
		min = tenant.Operator
	}
	a, ok := p.authorize(w, r, q.Get("tenant"), q.Get("env"), min)
	if !ok {
		if reveal {
			p.auditReveal(r, "config_reveal", q.Get("tenant"), q.Get("env"), map[string]string{"app": q.Get("app")}, "refused", "refused")
		}
		return
	}
	items, err := p.o.Config.Get(r.Context(), pconfig.Ref{Tenant: a.Tenant, Env: a.Env, App: q.Get("app")}, reveal)
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	if reveal {
		secrets := 0
		for _, it := range items {
			if it.Secret {
				secrets++
			}
		}
		p.auditReveal(r, "config_reveal", a.Tenant, a.Env, map[string]string{"app": q.Get("app")}, "ok", fmt.Sprintf("%d secret values revealed", secrets))
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"items": items, "revealed": reveal})
}

// configDiff: GET /api/v1/config/diff?tenant=T&env=E&app=A&from=RFC3339[&to=RFC3339] (secret values masked).
func (p *API) configDiff(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, ok := p.authorize(w, r, q.Get("tenant"), q.Get("env"), tenant.Viewer)
	if !ok {
		return
	}
	var at [2]time.Time
	for i, f := range []string{"from", "to"} {
		v := q.Get(f)
		if v == "" && f == "to" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: f, Message: "must be an RFC 3339 time like 2026-11-27T09:00:00Z"})
			return
		}
		at[i] = t
	}
	changes, err := p.o.Config.Diff(r.Context(), pconfig.Ref{Tenant: a.Tenant, Env: a.Env, App: q.Get("app")}, at[0], at[1])
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"changes": changes})
}
