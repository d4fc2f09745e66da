package rest

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"k8s-manage/adapters/web"
	"k8s-manage/internal/httpserver"
	"k8s-manage/internal/toolname"
	"k8s-manage/platform/tenant"
)

// listTenants: GET /api/v1/tenants: the caller's tenants with role and environments.
func (p *API) listTenants(w http.ResponseWriter, r *http.Request) {
	ms, err := p.o.Directory.Memberships(r.Context(), web.User(r))
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"items": ms})
}

// members: GET /api/v1/tenants/{tenant}/members (admins).
func (p *API) members(w http.ResponseWriter, r *http.Request) {
	a, ok := p.authorize(w, r, chi.URLParam(r, "tenant"), "", tenant.Admin)
	if !ok {
		return
	}
	ms, err := p.o.Tenants.Members(r.Context(), a.Tenant)
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	type member struct {
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	out := make([]member, 0, len(ms))
	for _, m := range ms {
		out = append(out, member{Email: m.Email, Role: string(m.Role)})
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tenant": a.Tenant, "items": out})
}

// setMember: POST /api/v1/tenants/{tenant}/members {email, role} → 202 (admins).
func (p *API) setMember(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeObject(w, r)
	if !ok {
		return
	}
	a, ok := p.authorize(w, r, chi.URLParam(r, "tenant"), "", tenant.Admin)
	if !ok {
		return
	}
	p.propose(w, r, a, toolname.AddMember, body)
}

// quota: GET /api/v1/tenants/{tenant}/quota?env=E: used versus hard per resource.
func (p *API) quota(w http.ResponseWriter, r *http.Request) {
	a, ok := p.authorize(w, r, chi.URLParam(r, "tenant"), r.URL.Query().Get("env"), tenant.Viewer)
	if !ok {
		return
	}
	out, err := p.runRead(r, a, toolname.GetQuota, nil)
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tenant": a.Tenant, "env": a.Env, "data": out})
}
