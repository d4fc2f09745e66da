package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s-manage/adapters/web"
	"k8s-manage/internal/httpserver"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/catalog"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
	"k8s-manage/tools"
)

func (p *resourceAPI) target(r *http.Request, a tenant.Access) apps.Target {
	return apps.Target{As: tenant.Identity(web.User(r)), Namespace: tenant.Namespace(a.Tenant, a.Env)}
}

// listApps: GET /api/v1/apps?tenant=T&env=E[&q=substring][&health=h][&limit=N&cursor=C]
func (p *resourceAPI) listApps(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, ok := p.authorize(w, r, q.Get("tenant"), q.Get("env"), tenant.Viewer)
	if !ok {
		return
	}
	limit, cursor, ok := pageParams(w, r)
	if !ok {
		return
	}
	health := q.Get("health")
	switch health {
	case "", "healthy", "degraded", "down", "stopped":
	default:
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "health", Message: "must be healthy, degraded, down or stopped"})
		return
	}
	list, err := p.apps.List(r.Context(), p.target(r, a))
	if err != nil {
		writeErr(w, r, err)
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
		writeErr(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tenant": a.Tenant, "env": a.Env, "items": items, "next_cursor": next})
}

// etag quotes a version as an HTTP entity tag.
func etag(version string) string { return `"` + version + `"` }

// getApp: GET /api/v1/apps/{app}?tenant=T&env=E: status and editable configuration; the ETag is
// the configuration's version, for If-Match on PUT.
func (p *resourceAPI) getApp(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, ok := p.authorize(w, r, q.Get("tenant"), q.Get("env"), tenant.Viewer)
	if !ok {
		return
	}
	app := chi.URLParam(r, "app")
	t := p.target(r, a)
	cfg, err := p.apps.GetConfig(r.Context(), t, app)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	st, err := p.apps.Get(r.Context(), t, app)
	if err != nil {
		writeErr(w, r, err)
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
func (p *resourceAPI) specRequest(w http.ResponseWriter, r *http.Request) (appSpec, tenant.Access, bool) {
	var body appSpec
	if err := httpserver.DecodeJSON(r, &body); err != nil {
		httpserver.WriteError(w, r, http.StatusBadRequest, err)
		return body, tenant.Access{}, false
	}
	q := r.URL.Query()
	a, ok := p.authorize(w, r, q.Get("tenant"), q.Get("env"), tenant.Developer)
	return body, a, ok
}

// createApp: POST /api/v1/apps?tenant=T&env=E {name, image, replicas, env, ports, ...} → 202.
func (p *resourceAPI) createApp(w http.ResponseWriter, r *http.Request) {
	body, a, ok := p.specRequest(w, r)
	if !ok {
		return
	}
	args, err := body.args(body.Name, true)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	p.propose(w, r, a, "create_app", args)
}

// updateApp: PUT /api/v1/apps/{app}?tenant=T&env=E with If-Match: the ETag of GET. The body
// replaces the editable configuration (an omitted replica count keeps the current one). A stale
// tag is refused with 412 before anything is proposed, and the approved change is refused again
// if the app changed while it waited.
func (p *resourceAPI) updateApp(w http.ResponseWriter, r *http.Request) {
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
	cfg, err := p.apps.GetConfig(r.Context(), p.target(r, a), app)
	if err != nil {
		writeErr(w, r, err)
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
		writeErr(w, r, err)
		return
	}
	args["version"] = match
	p.propose(w, r, a, "update_app", args)
}

// logs: GET /api/v1/apps/{app}/logs?tenant=T&env=E[&pod=P][&container=C][&tail=200][&previous=true][&follow=true][&q=text]
// streams the pod's log lines as Server-Sent Events ("line" events, then "end"), read as the
// person; q keeps only the lines containing it, and every line is redacted.
func (p *resourceAPI) logs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, ok := p.authorize(w, r, q.Get("tenant"), q.Get("env"), tenant.Viewer)
	if !ok {
		return
	}
	tail := int64(200)
	if v := q.Get("tail"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 10000 {
			httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "tail", Message: "must be between 1 and 10000"})
			return
		}
		tail = n
	}
	cs, err := p.kube.As(tenant.Identity(web.User(r)))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	ns, app := tenant.Namespace(a.Tenant, a.Env), chi.URLParam(r, "app")
	pod := q.Get("pod")
	if pod == "" {
		pods, err := cs.CoreV1().Pods(ns).List(r.Context(), metav1.ListOptions{LabelSelector: apps.LabelApp + "=" + app})
		if err != nil {
			writeErr(w, r, perr.FromAPI(err, "list pods of "+app))
			return
		}
		if len(pods.Items) == 0 {
			writeErr(w, r, perr.New(perr.NotFound, "app %s has no pods in %s", app, ns))
			return
		}
		pod = pods.Items[0].Name
	} else {
		po, err := cs.CoreV1().Pods(ns).Get(r.Context(), pod, metav1.GetOptions{})
		if err != nil {
			writeErr(w, r, perr.FromAPI(err, "get pod "+pod))
			return
		}
		if po.Labels[apps.LabelApp] != app {
			writeErr(w, r, perr.Invalidf("pod", "%s is not a pod of app %s", pod, app))
			return
		}
	}
	opts := &corev1.PodLogOptions{Container: q.Get("container"), TailLines: &tail, Previous: q.Get("previous") == "true", Follow: q.Get("follow") == "true"}
	stream, err := cs.CoreV1().Pods(ns).GetLogs(pod, opts).Stream(r.Context())
	if err != nil {
		writeErr(w, r, perr.FromAPI(err, "logs of pod "+pod))
		return
	}
	defer stream.Close()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	filter := q.Get("q")
	send := func(event string, v any) error {
		b, _ := json.Marshal(v)
		_ = rc.SetWriteDeadline(time.Now().Add(time.Minute))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return err
		}
		return rc.Flush()
	}
	sc := bufio.NewScanner(stream)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if filter != "" && !strings.Contains(strings.ToLower(line), strings.ToLower(filter)) {
			continue
		}
		if err := send("line", map[string]string{"pod": pod, "text": tools.Redact(line)}); err != nil {
			return
		}
	}
	end := map[string]string{"pod": pod}
	if err := sc.Err(); err != nil && r.Context().Err() == nil {
		end["error"] = tools.Redact(err.Error())
	}
	_ = send("end", end)
}

// ---- builds ----

// listBuilds: GET /api/v1/builds?tenant=T&env=E[&app=A][&limit=N]
func (p *resourceAPI) listBuilds(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, ok := p.authorize(w, r, q.Get("tenant"), q.Get("env"), tenant.Viewer)
	if !ok {
		return
	}
	limit, _, ok := pageParams(w, r)
	if !ok {
		return
	}
	if err := p.builds.Sync(r.Context(), a.Tenant, a.Env); err != nil {
		writeErr(w, r, err)
		return
	}
	list, err := p.builds.List(r.Context(), a.Tenant, a.Env, q.Get("app"), limit)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	for _, b := range list {
		b.Log = ""
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tenant": a.Tenant, "env": a.Env, "items": list})
}

// buildSources: GET /api/v1/builds/sources?tenant=T&env=E: the registered repositories by app.
func (p *resourceAPI) buildSources(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, ok := p.authorize(w, r, q.Get("tenant"), q.Get("env"), tenant.Viewer)
	if !ok {
		return
	}
	list, err := p.builds.Sources(r.Context(), a.Tenant, a.Env)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tenant": a.Tenant, "env": a.Env, "items": list})
}

// getBuild: GET /api/v1/builds/{id}?tenant=T&env=E: the build with the end of its log.
func (p *resourceAPI) getBuild(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, ok := p.authorize(w, r, q.Get("tenant"), q.Get("env"), tenant.Viewer)
	if !ok {
		return
	}
	if err := p.builds.Sync(r.Context(), a.Tenant, a.Env); err != nil {
		writeErr(w, r, err)
		return
	}
	b, err := p.builds.Get(r.Context(), a.Tenant, a.Env, chi.URLParam(r, "id"))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	b.Log = tools.Redact(b.Log)
	httpserver.WriteJSON(w, http.StatusOK, b)
}

// deployBuild: POST /api/v1/builds/{id}/deploy?tenant=T&env=E → 202: deploys the build's image
// to its app (an earlier build's: a rollback to it).
func (p *resourceAPI) deployBuild(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, ok := p.authorize(w, r, q.Get("tenant"), q.Get("env"), tenant.Developer)
	if !ok {
		return
	}
	b, err := p.builds.Get(r.Context(), a.Tenant, a.Env, chi.URLParam(r, "id"))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if b.Status != "succeeded" || b.Image == "" {
		writeErr(w, r, perr.New(perr.Conflict, "build %s is %s: only a succeeded build can be deployed", b.ID, b.Status))
		return
	}
	image := b.Image
	if b.Digest != "" {
		image = strings.SplitN(b.Image, ":", 2)[0] + "@" + b.Digest
	}
	p.propose(w, r, a, "set_image", map[string]any{"app": b.App, "image": image})
}

// ---- catalog, config ----

// plans: GET /api/v1/catalog/plans: the service types and plan sizes (the same for every tenant).
func (p *resourceAPI) plans(w http.ResponseWriter, r *http.Request) {
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
func (p *resourceAPI) credentials(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := chi.URLParam(r, "name")
	a, ok := p.authorize(w, r, q.Get("tenant"), q.Get("env"), tenant.Operator)
	if !ok {
		p.auditReveal(r, "catalog_reveal", q.Get("tenant"), q.Get("env"), map[string]string{"instance": name}, "refused", "refused")
		return
	}
	list, err := p.catalog.List(r.Context(), p.target(r, a))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	for _, in := range list {
		if in.Name != name {
			continue
		}
		cs, err := p.kube.As(tenant.Identity(web.User(r)))
		if err != nil {
			writeErr(w, r, err)
			return
		}
		sec, err := cs.CoreV1().Secrets(tenant.Namespace(a.Tenant, a.Env)).Get(r.Context(), in.Secret, metav1.GetOptions{})
		if err != nil {
			writeErr(w, r, perr.FromAPI(err, "read the credentials of "+name))
			return
		}
		p.auditReveal(r, "catalog_reveal", a.Tenant, a.Env, map[string]string{"instance": name}, "ok", "credentials revealed")
		httpserver.WriteJSON(w, http.StatusOK, map[string]any{"name": in.Name, "type": in.Type, "host": in.Host, "port": in.Port,
			"username": string(sec.Data["username"]), "password": string(sec.Data["password"])})
		return
	}
	writeErr(w, r, perr.New(perr.NotFound, "service instance %s not found in %s", name, tenant.Namespace(a.Tenant, a.Env)))
}

// ---- alerts, tenants ----

// listAlerts: GET /api/v1/alerts?tenant=T[&limit=N&cursor=C]: the tenant's alerts, newest first,
// with diagnosis, proposed fixes and threads.
func (p *resourceAPI) listAlerts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, ok := p.authorize(w, r, q.Get("tenant"), "", tenant.Viewer)
	if !ok {
		return
	}
	limit, cursor, ok := pageParams(w, r)
	if !ok {
		return
	}
	list, next, err := p.alerts.Recent(r.Context(), a.Tenant, limit, cursor)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	for i := range list {
		list[i].Diagnosis = tools.Redact(list[i].Diagnosis)
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tenant": a.Tenant, "items": list, "next_cursor": next})
}

// listTenants: GET /api/v1/tenants: the caller's tenants with role and environments.
func (p *resourceAPI) listTenants(w http.ResponseWriter, r *http.Request) {
	ms, err := directory{p.tenants}.Memberships(r.Context(), web.User(r))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"items": ms})
}

// members: GET /api/v1/tenants/{tenant}/members (admins).
func (p *resourceAPI) members(w http.ResponseWriter, r *http.Request) {
	a, ok := p.authorize(w, r, chi.URLParam(r, "tenant"), "", tenant.Admin)
	if !ok {
		return
	}
	ms, err := p.tenants.Members(r.Context(), a.Tenant)
	if err != nil {
		writeErr(w, r, err)
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
func (p *resourceAPI) setMember(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := httpserver.DecodeJSON(r, &body); err != nil {
		httpserver.WriteError(w, r, http.StatusBadRequest, err)
		return
	}
	a, ok := p.authorize(w, r, chi.URLParam(r, "tenant"), "", tenant.Admin)
	if !ok {
		return
	}
	p.propose(w, r, a, "add_member", body)
}

// quota: GET /api/v1/tenants/{tenant}/quota?env=E: used versus hard per resource.
func (p *resourceAPI) quota(w http.ResponseWriter, r *http.Request) {
	a, ok := p.authorize(w, r, chi.URLParam(r, "tenant"), r.URL.Query().Get("env"), tenant.Viewer)
	if !ok {
		return
	}
	out, err := p.runRead(r.Context(), a, web.User(r), "get_quota", nil)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tenant": a.Tenant, "env": a.Env, "data": out})
}

// applyFix: POST /api/v1/alerts/{id}/fixes/{n}?tenant=T → 202: proposes the alert's n-th fix
// (from 0) as the caller, through approval.
func (p *resourceAPI) applyFix(w http.ResponseWriter, r *http.Request) {
	a, ok := p.authorize(w, r, r.URL.Query().Get("tenant"), "", tenant.Developer)
	if !ok {
		return
	}
	rec, err := p.alerts.Record(r.Context(), a.Tenant, chi.URLParam(r, "id"))
	if err != nil {
		writeErr(w, r, err)
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
