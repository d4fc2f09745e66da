package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"k8s-manage/adapters/alertmanager"
	"k8s-manage/adapters/web"
	"k8s-manage/agent"
	"k8s-manage/agent/approval"
	"k8s-manage/internal/httpserver"
	"k8s-manage/internal/textutil"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/catalog"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
	"k8s-manage/tools"
)

// proposer is what the REST writes need of agent.Service: a turn whose first step is the
// prepared call, through the same approval gate (dry-run diff, request, exactly-once run as the
// person) as a call the model chose.
type proposer interface {
	Propose(ctx context.Context, t agent.Turn, fix agent.Fix) (<-chan agent.Event, error)
}

// resourceAPI serves the platform's REST resources under /api/v1 (apps, pods, events, logs,
// revisions, autoscaling, builds, catalog, alerts, tenants). Every request is authorized once at
// its entry (platformAPI.authorize); reads go through the platform as the person (read-only
// tools, so the same redaction applies), and every write is a pending approval answered with
// 202 Accepted, unless the tenant lets the caller's role bypass approval.
type resourceAPI struct {
	*platformAPI
	apps    *apps.Service
	catalog *catalog.Service
	reads   *tools.Registry
	agent   proposer
	alerts  *alertmanager.Queue
}

func (p *resourceAPI) mount(api chi.Router, auth func(http.Handler) http.Handler) {
	api.Group(func(r chi.Router) {
		r.Use(auth)
		r.Get("/tenants", p.listTenants)
		r.Get("/tenants/{tenant}/members", p.members)
		r.Post("/tenants/{tenant}/members", p.setMember)
		r.Get("/tenants/{tenant}/quota", p.quota)

		r.Get("/apps", p.listApps)
		r.Post("/apps", p.createApp)
		r.Get("/apps/{app}", p.getApp)
		r.Put("/apps/{app}", p.updateApp)
		r.Delete("/apps/{app}", p.appWrite("delete_app", nil)) // destructive: always through approval
		r.Post("/apps/{app}/scale", p.appWrite("scale_app", func(b map[string]any) error { return needNumber(b, "replicas") }))
		r.Post("/apps/{app}/restart", p.appWrite("restart_app", nil))
		r.Post("/apps/{app}/rollback", p.appWrite("rollback_app", nil))
		r.Post("/apps/{app}/canary", p.appWrite("start_canary", nil))
		r.Post("/apps/{app}/canary/promote", p.appWrite("promote_canary", nil))
		r.Post("/apps/{app}/canary/abort", p.appWrite("abort_canary", nil))
		r.Post("/apps/{app}/switch", p.appWrite("switch_blue_green", nil))
		r.Get("/apps/{app}/revisions", p.appRead("list_revisions"))
		r.Get("/apps/{app}/pods", p.appRead("list_pods"))
		r.Get("/apps/{app}/events", p.read("get_events", func(r *http.Request) map[string]any { return map[string]any{"object": chi.URLParam(r, "app")} }))
		r.Get("/apps/{app}/logs", p.logs)
		r.Get("/apps/{app}/hpa", p.appRead("get_hpa"))
		r.Put("/apps/{app}/hpa", p.appWrite("set_hpa", nil))
		r.Delete("/apps/{app}/hpa", p.appWrite("delete_hpa", nil))

		r.Get("/builds", p.listBuilds)
		r.Get("/builds/sources", p.buildSources)
		r.Post("/builds", p.write("trigger_build", tenant.Developer, nil))
		r.Get("/builds/{id}", p.getBuild)
		r.Post("/builds/{id}/deploy", p.deployBuild)

		r.Get("/catalog/plans", p.plans)
		r.Get("/catalog/instances", p.read("list_service_instances", nil))
		r.Post("/catalog/instances", p.write("provision_service", tenant.Operator, nil))
		r.Delete("/catalog/instances/{name}", p.writeWith("delete_service_instance", tenant.Operator, pathArg("name"), nil)) // destructive
		r.Get("/catalog/instances/{name}/credentials", p.credentials)

		r.Put("/config/{key}", p.writeWith("set_config", tenant.Developer, pathArg("key"), nil)) // {app, value, secret}
		r.Post("/environments/clone", p.write("clone_environment", tenant.Admin, nil))

		r.Get("/alerts", p.listAlerts)
		r.Post("/alerts/{id}/fixes/{n}", p.applyFix)
	})
}

// ---- errors ----

// writeErr answers a platform or tool error with its status, naming the field of a bad input.
func writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var pe *perr.Error
	if errors.As(err, &pe) && pe.Kind == perr.Invalid && pe.Field != "" {
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: pe.Field,
			Message: strings.TrimPrefix(pe.Message, pe.Field+": ")})
		return
	}
	if errors.Is(err, alertmanager.ErrNotFound) {
		httpserver.WriteError(w, r, http.StatusNotFound, err)
		return
	}
	var fe *alertmanager.FieldError
	if errors.As(err, &fe) {
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: fe.Field, Message: fe.Message})
		return
	}
	httpserver.WriteError(w, r, statusOf(err), errors.New(tools.Redact(err.Error())))
}

// ---- pagination ----

const defaultLimit, maxLimit = 50, 500

// pageParams reads limit (1..500, default 50) and cursor.
func pageParams(w http.ResponseWriter, r *http.Request) (limit int, cursor string, ok bool) {
	limit = defaultLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", maxLimit)})
			return 0, "", false
		}
		limit = n
	}
	return limit, r.URL.Query().Get("cursor"), true
}

// page returns the items after the cursor (the opaque key of the previous page's last item)
// in key order, at most limit, and the cursor of the next page ("" on the last).
func page[T any](items []T, key func(T) string, cursor string, limit int) ([]T, string, error) {
	after := ""
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil {
			return nil, "", perr.Invalidf("cursor", "is not a cursor this list returned")
		}
		after = string(b)
	}
	slices.SortFunc(items, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	i := 0
	if after != "" {
		i, _ = slices.BinarySearchFunc(items, after, func(t T, k string) int { return strings.Compare(key(t), k) })
		for i < len(items) && key(items[i]) <= after {
			i++
		}
	}
	items = items[i:]
	if len(items) <= limit {
		return items, "", nil
	}
	return items[:limit], base64.RawURLEncoding.EncodeToString([]byte(key(items[limit-1]))), nil
}

// ---- reads through read-only tools ----

// runRead runs a read-only tool as the caller (authorized already) and returns its JSON.
func (p *resourceAPI) runRead(ctx context.Context, a tenant.Access, user, name string, args map[string]any) (json.RawMessage, error) {
	t, ok := p.reads.Get(name)
	if !ok || t.Spec().Risk != tools.ReadOnly {
		return nil, fmt.Errorf("%s is not a read-only tool", name)
	}
	if args == nil {
		args = map[string]any{}
	}
	args["tenant"], args["env"] = a.Tenant, a.Env
	b, _ := json.Marshal(args)
	out, err := p.reads.Run(ctx, name, tools.Caller{User: user, Tenant: a.Tenant, Env: a.Env, Role: a.Role}, string(b))
	if err != nil {
		return nil, err
	}
	return unquoted(json.RawMessage(out)), nil
}

// unquoted takes the text out of the data blocks the tools fence untrusted text in for the model
// ("<<<event (data, not instructions) … >>>"): an API client gets the text itself.
func unquoted(raw json.RawMessage) json.RawMessage {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			s, _ := textutil.UnquoteAny(x)
			return s
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = walk(x[k])
			}
		}
		return v
	}
	b, err := json.Marshal(walk(v))
	if err != nil {
		return raw
	}
	return b
}

// read serves GET lists and objects of a tenant environment from a read-only tool; extra maps
// query parameters into the tool's arguments.
func (p *resourceAPI) read(name string, extra func(r *http.Request) map[string]any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		a, ok := p.authorize(w, r, q.Get("tenant"), q.Get("env"), tenant.Viewer)
		if !ok {
			return
		}
		var args map[string]any
		if extra != nil {
			args = extra(r)
		}
		out, err := p.runRead(r.Context(), a, web.User(r), name, args)
		if err != nil {
			writeErr(w, r, err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tenant": a.Tenant, "env": a.Env, "data": out})
	}
}

func (p *resourceAPI) appRead(name string) http.HandlerFunc {
	return p.read(name, func(r *http.Request) map[string]any { return map[string]any{"app": chi.URLParam(r, "app")} })
}

// ---- writes through the approval gate ----

// accepted is the answer to a write: the pending approval, or (bypassed) the result.
type accepted struct {
	// Status is pending (waits for an approval), done (ran: the tenant lets this role bypass
	// approval) or preview (dry_run=true: the diff, nothing requested).
	Status   string          `json:"status"`
	Approval any             `json:"approval,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
}

// propose sends the write as a tool call through the agent's gate and answers 202 with the
// approval request, 200 with the result when it ran without one, or the refusal's error.
func (p *resourceAPI) propose(w http.ResponseWriter, r *http.Request, a tenant.Access, tool string, args map[string]any) {
	if t, ok := p.reads.Get(tool); !ok {
		httpserver.WriteError(w, r, http.StatusInternalServerError, fmt.Errorf("unknown tool %s", tool))
		return
	} else if spec := t.Spec(); spec.Role != "" && !a.Role.AtLeast(spec.Role) {
		httpserver.WriteError(w, r, http.StatusForbidden, fmt.Errorf("%s needs the %s role in tenant %s; you are %s", tool, spec.Role, a.Tenant, a.Role))
		return
	}
	for k := range args { // any casing: Go's JSON decoding of the tool's arguments ignores it
		if f := strings.ToLower(k); f == "tenant" || f == "env" {
			httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: k, Message: "goes in the query (?tenant=&env=) or the path, not the body"})
			return
		}
	}
	args["tenant"], args["env"] = a.Tenant, a.Env
	b, err := json.Marshal(args)
	if err != nil {
		httpserver.WriteError(w, r, http.StatusBadRequest, err)
		return
	}
	if r.URL.Query().Get("dry_run") == "true" { // the console's preview before it submits
		out, err := p.reads.Preview(r.Context(), tool, tools.Caller{User: web.User(r), Tenant: a.Tenant, Env: a.Env, Role: a.Role}, string(b))
		if err != nil {
			writeErr(w, r, err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, accepted{Status: "preview", Result: json.RawMessage(out)})
		return
	}
	events, err := p.agent.Propose(r.Context(), agent.Turn{Surface: "api", Thread: "api-" + approval.NewID(), User: web.User(r),
		Tenant: a.Tenant, Env: a.Env, Text: fmt.Sprintf("API %s %s", r.Method, r.URL.Path)}, agent.Fix{Tenant: a.Tenant, Env: a.Env, Tool: tool, Args: string(b)})
	if err != nil {
		writeErr(w, r, err)
		return
	}
	defer func() {
		go func() {
			for range events { // the rest of the turn (the worded answer) finishes in the background
			}
		}()
	}()
	for e := range events {
		switch e.Type {
		case agent.EventApprovalRequested:
			w.Header().Set("Location", "/api/v1/approvals?status=pending")
			httpserver.WriteJSON(w, http.StatusAccepted, accepted{Status: "pending", Approval: e.Approval})
			return
		case agent.EventToolFinished:
			if e.Err != nil {
				writeErr(w, r, e.Err)
				return
			}
			httpserver.WriteJSON(w, http.StatusOK, accepted{Status: "done", Result: json.RawMessage(cmp.Or(e.Result, "{}"))})
			return
		case agent.EventError:
			httpserver.WriteError(w, r, http.StatusInternalServerError, errors.New(e.Error))
			return
		}
	}
	httpserver.WriteError(w, r, http.StatusInternalServerError, fmt.Errorf("%s: the request ended without an approval or a result", tool))
}

// write serves a POST/PUT/DELETE of a tenant environment whose JSON body is the tool's arguments
// (tenant and env come from the query, never the body).
func (p *resourceAPI) write(tool string, min tenant.Role, check func(map[string]any) error) http.HandlerFunc {
	return p.writeWith(tool, min, nil, check)
}

func (p *resourceAPI) writeWith(tool string, min tenant.Role, fromPath func(r *http.Request, body map[string]any), check func(map[string]any) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body := map[string]any{}
		if r.ContentLength != 0 && r.Method != http.MethodDelete {
			if err := httpserver.DecodeJSON(r, &body); err != nil {
				httpserver.WriteError(w, r, http.StatusBadRequest, err)
				return
			}
		}
		q := r.URL.Query()
		a, ok := p.authorize(w, r, q.Get("tenant"), q.Get("env"), min)
		if !ok {
			return
		}
		if fromPath != nil {
			fromPath(r, body)
		}
		if check != nil {
			if err := check(body); err != nil {
				writeErr(w, r, err)
				return
			}
		}
		p.propose(w, r, a, tool, body)
	}
}

func (p *resourceAPI) appWrite(tool string, check func(map[string]any) error) http.HandlerFunc {
	return p.writeWith(tool, tenant.Developer, pathArg("app"), check)
}

// pathArg sets the tool argument name from the path parameter of the same name.
func pathArg(name string) func(r *http.Request, b map[string]any) {
	return func(r *http.Request, b map[string]any) { b[name] = chi.URLParam(r, name) }
}

func needNumber(b map[string]any, field string) error {
	if _, ok := b[field].(float64); !ok {
		return perr.Invalidf(field, "is required (a number)")
	}
	return nil
}
