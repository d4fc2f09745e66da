package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/cloudwego/eino/components/model"
	"github.com/cloudwego/eino/schema"

	"k8s-manage/agent/builtin"
	"k8s-manage/internal/toolname"
	"k8s-manage/tools"
)

// DiagnoseRequest asks for a read-only diagnosis as User (for alerts: the configured alert
// identity, a viewer member of the tenant, so the API server's RBAC still applies).
type DiagnoseRequest struct {
	User, Tenant, Env string
	App, Pod          string
	Chinese           bool
}

// Finding is one problem of a Diagnosis.
type Finding struct {
	Severity   string   `json:"severity"`
	Resource   string   `json:"resource"`
	Reason     string   `json:"reason"`
	Evidence   []string `json:"evidence,omitempty"`
	Suggestion string   `json:"suggestion"`
	// Fix is the tool call that would apply the suggestion (nil when there is none).
	Fix *Fix `json:"fix,omitempty"`
}

// Fix is a suggested mutating tool call. It is only ever proposed: a person asks for it, and it
// then waits for an approval like any other change.
type Fix struct {
	Tenant string `json:"tenant"`
	Env    string `json:"env"`
	Tool   string `json:"tool"`
	Args   string `json:"args"` // JSON object
}

// Diagnosis is a rendered diagnosis with its findings.
type Diagnosis struct {
	Summary  string    `json:"summary"`
	Text     string    `json:"text"` // the answer as the builtin model words it
	Findings []Finding `json:"findings"`
}

// Diagnose runs the read-only diagnose tool as r.User and renders the result. It refuses to run
// anything that needs an approval, and it is audited like a chat tool call.
func (s *Service) Diagnose(ctx context.Context, r DiagnoseRequest) (*Diagnosis, error) {
	t, ok := s.opts.Tools.Get(toolname.Diagnose)
	if !ok {
		return nil, errors.New("agent: the diagnose tool is not registered")
	}
	spec := t.Spec()
	if spec.Risk.NeedsApproval() {
		return nil, errors.New("agent: diagnose must be read-only")
	}
	caller := tools.Caller{User: r.User, Tenant: r.Tenant, Env: r.Env}
	if caller.Env == "" {
		caller.Env = "dev"
	}
	args, _ := json.Marshal(map[string]string{"app": r.App, "pod": r.Pod})
	start := time.Now()
	out, err := s.opts.Tools.Run(ctx, spec.Name, caller, string(args))
	if err != nil {
		s.audit(ctx, caller, spec, string(args), "", "error", err.Error(), time.Since(start))
		s.metrics.toolCalls.WithLabelValues(spec.Name, "error").Inc()
		return nil, fmt.Errorf("diagnose %s/%s: %s", r.Tenant, caller.Env, tools.Redact(err.Error()))
	}
	s.audit(ctx, caller, spec, string(args), "", "ok", out, time.Since(start))
	s.metrics.toolCalls.WithLabelValues(spec.Name, "ok").Inc()
	var rep struct {
		Summary  string `json:"summary"`
		Findings []struct {
			Severity   string         `json:"severity"`
			Resource   string         `json:"resource"`
			Reason     string         `json:"reason"`
			Evidence   []string       `json:"evidence"`
			Suggestion string         `json:"suggestion"`
			Tool       string         `json:"suggested_tool"`
			Args       map[string]any `json:"suggested_args"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		return nil, fmt.Errorf("diagnose: decode result: %w", err)
	}
	d := &Diagnosis{Summary: rep.Summary, Text: builtin.RenderDiagnosis(out, r.Chinese), Findings: []Finding{}}
	for _, f := range rep.Findings {
		fd := Finding{Severity: f.Severity, Resource: f.Resource, Reason: f.Reason, Evidence: f.Evidence, Suggestion: f.Suggestion}
		if f.Tool != "" {
			a, _ := json.Marshal(f.Args)
			fd.Fix = &Fix{Tenant: caller.Tenant, Env: caller.Env, Tool: f.Tool, Args: string(a)}
		}
		d.Findings = append(d.Findings, fd)
	}
	return d, nil
}

// Propose starts a turn in which t.User asks for fix: the call goes through the same approval
// gate (preview, approval request, exactly-once run as t.User) as one the model chose. A tool
// t.User may not use is refused by the tool node like any other.
func (s *Service) Propose(ctx context.Context, t Turn, fix Fix) (<-chan Event, error) {
	if fix.Tool == "" {
		return nil, errors.New("agent: a fix needs a tool")
	}
	if !json.Valid([]byte(fix.Args)) {
		return nil, errors.New("agent: fix args must be a JSON object")
	}
	if t.Text == "" {
		t.Text = fmt.Sprintf("apply the suggested fix: %s %s", fix.Tool, fix.Args)
	}
	t.Tenant, t.Env = fix.Tenant, fix.Env
	plan := schema.AssistantMessage("", []schema.ToolCall{{ID: "fix-" + newID(), Type: "function",
		Function: schema.FunctionCall{Name: fix.Tool, Arguments: fix.Args}}})
	return s.send(ctx, t, plan)
}

// planned answers the first model step of a turn with a prepared tool call, then hands over to
// the real model (which words the result).
type planned struct {
	first *schema.Message
	used  bool
	next  model.ToolCallingChatModel
}

func (p *planned) take() (*schema.Message, bool) {
	if p.used || p.first == nil {
		return nil, false
	}
	p.used = true
	return p.first, true
}

func (p *planned) Generate(ctx context.Context, in []*schema.Message, opts ...model.Option) (*schema.Message, error) {
	if m, ok := p.take(); ok {
		return m, nil
	}
	return p.next.Generate(ctx, in, opts...)
}

func (p *planned) Stream(ctx context.Context, in []*schema.Message, opts ...model.Option) (*schema.StreamReader[*schema.Message], error) {
	if m, ok := p.take(); ok {
		return schema.StreamReaderFromArray([]*schema.Message{m}), nil
	}
	return p.next.Stream(ctx, in, opts...)
}

func (p *planned) WithTools(ts []*schema.ToolInfo) (model.ToolCallingChatModel, error) {
	n, err := p.next.WithTools(ts)
	if err != nil {
		return nil, err
	}
	return &planned{first: p.first, used: p.used, next: n}, nil
}

// Notice is a message the service posts on its own (an alert's diagnosis or its resolution) to
// a chat channel; each surface renders it its own way.
type Notice struct {
	// ID identifies this delivery (one alert state): a surface that can search its channel
	// stamps it on the message, so a retry after a crash can tell whether it already posted.
	ID       string
	Key      string // the alert group key (one thread per key)
	Title    string
	Text     string // Markdown-ish plain text
	Severity string
	Resolved bool
	Fixes    []Fix
	Labels   map[string]string
}

// FixLabel is a short human label for a fix ("rollback_app order-service").
func FixLabel(f Fix) string {
	var a map[string]any
	_ = json.Unmarshal([]byte(f.Args), &a)
	var parts []string
	for _, k := range []string{"app", "replicas", "revision", "pod"} {
		if v, ok := a[k]; ok {
			parts = append(parts, fmt.Sprint(v))
		}
	}
	return strings.TrimSpace(f.Tool + " " + strings.Join(parts, " "))
}

var decisionRe = regexp.MustCompile(`(?i)^\s*(?:/k8s\s+)?(approve|reject|同意|批准|拒绝|驳回)\s+([0-9a-z][0-9a-z-]{5,63})\s*(.*)$`)

// ParseDecision reads a text approval command ("approve <id>", "reject <id> reason", "同意 <id>",
// "拒绝 <id>"), the fallback every surface accepts besides its buttons.
func ParseDecision(text string) (id string, approve bool, reason string, ok bool) {
	m := decisionRe.FindStringSubmatch(strings.TrimSpace(text))
	if m == nil {
		return "", false, "", false
	}
	switch strings.ToLower(m[1]) {
	case "approve", "同意", "批准":
		approve = true
	}
	return strings.ToLower(m[2]), approve, strings.TrimSpace(m[3]), true
}
