package builtin

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/eino/schema"
)

// step is an earlier turn: what the person said and the call it made.
type step struct {
	user, tool, args string
}

// after runs the model on text in a conversation that already had the steps.
func after(t *testing.T, steps []step, text string) *schema.Message {
	t.Helper()
	var msgs []*schema.Message
	for i, s := range steps {
		id := "c" + string(rune('a'+i))
		msgs = append(msgs, schema.UserMessage(s.user),
			schema.AssistantMessage("", []schema.ToolCall{{ID: id, Type: "function", Function: schema.FunctionCall{Name: s.tool, Arguments: s.args}}}),
			schema.ToolMessage(`{"status":"pending approval"}`, id, schema.WithToolName(s.tool)),
			schema.AssistantMessage("ok", nil))
	}
	bound, _ := New().WithTools(toolInfos(allTools...))
	msg, err := bound.Generate(context.Background(), append(msgs, schema.UserMessage(text)), shop)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func expectCall(t *testing.T, label string, msg *schema.Message, tool string, args map[string]any) {
	t.Helper()
	if len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != tool {
		t.Errorf("%s: want %s %v, got %q %+v", label, tool, args, msg.Content, msg.ToolCalls)
		return
	}
	var got map[string]any
	_ = json.Unmarshal([]byte(msg.ToolCalls[0].Function.Arguments), &got)
	for k, v := range args {
		b1, _ := json.Marshal(v)
		b2, _ := json.Marshal(got[k])
		if string(b1) != string(b2) {
			t.Errorf("%s: %s = %s, want %s (all %v)", label, k, b2, b1, got)
		}
	}
}

// Follow-ups resolve against the conversation's calls: ellipsis, corrections, relative amounts
// and references (the shop world: cart runs 2 replicas, inventory-api 3).
func TestFollowUpsReadTheConversation(t *testing.T) {
	status := step{"cart ok?", "get_app_status", `{"app":"cart"}`}
	scale := step{"scale inventory-api to 5", "scale_app", `{"app":"inventory-api","replicas":5}`}
	canary := step{"canary billing-api registry.example.com/shop/billing-api:3.1.0 at 10%", "start_canary",
		`{"app":"billing-api","image":"registry.example.com/shop/billing-api:3.1.0","weight_percent":10}`}
	restart := step{"restart gateway", "restart_app", `{"app":"gateway"}`}
	for _, c := range []struct {
		steps []step
		text  string
		tool  string
		args  map[string]any
	}{
		{[]step{status}, "its events?", "get_events", map[string]any{"object": "cart"}},
		{[]step{status}, "它的 pod 呢", "list_pods", map[string]any{"app": "cart"}},
		{[]step{status}, "and in staging?", "get_app_status", map[string]any{"app": "cart", "env": "staging"}},
		{[]step{status}, "prod 环境的呢", "get_app_status", map[string]any{"app": "cart", "env": "prod"}},
		{[]step{scale}, "no wait, 7", "scale_app", map[string]any{"app": "inventory-api", "replicas": 7}},
		{[]step{scale}, "改成 4 个", "scale_app", map[string]any{"app": "inventory-api", "replicas": 4}},
		{[]step{scale}, "three more", "scale_app", map[string]any{"app": "inventory-api", "replicas": 8}},
		{[]step{status}, "再加3个", "scale_app", map[string]any{"app": "cart", "replicas": 5}},
		{[]step{status}, "triple it", "", nil}, // no rule for "triple": not a scale of its own
		{[]step{status}, "翻倍", "scale_app", map[string]any{"app": "cart", "replicas": 4}},
		{[]step{scale}, "halve it", "scale_app", map[string]any{"app": "inventory-api", "replicas": 3}},
		{[]step{restart}, "same for cart-worker", "restart_app", map[string]any{"app": "cart-worker"}},
		{[]step{restart}, "cart 也一样", "restart_app", map[string]any{"app": "cart"}},
		{[]step{canary}, "looks fine, promote it", "promote_canary", map[string]any{"app": "billing-api"}},
		{[]step{canary}, "bump that to 30%", "start_canary", map[string]any{"app": "billing-api", "weight_percent": 30}},
		{[]step{canary}, "撤掉灰度", "abort_canary", map[string]any{"app": "billing-api"}},
		{[]step{status, restart}, "roll it back", "rollback_app", map[string]any{"app": "gateway"}},
	} {
		msg := after(t, c.steps, c.text)
		if c.tool == "" {
			if len(msg.ToolCalls) > 0 && msg.ToolCalls[0].Function.Name == "scale_app" {
				t.Errorf("%q: an amount no rule knows scaled: %+v", c.text, msg.ToolCalls)
			}
			continue
		}
		expectCall(t, c.text, msg, c.tool, c.args)
	}
}

// A follow-up with nothing to refer to asks what it refers to; changing nothing.
func TestFollowUpWithoutReferentAsks(t *testing.T) {
	for _, text := range []string{"no wait, 7", "same for cart", "two more", "promote it"} {
		msg := after(t, nil, text)
		if len(msg.ToolCalls) != 0 || !strings.Contains(msg.Content, "?") && !strings.Contains(msg.Content, "？") {
			t.Errorf("%q: want a question, got %q %+v", text, msg.Content, msg.ToolCalls)
		}
	}
}

// Noise is handled once: mentions, emoji, shorthand, typos, Chinese numerals, fractions.
func TestNoisyMessages(t *testing.T) {
	for _, c := range []struct {
		text string
		w    want
	}{
		{"@bot 🚀 restart cart pls", want{"restart_app", map[string]any{"app": "cart"}}},
		{"rb gateway rn", want{"rollback_app", map[string]any{"app": "gateway"}}},
		{"restrat inventroy-api", want{"restart_app", map[string]any{"app": "inventory-api"}}},
		{"cart 扩到五个副本", want{"scale_app", map[string]any{"app": "cart", "replicas": 5}}},
		{"gateway 副本数砍一半", want{"scale_app", map[string]any{"app": "gateway", "replicas": 1}}},
		{"scale inventory-api up by 50%", want{"scale_app", map[string]any{"app": "inventory-api", "replicas": 5}}},
		{"canary cart 1.3.0 with a quarter of traffic", want{"start_canary", map[string]any{"app": "cart",
			"image": "registry.example.com/shop/cart:1.3.0", "weight_percent": 25}}},
		{"cart 灰度 1.3.0 先放三成", want{"start_canary", map[string]any{"weight_percent": 30}}},
		{"how much are we spending", want{"get_bill", nil}}, // an English word is no typo of a near one
	} {
		check(t, c.text, c.w)
	}
}

// Arguments people state reach the tool: a bare tag, a month, a log filter and window, amounts
// with units, a new app's name and image.
func TestStatedArgumentsReachTheTool(t *testing.T) {
	for _, c := range []struct {
		text string
		w    want
	}{
		{"gateway 升到 1.27.4", want{"set_image", map[string]any{"app": "gateway", "image": "nginx:1.27.4"}}},
		{"ship billing-api 3.0.2", want{"set_image", map[string]any{"image": "registry.example.com/shop/billing-api:3.0.2"}}},
		{"2026年2月的账单", want{"get_bill", map[string]any{"period": "2026-02"}}},
		{"bill for last month", want{"get_bill", map[string]any{"period": "2026-10"}}},
		{"cost in sept 2025", want{"get_bill", map[string]any{"period": "2025-09"}}},
		{"grep panic in cart logs", want{"get_pod_logs", map[string]any{"app": "cart", "grep": "panic"}}},
		{"gateway logs for the past 2 hours", want{"get_pod_logs", map[string]any{"app": "gateway", "since_seconds": 7200}}},
		{"cart 最近五分钟的日志", want{"get_pod_logs", map[string]any{"app": "cart", "since_seconds": 300}}},
		{"raise the memory quota to 48Gi", want{"set_quota", map[string]any{"hard": map[string]any{"requests.memory": "48Gi"}}}},
		{"create an app called promo-site with image nginx:1.27 and 2 replicas", want{"create_app", map[string]any{"app": "promo-site", "image": "nginx:1.27", "replicas": 2}}},
		{"build cart from release/1.3", want{"trigger_build", map[string]any{"app": "cart", "ref": "release/1.3"}}},
	} {
		check(t, c.text, c.w)
	}
}

// A negation covers its own clause; a question about a change changes nothing; an explicit
// request beside a report is done.
func TestClauses(t *testing.T) {
	check(t, "don't scale cart, show me its pods", want{"list_pods", map[string]any{"app": "cart"}})
	check(t, "别重启 gateway，先看下它的日志", want{"get_pod_logs", map[string]any{"app": "gateway"}})
	check(t, "please don't roll back billing-api", want{})
	check(t, "ok, don't delete cart", want{})
	for _, text := range []string{"should we restart gateway?", "what would happen if I delete cart?", "如果把 cart 缩到 0 会怎样"} {
		msg := turnWith(t, text)
		if len(msg.ToolCalls) != 0 || !strings.Contains(strings.ToLower(msg.Content), "changed nothing") && !strings.Contains(msg.Content, "没有做任何改动") {
			t.Errorf("%q: a question about a change: got %q %+v", text, msg.Content, msg.ToolCalls)
		}
	}
	check(t, "gateway is returning 502s, restart it", want{"restart_app", map[string]any{"app": "gateway"}})
}

// BenchmarkLanguageLayer times one step of the builtin model per message (cleaning, clauses,
// intents, slots, follow-up resolution against a conversation), reporting p50 and p99.
func BenchmarkLanguageLayer(b *testing.B) {
	texts := []string{"scael nignx to 3 pls", "把 cart 的副本砍一半", "先别重启 gateway，帮我看看它现在的状态", "2026年2月的账单",
		"canary cart 1.3.0 with a quarter of traffic", "grep panic in cart logs", "why is billing-api crashing", "and in staging?",
		"actually make it 6", "how do I set up a canary release?", "@bot 🚀 restart cart rn", "what would happen if I delete cart?"}
	prior := []*schema.Message{schema.UserMessage("scale inventory-api to 5"),
		schema.AssistantMessage("", []schema.ToolCall{{ID: "a", Type: "function", Function: schema.FunctionCall{Name: "scale_app", Arguments: `{"app":"inventory-api","replicas":5}`}}}),
		schema.ToolMessage(`{"status":"pending approval"}`, "a")}
	m, _ := New().WithTools(toolInfos(allTools...))
	var times []time.Duration
	for i := 0; b.Loop(); i++ {
		msgs := append(slices.Clip(prior), schema.UserMessage(texts[i%len(texts)]))
		start := time.Now()
		if _, err := m.Generate(context.Background(), msgs, shop); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
}

// A yes to what the last result proposed makes its suggested call as it is; a no, or a yes with
// nothing proposed, does not.
func TestAcceptingASuggestedCall(t *testing.T) {
	proposal := `{"app":"payment","suggested_call":{"tool":"update_app","args":{"app":"payment","image":"registry.local/payment:3.1.2","replicas":2,"version":"4","resources":{"cpu_request":"60m","memory_request":"115Mi"}}}}`
	history := func(result string) []*schema.Message {
		return []*schema.Message{schema.UserMessage("right-size payment"),
			schema.AssistantMessage("", []schema.ToolCall{{ID: "c1", Type: "function", Function: schema.FunctionCall{Name: "rightsize", Arguments: `{"app":"payment"}`}}}),
			schema.ToolMessage(result, "c1", schema.WithToolName("rightsize")), schema.AssistantMessage("payment: CPU 500m → 60m", nil)}
	}
	bound, _ := New().WithTools(toolInfos(allTools...))
	run := func(result, text string) *schema.Message {
		t.Helper()
		msg, err := bound.Generate(context.Background(), append(history(result), schema.UserMessage(text)), shop)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	for _, yes := range []string{"apply it", "ok go ahead", "就按这个改", "lgtm, do it"} {
		msg := run(proposal, yes)
		if len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != "update_app" ||
			!strings.Contains(msg.ToolCalls[0].Function.Arguments, `"cpu_request":"60m"`) || !strings.Contains(msg.ToolCalls[0].Function.Arguments, `"version":"4"`) {
			t.Errorf("%q: %+v %q", yes, msg.ToolCalls, msg.Content)
		}
	}
	for _, tc := range []struct{ result, text string }{
		{proposal, "don't apply it"},
		{`{"app":"payment","cpu":{"change":"keep"}}`, "apply it"},
	} {
		if msg := run(tc.result, tc.text); len(msg.ToolCalls) == 1 && msg.ToolCalls[0].Function.Name == "update_app" {
			t.Errorf("%q after %s: proposed update_app", tc.text, tc.result)
		}
	}
}
