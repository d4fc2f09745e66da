package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cloudwego/eino/components/tool"
	"github.com/cloudwego/eino/compose"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"k8s-manage/agent/approval"
	"k8s-manage/internal/textutil"
	"k8s-manage/tools"
)

// gate runs read-only calls at once and pauses mutating ones for approval; every call is audited.
func (s *Service) gate(caller tools.Caller, convID string, events chan<- Event) compose.ToolMiddleware {
	return compose.ToolMiddleware{Invokable: func(next compose.InvokableToolEndpoint) compose.InvokableToolEndpoint {
		return func(ctx context.Context, in *compose.ToolInput) (*compose.ToolOutput, error) {
			if in.Name == FindTools { // answers which tools exist; reads no tenant data
				return next(ctx, in)
			}
			t, ok := s.opts.Tools.Get(in.Name)
			if !ok {
				return &compose.ToolOutput{Result: fmt.Sprintf(`{"error":"unknown tool %s"}`, in.Name)}, nil
			}
			spec := t.Spec()
			if !spec.Risk.NeedsApproval() {
				return s.call(ctx, next, in, caller, spec, "", convID, events)
			}
			if s.bypasses(caller, spec, in.Arguments) {
				return s.call(ctx, next, in, caller, spec, BypassID, convID, events)
			}
			was, hasState, pc := tool.GetInterruptState[*PendingCall](ctx)
			if !was || !hasState {
				preview, err := s.opts.Tools.Preview(ctx, in.Name, caller, in.Arguments)
				if err != nil { // not run: refused (forbidden) or a bad call (invalid, not found, quota exceeded)
					outcome := "invalid"
					if errors.Is(err, tools.ErrForbidden) || errors.Is(err, tools.ErrNotAvailable) {
						outcome = "refused"
					}
					s.audit(ctx, caller, spec, in.Arguments, "", outcome, err.Error(), 0)
					res := errorJSON(err)
					s.remember(ctx, convID, in.CallID, in.Name, in.Arguments, res)
					events <- Event{Type: EventToolFinished, Conversation: convID, Tool: in.Name, Result: res, Err: err}
					return &compose.ToolOutput{Result: res}, nil
				}
				pc = &PendingCall{ApprovalID: approval.NewID(), CallID: in.CallID, Tool: in.Name, Args: in.Arguments,
					Risk: spec.Risk.String(), Summary: summaryOf(preview, in.Name), Preview: preview}
				return nil, tool.StatefulInterrupt(ctx, pc, pc)
			}
			isTarget, hasData, d := tool.GetResumeContext[*Decision](ctx)
			if !isTarget {
				return nil, tool.StatefulInterrupt(ctx, pc, pc)
			}
			if !hasData || d == nil || !d.Approved {
				status := "rejected"
				if d != nil && d.Status != "" {
					status = d.Status
				}
				reason, by := "", ""
				if d != nil {
					reason, by = d.Reason, d.Decider
				}
				s.audit(ctx, caller, spec, pc.Args, pc.ApprovalID, status, reason, 0)
				b, _ := json.Marshal(map[string]string{"status": status, "reason": reason, "decided_by": by, "approval_id": pc.ApprovalID})
				s.remember(ctx, convID, in.CallID, in.Name, pc.Args, string(b))
				return &compose.ToolOutput{Result: string(b)}, nil
			}
			in.Arguments = pc.Args
			return s.call(ctx, next, in, caller, spec, pc.ApprovalID, convID, events)
		}
	}}
}

// BypassID is the approval id audited for a call that ran without one (ApprovalBypass).
const BypassID = "bypass"

// bypasses says whether the tenant lets the caller's role skip the approval of this mutating
// call: only in the turn's own tenant (where the caller's role was resolved), never for a
// destructive call.
func (s *Service) bypasses(c tools.Caller, spec tools.Spec, args string) bool {
	min, ok := s.opts.ApprovalBypass[c.Tenant]
	if !ok || min == "" || spec.Risk != tools.Mutating || c.Tenant == "" || !c.Role.AtLeast(min) {
		return false
	}
	var tg tools.Target
	_ = json.Unmarshal([]byte(args), &tg)
	return (tg.Tenant == "" || tg.Tenant == c.Tenant) && (tg.Env == "" || tg.Env == c.Env)
}

func (s *Service) call(ctx context.Context, next compose.InvokableToolEndpoint, in *compose.ToolInput, caller tools.Caller,
	spec tools.Spec, approvalID, convID string, events chan<- Event) (*compose.ToolOutput, error) {
	events <- Event{Type: EventToolStarted, Conversation: convID, Tool: in.Name, Args: tools.RedactArgs(in.Name, in.Arguments)}
	ctx, span := s.opts.Tracer.Start(ctx, "agent.tool "+in.Name, trace.WithAttributes(attribute.String("tool", in.Name),
		attribute.String("risk", spec.Risk.String()), attribute.String("approval", approvalID)))
	defer span.End()
	start := time.Now()
	out, err := next(ctx, in)
	runErr := err
	outcome := "ok"
	if err != nil {
		if _, interrupted := compose.ExtractInterruptInfo(err); interrupted {
			return nil, err
		}
		outcome = "error"
		if errors.Is(err, tools.ErrForbidden) || errors.Is(err, tools.ErrNotAvailable) {
			outcome = "refused" // not run: the caller may not, or the platform part is missing
		}
		out = &compose.ToolOutput{Result: errorJSON(err)}
	}
	s.metrics.toolCalls.WithLabelValues(in.Name, outcome).Inc()
	span.SetAttributes(attribute.String("outcome", outcome))
	if outcome != "ok" {
		span.SetStatus(codes.Error, out.Result)
	}
	s.audit(ctx, caller, spec, in.Arguments, approvalID, outcome, out.Result, time.Since(start))
	s.remember(ctx, convID, in.CallID, in.Name, in.Arguments, out.Result)
	events <- Event{Type: EventToolFinished, Conversation: convID, Tool: in.Name, Result: textutil.Truncate(out.Result, 2000), Err: runErr}
	return out, nil
}

func (s *Service) audit(ctx context.Context, c tools.Caller, spec tools.Spec, args, approvalID, outcome, result string, d time.Duration) {
	var tg tools.Target
	_ = json.Unmarshal([]byte(args), &tg)
	if err := s.approvals.Audit(context.WithoutCancel(ctx), approval.AuditEntry{User: c.User, Tenant: cmp.Or(tg.Tenant, c.Tenant),
		Env: cmp.Or(tg.Env, c.Env, "dev"), Tool: spec.Name, Risk: spec.Risk.String(), Args: tools.RedactArgs(spec.Name, args), ApprovalID: approvalID,
		Outcome: outcome, Result: tools.Redact(result), Duration: d}); err != nil {
		s.opts.Log.Error("audit", "err", err)
	}
}

func errorJSON(err error) string {
	b, _ := json.Marshal(map[string]string{"error": tools.Redact(err.Error())})
	return string(b)
}

func summaryOf(preview, tool string) string {
	var v struct {
		Summary string `json:"summary"`
	}
	if json.Unmarshal([]byte(preview), &v) == nil && v.Summary != "" {
		return v.Summary
	}
	return tool
}
