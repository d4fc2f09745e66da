package agent_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"k8s-manage/agent"
	"k8s-manage/knowledge/knowledgetest"
	"k8s-manage/platform/platformtest"
	"k8s-manage/platform/tenant"
)

const breakGlass = "Tr0ub4dor-agent-4417"

// Hole 1: a member of one tenant who names another tenant in a turn is refused at the entry,
// with an error naming that tenant, before anything of it is read: no conversation, no message,
// no retrieval of its private runbook.
func TestTurnForAnotherTenantIsRefusedAtTheEntry(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	outsider := platformtest.Email("outsider")
	other := w.Tenant(t, "agent-other", []tenant.Member{{Email: outsider, Role: tenant.Admin}})
	rt := knowledgetest.Docs(t, w.Store, knowledgetest.Runbook(t, other, "break-glass",
		"# Break-glass access\n\nThe break-glass password of the production database is "+breakGlass+".")...)
	s := w.service(t, func(o *agent.Options) { o.Knowledge = rt })

	// The runbook is there for the tenant's own members.
	ch, err := s.Send(ctx, agent.Turn{Surface: "test", Thread: "own", User: outsider, Tenant: other, Text: "what is the break-glass password of the production database?"})
	if err != nil {
		t.Fatal(err)
	}
	if answer := final(t, drain(t, ch)); !strings.Contains(answer, breakGlass) {
		t.Fatalf("the tenant's own member did not get the runbook: %q", answer)
	}
	// A member of another tenant names it: refused, naming the tenant.
	for _, who := range []string{w.dev, w.adm, platformtest.Email("nobody")} {
		ch, err := s.Send(ctx, agent.Turn{Surface: "test", Thread: "x-" + who, User: who, Tenant: other, Env: "dev", Text: "what is the break-glass password of the production database?"})
		if !errors.Is(err, agent.ErrForbidden) || !strings.Contains(err.Error(), other) || ch != nil {
			t.Fatalf("%s in %s: want ErrForbidden naming the tenant, got %v", who, other, err)
		}
		if cs, _ := s.Conversations(ctx, who); len(cs) != 0 {
			t.Fatalf("a refused turn left a conversation: %+v", cs)
		}
	}
	// In their own tenant, the dev's retrieval never reaches the other tenant's runbook.
	ch, err = s.Send(ctx, agent.Turn{Surface: "test", Thread: "mine", User: w.dev, Tenant: w.tenant, Text: "what is the break-glass password of the production database?"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range drain(t, ch) {
		if strings.Contains(e.Text+e.Result, breakGlass) {
			t.Fatalf("another tenant's runbook reached the dev: %+v", e)
		}
	}
}

// Hole 3 at the entry: an environment the tenant does not have is refused, naming it; so is one
// that would spell another tenant's namespace.
func TestUnknownEnvIsRefusedAtTheEntry(t *testing.T) {
	w := setup(t)
	s := w.service(t)
	for _, env := range []string{"staging", "a-dev", "dev-x"} {
		_, err := s.Send(context.Background(), agent.Turn{Surface: "test", Thread: "env-" + env, User: w.dev, Tenant: w.tenant, Env: env, Text: "list apps"})
		if !errors.Is(err, agent.ErrInvalid) || !strings.Contains(err.Error(), "env") || !strings.Contains(err.Error(), env) {
			t.Fatalf("env %q: want ErrInvalid naming env, got %v", env, err)
		}
	}
}

// Hole 2: a conversation belongs to the user who created it. Anyone else who uses its id gets
// ErrNotFound: no read of its history, no append, no change of its tenant or env.
func TestConversationBelongsToItsCreator(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	s := w.service(t)
	outsider := platformtest.Email("outsider")
	other := w.Tenant(t, "agent-thief", []tenant.Member{{Email: outsider, Role: tenant.Admin}})
	const secret = "my-private-note-8812"
	ch, err := s.Send(ctx, agent.Turn{Surface: "web", Thread: "t1", User: w.dev, Tenant: w.tenant, Text: "remember " + secret + " and list apps"})
	if err != nil {
		t.Fatal(err)
	}
	first := drain(t, ch)
	convID := first[0].Conversation
	for _, who := range []struct{ user, tenant string }{{outsider, other}, {w.ops, w.tenant}} {
		_, err := s.Send(ctx, agent.Turn{Surface: "web", Thread: "t1", User: who.user, Tenant: who.tenant, Text: "what did I say before?"})
		if !errors.Is(err, agent.ErrNotFound) {
			t.Fatalf("%s posting into the dev's conversation: want ErrNotFound, got %v", who.user, err)
		}
		if _, err := s.History(ctx, who.user, convID); !errors.Is(err, agent.ErrNotFound) {
			t.Fatalf("%s reading the dev's conversation: want ErrNotFound, got %v", who.user, err)
		}
	}
	hist, err := s.History(ctx, w.dev, convID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range hist {
		if strings.Contains(m.Content, "what did I say before") {
			t.Fatalf("someone else's message was appended: %+v", hist)
		}
	}
	cs, err := s.Conversations(ctx, w.dev)
	if err != nil || len(cs) != 1 || cs[0].Tenant != w.tenant || cs[0].User != w.dev {
		t.Fatalf("the conversation changed hands or tenant: %+v %v", cs, err)
	}
	// The owner continues it.
	ch, err = s.Send(ctx, agent.Turn{Surface: "web", Thread: "t1", User: strings.ToUpper(w.dev), Tenant: w.tenant, Text: "list apps"})
	if err != nil {
		t.Fatal(err)
	}
	final(t, drain(t, ch))
}

// Old conversations open however many newer ones the person has.
func TestOldConversationsStillOpen(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	s := w.service(t)
	ch, err := s.Send(ctx, agent.Turn{Surface: "web", Thread: "oldest", User: w.viewer, Tenant: w.tenant, Text: "list apps"})
	if err != nil {
		t.Fatal(err)
	}
	oldest := drain(t, ch)[0].Conversation
	// 120 newer conversations, written as the store holds them.
	now := time.Now().Add(time.Minute).UnixMilli()
	for i := range 120 {
		if _, err := w.Store.ExecContext(ctx, `INSERT INTO conversations (id, surface, thread, user_email, tenant, env, title, created_at, updated_at)
			VALUES (?, 'web', ?, ?, ?, 'dev', 'x', ?, ?)`, fmt.Sprintf("web:newer-%d", i), fmt.Sprintf("newer-%d", i), w.viewer, w.tenant, now+int64(i), now+int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	hist, err := s.History(ctx, w.viewer, oldest)
	if err != nil || len(hist) < 2 {
		t.Fatalf("the oldest conversation: %d messages, %v", len(hist), err)
	}
}

// Events carry a tool's result cut on a rune boundary: Chinese documents never arrive as
// invalid UTF-8 in a surface's tool step.
func TestToolEventsAreCutOnRuneBoundaries(t *testing.T) {
	w := setup(t)
	s := w.service(t)
	for _, q := range []string{"金丝雀发布 灰度 流量 比例", "回滚 版本 历史 发布失败", "配额 超出 资源 限制"} {
		ch, err := s.Propose(context.Background(), agent.Turn{Surface: "test", Thread: "utf8-" + q, User: w.viewer},
			agent.Fix{Tenant: w.tenant, Env: "dev", Tool: "search_knowledge", Args: `{"query":"` + q + `","top_k":5}`})
		if err != nil {
			t.Fatal(err)
		}
		fin := find(drain(t, ch), agent.EventToolFinished)
		if fin == nil || len(fin.Result) < 1000 {
			t.Fatalf("no long tool result for %q: %+v", q, fin)
		}
		if !utf8.ValidString(fin.Result) || len(fin.Result) > 2000 {
			t.Fatalf("tool event for %q: %d bytes, valid UTF-8 %v", q, len(fin.Result), utf8.ValidString(fin.Result))
		}
	}
}
