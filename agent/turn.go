package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cloudwego/eino/schema"

	"k8s-manage/agent/builtin"
	"k8s-manage/internal/httpserver"
	"k8s-manage/tools"
)

// Errors a turn's entry refuses with; match them with errors.Is. The message is the cause's,
// naming the tenant, the field or the conversation.
var (
	// ErrForbidden: the person is not a member of the tenant the turn names.
	ErrForbidden = httpserver.Refusal(403, "forbidden")
	// ErrNotFound: the conversation does not exist or belongs to someone else (the same answer).
	ErrNotFound = httpserver.Refusal(404, "not found")
	// ErrInvalid: bad input, e.g. an environment the tenant does not have.
	ErrInvalid = httpserver.Refusal(400, "invalid")
)

type entryError struct{ kind, err error }

func (e *entryError) Error() string   { return e.err.Error() }
func (e *entryError) Unwrap() []error { return []error{e.kind, e.err} }

func refuse(kind, err error) error { return &entryError{kind: kind, err: err} }

// Send runs a turn and streams its events; the channel closes when the turn ends or pauses for approval.
func (s *Service) Send(ctx context.Context, t Turn) (<-chan Event, error) { return s.send(ctx, t, nil) }

// authorize resolves the person of a turn in its tenant and environment, once, before anything
// of the tenant is read. A turn without a tenant gets a caller without one (public docs, and
// tools that name a tenant they are a member of).
func (s *Service) authorize(ctx context.Context, t Turn) (tools.Caller, []string, error) {
	c := tools.Caller{User: strings.ToLower(strings.TrimSpace(t.User)), Tenant: strings.TrimSpace(t.Tenant), Env: strings.TrimSpace(t.Env)}
	if c.Tenant == "" {
		return c, nil, nil
	}
	a, err := s.opts.Roles.Authorize(ctx, c.Tenant, c.Env, c.User)
	switch {
	case errors.Is(err, tools.ErrForbidden):
		return c, nil, refuse(ErrForbidden, err)
	case errors.Is(err, tools.ErrInvalid):
		return c, nil, refuse(ErrInvalid, err)
	case err != nil:
		return c, nil, fmt.Errorf("agent: authorize %s in %s: %w", c.User, c.Tenant, err)
	}
	c.Env, c.Role = a.Env, a.Role
	return c, a.Envs, nil
}

// send runs a turn; plan, when set, is the first model step (a prepared tool call).
func (s *Service) send(ctx context.Context, t Turn, plan *schema.Message) (<-chan Event, error) {
	if strings.TrimSpace(t.Text) == "" {
		return nil, refuse(ErrInvalid, errors.New("agent: empty message"))
	}
	if t.User == "" || t.Surface == "" || t.Thread == "" {
		return nil, errors.New("agent: a turn needs user, surface and thread")
	}
	caller, envs, err := s.authorize(ctx, t)
	if err != nil {
		return nil, err
	}
	t.User, t.Tenant, t.Env = caller.User, caller.Tenant, caller.Env
	conv, err := s.convs.ensure(ctx, t)
	if err != nil {
		return nil, err
	}
	hist, err := s.convs.history(ctx, conv.ID, s.opts.History)
	if err != nil {
		return nil, err
	}
	if err := s.convs.append(ctx, conv.ID, "user", t.Text); err != nil {
		return nil, err
	}
	apps := s.appsOf(ctx, caller)
	// The builtin model gets the world as typed values (hosted models ignore the option).
	w := builtin.World{Tenant: caller.Tenant, Env: caller.Env, Role: string(caller.Role), Envs: envs, Apps: apps, Today: s.opts.Now(), Catalog: s.catalog}
	carry, more, approvals := s.choose(caller, t.Text, usedTools(hist, w), w)
	pc := promptContext{Caller: caller, Surface: t.Surface, Envs: envs, Date: w.Today, Apps: appNames(apps),
		Approval: approvals, More: more}
	msgs, err := buildMessages(s.prompt, pc, hist, t.Text, s.opts.HistoryTokens)
	if err != nil {
		return nil, err
	}
	events := make(chan Event, 64)
	s.metrics.turns.Inc()
	go func() {
		defer close(events)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.TurnTimeout)
		defer cancel()
		s.run(ctx, conv.ID, caller, newID(), msgs, carry, nil, plan, w, events)
	}()
	return events, nil
}

// Conversations lists a user's conversations, newest first.
func (s *Service) Conversations(ctx context.Context, user string) ([]Conversation, error) {
	return s.convs.list(ctx, user)
}

// History returns a conversation's messages if it belongs to user; otherwise ErrNotFound.
func (s *Service) History(ctx context.Context, user, convID string) ([]Message, error) {
	if _, err := s.convs.owned(ctx, convID, user); err != nil {
		return nil, err
	}
	ms, err := s.convs.history(ctx, convID, 500)
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	for _, m := range ms {
		if m.Role == "user" || m.Role == "assistant" {
			out = append(out, m)
		}
	}
	return out, nil
}

// usedTools are the tools of the conversation so far: those called, and the one each of the last
// few requests asked for (a turn that asked back, or whose call was refused, made none). A follow-up
// ("and its logs?", "actually make it 6") keeps their schemas.
func usedTools(hist []Message, w builtin.World) []string {
	var out []string
	add := func(n string) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	asked := 0
	for i := len(hist) - 1; i >= 0; i-- {
		h := hist[i]
		var c storedCall
		switch {
		case h.Role == "tool_call" && json.Unmarshal([]byte(h.Content), &c) == nil:
			add(c.Name)
		case h.Role == "user" && asked < 3:
			asked++
			if cs := builtin.Candidates(h.Content, w); len(cs) > 0 {
				add(cs[0])
			}
		}
	}
	return out
}
