package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"k8s-manage/adapters/web"
	"k8s-manage/agent/approval"
	"k8s-manage/internal/httpserver"
	"k8s-manage/platform/billing"
	"k8s-manage/platform/build"
	pconfig "k8s-manage/platform/config"
	"k8s-manage/platform/kube"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
)

// platformAPI serves the platform's own HTTP endpoints (bills, config with reveal, builds) with the
// web surface's token auth. Each request is authorized once at its entry (membership, role and
// environment of the tenant it names) and the handlers take that Access, not the query again;
// cluster writes run as the person.
type platformAPI struct {
	tenants *tenant.Service
	bills   *billing.Bills
	config  *pconfig.Service
	builds  *build.Service
	kube    *kube.Clients
	audit   auditor
}

// auditor appends to a tenant's audit log (approval.Store).
type auditor interface {
	Audit(ctx context.Context, e approval.AuditEntry) error
}

func (p *platformAPI) mount(api chi.Router, auth func(http.Handler) http.Handler) {
	api.Group(func(r chi.Router) {
		r.Use(auth)
		r.Get("/bills", p.bill)
		r.Get("/config", p.getConfig)
		r.Get("/config/diff", p.configDiff)
	})
}

// authorize resolves the caller's Access in tenant t and environment env (empty: the tenant's
// default) and checks min, writing the error response when refused: a missing tenant or an
// unknown environment is a 400 naming the field, a non-member or a too-low role a 403 naming the tenant.
func (p *platformAPI) authorize(w http.ResponseWriter, r *http.Request, t, env string, min tenant.Role) (tenant.Access, bool) {
	if t == "" {
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "tenant", Message: "is required"})
		return tenant.Access{}, false
	}
	a, err := p.tenants.Authorize(r.Context(), t, env, web.User(r))
	switch {
	case perr.KindOf(err) == perr.Invalid:
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "env", Message: strings.TrimPrefix(err.Error(), "env: ")})
		return a, false
	case err != nil:
		httpserver.WriteError(w, r, statusOf(err), err)
		return a, false
	case !a.Role.AtLeast(min):
		httpserver.WriteError(w, r, http.StatusForbidden, fmt.Errorf("this needs the %s role in tenant %s; you are %s", min, t, a.Role))
		return a, false
	}
	return a, true
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
	a, ok := p.authorize(w, r, q.Get("tenant"), "", tenant.Viewer)
	if !ok {
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
	b, err := p.bills.For(r.Context(), a.Tenant, from, to)
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
	a, ok := p.authorize(w, r, q.Get("tenant"), q.Get("env"), min)
	if !ok {
		if reveal {
			p.auditReveal(r, "config_reveal", q.Get("tenant"), q.Get("env"), map[string]string{"app": q.Get("app")}, "refused", "refused")
		}
		return
	}
	items, err := p.config.Get(r.Context(), pconfig.Ref{Tenant: a.Tenant, Env: a.Env, App: q.Get("app")}, reveal)
	if err != nil {
		httpserver.WriteError(w, r, statusOf(err), err)
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

// auditReveal records who revealed (or tried to reveal) secret values (tool config_reveal or
// catalog_reveal); the values never reach the log.
func (p *platformAPI) auditReveal(r *http.Request, tool, t, env string, target map[string]string, outcome, result string) {
	if p.audit == nil || t == "" {
		return
	}
	args, _ := json.Marshal(target)
	if err := p.audit.Audit(context.WithoutCancel(r.Context()), approval.AuditEntry{User: web.User(r), Tenant: t, Env: cmp.Or(env, "dev"),
		Tool: tool, Risk: "read-only", Args: string(args), Outcome: outcome, Result: result}); err != nil {
		slog.Default().Error("audit reveal", "tool", tool, "err", err)
	}
}

// configDiff: GET /api/v1/config/diff?tenant=T&env=E&app=A&from=RFC3339[&to=RFC3339] (secret values masked).
func (p *platformAPI) configDiff(w http.ResponseWriter, r *http.Request) {
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
	changes, err := p.config.Diff(r.Context(), pconfig.Ref{Tenant: a.Tenant, Env: a.Env, App: q.Get("app")}, at[0], at[1])
	if err != nil {
		httpserver.WriteError(w, r, statusOf(err), err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"changes": changes})
}
