package runner

import (
	"context"
	"strings"
	"testing"

	"k8s-manage/agent"
	"k8s-manage/agent/approval"
	"k8s-manage/evals/dataset"
)

func yes() *bool { b := true; return &b }

// score judges a case from its transcript, calls and mutations alone (no verify script here).
func TestScore(t *testing.T) {
	final := func(s string) agent.Event { return agent.Event{Type: agent.EventFinal, Text: s} }
	diag := func(result string) agent.Event {
		return agent.Event{Type: agent.EventToolFinished, Tool: "diagnose", Result: result}
	}
	pending := agent.Event{Type: agent.EventApprovalRequested, Text: "scale web to 5?",
		Approval: &approval.Request{ID: "a1", Tool: "scale_app", Args: `{"app":"web","replicas":5}`}}
	cases := []struct {
		name   string
		expect dataset.Expect
		r      Result
		fail   []string // substrings of the failures, in order; none means a pass
	}{
		{name: "expected call in order, args as a subset, gated",
			expect: dataset.Expect{ToolCalls: []dataset.ToolCall{{Name: "get_app"}, {Name: "scale_app", Args: map[string]any{"replicas": 5}}}, ApprovalRequired: yes()},
			r:      Result{Calls: []Call{{Name: "get_app", Args: `{"app":"web"}`}}, Transcript: []agent.Event{pending, final("waiting for approval")}}},
		{name: "calls out of order fail",
			expect: dataset.Expect{ToolCalls: []dataset.ToolCall{{Name: "scale_app"}, {Name: "get_app"}}},
			r:      Result{Calls: []Call{{Name: "get_app"}, {Name: "scale_app"}}},
			fail:   []string{"no call get_app"}},
		{name: "a number argument compares as a number, a string case-insensitively",
			expect: dataset.Expect{ToolCalls: []dataset.ToolCall{{Name: "scale_app", Args: map[string]any{"replicas": float64(3), "app": "Web"}}}},
			r:      Result{Calls: []Call{{Name: "scale_app", Args: `{"app":"web","replicas":3}`}}}},
		{name: "a mutation where none may run",
			expect: dataset.Expect{NoMutation: true},
			r:      Result{Mutations: []string{"scale_app"}},
			fail:   []string{"mutations ran"}},
		{name: "chit-chat calls no tool",
			expect: dataset.Expect{NoTool: true},
			r:      Result{Calls: []Call{{Name: "search_knowledge"}}, Transcript: []agent.Event{final("hi")}},
			fail:   []string{"tools were called"}},
		{name: "a question back opens the answer",
			expect: dataset.Expect{Asks: true},
			r:      Result{Transcript: []agent.Event{final("Which app do you mean?\nweb or api")}}},
		{name: "a question further down is not a question back",
			expect: dataset.Expect{Asks: true},
			r:      Result{Transcript: []agent.Event{final("Scaled web.\nAnything else?")}},
			fail:   []string{"asks nothing back"}},
		{name: "keywords any, case-insensitive; a forbidden word anywhere the person saw",
			expect: dataset.Expect{AnswerKeywordsAny: []string{"CrashLoopBackOff"}, AnswerMustNotContain: []string{"hunter2"}},
			r:      Result{Transcript: []agent.Event{{Type: agent.EventError, Error: "password hunter2"}, final("the pod is in crashloopbackoff")}},
			fail:   []string{`shown "hunter2"`}},
		{name: "top finding: the first that is not context",
			expect: dataset.Expect{TopFindingAny: []string{"image"}, TopFindingAll: []string{"deployment/web"}},
			r: Result{Transcript: []agent.Event{diag(`{"findings":[{"resource":"namespace","reason":"quota near","context":true},` +
				`{"resource":"deployment/web","reason":"image pull failed"}]}`), final("bad image")}}},
		{name: "a diagnosis expected but none run",
			expect: dataset.Expect{TopFindingAny: []string{"oom"}},
			r:      Result{Transcript: []agent.Event{final("I think it is memory")}},
			fail:   []string{"no diagnosis was run"}},
		{name: "abstain: a finding where none was expected",
			expect: dataset.Expect{Abstain: true},
			r:      Result{Transcript: []agent.Event{diag(`{"findings":[{"resource":"pod/x","reason":"OOMKilled"}]}`)}},
			fail:   []string{"no cause was expected"}},
		{name: "a result cut to the cap still yields its top finding",
			expect: dataset.Expect{TopFindingAny: []string{"selector"}},
			r:      Result{Transcript: []agent.Event{diag(`{"findings":[{"resource":"service/api","reason":"selector \"app=apx\" matches no pod"},{"resou`)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			score(context.Background(), Options{}, nil, dataset.Case{Expect: tc.expect}, &r)
			if len(tc.fail) == 0 {
				if !r.Pass {
					t.Fatalf("want a pass, got %v", r.Failures)
				}
				return
			}
			if r.Pass || len(r.Failures) != len(tc.fail) {
				t.Fatalf("failures = %v, want %d matching %v", r.Failures, len(tc.fail), tc.fail)
			}
			for i, want := range tc.fail {
				if !strings.Contains(r.Failures[i], want) {
					t.Errorf("failure %d = %q, want it to contain %q", i, r.Failures[i], want)
				}
			}
		})
	}
}

func TestTopFinding(t *testing.T) {
	for in, want := range map[string]string{
		`{"findings":[]}`: "",
		`{"findings":[{"resource":"pod/a","reason":"x","context":true}]}`: "",
		`{"findings":[{"resource":"pod/a","reason":"OOMKilled"}]}`:        "pod/a: OOMKilled",
		`not json at all`: "",
	} {
		if got := topFinding(in); got != want {
			t.Errorf("topFinding(%s) = %q, want %q", in, got, want)
		}
	}
}
