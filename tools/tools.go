// Package tools is the agent's tool catalog over the platform and the knowledge base. Every
// tool declares its Risk and the minimum tenant role it needs; the registry binds tools to the
// person a turn is for (so nothing identity-related travels in contexts), leaves out the tools
// that person's role may not use, and every tool checks the role again before running. Tools
// act through the platform, which impersonates the person, so the API server's RBAC has the last word.
package tools

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/cloudwego/eino/components/tool"
	"github.com/cloudwego/eino/components/tool/utils"
	"github.com/cloudwego/eino/schema"

	"k8s-manage/platform/perr"
	"k8s-manage/platform/tenant"
)

// Risk classifies what a tool may change.
type Risk int

const (
	// ReadOnly tools run without approval.
	ReadOnly Risk = iota + 1
	// Mutating tools change the cluster or the platform and wait for an approval.
	Mutating
	// Destructive tools delete something that cannot be brought back; their approval says so.
	Destructive
)

func (r Risk) String() string {
	switch r {
	case ReadOnly:
		return "read-only"
	case Mutating:
		return "mutating"
	case Destructive:
		return "destructive"
	default:
		return "unknown"
	}
}

// NeedsApproval says whether calls wait for a human decision.
func (r Risk) NeedsApproval() bool { return r == Mutating || r == Destructive }

// Caller is the person a turn is for, with the conversation's defaults.
type Caller struct {
	User string // platform user e-mail
	// Tenant and Env are the conversation's defaults; a call may name others.
	Tenant string
	Env    string
}

// Spec describes a tool.
type Spec struct {
	Name string
	Desc string
	Risk Risk
	// Role is the minimum role in the target tenant.
	Role tenant.Role
	// Unavailable, when set, says which part of the platform the tool waits for.
	Unavailable string
}

// Target is embedded in every tool's arguments: where the call acts.
type Target struct {
	Tenant string `json:"tenant,omitempty" jsonschema:"description=tenant (team); defaults to the conversation's tenant"`
	Env    string `json:"env,omitempty" jsonschema:"description=environment such as dev, test or prod; defaults to the conversation's environment"`
}

func (t *Target) target() *Target { return t }

type targeted interface{ target() *Target }

// Call is a resolved tool call: who, where, and the namespace.
type Call struct {
	Caller
	Tenant    string
	Env       string
	Namespace string
	Role      tenant.Role
}

// Roles looks up a user's role in a tenant (tenant.Service.RoleOf).
type Roles interface {
	RoleOf(ctx context.Context, tenant, email string) (tenant.Role, bool, error)
}

// Tool is one catalog entry.
type Tool struct {
	spec Spec
	// run executes the call; dryRun previews it (mutating tools only). It returns a value that
	// is rendered as JSON for the model.
	run    func(ctx context.Context, c Call, args json.RawMessage, dryRun bool) (any, error)
	params func() (*schema.ToolInfo, error)
}

// Spec returns the tool's description.
func (t *Tool) Spec() Spec { return t.spec }

// Info is the tool's schema for models.
func (t *Tool) Info() (*schema.ToolInfo, error) { return t.params() }

var snake = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// define builds a tool whose arguments are the JSON of In (which embeds Target).
func define[In any, PIn interface {
	*In
	targeted
}](spec Spec, run func(ctx context.Context, c Call, in PIn, dryRun bool) (any, error)) *Tool {
	if !snake.MatchString(spec.Name) {
		panic("tool name must be snake_case: " + spec.Name) // programming error in the catalog
	}
	return &Tool{
		spec: spec,
		params: func() (*schema.ToolInfo, error) {
			t, err := utils.InferTool(spec.Name, spec.Desc, func(context.Context, In) (string, error) { return "", nil })
			if err != nil {
				return nil, err
			}
			return t.Info(context.Background())
		},
		run: func(ctx context.Context, c Call, raw json.RawMessage, dryRun bool) (any, error) {
			var in PIn = new(In)
			dec := json.NewDecoder(strings.NewReader(string(raw)))
			dec.DisallowUnknownFields()
			if len(strings.TrimSpace(string(raw))) > 0 {
				if err := dec.Decode(in); err != nil {
					return nil, perr.Invalidf("arguments", "%s: %v", spec.Name, err)
				}
			}
			return run(ctx, c, in, dryRun)
		},
	}
}

// ErrNotAvailable marks tools whose platform part is not built yet.
var ErrNotAvailable = errors.New("not available yet")

// Registry is the catalog, built in cmd.
type Registry struct {
	tools []*Tool
	byID  map[string]*Tool
	roles Roles
}

// Tools lists every catalog entry.
func (r *Registry) Tools() []*Tool { return r.tools }

// Get returns a tool by name.
func (r *Registry) Get(name string) (*Tool, bool) { t, ok := r.byID[name]; return t, ok }

// resolve applies defaults and checks the caller's role in the target tenant.
func (r *Registry) resolve(ctx context.Context, t *Tool, c Caller, raw json.RawMessage) (Call, error) {
	var tg Target
	if len(strings.TrimSpace(string(raw))) > 0 {
		if err := json.Unmarshal(raw, &tg); err != nil {
			return Call{}, perr.Invalidf("arguments", "%s: arguments must be a JSON object: %v", t.spec.Name, err)
		}
	}
	call := Call{Caller: c, Tenant: cmp.Or(tg.Tenant, c.Tenant), Env: cmp.Or(tg.Env, c.Env, "dev")}
	if t.spec.Unavailable != "" {
		return call, fmt.Errorf("%s is %w: %s", t.spec.Name, ErrNotAvailable, t.spec.Unavailable)
	}
	if t.spec.Role == "" { // tenant-independent tools (list_tenants, search_knowledge)
		return call, nil
	}
	if call.Tenant == "" {
		return call, perr.Invalidf("tenant", "%s needs a tenant: name one (you have no default tenant in this conversation)", t.spec.Name)
	}
	role, ok, err := r.roles.RoleOf(ctx, call.Tenant, c.User)
	if err != nil {
		return call, err
	}
	if !ok {
		return call, perr.New(perr.Forbidden, "%s: you (%s) are not a member of tenant %s", t.spec.Name, c.User, call.Tenant)
	}
	if !role.AtLeast(t.spec.Role) {
		return call, perr.New(perr.Forbidden, "%s needs the %s role in tenant %s; you are %s", t.spec.Name, t.spec.Role, call.Tenant, role)
	}
	call.Role = role
	call.Namespace = tenant.Namespace(call.Tenant, call.Env)
	return call, nil
}

// Run executes a tool call for c (after approval, for mutating tools) and returns the result
// as redacted JSON for the model.
func (r *Registry) Run(ctx context.Context, name string, c Caller, args string) (string, error) {
	return r.exec(ctx, name, c, args, false)
}

// Preview runs a mutating tool as a server-side dry run: the approval request shows its result.
func (r *Registry) Preview(ctx context.Context, name string, c Caller, args string) (string, error) {
	t, ok := r.byID[name]
	if !ok {
		return "", perr.Invalidf("tool", "unknown tool %q", name)
	}
	if !t.spec.Risk.NeedsApproval() {
		return "", perr.Invalidf("tool", "%s is read-only: nothing to preview", name)
	}
	return r.exec(ctx, name, c, args, true)
}

func (r *Registry) exec(ctx context.Context, name string, c Caller, args string, dryRun bool) (string, error) {
	t, ok := r.byID[name]
	if !ok {
		return "", perr.Invalidf("tool", "unknown tool %q", name)
	}
	call, err := r.resolve(ctx, t, c, json.RawMessage(args))
	if err != nil {
		return "", err
	}
	out, err := t.run(ctx, call, json.RawMessage(args), dryRun)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("%s: encode result: %w", name, err)
	}
	return Redact(string(b)), nil
}

// ToolsFor returns the eino tools the caller may use in their tenant: tools above their role
// are not offered at all. Tools still check the role of the tenant a call names when they run.
func (r *Registry) ToolsFor(ctx context.Context, c Caller) ([]tool.InvokableTool, error) {
	role := tenant.Role("")
	if c.Tenant != "" {
		got, ok, err := r.roles.RoleOf(ctx, c.Tenant, c.User)
		if err != nil {
			return nil, err
		}
		if ok {
			role = got
		}
	}
	var out []tool.InvokableTool
	for _, t := range r.tools {
		if t.spec.Unavailable != "" {
			continue
		}
		if t.spec.Role != "" && !role.AtLeast(t.spec.Role) {
			continue
		}
		out = append(out, &bound{reg: r, t: t, caller: c})
	}
	return out, nil
}

// bound is a tool bound to a caller, as eino sees it.
type bound struct {
	reg    *Registry
	t      *Tool
	caller Caller
}

func (b *bound) Info(context.Context) (*schema.ToolInfo, error) { return b.t.Info() }

// InvokableRun runs the tool. Approval gating happens in the agent (a ToolsNode middleware)
// before this is reached for mutating tools.
func (b *bound) InvokableRun(ctx context.Context, args string, _ ...tool.Option) (string, error) {
	return b.reg.Run(ctx, b.t.spec.Name, b.caller, args)
}
