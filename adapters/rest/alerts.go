package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"k8s-manage/internal/httpserver"
	"k8s-manage/internal/redact"
	"k8s-manage/platform/tenant"
)

// listAlerts: GET /api/v1/alerts?tenant=T[&limit=N&cursor=C]: the tenant's alerts, newest first,
// with diagnosis, proposed fixes and threads.
func (p *API) listAlerts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, ok := p.authorize(w, r, q.Get("tenant"), "", tenant.Viewer)
	if !ok {
		return
	}
	limit, cursor, ok := pageParams(w, r)
	if !ok {
		return
	}
	list, next, err := p.o.Alerts.Recent(r.Context(), a.Tenant, limit, cursor)
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	for i := range list {
		list[i].Diagnosis = redact.String(list[i].Diagnosis)
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tenant": a.Tenant, "items": list, "next_cursor": next})
}

// applyFix: POST /api/v1/alerts/{id}/fixes/{n}?tenant=T → 202: proposes the alert's n-th fix
// (from 0) as the caller, through approval.
func (p *API) applyFix(w http.ResponseWriter, r *http.Request) {
	a, ok := p.authorize(w, r, r.URL.Query().Get("tenant"), "", tenant.Developer)
	if !ok {
		return
	}
	rec, err := p.o.Alerts.Record(r.Context(), a.Tenant, chi.URLParam(r, "id"))
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	n, err := strconv.Atoi(chi.URLParam(r, "n"))
	if err != nil || n < 0 || n >= len(rec.Fixes) {
		httpserver.WriteError(w, r, http.StatusNotFound, fmt.Errorf("alert %s has no fix %s", rec.ID, chi.URLParam(r, "n")))
		return
	}
	fix := rec.Fixes[n]
	if fix.Env != "" && fix.Env != a.Env {
		if a, ok = p.authorize(w, r, a.Tenant, fix.Env, tenant.Developer); !ok {
			return
		}
	}
	args := map[string]any{}
	if err := json.Unmarshal([]byte(fix.Args), &args); err != nil {
		httpserver.WriteError(w, r, http.StatusInternalServerError, fmt.Errorf("alert %s fix %d: %w", rec.ID, n, err))
		return
	}
	for k := range args { // the fix acts where the alert is: the tenant and env authorized above
		if f := strings.ToLower(k); f == "tenant" || f == "env" {
			delete(args, k)
		}
	}
	p.propose(w, r, a, fix.Tool, args)
}
