package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cloudwego/eino/compose"

	"k8s-manage/agent/approval"
	"k8s-manage/agent/builtin"
	"k8s-manage/internal/httpserver"
	"k8s-manage/tools"
)

// Approvals exposes the approval store (audit log, listings).
func (s *Service) Approvals() *approval.Store { return s.approvals }

// ApprovalInbox lists the requests of every tenant the user belongs to, newest first (status
// filter optional; limit 0 means 100; before is the Cursor of the previous page's last request).
func (s *Service) ApprovalInbox(ctx context.Context, user string, status approval.Status, limit int, before string) ([]*approval.Request, error) {
	ts, err := s.opts.Roles.TenantsOf(ctx, user)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return []*approval.Request{}, nil
	}
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, n)
	}
	return s.approvals.List(ctx, approval.Filter{Tenants: names, Status: status, Limit: limit, Before: before})
}

type resumeData struct {
	interruptID string
	decision    *Decision
}

// paused records (or refreshes) an approval request for every paused call and announces it.
func (s *Service) paused(ctx context.Context, convID string, caller tools.Caller, checkpointID string, info *compose.InterruptInfo, emit func(Event)) {
	for _, ic := range info.InterruptContexts {
		pc, ok := ic.Info.(*PendingCall)
		if !ok || !ic.IsRootCause {
			continue
		}
		existing, err := s.approvals.Get(ctx, pc.ApprovalID)
		if err == nil { // re-paused after another call was resumed: point it at the new interrupt id
			if err := s.approvals.SetInterrupt(ctx, existing.ID, ic.ID); err != nil {
				emit(Event{Type: EventError, Error: err.Error()})
			}
			continue
		}
		req := &approval.Request{ID: pc.ApprovalID, Tenant: caller.Tenant, Env: caller.Env, Requester: caller.User, Tool: pc.Tool,
			Args: tools.RedactArgs(pc.Tool, pc.Args), Risk: pc.Risk, Summary: pc.Summary, Preview: pc.Preview, ConversationID: convID,
			CheckpointID: checkpointID, InterruptID: ic.ID, ExpiresAt: time.Now().Add(s.opts.ApprovalTTL)}
		var target tools.Target
		if json.Unmarshal([]byte(pc.Args), &target) == nil {
			req.Tenant, req.Env = cmp.Or(target.Tenant, caller.Tenant), cmp.Or(target.Env, caller.Env, "dev")
		}
		if err := s.approvals.Create(ctx, req); err != nil {
			emit(Event{Type: EventError, Error: err.Error()})
			continue
		}
		s.metrics.approvals.WithLabelValues("requested").Inc()
		// The call stays in the conversation while it waits, so a follow-up ("actually make it 6")
		// can refer to it; its decided result replaces this one (historyMessages).
		pending, _ := json.Marshal(map[string]string{"status": "pending approval", "approval_id": req.ID})
		s.remember(ctx, convID, pc.CallID, pc.Tool, pc.Args, string(pending))
		text := fmt.Sprintf("需要审批 / approval needed [%s]: %s", req.ID, req.Summary)
		if req.Risk == tools.Destructive.String() {
			text += " — 破坏性操作，无法恢复 / destructive: cannot be undone"
		}
		_ = s.convs.append(ctx, convID, "assistant", text)
		emit(Event{Type: EventApprovalRequested, Approval: req, Text: text})
	}
}

// ErrNotApprover is returned when the decider may not decide this request.
var ErrNotApprover = httpserver.Refusal(403, "not allowed to decide this approval")

// Decide approves or rejects a request and resumes the paused turn; the events of the rest of
// the turn are streamed. Only a member with the approver role of the request's tenant may decide,
// and (unless the tenant allows it) not the requester. Concurrent or repeated decisions: one wins,
// the others get approval.ErrAlreadyDecided.
func (s *Service) Decide(ctx context.Context, approvalID, decider string, approve bool, reason string) (<-chan Event, error) {
	req, err := s.approvals.Get(ctx, approvalID)
	if err != nil {
		return nil, err
	}
	role, member, err := s.opts.Roles.RoleOf(ctx, req.Tenant, decider)
	if err != nil {
		return nil, err
	}
	if !member || !role.AtLeast(s.opts.ApproverRole) {
		return nil, fmt.Errorf("%w: deciding needs the %s role in tenant %s", ErrNotApprover, s.opts.ApproverRole, req.Tenant)
	}
	if strings.EqualFold(decider, req.Requester) && !s.opts.AllowSelfApproval[req.Tenant] {
		return nil, fmt.Errorf("%w: you requested it; someone else must approve (tenant %s does not allow self-approval)", ErrNotApprover, req.Tenant)
	}
	// A turn that cannot be loaded (e.g. sealed with a key this process lacks) must not be decided:
	// the request stays pending for a correctly configured process.
	if _, _, err := s.cp.Get(ctx, req.CheckpointID); err != nil {
		return nil, fmt.Errorf("approval %s cannot resume its turn: %w", approvalID, err)
	}
	decided, err := s.approvals.Decide(ctx, approvalID, decider, approve, reason)
	if err != nil {
		return nil, err
	}
	s.metrics.approvals.WithLabelValues(string(decided.Status)).Inc()
	return s.resume(ctx, decided), nil
}

// resume continues a paused turn after its decision (also used for expired requests).
func (s *Service) resume(ctx context.Context, req *approval.Request) <-chan Event {
	events := make(chan Event, 64)
	go func() {
		defer close(events)
		mu, _ := s.resumes.LoadOrStore(req.CheckpointID, &sync.Mutex{})
		mu.(*sync.Mutex).Lock()
		defer mu.(*sync.Mutex).Unlock()
		// The interrupt id may have moved if another call of the same turn was resumed first.
		if fresh, err := s.approvals.Get(ctx, req.ID); err == nil {
			req.InterruptID = fresh.InterruptID
		}
		events <- Event{Type: EventApprovalDecided, Conversation: req.ConversationID, Approval: req,
			Text: fmt.Sprintf("[%s] %s by %s", req.ID, req.Status, cmp.Or(req.DecidedBy, "expiry"))}
		// The requester is authorized again: a membership may have ended while the call waited.
		caller := tools.Caller{User: req.Requester, Tenant: req.Tenant, Env: req.Env}
		if a, err := s.opts.Roles.Authorize(ctx, req.Tenant, req.Env, req.Requester); err == nil {
			caller.Role = a.Role
		}
		d := &Decision{Approved: req.Status == approval.Approved, Decider: req.DecidedBy, Reason: req.Reason, Status: string(req.Status)}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.TurnTimeout)
		defer cancel()
		s.run(ctx, req.ConversationID, caller, req.CheckpointID, nil, nil, &resumeData{interruptID: req.InterruptID, decision: d}, nil,
			builtin.World{Tenant: caller.Tenant, Env: caller.Env, Role: string(caller.Role), Today: s.opts.Now(), Catalog: s.catalog}, events)
	}()
	return events
}

// ExpireDue expires overdue requests and tells their paused turns (the model hears why).
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	pending, err := s.approvals.List(ctx, approval.Filter{Status: approval.Pending, Limit: 500})
	if err != nil {
		return 0, err
	}
	if _, err := s.approvals.ExpireDue(ctx); err != nil {
		return 0, err
	}
	n := 0
	for _, p := range pending {
		r, err := s.approvals.Get(ctx, p.ID)
		if err != nil || r.Status != approval.Expired {
			continue
		}
		n++
		s.metrics.approvals.WithLabelValues("expired").Inc()
		for range s.resume(ctx, r) {
		}
	}
	return n, nil
}
