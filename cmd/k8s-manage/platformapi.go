package main

import (
	"cmp"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"k8s-manage/adapters/web"
	"k8s-manage/internal/httpserver"
	"k8s-manage/platform/billing"
	"k8s-manage/platform/build"
	pconfig "k8s-manage/platform/config"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
)

// platformAPI serves the platform's own HTTP endpoints (bills, config with reveal, builds) with the
// web surface's token auth. They check tenant roles themselves; cluster writes run as the person.
type platformAPI struct {
	tenants *tenant.Service
	bills   *billing.Bills
	config  *pconfig.Service
	builds  *build.Service
	kube    *kube.Clients
}

func (p *platformAPI) mount(api chi.Router, auth func(http.Handler) http.Handler) {
	api.Group(func(r chi.Router) {
		r.Use(auth)
		r.Get("/bills", p.bill)
		r.Get("/config", p.getConfig)
		r.Get("/config/diff", p.configDiff)
		r.Post("/builds", p.startBuild)
	})
}

// role checks the caller's role in tenant, writing the error response when it is too low.
func (p *platformAPI) role(w http.ResponseWriter, r *http.Request, t string, min tenant.Role) bool {
	if t == "" {
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "tenant", Message: "is required"})
		return false
	}
	role, ok, err := p.tenants.RoleOf(r.Context(), t, web.User(r))
	if err != nil {
		httpserver.WriteError(w, r, http.StatusInternalServerError, err)
		return false
	}
	if !ok || !role.AtLeast(min) {
		httpserver.WriteError(w, r, http.StatusForbidden, fmt.Errorf("this needs the %s role in tenant %s", min, t))
		return false
	}
	return true
}

func statusOf(err error) int {
	switch perr.KindOf(err) {
	case perr.NotFound:
		return http.StatusNotFound
	case perr.Forbidden:
		return http.StatusForbidden
	case perr.Invalid:
		return http.StatusBadRequest
	case perr.Conflict, perr.AlreadyExists:
		return http.StatusConflict
	default:
		return http.StatusInternalServerError
	}
}

// bill: GET /api/v1/bills?tenant=T&period=2026-11[&format=csv]
func (p *platformAPI) bill(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !p.role(w, r, q.Get("tenant"), tenant.Viewer) {
		return
	}
	from, to := billing.MonthOf(time.Now())
	if ps := q.Get("period"); ps != "" {
		t, err := time.Parse("2006-01", ps)
		if err != nil {
			httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "period", Message: "must look like 2026-11"})
			return
		}
		from, to = billing.MonthOf(t)
	}
	b, err := p.bills.For(r.Context(), q.Get("tenant"), from, to)
	if err != nil {
		httpserver.WriteError(w, r, statusOf(err), err)
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
func (p *platformAPI) getConfig(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	reveal := q.Get("reveal") == "true"
	min := tenant.Viewer
	if reveal {
		min = tenant.Operator
	}
	if !p.role(w, r, q.Get("tenant"), min) {
		return
	}
	items, err := p.config.Get(r.Context(), pconfig.Ref{Tenant: q.Get("tenant"), Env: cmp.Or(q.Get("env"), "dev"), App: q.Get("app")}, reveal)
	if err != nil {
		httpserver.WriteError(w, r, statusOf(err), err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"items": items, "revealed": reveal})
}

// configDiff: GET /api/v1/config/diff?tenant=T&env=E&app=A&from=RFC3339[&to=RFC3339] (secret values masked).
func (p *platformAPI) configDiff(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !p.role(w, r, q.Get("tenant"), tenant.Viewer) {
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
	changes, err := p.config.Diff(r.Context(), pconfig.Ref{Tenant: q.Get("tenant"), Env: cmp.Or(q.Get("env"), "dev"), App: q.Get("app")}, at[0], at[1])
	if err != nil {
		httpserver.WriteError(w, r, statusOf(err), err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"changes": changes})
}

type buildRequest struct {
	Tenant string `json:"tenant"`
	Env    string `json:"env,omitempty"`
	App    string `json:"app"`
	Ref    string `json:"ref,omitempty"`
}

// startBuild: POST /api/v1/builds {"tenant","env","app","ref"}; the Job is created as the person.
func (p *platformAPI) startBuild(w http.ResponseWriter, r *http.Request) {
	var req buildRequest
	if err := httpserver.DecodeJSON(r, &req); err != nil {
		httpserver.WriteError(w, r, http.StatusBadRequest, err)
		return
	}
	if !p.role(w, r, req.Tenant, tenant.Developer) {
		return
	}
	cs, err := p.kube.As(tenant.Identity(web.User(r)))
	if err != nil {
		httpserver.WriteError(w, r, http.StatusInternalServerError, err)
		return
	}
	b, err := p.builds.Start(r.Context(), cs, build.Trigger{Tenant: req.Tenant, Env: cmp.Or(req.Env, "dev"), App: req.App, Ref: req.Ref,
		Author: web.User(r), By: "api"})
	if err != nil {
		httpserver.WriteError(w, r, statusOf(err), err)
		return
	}
	httpserver.WriteJSON(w, http.StatusCreated, b)
}
