package rest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"k8s-manage/agent"
	"k8s-manage/agent/approval"
	"k8s-manage/internal/httpserver"
	"k8s-manage/internal/textutil"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
)

// ---- reads through read-only tools ----

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

// runRead runs a read-only tool as the caller and returns its JSON, unfenced.
func (p *API) runRead(r *http.Request, a tenant.Access, name string, args map[string]any) (json.RawMessage, error) {
	out, err := p.o.Tools.Read(r.Context(), a, name, args)
	if err != nil {
		return nil, err
	}
	return unquoted(out), nil
}

// read serves GET lists and objects of a tenant environment from a read-only tool; extra maps
// path and query parameters into the tool's arguments.
func (p *API) read(name string, extra func(r *http.Request) map[string]any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok := p.inQuery(w, r, tenant.Viewer)
		if !ok {
			return
		}
		var args map[string]any
		if extra != nil {
			args = extra(r)
		}
		out, err := p.runRead(r, a, name, args)
		if err != nil {
			httpserver.Fail(w, r, err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tenant": a.Tenant, "env": a.Env, "data": out})
	}
}

// queryArgs maps the named query parameters, when given, into a tool's arguments ("true" and
// "false" become booleans; the contract has checked each value before the handler runs).
func queryArgs(names ...string) func(r *http.Request) map[string]any {
	return func(r *http.Request) map[string]any {
		args := map[string]any{}
		q := r.URL.Query()
		for _, n := range names {
			if !q.Has(n) {
				continue
			}
			switch v := q.Get(n); v {
			case "true":
				args[n] = true
			case "false":
				args[n] = false
			default:
				args[n] = v
			}
		}
		return args
	}
}

func (p *API) appRead(name string) http.HandlerFunc {
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
func (p *API) propose(w http.ResponseWriter, r *http.Request, a tenant.Access, tool string, args map[string]any) {
	if role, ok := p.o.Tools.Role(tool); !ok {
		httpserver.WriteError(w, r, http.StatusInternalServerError, fmt.Errorf("unknown tool %s", tool))
		return
	} else if role != "" && !a.Role.AtLeast(role) {
		httpserver.WriteError(w, r, http.StatusForbidden, fmt.Errorf("%s needs the %s role in tenant %s; you are %s", tool, role, a.Tenant, a.Role))
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
		out, err := p.o.Tools.Preview(r.Context(), a, tool, string(b))
		if err != nil {
			httpserver.Fail(w, r, err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, accepted{Status: "preview", Result: out})
		return
	}
	events, err := p.o.Proposer.Propose(r.Context(), agent.Turn{Surface: "api", Thread: "api-" + approval.NewID(), User: a.User,
		Tenant: a.Tenant, Env: a.Env, Text: fmt.Sprintf("API %s %s", r.Method, r.URL.Path)}, agent.Fix{Tenant: a.Tenant, Env: a.Env, Tool: tool, Args: string(b)})
	if err != nil {
		httpserver.Fail(w, r, err)
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
				httpserver.Fail(w, r, e.Err)
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
// (tenant and env come from the query, never the body); fromPath adds path parameters, check
// refuses a body before anything is proposed.
func (p *API) write(tool string, min tenant.Role, fromPath func(r *http.Request, body map[string]any), check func(map[string]any) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := decodeObject(w, r)
		if !ok {
			return
		}
		a, ok := p.inQuery(w, r, min)
		if !ok {
			return
		}
		if fromPath != nil {
			fromPath(r, body)
		}
		if check != nil {
			if err := check(body); err != nil {
				httpserver.Fail(w, r, err)
				return
			}
		}
		p.propose(w, r, a, tool, body)
	}
}

// decodeObject reads an optional JSON object body: none (or a DELETE's) is an empty object,
// and anything but an object (null, a list, a number) is a 400.
func decodeObject(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	body := map[string]any{}
	if r.ContentLength == 0 || r.Method == http.MethodDelete {
		return body, true
	}
	var v any
	if err := httpserver.DecodeJSON(r, &v); err != nil {
		if r.ContentLength < 0 && err.Error() == "request body is empty" {
			return body, true
		}
		httpserver.WriteError(w, r, http.StatusBadRequest, err)
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "body", Message: "must be a JSON object"})
		return nil, false
	}
	return m, true
}

func (p *API) appWrite(tool string, check func(map[string]any) error) http.HandlerFunc {
	return p.write(tool, tenant.Developer, pathArg("app"), check)
}

// pathArg sets the tool argument name from the path parameter of the same name.
func pathArg(name string) func(r *http.Request, b map[string]any) {
	return func(r *http.Request, b map[string]any) { b[name] = chi.URLParam(r, name) }
}

// needNumber refuses a body without a number in field.
func needNumber(field string) func(map[string]any) error {
	return func(b map[string]any) error {
		if _, ok := b[field].(float64); !ok {
			return perr.Invalidf(field, "is required (a number)")
		}
		return nil
	}
}
