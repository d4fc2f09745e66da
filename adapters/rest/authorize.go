package rest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"k8s-manage/adapters/web"
	"k8s-manage/agent/approval"
	"k8s-manage/internal/httpserver"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
)

// authorize resolves the caller's Access in tenant t and environment env (empty: the tenant's
// default) and checks min, writing the error response when refused: a missing tenant or an
// unknown environment is a 400 naming the field, a non-member or a too-low role a 403 naming the
// tenant.
func (p *API) authorize(w http.ResponseWriter, r *http.Request, t, env string, min tenant.Role) (tenant.Access, bool) {
	if t == "" {
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "tenant", Message: "is required"})
		return tenant.Access{}, false
	}
	a, err := p.o.Tenants.Authorize(r.Context(), t, env, web.User(r))
	switch {
	case perr.KindOf(err) == perr.Invalid:
		httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "env", Message: strings.TrimPrefix(err.Error(), "env: ")})
		return a, false
	case err != nil:
		httpserver.Fail(w, r, err)
		return a, false
	case !a.Role.AtLeast(min):
		httpserver.WriteError(w, r, http.StatusForbidden, fmt.Errorf("this needs the %s role in tenant %s; you are %s", min, t, a.Role))
		return a, false
	}
	a.User = web.User(r) // the person as the surface authenticated them: who is impersonated
	return a, true
}

// inQuery authorizes the tenant and env of the query.
func (p *API) inQuery(w http.ResponseWriter, r *http.Request, min tenant.Role) (tenant.Access, bool) {
	q := r.URL.Query()
	return p.authorize(w, r, q.Get("tenant"), q.Get("env"), min)
}

// target is where the platform acts for a: as the person, in the environment's namespace.
func target(a tenant.Access) apps.Target {
	return apps.Target{As: tenant.Identity(a.User), Namespace: tenant.Namespace(a.Tenant, a.Env)}
}

// auditReveal records who revealed (or tried to reveal) secret values (tool config_reveal or
// catalog_reveal); the values never reach the log.
func (p *API) auditReveal(r *http.Request, tool, t, env string, target map[string]string, outcome, result string) {
	if p.o.Audit == nil || t == "" {
		return
	}
	args, _ := json.Marshal(target)
	if err := p.o.Audit.Audit(context.WithoutCancel(r.Context()), approval.AuditEntry{User: web.User(r), Tenant: t, Env: cmp.Or(env, "dev"),
		Tool: tool, Risk: "read-only", Args: string(args), Outcome: outcome, Result: result}); err != nil {
		p.o.Log.Error("audit reveal", "tool", tool, "err", err)
	}
}
