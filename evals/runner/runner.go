// Package runner runs eval cases against the real agent on the sandbox, once per model and
// repeat: it prepares the world each case needs, sends the turn, decides approvals when the case
// says so, reads the audit log, runs the case's verify command, scores the result, and resets the
// world. Retrieval cases query the retriever directly.
package runner

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"k8s-manage/internal/textutil"
	"k8s-manage/internal/toolname"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cloudwego/eino/components/model"
	"github.com/cloudwego/eino/components/retriever"
	"github.com/cloudwego/eino/schema"

	"k8s-manage/agent"
	"k8s-manage/evals/dataset"
	"k8s-manage/evals/world"
	"k8s-manage/internal/store"
	"k8s-manage/knowledge"
	"k8s-manage/tools"
)

// Price is a model's price per 1,000 tokens.
type Price struct {
	InputPer1K  float64 `json:"input_per_1k"`
	OutputPer1K float64 `json:"output_per_1k"`
}

// Model is a chat model under evaluation.
type Model struct {
	Name  string
	Chat  model.ToolCallingChatModel
	Price Price
}

// Options configure a run.
type Options struct {
	World     *world.World
	Store     *store.Store
	Tools     *tools.Registry
	Roles     agent.Roles
	Knowledge retriever.Retriever
	Models    []Model
	Repeat    int           // default 1
	Timeout   time.Duration // per turn (default 2m)
	// Progress is called after each case.
	Progress func(done, total int, r Result)
	Log      *slog.Logger
}

// Call is a tool call the agent made (or asked approval for).
type Call struct {
	Name     string `json:"name"`
	Args     string `json:"args"`
	Gated    bool   `json:"gated,omitempty"`
	Approval string `json:"approval,omitempty"`
}

// Result is one case run by one model.
type Result struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Lang      string   `json:"lang"`
	Group     string   `json:"group,omitempty"`
	Model     string   `json:"model"`
	Repeat    int      `json:"repeat"`
	Input     string   `json:"input"`
	Pass      bool     `json:"pass"`
	Failures  []string `json:"failures,omitempty"`
	LatencyMS int64    `json:"latency_ms"`
	TokensIn  int64    `json:"tokens_in"`
	TokensOut int64    `json:"tokens_out"`
	Cost      float64  `json:"cost"`
	Calls     []Call   `json:"tool_calls,omitempty"`
	// Bound says, for a case that expects tool calls, whether the model's first step in the
	// case's turn carried the schemas of every tool it needed (Unbound lists the others).
	Bound      *bool    `json:"bound_first_step,omitempty"`
	Unbound    []string `json:"unbound,omitempty"`
	Answer     string   `json:"answer,omitempty"`
	Mutations  []string `json:"mutations,omitempty"`
	Rank       int      `json:"rank,omitempty"` // retrieval: 1-based rank of the first expected id (0: not in the top 5)
	TopFinding string   `json:"top_finding,omitempty"`
	// Direct is the diagnose tool run on the case's scope, beside the chat turn (diagnosis cases
	// with expect.scope): the analyzers' own score.
	Direct     *Direct       `json:"direct,omitempty"`
	Transcript []agent.Event `json:"transcript,omitempty"`
	Error      string        `json:"error,omitempty"`
}

// Direct is a diagnosis case's direct diagnose run.
type Direct struct {
	Pass       bool     `json:"pass"`
	TopFinding string   `json:"top_finding,omitempty"`
	Failures   []string `json:"failures,omitempty"`
	LatencyMS  int64    `json:"latency_ms"`
}

// counting wraps a model to count the tokens its responses report, and to record the tools the
// first binding of a turn carries (bound: set when nil; the runner clears it before a case's turn).
type counting struct {
	inner   model.ToolCallingChatModel
	in, out *atomic.Int64
	bound   *atomic.Pointer[[]string]
}

// NeedsAllTools forwards the inner model's answer (the builtin model needs every tool bound).
func (c *counting) NeedsAllTools() bool {
	a, ok := c.inner.(agent.AllTools)
	return ok && a.NeedsAllTools()
}

func (c *counting) add(m *schema.Message) {
	if m != nil && m.ResponseMeta != nil && m.ResponseMeta.Usage != nil {
		c.in.Add(int64(m.ResponseMeta.Usage.PromptTokens))
		c.out.Add(int64(m.ResponseMeta.Usage.CompletionTokens))
	}
}

func (c *counting) Generate(ctx context.Context, in []*schema.Message, opts ...model.Option) (*schema.Message, error) {
	m, err := c.inner.Generate(ctx, in, opts...)
	c.add(m)
	return m, err
}

func (c *counting) Stream(ctx context.Context, in []*schema.Message, opts ...model.Option) (*schema.StreamReader[*schema.Message], error) {
	sr, err := c.inner.Stream(ctx, in, opts...)
	if err != nil {
		return nil, err
	}
	return schema.StreamReaderWithConvert(sr, func(m *schema.Message) (*schema.Message, error) { c.add(m); return m, nil }), nil
}

func (c *counting) WithTools(ts []*schema.ToolInfo) (model.ToolCallingChatModel, error) {
	n, err := c.inner.WithTools(ts)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	c.bound.CompareAndSwap(nil, &names) // the turn's first step; later bindings add discovered tools
	return &counting{inner: n, in: c.in, out: c.out, bound: c.bound}, nil
}

type modelRun struct {
	Model
	svc     *agent.Service
	in, out *atomic.Int64
	bound   *atomic.Pointer[[]string]
}

// Run runs every case with every model Repeat times, in case order.
func Run(ctx context.Context, o Options, cases []dataset.Case) ([]Result, error) {
	o.Repeat = max(o.Repeat, 1)
	o.Timeout = cmp.Or(o.Timeout, 2*time.Minute)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	var runs []*modelRun
	for _, m := range o.Models {
		mr := &modelRun{Model: m, in: &atomic.Int64{}, out: &atomic.Int64{}, bound: &atomic.Pointer[[]string]{}}
		svc, err := agent.New(agent.Options{Store: o.Store, Tools: o.Tools, Roles: o.Roles, Knowledge: o.Knowledge,
			Model: &counting{inner: m.Chat, in: mr.in, out: mr.out, bound: mr.bound}, Log: o.Log})
		if err != nil {
			return nil, err
		}
		mr.svc = svc
		runs = append(runs, mr)
	}
	total := len(cases) * len(runs) * o.Repeat
	var out []Result
	for rep := 1; rep <= o.Repeat; rep++ {
		for _, c := range cases {
			for _, mr := range runs {
				if ctx.Err() != nil {
					return out, ctx.Err()
				}
				r := runCase(ctx, o, mr, c, rep)
				out = append(out, r)
				if o.Progress != nil {
					o.Progress(len(out), total, r)
				}
			}
		}
	}
	return out, nil
}

func runCase(ctx context.Context, o Options, mr *modelRun, c dataset.Case, rep int) (r Result) {
	r = Result{ID: c.ID, Kind: c.Kind, Lang: c.Lang, Group: c.Group, Model: mr.Name, Repeat: rep, Input: c.Input}
	start := time.Now()
	defer func() {
		if r.Error != "" {
			r.Pass = false
			r.Failures = append([]string{"error: " + r.Error}, r.Failures...)
		}
	}()
	if c.Kind == dataset.Retrieval {
		retrieval(ctx, o, c, &r)
		r.LatencyMS = time.Since(start).Milliseconds()
		return r
	}
	pc, err := o.World.Prepare(ctx, c)
	if err != nil {
		r.Error = "prepare: " + err.Error()
		return r
	}
	mutated := true // reset after a failure too
	defer func() {
		if err := o.World.Reset(context.WithoutCancel(ctx), pc, mutated); err != nil {
			o.Log.Warn("eval reset", "case", c.ID, "err", err)
		}
	}()
	if c.Kind == dataset.Diagnosis && c.Expect.Scope != nil {
		r.Direct = direct(ctx, o, pc, c)
	}
	in0, out0 := mr.in.Load(), mr.out.Load()
	since := time.Now()
	start = since // latency is the turn's, not the world's setup
	thread := fmt.Sprintf("%s#%s#%d#%d", c.ID, mr.Name, rep, since.UnixNano())
	for _, p := range c.Prior { // earlier turns of the same conversation, by whoever took them
		if ch, err := mr.svc.Send(ctx, agent.Turn{Surface: "eval", Thread: thread, User: strings.ToLower(p.User), Tenant: cmp.Or(p.Tenant, pc.Tenant),
			Env: pc.Env, Text: p.Input}); err == nil {
			collect(ctx, ch, o.Timeout)
		}
	}
	// The case's own turn is judged: the audit entries after the last one written so far (a
	// time would also catch the previous case's last call, written in the same millisecond).
	mark, err := auditMark(ctx, o.Store)
	if err != nil {
		r.Error = "audit: " + err.Error()
		return r
	}
	mr.bound.Store(nil)
	events, err := mr.svc.Send(ctx, agent.Turn{Surface: "eval", Thread: thread, User: pc.User, Tenant: pc.Tenant, Env: pc.Env, Text: c.Input})
	switch {
	case errors.Is(err, agent.ErrForbidden), errors.Is(err, agent.ErrNotFound), errors.Is(err, agent.ErrInvalid):
		// Refused at the turn's entry: the refusal is what the person sees.
		r.Transcript = []agent.Event{{Type: agent.EventError, Error: err.Error()}}
	case err != nil:
		r.Error = err.Error()
		return r
	default:
		r.Transcript = collect(ctx, events, o.Timeout)
	}
	r.LatencyMS = time.Since(start).Milliseconds()
	if c.Approve != nil {
		approver := cmp.Or(strings.ToLower(c.Approver), world.Approver)
		for _, e := range r.Transcript {
			if e.Type != agent.EventApprovalRequested || e.Approval == nil {
				continue
			}
			more, err := mr.svc.Decide(ctx, e.Approval.ID, approver, *c.Approve, "eval")
			if err != nil {
				r.Transcript = append(r.Transcript, agent.Event{Type: agent.EventError, Error: "decision by " + approver + " refused: " + err.Error()})
				continue
			}
			r.Transcript = append(r.Transcript, collect(ctx, more, o.Timeout)...)
		}
	}
	r.TokensIn, r.TokensOut = mr.in.Load()-in0, mr.out.Load()-out0
	r.Cost = float64(r.TokensIn)/1000*mr.Price.InputPer1K + float64(r.TokensOut)/1000*mr.Price.OutputPer1K
	var audited []Call
	r.Mutations, audited, err = audit(ctx, o.Store, mark)
	if err != nil {
		r.Error = "audit: " + err.Error()
	}
	r.Calls = audited
	if first := mr.bound.Load(); first != nil && len(c.Expect.ToolCalls) > 0 {
		ok := true
		for _, want := range c.Expect.ToolCalls {
			if !slices.Contains(*first, want.Name) && !slices.Contains(r.Unbound, want.Name) {
				ok = false
				r.Unbound = append(r.Unbound, want.Name)
			}
		}
		r.Bound = &ok
	}
	mutated = len(r.Mutations) > 0 || len(c.Setup) > 0 || c.SetupScript != ""
	score(ctx, o, pc, c, &r)
	if c.CleanupScript != "" {
		if out, err := o.World.Script(ctx, pc, c.CleanupScript); err != nil {
			o.Log.Warn("eval cleanup script", "case", c.ID, "err", err, "output", out)
		}
	}
	return r
}

// collect reads a turn's events until the channel closes or the timeout passes.
func collect(ctx context.Context, ch <-chan agent.Event, timeout time.Duration) []agent.Event {
	var out []agent.Event
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, e)
		case <-t.C:
			return append(out, agent.Event{Type: agent.EventError, Error: fmt.Sprintf("turn did not finish within %s", timeout)})
		case <-ctx.Done():
			return out
		}
	}
}

// auditMark is the id of the newest audit entry (0: none yet).
func auditMark(ctx context.Context, st *store.Store) (int64, error) {
	var id int64
	err := st.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM audit_log`).Scan(&id)
	return id, err
}

// audit reads the audit log after the entry mark: every tool call made (whatever its outcome: ran, refused
// before an approval, rejected) and the mutating ones that ran.
func audit(ctx context.Context, st *store.Store, mark int64) (mutations []string, calls []Call, err error) {
	rows, err := st.QueryContext(ctx, `SELECT user_email, tenant, env, tool, risk, args, approval_id, outcome FROM audit_log
		WHERE id > ? ORDER BY id`, mark)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var u, t, e, tool, risk, args, approvalID, outcome string
		if err := rows.Scan(&u, &t, &e, &tool, &risk, &args, &approvalID, &outcome); err != nil {
			return nil, nil, err
		}
		if tool == "web_terminal" {
			continue
		}
		calls = append(calls, Call{Name: tool, Args: args, Approval: approvalID, Gated: approvalID != ""})
		if outcome == "ok" && (risk == "mutating" || risk == "destructive") {
			mutations = append(mutations, fmt.Sprintf("%s by %s in %s/%s %s", tool, u, t, e, args))
		}
	}
	return mutations, calls, rows.Err()
}

func retrieval(ctx context.Context, o Options, c dataset.Case, r *Result) {
	t, _ := world.TenantOf(c)
	docs, err := o.Knowledge.Retrieve(ctx, c.Input, retriever.WithTopK(5), knowledge.WithTenant(t))
	if err != nil {
		r.Error = err.Error()
		return
	}
	hitKeyword := false
	for i, d := range docs {
		if r.Rank == 0 && slices.Contains(c.Expect.RetrievedIDsAny, d.ID) {
			r.Rank = i + 1
		}
		for _, k := range c.Expect.RetrievedKeywordsAny {
			if strings.Contains(strings.ToLower(d.Content), strings.ToLower(k)) {
				hitKeyword = true
			}
		}
		r.Calls = append(r.Calls, Call{Name: "retrieve", Args: d.ID})
	}
	switch {
	case len(c.Expect.RetrievedIDsAny) > 0 && r.Rank == 0:
		r.Failures = append(r.Failures, fmt.Sprintf("none of %v in the top 5", c.Expect.RetrievedIDsAny))
	case len(c.Expect.RetrievedIDsAny) == 0 && !hitKeyword:
		r.Failures = append(r.Failures, fmt.Sprintf("no top-5 chunk contains any of %v", c.Expect.RetrievedKeywordsAny))
	}
	r.Pass = len(r.Failures) == 0
}

// direct runs the diagnose tool on the case's scope as the case's user and scores its top finding.
func direct(ctx context.Context, o Options, pc *world.Case, c dataset.Case) *Direct {
	d := &Direct{}
	start := time.Now()
	args, _ := json.Marshal(c.Expect.Scope)
	out, err := o.Tools.Run(ctx, toolname.Diagnose, tools.Caller{User: pc.User, Tenant: pc.Tenant, Env: pc.Env}, string(args))
	d.LatencyMS = time.Since(start).Milliseconds()
	if err != nil {
		d.Failures = []string{"diagnose " + string(args) + ": " + err.Error()}
		return d
	}
	d.TopFinding = topFinding(out)
	d.Failures = findingFailures(c.Expect, d.TopFinding)
	d.Pass = len(d.Failures) == 0
	return d
}

// findingFailures judges a diagnosis's top finding (empty: no cause found) against the case.
func findingFailures(x dataset.Expect, top string) []string {
	var out []string
	if len(x.TopFindingAny) > 0 && !containsAny(top, x.TopFindingAny) {
		out = append(out, fmt.Sprintf("top finding %q has none of %v", top, x.TopFindingAny))
	}
	for _, k := range x.TopFindingAll {
		if !containsAny(top, []string{k}) {
			out = append(out, fmt.Sprintf("top finding %q lacks %q", top, k))
		}
	}
	if x.Abstain && top != "" {
		out = append(out, fmt.Sprintf("no cause was expected, yet the top finding is %q", top))
	}
	return out
}

var findingRe = regexp.MustCompile(`"resource":"([^"]*)","reason":"((?:[^"\\]|\\.)*)"`)

// topFinding is a diagnose result's first finding that is not a context note, as
// "resource: reason" (empty when it found no cause).
func topFinding(result string) string {
	var rep struct {
		Findings []struct {
			Resource string `json:"resource"`
			Reason   string `json:"reason"`
			Context  bool   `json:"context"`
		} `json:"findings"`
	}
	if json.Unmarshal([]byte(result), &rep) == nil {
		for _, f := range rep.Findings {
			if !f.Context {
				return f.Resource + ": " + f.Reason
			}
		}
		return ""
	}
	if m := findingRe.FindStringSubmatch(result); m != nil { // a result cut to the cap
		var reason string
		_ = json.Unmarshal([]byte(`"`+m[2]+`"`), &reason)
		return m[1] + ": " + reason
	}
	return ""
}

// score judges a chat, diagnosis or safety case from its transcript, audit entries and verify command.
func score(ctx context.Context, o Options, pc *world.Case, c dataset.Case, r *Result) {
	var answer strings.Builder
	var shown strings.Builder // everything the person saw
	diagnosed := false
	for _, e := range r.Transcript {
		switch e.Type {
		case agent.EventApprovalRequested:
			// A call waiting for its decision is not in the audit log yet.
			if e.Approval != nil && !slices.ContainsFunc(r.Calls, func(c Call) bool { return c.Approval == e.Approval.ID }) {
				r.Calls = append(r.Calls, Call{Name: e.Approval.Tool, Args: e.Approval.Args, Gated: true, Approval: e.Approval.ID})
			}
			shown.WriteString(e.Text + "\n")
		case agent.EventToolFinished:
			if e.Tool == toolname.Diagnose && !diagnosed {
				diagnosed, r.TopFinding = true, topFinding(e.Result)
			}
		case agent.EventFinal:
			answer.WriteString(e.Text + "\n")
		case agent.EventError:
			shown.WriteString(e.Error + "\n")
		}
	}
	r.Answer = strings.TrimSpace(answer.String())
	shown.WriteString(r.Answer)
	x := c.Expect
	fail := func(format string, args ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, args...)) }
	// Expected calls: a subsequence of the calls made, arguments matching as a subset.
	next := 0
	for _, want := range x.ToolCalls {
		found := false
		for next < len(r.Calls) {
			got := r.Calls[next]
			next++
			if got.Name == want.Name && argsMatch(got.Args, want.Args) {
				found = true
				break
			}
		}
		if !found {
			fail("no call %s %v (in order) among %s", want.Name, want.Args, callNames(r.Calls))
			break
		}
	}
	gated := slices.ContainsFunc(r.Calls, func(c Call) bool { return c.Gated })
	if x.ApprovalRequired != nil && *x.ApprovalRequired != gated {
		fail("approval requested: %v, want %v", gated, *x.ApprovalRequired)
	}
	if x.NoMutation && len(r.Mutations) > 0 {
		fail("mutations ran: %v", r.Mutations)
	}
	if x.NoTool && len(r.Calls) > 0 {
		fail("tools were called: %s", callNames(r.Calls))
	}
	// A question back opens the answer: its first line ends with a question mark (examples further
	// down, or a cited document whose title is a question, do not count).
	if firstLine, _, _ := strings.Cut(r.Answer, "\n"); x.Asks && !strings.HasSuffix(strings.TrimSpace(firstLine), "?") &&
		!strings.HasSuffix(strings.TrimSpace(firstLine), "？") {
		fail("the answer asks nothing back: %q", textutil.Truncate(r.Answer, 200))
	}
	if len(x.AnswerKeywordsAny) > 0 && !containsAny(r.Answer, x.AnswerKeywordsAny) {
		fail("the answer has none of %v", x.AnswerKeywordsAny)
	}
	for _, bad := range x.AnswerMustNotContain {
		if strings.Contains(strings.ToLower(shown.String()), strings.ToLower(bad)) {
			fail("the person was shown %q", bad)
		}
	}
	if len(x.TopFindingAny)+len(x.TopFindingAll) > 0 || x.Abstain {
		if !diagnosed {
			fail("no diagnosis was run")
		} else {
			r.Failures = append(r.Failures, findingFailures(x, r.TopFinding)...)
		}
	}
	for _, script := range []string{x.Verify, c.VerifyScript} {
		if script == "" {
			continue
		}
		if out, err := o.World.Script(ctx, pc, script); err != nil {
			fail("verify failed (%v): %s", err, textutil.Truncate(out, 300))
		}
	}
	r.Pass = len(r.Failures) == 0
}

func callNames(cs []Call) string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return "[" + strings.Join(names, " ") + "]"
}

func containsAny(s string, subs []string) bool {
	s = strings.ToLower(s)
	for _, k := range subs {
		if strings.Contains(s, strings.ToLower(k)) {
			return true
		}
	}
	return false
}

// argsMatch: every expected argument is present with an equal value (numbers compare as numbers).
func argsMatch(got string, want map[string]any) bool {
	if len(want) == 0 {
		return true
	}
	var g map[string]any
	if json.Unmarshal([]byte(got), &g) != nil {
		return false
	}
	for k, v := range want {
		gv, ok := g[k]
		if !ok {
			return false
		}
		a, _ := json.Marshal(gv)
		b, _ := json.Marshal(v)
		if string(a) != string(b) && !strings.EqualFold(fmt.Sprint(gv), fmt.Sprint(v)) {
			return false
		}
	}
	return true
}
