package rest

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"k8s-manage/internal/httpserver"
	"k8s-manage/internal/toolname"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
)

// listApps: GET /api/v1/apps?tenant=T&env=E[&q=substring][&health=h][&limit=N&cursor=C]
func (p *API) listApps(w http.ResponseWriter, r *http.Request) {
	a, ok := p.inQuery(w, r, tenant.Viewer)
	if !ok {
		return
	}
	limit, cursor, ok := pageParams(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	health := q.Get("health")
	switch health {
	case "", "healthy", "degraded", "down", "stopped":
	default:
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "health", Message: "must be healthy, degraded, down or stopped"})
		return
	}
	list, err := p.o.Apps.List(r.Context(), target(a))
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	match := list[:0]
	for _, s := range list {
		if (health == "" || s.Health == health) && strings.Contains(s.Name, strings.ToLower(q.Get("q"))) {
			match = append(match, s)
		}
	}
	items, next, err := page(match, func(s apps.Summary) string { return s.Name }, cursor, limit)
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tenant": a.Tenant, "env": a.Env, "items": items, "next_cursor": next})
}

// etag quotes a version as an HTTP entity tag.
func etag(version string) string { return `"` + version + `"` }

// getApp: GET /api/v1/apps/{app}?tenant=T&env=E: status and editable configuration; the ETag is
// the configuration's version, for If-Match on PUT.
func (p *API) getApp(w http.ResponseWriter, r *http.Request) {
	a, ok := p.inQuery(w, r, tenant.Viewer)
	if !ok {
		return
	}
	app := chi.URLParam(r, "app")
	t := target(a)
	cfg, err := p.o.Apps.GetConfig(r.Context(), t, app)
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	st, err := p.o.Apps.Get(r.Context(), t, app)
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(cfg.Version))
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tenant": a.Tenant, "env": a.Env, "status": st, "config": cfg})
}

// appSpec is the body of POST /apps and PUT /apps/{app}: the editable configuration.
type appSpec struct {
	Name      string            `json:"name,omitempty"`
	Image     string            `json:"image"`
	Replicas  *int32            `json:"replicas,omitempty"`
	Command   []string          `json:"command,omitempty"`
	Args      []string          `json:"args,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Ports     []apps.Port       `json:"ports,omitempty"`
	Resources *apps.Resources   `json:"resources,omitempty"`
	Readiness *apps.Probe       `json:"readiness,omitempty"`
	Liveness  *apps.Probe       `json:"liveness,omitempty"`
	Strategy  string            `json:"strategy,omitempty"`
	Host      string            `json:"host,omitempty"`
}

// args checks the spec the way the platform will (so the form gets every field's message
// before anything is proposed) and returns the tool arguments.
func (s appSpec) args(app string, create bool) (map[string]any, error) {
	replicas := int32(1)
	if s.Replicas != nil {
		replicas = *s.Replicas
	}
	sp := apps.Spec{Name: app, Image: s.Image, Replicas: replicas, Command: s.Command, Args: s.Args, Env: s.Env, Ports: s.Ports,
		Readiness: s.Readiness, Liveness: s.Liveness, Strategy: apps.Strategy{Type: s.Strategy}}
	if s.Host != "" {
		sp.Ingress = &apps.Ingress{Host: s.Host}
	}
	if s.Resources != nil {
		sp.Resources = *s.Resources
	}
	if err := sp.Validate(); err != nil {
		return nil, err
	}
	out := map[string]any{"app": app, "image": s.Image, "replicas": replicas}
	set := func(k string, v any, present bool) {
		if present {
			out[k] = v
		}
	}
	set("command", s.Command, len(s.Command) > 0)
	set("args", s.Args, len(s.Args) > 0)
	set("env_vars", s.Env, len(s.Env) > 0)
	set("ports", s.Ports, len(s.Ports) > 0)
	set("resources", s.Resources, s.Resources != nil)
	set("readiness", s.Readiness, s.Readiness != nil)
	set("liveness", s.Liveness, s.Liveness != nil)
	set("strategy", s.Strategy, create && s.Strategy != "")
	set("host", s.Host, create && s.Host != "")
	if !create && s.Strategy != "" {
		return nil, perr.Invalidf("strategy", "cannot be changed on a running app")
	}
	if !create && s.Host != "" {
		return nil, perr.Invalidf("host", "is set when the app is created")
	}
	return out, nil
}

// specRequest decodes an app spec body and authorizes a developer of the query's tenant and env.
func (p *API) specRequest(w http.ResponseWriter, r *http.Request) (appSpec, tenant.Access, bool) {
	var body appSpec
	if err := httpserver.DecodeJSON(r, &body); err != nil {
		httpserver.WriteError(w, r, http.StatusBadRequest, err)
		return body, tenant.Access{}, false
	}
	a, ok := p.inQuery(w, r, tenant.Developer)
	return body, a, ok
}

// createApp: POST /api/v1/apps?tenant=T&env=E {name, image, replicas, env, ports, ...} → 202.
func (p *API) createApp(w http.ResponseWriter, r *http.Request) {
	body, a, ok := p.specRequest(w, r)
	if !ok {
		return
	}
	args, err := body.args(body.Name, true)
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	p.propose(w, r, a, toolname.CreateApp, args)
}

// updateApp: PUT /api/v1/apps/{app}?tenant=T&env=E with If-Match: the ETag of GET. The body
// replaces the editable configuration (an omitted replica count keeps the current one). A stale
// tag is refused with 412 before anything is proposed, and the approved change is refused again
// if the app changed while it waited.
func (p *API) updateApp(w http.ResponseWriter, r *http.Request) {
	body, a, ok := p.specRequest(w, r)
	if !ok {
		return
	}
	app := chi.URLParam(r, "app")
	if body.Name != "" && body.Name != app {
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "name", Message: "cannot be changed (it is the path's app)"})
		return
	}
	match := strings.Trim(strings.TrimPrefix(strings.TrimSpace(r.Header.Get("If-Match")), "W/"), `"`)
	if match == "" {
		httpserver.WriteError(w, r, http.StatusPreconditionRequired, &httpserver.FieldError{Field: "If-Match",
			Message: "is required: send the ETag of GET /api/v1/apps/" + app})
		return
	}
	cfg, err := p.o.Apps.GetConfig(r.Context(), target(a), app)
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	if cfg.Version != match {
		w.Header().Set("ETag", etag(cfg.Version))
		httpserver.WriteError(w, r, http.StatusPreconditionFailed, &httpserver.FieldError{Field: "If-Match",
			Message: fmt.Sprintf("app %s changed since version %s (now %s): reload it and apply your change again", app, match, cfg.Version)})
		return
	}
	if body.Replicas == nil { // PUT replaces the configuration, but an omitted replica count stays
		body.Replicas = &cfg.Replicas
	}
	args, err := body.args(app, false)
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	args["version"] = match
	p.propose(w, r, a, toolname.UpdateApp, args)
}
