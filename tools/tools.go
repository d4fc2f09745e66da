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
	"strings"

	"github.com/cloudwego/eino/components/tool"
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

// Caller is the person a turn is for, resolved once at the turn's entry: Role is their role in
// Tenant (empty when the conversation has no tenant). A call may name another tenant or
// environment; the registry authorizes that one again before the tool runs.
type Caller struct {
	User   string // platform user e-mail
	Tenant string
	Env    string
	Role   tenant.Role
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
	// Intents are what people call the tool in chat, in Chinese and English: the builtin model's
	// intent table and the tools a hosted model's step carries are both built from them.
	Intents []Intent
	// Examples are messages that ask for the tool, the way people type them; the catalog test
	// reads each with the builtin model.
	Examples []string
	// ChatOnly marks a tool without a REST route of its own: it is reached from chat only.
	ChatOnly bool
}

// Intent is one way of asking for a tool: any word of Verbs signals it, one of Needs (when set)
// must appear too, and no word of Not may. An English word matches at the start of a word ("log"
// finds "logs"); a trailing "!" asks for the whole word ("deploy!" is not in "deployment");
// Chinese matches anywhere. Needs may hold a slot instead of a word (NeedKey, NeedImage,
// NeedNumber, NeedTwoNumbers, NeedBuildID). Required are the arguments a call cannot go without:
// when one is missing from the message, the person is asked for it.
type Intent struct {
	Verbs    []string
	Needs    []string
	Not      []string
	Required []string
	// Weight breaks ties between intents that match equally: the more specific one first.
	Weight int
	// BindOnly intents only bind the tool for a hosted model, which fills its arguments from the
	// schema; the builtin model does not call it from a message alone.
	BindOnly bool
}

// Slots an Intent's Needs may hold instead of a word.
const (
	NeedKey        = "key"         // a configuration key (LOG_LEVEL)
	NeedImage      = "image-slot"  // an image reference
	NeedNumber     = "number"      // any number
	NeedTwoNumbers = "two-numbers" // two numbers (a range: min and max)
	NeedBuildID    = "build-id"    // a build's id
)

// Target is embedded in every tool's arguments: where the call acts.
type Target struct {
	Tenant string `json:"tenant,omitempty" desc:"tenant; default: the conversation's"`
	Env    string `json:"env,omitempty" desc:"environment (dev, test, prod…); default: the conversation's"`
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

// Authorizer resolves a person's role in a tenant environment (tenant.Service.Authorize): a
// non-member gets a Forbidden error naming the tenant, an unknown environment an Invalid "env".
type Authorizer interface {
	Authorize(ctx context.Context, tenant, env, email string) (tenant.Access, error)
}

// Platform errors the agent matches with errors.Is (it does not import the platform).
var (
	ErrForbidden = perr.ErrForbidden
	ErrInvalid   = perr.ErrInvalid
)

// ErrNotAvailable marks tools whose platform part is not built yet.
var ErrNotAvailable = errors.New("not available yet")

// Registry is the catalog, built in cmd.
type Registry struct {
	tools     []*Tool
	byID      map[string]*Tool
	authz     Authorizer
	maxResult int
}

// Tools lists every catalog entry.
func (r *Registry) Tools() []*Tool { return r.tools }

// Get returns a tool by name.
func (r *Registry) Get(name string) (*Tool, bool) { t, ok := r.byID[name]; return t, ok }

// resolve applies defaults, validates the arguments against the tool's schema, and authorizes
// the caller in the tenant and environment the call acts in. Every call that names a tenant
// (the conversation's or its own) needs membership there, read-only and tenant-free tools too:
// search_knowledge with another tenant's name must not reach that tenant's runbooks.
func (r *Registry) resolve(ctx context.Context, t *Tool, c Caller, raw json.RawMessage) (Call, error) {
	var tg Target
	if len(strings.TrimSpace(string(raw))) > 0 {
		if err := json.Unmarshal(raw, &tg); err != nil {
			return Call{}, argError(t.spec.Name, err)
		}
	}
	call := Call{Caller: c, Tenant: cmp.Or(strings.TrimSpace(tg.Tenant), c.Tenant), Env: cmp.Or(strings.TrimSpace(tg.Env), c.Env, "dev")}
	if t.spec.Unavailable != "" {
		return call, fmt.Errorf("%s is %w: %s", t.spec.Name, ErrNotAvailable, t.spec.Unavailable)
	}
	if call.Tenant == "" {
		if t.spec.Role == "" { // tenant-free tools (list_tenants, search_knowledge over public docs)
			return call, nil
		}
		return call, perr.Invalidf("tenant", "%s needs a tenant: name one (you have no default tenant in this conversation)", t.spec.Name)
	}
	// Authorized again here, whatever the turn resolved: the call may name another tenant or
	// environment, and a membership may have changed while a call waited for its approval.
	a, err := r.authz.Authorize(ctx, call.Tenant, call.Env, c.User)
	if err != nil {
		return call, fmt.Errorf("%s: %w", t.spec.Name, err)
	}
	if t.spec.Role != "" && !a.Role.AtLeast(t.spec.Role) {
		return call, perr.New(perr.Forbidden, "%s needs the %s role in tenant %s; you are %s", t.spec.Name, t.spec.Role, call.Tenant, a.Role)
	}
	call.Role = a.Role
	call.Namespace = tenant.Namespace(call.Tenant, call.Env)
	return call, nil
}

// Run executes a tool call for c (after approval, for mutating tools) and returns the result
// as redacted JSON for the model.
func (r *Registry) Run(ctx context.Context, name string, c Caller, args string) (string, error) {
	return r.exec(ctx, name, c, args, false)
}

// ForAPI is the same registry (the same tools, authorization and redaction) with results capped
// at 8 MiB instead of the model's budget: an API client gets whole lists and diffs.
func (r *Registry) ForAPI() *Registry {
	v := *r
	v.maxResult = 8 << 20
	return &v
}

// Read runs a read-only tool, refusing any other: what an API read may run.
func (r *Registry) Read(ctx context.Context, name string, c Caller, args string) (string, error) {
	if t, ok := r.byID[name]; !ok || t.spec.Risk != ReadOnly {
		return "", perr.Invalidf("tool", "%s is not a read-only tool", name)
	}
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
	b, err := encode(out)
	if err != nil {
		return "", fmt.Errorf("%s: encode result: %w", name, err)
	}
	return capResult(Redact(b), r.maxResult), nil
}

// ToolsFor returns the eino tools the caller may use: tools above their role in the turn's
// tenant are not offered at all (a caller without a tenant gets the tenant-free ones). Calls are
// still authorized when they run, in the tenant and environment they name.
func (r *Registry) ToolsFor(c Caller) []tool.InvokableTool {
	var out []tool.InvokableTool
	for _, t := range r.tools {
		if t.spec.Unavailable != "" {
			continue
		}
		if t.spec.Role != "" && !c.Role.AtLeast(t.spec.Role) {
			continue
		}
		out = append(out, &bound{reg: r, t: t, caller: c})
	}
	return out
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
