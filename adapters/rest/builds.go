package rest

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"k8s-manage/internal/httpserver"
	"k8s-manage/internal/redact"
	"k8s-manage/internal/toolname"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
)

// listBuilds: GET /api/v1/builds?tenant=T&env=E[&app=A][&limit=N]
func (p *API) listBuilds(w http.ResponseWriter, r *http.Request) {
	a, ok := p.inQuery(w, r, tenant.Viewer)
	if !ok {
		return
	}
	limit, _, ok := pageParams(w, r)
	if !ok {
		return
	}
	if err := p.o.Builds.Sync(r.Context(), a.Tenant, a.Env); err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	list, err := p.o.Builds.List(r.Context(), a.Tenant, a.Env, r.URL.Query().Get("app"), limit)
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	for _, b := range list {
		b.Log = ""
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tenant": a.Tenant, "env": a.Env, "items": list})
}

// buildSources: GET /api/v1/builds/sources?tenant=T&env=E: the registered repositories by app.
func (p *API) buildSources(w http.ResponseWriter, r *http.Request) {
	a, ok := p.inQuery(w, r, tenant.Viewer)
	if !ok {
		return
	}
	list, err := p.o.Builds.Sources(r.Context(), a.Tenant, a.Env)
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tenant": a.Tenant, "env": a.Env, "items": list})
}

// getBuild: GET /api/v1/builds/{id}?tenant=T&env=E: the build with the end of its log.
func (p *API) getBuild(w http.ResponseWriter, r *http.Request) {
	a, ok := p.inQuery(w, r, tenant.Viewer)
	if !ok {
		return
	}
	if err := p.o.Builds.Sync(r.Context(), a.Tenant, a.Env); err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	b, err := p.o.Builds.Get(r.Context(), a.Tenant, a.Env, chi.URLParam(r, "id"))
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	b.Log = redact.String(b.Log)
	httpserver.WriteJSON(w, http.StatusOK, b)
}

// deployBuild: POST /api/v1/builds/{id}/deploy?tenant=T&env=E → 202: deploys the build's image
// to its app (an earlier build's: a rollback to it).
func (p *API) deployBuild(w http.ResponseWriter, r *http.Request) {
	a, ok := p.inQuery(w, r, tenant.Developer)
	if !ok {
		return
	}
	b, err := p.o.Builds.Get(r.Context(), a.Tenant, a.Env, chi.URLParam(r, "id"))
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	if b.Status != "succeeded" || b.Image == "" {
		httpserver.Fail(w, r, perr.New(perr.Conflict, "build %s is %s: only a succeeded build can be deployed", b.ID, b.Status))
		return
	}
	image := b.Image
	if b.Digest != "" {
		image = strings.SplitN(b.Image, ":", 2)[0] + "@" + b.Digest
	}
	p.propose(w, r, a, toolname.SetImage, map[string]any{"app": b.App, "image": image})
}
