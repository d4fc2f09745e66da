// Package agent is the ChatOps agent: per turn an eino graph routes the message (a how-to question
// gets the knowledge chunks that answer it), then runs the chat model with the tools the person's
// role allows, in a loop with the ToolsNode, to a final answer. Mutating tool calls pause the graph
// (eino interrupt, checkpointed in the store) until a person with the approver right decides; an
// approved call then runs exactly once, impersonating the requester.
//
// Files: agent.go (types, options, the service), turn.go (the entry of a turn: authorization,
// conversation ownership), prompt.go (the system prompt and message builder, a pure function),
// graph.go (the graph and routing), gate.go (the approval gate, tool calls and audit),
// approvals.go (pause, decide, resume, expire, inbox), store.go (checkpoints, conversations).
package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudwego/eino/components/model"
	"github.com/cloudwego/eino/components/retriever"
	"github.com/cloudwego/eino/schema"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"k8s-manage/agent/approval"
	"k8s-manage/agent/builtin"
	"k8s-manage/internal/store"
	"k8s-manage/platform/tenant"
	"k8s-manage/tools"
)

// Turn is one message from a person on a surface.
type Turn struct {
	Surface string // web, slack, dingtalk, api, cli
	Thread  string // the surface's conversation/thread id
	User    string // platform user e-mail (the surface maps its identity)
	Tenant  string // default tenant of the conversation
	Env     string // default environment (dev when empty)
	Text    string
}

// EventType names an Event.
type EventType string

const (
	EventTextDelta         EventType = "text_delta"
	EventToolStarted       EventType = "tool_started"
	EventToolFinished      EventType = "tool_finished"
	EventApprovalRequested EventType = "approval_requested"
	EventApprovalDecided   EventType = "approval_decided"
	EventFinal             EventType = "final"
	EventError             EventType = "error"
)

// Event is what a surface renders.
type Event struct {
	Type         EventType         `json:"type"`
	Conversation string            `json:"conversation,omitempty"`
	Text         string            `json:"text,omitempty"`
	Tool         string            `json:"tool,omitempty"`
	Args         string            `json:"args,omitempty"`
	Result       string            `json:"result,omitempty"`
	Approval     *approval.Request `json:"approval,omitempty"`
	Error        string            `json:"error,omitempty"`
	// Err is the typed error behind a refused or invalid tool call (kept in the process: the
	// REST surface maps it to a status and a field).
	Err error `json:"-"`
}

// Roles resolves memberships (tenant.Service).
type Roles interface {
	// Authorize resolves a person's role in a tenant environment; a non-member gets an error
	// naming the tenant, an unknown environment one naming the field env.
	Authorize(ctx context.Context, tenant, env, email string) (tenant.Access, error)
	RoleOf(ctx context.Context, tenant, email string) (tenant.Role, bool, error)
	TenantsOf(ctx context.Context, email string) (map[string]tenant.Role, error)
}

// Options configure the Service.
type Options struct {
	Store *store.Store
	// Approvals keeps approval requests and the audit log (nil: built on Store).
	Approvals *approval.Store
	Tools     *tools.Registry
	Roles     Roles
	Model     model.ToolCallingChatModel // nil means the builtin model
	Knowledge retriever.Retriever        // nil disables knowledge answers
	// ApprovalTTL is how long a request waits for a decision (default 30m).
	ApprovalTTL time.Duration
	// ApproverRole is the minimum role to decide (default operator).
	ApproverRole tenant.Role
	// AllowSelfApproval lists tenants whose requesters may approve their own requests.
	AllowSelfApproval map[string]bool
	// ApprovalBypass maps a tenant to the lowest role whose mutating calls in that tenant run
	// without waiting for an approval (off for every tenant not listed). Destructive calls always wait.
	ApprovalBypass map[string]tenant.Role
	// MaxSteps bounds the graph (default 20).
	MaxSteps int
	// History is how many earlier messages of the conversation are read (default 40); of
	// those, the newest that fit HistoryTokens go to the model.
	History int
	// HistoryTokens bounds the earlier messages by estimated tokens (default 3000; CJK
	// characters count one token each, other text four characters a token).
	HistoryTokens int
	// TurnTimeout bounds a turn (or a resumed turn) from its start to its answer (default 3m).
	TurnTimeout time.Duration
	Log         *slog.Logger
	Registry    prometheus.Registerer // nil means no metrics
	// Tracer records a span per turn, per resume and per tool call (nil means no tracing).
	Tracer trace.Tracer
	// Sealer encrypts paused-turn checkpoints at rest (nil stores them in plaintext).
	Sealer Sealer
	// Now is the clock of the system prompt's date (nil means time.Now).
	Now func() time.Time
	// BindAllTools gives a hosted model every tool's schema on every step, instead of the core
	// and the tools the message is about (the others callable by name). It costs about twice the
	// input tokens; for models that do not call tools they were only told the names of.
	BindAllTools bool
}

// Service is the agent every surface talks to.
type Service struct {
	opts      Options
	prompt    *promptTemplate
	approvals *approval.Store
	cp        checkpoints
	convs     conversations
	metrics   *metrics
	// catalog is what people call every tool: the builtin model's intents and a hosted model's
	// binding read it.
	catalog *builtin.Catalog
	// resumes serialises decisions that resume the same checkpoint.
	resumes sync.Map // checkpoint id -> *sync.Mutex
}

// PendingCall is the state of a paused mutating tool call (saved in the checkpoint).
type PendingCall struct {
	ApprovalID string
	CallID     string
	Tool       string
	Args       string
	Risk       string
	Summary    string
	Preview    string
}

// Decision resumes a paused call.
type Decision struct {
	Approved bool
	Decider  string
	Reason   string
	Status   string
}

// turnState is the graph's per-run state (saved in checkpoints).
type turnState struct {
	Messages []*schema.Message
}

// registerTypes names the types saved in checkpoints for eino's serializer, once per process.
var registerTypes = sync.OnceFunc(func() {
	schema.RegisterName[*PendingCall]("k8sm.agent.PendingCall")
	schema.RegisterName[*Decision]("k8sm.agent.Decision")
	schema.RegisterName[*turnState]("k8sm.agent.turnState")
})

// New builds the Service.
func New(opts Options) (*Service, error) {
	if opts.Store == nil || opts.Tools == nil || opts.Roles == nil {
		return nil, errors.New("agent: Store, Tools and Roles are required")
	}
	registerTypes()
	if opts.Model == nil {
		opts.Model = builtin.New()
	}
	if opts.ApprovalTTL <= 0 {
		opts.ApprovalTTL = 30 * time.Minute
	}
	if opts.ApproverRole == "" {
		opts.ApproverRole = tenant.Operator
	}
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = 20
	}
	if opts.History <= 0 {
		opts.History = 40
	}
	if opts.HistoryTokens <= 0 {
		opts.HistoryTokens = 3000
	}
	if opts.TurnTimeout <= 0 {
		opts.TurnTimeout = 3 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Tracer == nil {
		opts.Tracer = noop.NewTracerProvider().Tracer("k8s-manage/agent")
	}
	prompt, err := loadPrompt()
	if err != nil {
		return nil, err
	}
	approvals := opts.Approvals
	if approvals == nil {
		approvals = approval.New(opts.Store, nil)
	}
	specs := make([]tools.Spec, 0, len(opts.Tools.Tools()))
	for _, t := range opts.Tools.Tools() {
		specs = append(specs, t.Spec())
	}
	return &Service{opts: opts, prompt: prompt, approvals: approvals, cp: checkpoints{db: opts.Store, seal: opts.Sealer},
		convs: conversations{opts.Store}, metrics: newMetrics(opts.Registry, approvals.PendingCount), catalog: builtin.NewCatalog(specs)}, nil
}

// ErrNotAdmin is returned when a user asks for a tenant's audit log without the admin role.
var ErrNotAdmin = errors.New("the audit log needs the admin role")

// AuditLog returns the newest audit entries of a tenant to its admins.
func (s *Service) AuditLog(ctx context.Context, user, tenantName string, limit int) ([]approval.AuditEntry, error) {
	role, ok, err := s.opts.Roles.RoleOf(ctx, tenantName, user)
	if err != nil {
		return nil, err
	}
	if !ok || !role.AtLeast(tenant.Admin) {
		return nil, fmt.Errorf("%w in tenant %s", ErrNotAdmin, tenantName)
	}
	return s.approvals.AuditLog(ctx, tenantName, limit)
}

// Options returns the options the Service was built with (defaults applied).
func (s *Service) Options() Options { return s.opts }

// RecordSession appends a surface's own privileged session (e.g. the web terminal) to the
// tenant's audit log: what was opened, by whom, and how it ended.
func (s *Service) RecordSession(ctx context.Context, user, tenantName, env, kind, target, outcome string, d time.Duration) {
	args, _ := json.Marshal(map[string]string{"target": target})
	if err := s.approvals.Audit(context.WithoutCancel(ctx), approval.AuditEntry{User: user, Tenant: tenantName, Env: env, Tool: kind,
		Risk: tools.Destructive.String(), Args: string(args), Outcome: outcome, Result: tools.Redact(outcome), Duration: d}); err != nil {
		s.opts.Log.Error("audit", "err", err)
	}
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
