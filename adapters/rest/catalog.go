package rest

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"k8s-manage/internal/httpserver"
	"k8s-manage/platform/catalog"
	"k8s-manage/platform/tenant"
)

// plans: GET /api/v1/catalog/plans: the service types and plan sizes (the same for every tenant).
func (p *API) plans(w http.ResponseWriter, r *http.Request) {
	type plan struct {
		Name    string `json:"name"`
		CPU     string `json:"cpu"`
		Memory  string `json:"memory"`
		Storage string `json:"storage"`
	}
	var ps []plan
	for _, n := range []string{"small", "medium", "large"} {
		pl := catalog.Plans[n]
		ps = append(ps, plan{Name: n, CPU: pl.CPU, Memory: pl.Memory, Storage: pl.Storage})
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"types": catalog.Types(), "plans": ps})
}

// credentials: GET /api/v1/catalog/instances/{name}/credentials?tenant=T&env=E (operators): the
// instance's user and password, read from its Secret as the person; every reveal (and refusal)
// is audited, the values never.
func (p *API) credentials(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := chi.URLParam(r, "name")
	a, ok := p.authorize(w, r, q.Get("tenant"), q.Get("env"), tenant.Operator)
	if !ok {
		p.auditReveal(r, "catalog_reveal", q.Get("tenant"), q.Get("env"), map[string]string{"instance": name}, "refused", "refused")
		return
	}
	c, err := p.o.Catalog.Credentials(r.Context(), target(a), name)
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	p.auditReveal(r, "catalog_reveal", a.Tenant, a.Env, map[string]string{"instance": name}, "ok", "credentials revealed")
	httpserver.WriteJSON(w, http.StatusOK, c)
}
