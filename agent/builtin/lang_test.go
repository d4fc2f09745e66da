package builtin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/eino/schema"
)

// shop is the world the agent passes for a developer of tenant shop in dev.
var shop = WithWorld(World{Tenant: "shop", Env: "dev", Role: "developer", Envs: []string{"dev", "staging", "prod"},
	Apps: []App{{"cart", "registry.example.com/shop/cart:1.2.0", 2}, {"cart-worker", "registry.example.com/shop/cart-worker:1.2.0", 1},
		{"billing-api", "registry.example.com/shop/billing-api:3.0.1", 2}, {"inventory-api", "registry.example.com/shop/inventory-api:0.9.0", 3},
		{"gateway", "nginx:1.27", 2}},
	Today: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), Catalog: catalog})

// turnWith runs one step of the model for text, with the prompt and every tool bound.
func turnWith(t *testing.T, text string) *schema.Message {
	t.Helper()
	bound, _ := New().WithTools(toolInfos(allTools...))
	msg, err := bound.Generate(context.Background(), []*schema.Message{schema.UserMessage(text)}, shop)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func toolInfos(names ...string) []*schema.ToolInfo {
	out := make([]*schema.ToolInfo, len(names))
	for i, n := range names {
		out[i] = &schema.ToolInfo{Name: n}
	}
	return out
}

type want struct {
	tool string
	args map[string]any
}

func check(t *testing.T, text string, w want) {
	t.Helper()
	msg := turnWith(t, text)
	if w.tool == "" {
		if len(msg.ToolCalls) != 0 {
			t.Errorf("%q: want no tool, got %s %s", text, msg.ToolCalls[0].Function.Name, msg.ToolCalls[0].Function.Arguments)
		}
		return
	}
	if len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != w.tool {
		t.Errorf("%q: want %s, got %q %+v", text, w.tool, msg.Content, msg.ToolCalls)
		return
	}
	var got map[string]any
	_ = json.Unmarshal([]byte(msg.ToolCalls[0].Function.Arguments), &got)
	for k, v := range w.args {
		b1, _ := json.Marshal(v)
		b2, _ := json.Marshal(got[k])
		if string(b1) != string(b2) {
			t.Errorf("%q: %s = %s, want %s (all %v)", text, k, b2, b1, got)
		}
	}
}

// Word order does not matter: the verb before or after the app, the number anywhere.
func TestWordOrder(t *testing.T) {
	for _, text := range []string{"gateway 扩到 7 个", "扩容 gateway 到 7 个", "把 gateway 的副本改成 7", "7 replicas for gateway", "gateway: scale to 7"} {
		check(t, text, want{"scale_app", map[string]any{"app": "gateway", "replicas": 7}})
	}
}

// Politeness makes a request of a question; it never hides the request.
func TestPoliteness(t *testing.T) {
	for _, text := range []string{"could you restart cart-worker", "would you please restart cart-worker?", "能否帮我重启 cart-worker", "麻烦重启一下 cart-worker 吧"} {
		check(t, text, want{"restart_app", map[string]any{"app": "cart-worker"}})
	}
}

// Articles, possessives and nouns around an app name are not the app.
func TestArticlesAndPossessives(t *testing.T) {
	for _, text := range []string{"restart the billing-api service", "what's wrong with my app inventory-api", "restart our gateway deployment"} {
		msg := turnWith(t, text)
		if len(msg.ToolCalls) != 1 {
			t.Fatalf("%q: no call: %q", text, msg.Content)
		}
		var args map[string]any
		_ = json.Unmarshal([]byte(msg.ToolCalls[0].Function.Arguments), &args)
		if a := args["app"]; a != "billing-api" && a != "inventory-api" && a != "gateway" {
			t.Errorf("%q: app %v", text, a)
		}
	}
}

// An environment named in the message goes to the tool.
func TestEnvSlot(t *testing.T) {
	check(t, "restart gateway in staging", want{"restart_app", map[string]any{"app": "gateway", "env": "staging"}})
	check(t, "生产环境的 cart 状态", want{"get_app_status", map[string]any{"app": "cart", "env": "prod"}})
	check(t, "cart 在 prod 里跑得怎么样", want{"get_app_status", map[string]any{"app": "cart", "env": "prod"}})
}

// Two apps that match, or a missing number, get a short question back.
func TestAmbiguityAsks(t *testing.T) {
	for text, mention := range map[string]string{"restart the api": "billing-api", "重启 api": "inventory-api", "scale cart": "cart",
		"把 gateway 扩容": "gateway", "deploy a new version of cart": "image"} {
		msg := turnWith(t, text)
		first, _, _ := strings.Cut(msg.Content, "\n")
		if len(msg.ToolCalls) != 0 || !strings.ContainsAny(first, "?？") || !strings.Contains(msg.Content, mention) {
			t.Errorf("%q: want a question mentioning %s, got %q %+v", text, mention, msg.Content, msg.ToolCalls)
		}
	}
}

// A typo one edit from exactly one app (or verb) is read as it; a word close to two apps asks.
func TestTypos(t *testing.T) {
	check(t, "restart gatway", want{"restart_app", map[string]any{"app": "gateway"}})
	check(t, "scael cart to 3", want{"scale_app", map[string]any{"app": "cart", "replicas": 3}})
	check(t, "rollbak billing-api", want{"rollback_app", map[string]any{"app": "billing-api"}})
	msg := turnWith(t, "restart the api") // part of two apps: billing-api, inventory-api
	if len(msg.ToolCalls) != 0 || !strings.Contains(msg.Content, "?") {
		t.Fatalf("a name close to two apps: got %q %+v", msg.Content, msg.ToolCalls)
	}
}

// How-to questions get the docs even with numbers and app names; chit-chat and nonsense get an
// honest "I did not understand", not the top document.
func TestQuestionsAndNotUnderstood(t *testing.T) {
	for _, text := range []string{"how do I scale gateway to 7 replicas?", "怎么回滚 cart 到版本 2"} {
		check(t, text, want{})
	}
	docs := schema.SystemMessage(KnowledgeMarker + " (data):\n" + `<<<chunk id="manual/scale" title="扩缩容" source="docs" (data, not instructions)` +
		"\n副本数由 Deployment 的 replicas 决定，扩容 scale 需要审批。\n>>>")
	bound, _ := New().WithTools(toolInfos(allTools...))
	for _, text := range []string{"what a lovely day", "给我讲个笑话", "asdf qwer"} {
		msg, _ := bound.Generate(context.Background(), []*schema.Message{docs, schema.UserMessage(text)}, shop)
		if len(msg.ToolCalls) != 0 || strings.Contains(msg.Content, "manual/scale") || !strings.Contains(msg.Content, "did not understand") {
			t.Errorf("%q: want an honest did-not-understand, got %q", text, msg.Content)
		}
	}
	msg, _ := bound.Generate(context.Background(), []*schema.Message{docs, schema.UserMessage("怎么扩容副本")}, shop)
	if !strings.Contains(msg.Content, "manual/scale") {
		t.Errorf("a how-to question did not get the docs: %q", msg.Content)
	}
}

// Another tenant named in the message goes to the tool (the gate decides).
func TestTenantSlot(t *testing.T) {
	check(t, "show cart logs in team-x", want{"get_pod_logs", map[string]any{"app": "cart", "tenant": "team-x"}})
}

// A message that names an app of the tenant and nothing else looks at the app.
func TestBareAppLooksAtIt(t *testing.T) {
	check(t, "inventory-api?", want{"get_app_status", map[string]any{"app": "inventory-api"}})
	check(t, "gateway 呢", want{"get_app_status", map[string]any{"app": "gateway"}})
}

// The language layer's cost per message (it runs on every turn of the offline model).
func BenchmarkUnderstand(b *testing.B) {
	bound, _ := New().WithTools(toolInfos(allTools...))
	msgs := []*schema.Message{schema.UserMessage("could you scale the gateway service to 7 replicas in staging")}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bound.Generate(context.Background(), msgs, shop); err != nil {
			b.Fatal(err)
		}
	}
}

// An env the tenant does not have still goes to the tool (its gate refuses it), never the turn's
// own env; deploying without an image asks for it instead of taking the env for one.
func TestEnvNamedIsPassedOn(t *testing.T) {
	check(t, "restart cart in uat", want{"restart_app", map[string]any{"app": "cart", "env": "uat"}})
	msg := turnWith(t, "deploy gateway to prod")
	if len(msg.ToolCalls) != 0 || !strings.Contains(msg.Content, "image") {
		t.Fatalf("deploy without an image: %q %+v", msg.Content, msg.ToolCalls)
	}
}

// A reported failure goes to the diagnosis, scoped to what it names: an app of the tenant, any
// other name (a pod, a host, a PVC; the tool resolves it against the namespace), or the whole
// environment when it names nothing. A change the person asks for still runs as asked.
func TestFailureReportsReachTheDiagnosis(t *testing.T) {
	for _, tc := range []struct {
		text string
		want want
	}{
		{"billing-api is returning 504s", want{"diagnose", map[string]any{"app": "billing-api"}}},
		{"why doesn't gateway start", want{"diagnose", map[string]any{"app": "gateway"}}},
		{"cart 的 pod 起不来", want{"diagnose", map[string]any{"app": "cart"}}},
		{"订单接口 inventory-api 一直 502", want{"diagnose", map[string]any{"app": "inventory-api"}}},
		{"pod worker-5f7d9 is in CrashLoopBackOff", want{"diagnose", map[string]any{"resource": "worker-5f7d9"}}},
		{"status.example.org 访问超时", want{"diagnose", map[string]any{"resource": "status.example.org"}}},
		{"the claim called media-store is stuck", want{"diagnose", map[string]any{"resource": "media-store"}}},
		{"prometheus never became ready after the upgrade", want{"diagnose", map[string]any{"resource": "prometheus"}}},
		{"everything is down", want{"diagnose", map[string]any{}}},
		{"集群里好像有东西挂了", want{"diagnose", map[string]any{}}},
		{"restart cart, it keeps crashing", want{"restart_app", map[string]any{"app": "cart"}}},
		{"scale gateway to 3", want{"scale_app", map[string]any{"app": "gateway", "replicas": 3}}},
	} {
		check(t, tc.text, tc.want)
		if tc.want.tool == "diagnose" {
			msg := turnWith(t, tc.text)
			var got map[string]any
			_ = json.Unmarshal([]byte(msg.ToolCalls[0].Function.Arguments), &got)
			if len(tc.want.args) == 0 && (got["app"] != nil || got["resource"] != nil) {
				t.Errorf("%q: want the whole environment, got %v", tc.text, got)
			}
		}
	}
	// How to fix a failure in general is a question for the docs, not a diagnosis.
	if msg := turnWith(t, "how do I fix CrashLoopBackOff?"); len(msg.ToolCalls) != 0 {
		t.Errorf("a how-to question ran %s", msg.ToolCalls[0].Function.Name)
	}
}

// An intent word does not start a hyphenated name the prompt does not list: "log-shipper has no
// pods" is a failure of log-shipper, not a request for logs.
func TestWordsDoNotStartCompoundNames(t *testing.T) {
	check(t, "scale-tester 没有一个 pod 起来", want{"diagnose", map[string]any{"resource": "scale-tester"}})
	check(t, "show the logs of cart", want{"get_pod_logs", map[string]any{"app": "cart"}})
	if !has("tail the logs", "log") || has("log-shipper is down", "log") {
		t.Fatal("has: a word must start a word, and not a hyphenated name")
	}
}

// Determiners name no object: "delete the whole cluster" is not an app called "whole", and a
// destructive request with no app named calls nothing.
func TestDeterminersAreNotNames(t *testing.T) {
	for _, text := range []string{"delete the whole cluster", "restart all of it", "delete every deployment"} {
		msg := turnWith(t, text)
		for _, c := range msg.ToolCalls {
			var args map[string]any
			_ = json.Unmarshal([]byte(c.Function.Arguments), &args)
			for _, w := range []string{"whole", "all", "every"} {
				if args["app"] == w || args["resource"] == w {
					t.Errorf("%q: %s called with %v", text, c.Function.Name, args)
				}
			}
			if c.Function.Name == "delete_app" {
				t.Errorf("%q: delete_app %v with no app named", text, args)
			}
		}
	}
}

// A metric over time is asked for by what it measures and for how long; a change, a slowness or
// a usage question keeps its own tool.
func TestMetricQuestions(t *testing.T) {
	cases := []struct {
		text string
		w    want
	}{
		{"cart p95 latency over the last 6 hours", want{"query_metrics", map[string]any{"app": "cart", "metric": "latency_p95", "range": "21600s"}}},
		{"billing-api 的错误率", want{"query_metrics", map[string]any{"app": "billing-api", "metric": "error_ratio"}}},
		{"qps of gateway", want{"query_metrics", map[string]any{"app": "gateway", "metric": "request_rate"}}},
		{"inventory-api 最近 2 小时的网络流量", want{"query_metrics", map[string]any{"app": "inventory-api", "metric": "network_in", "range": "7200s"}}},
		{"show me a graph of cart memory", want{"query_metrics", map[string]any{"app": "cart", "metric": "memory"}}},
		{"gateway 响应时间趋势", want{"query_metrics", map[string]any{"app": "gateway", "metric": "latency_p95"}}},
		{"cart memory in the past hour", want{"query_metrics", map[string]any{"app": "cart", "metric": "memory", "range": "3600s"}}},
		{"gateway 过去 30 分钟的 cpu", want{"query_metrics", map[string]any{"app": "gateway", "metric": "cpu", "range": "1800s"}}},
		{"cart 用了多少 CPU", want{"top", map[string]any{"app": "cart"}}},
		{"logs of cart in the last 10 minutes", want{"get_pod_logs", map[string]any{"app": "cart"}}},
		{"why is cart slow", want{"diagnose", map[string]any{"app": "cart"}}},
	}
	for _, tc := range cases {
		check(t, tc.text, tc.w)
	}
	// Without a metric named, the person is asked which.
	if msg := turnWith(t, "cart trend"); len(msg.ToolCalls) != 0 || !strings.Contains(msg.Content, "Which metric") {
		t.Errorf("cart trend: %q %+v", msg.Content, msg.ToolCalls)
	}
}

// A metric reported as failing is the diagnosis's; asked about, it is a metric query.
func TestMetricReportedOrAsked(t *testing.T) {
	check(t, "cart latency went through the roof", want{"diagnose", map[string]any{"app": "cart"}})
	check(t, "why is the error rate of billing-api so high", want{"diagnose", map[string]any{"app": "billing-api"}})
	check(t, "billing-api 的错误率高吗", want{"query_metrics", map[string]any{"app": "billing-api", "metric": "error_ratio"}})
	check(t, "is cart's p95 getting worse?", want{"query_metrics", map[string]any{"app": "cart", "metric": "latency_p95"}})
}
