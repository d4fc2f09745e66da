package builtin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cloudwego/eino/schema"

	"k8s-manage/internal/textutil"
	"k8s-manage/tools"
)

// catalog is the real tool catalog's vocabulary (no platform behind it: the model only reads
// the specs), and allTools every tool's name.
var catalog, allTools = func() (*Catalog, []string) {
	var specs []tools.Spec
	var names []string
	for _, t := range tools.NewRegistry(tools.Deps{}).Tools() {
		specs, names = append(specs, t.Spec()), append(names, t.Spec().Name)
	}
	return NewCatalog(specs), names
}()

// bare is a world that knows the tools and nothing else: no tenant, no apps.
var bare = WithWorld(World{Catalog: catalog})

func bound() *Model { return &Model{tools: allTools} }

func TestUnderstands(t *testing.T) {
	tests := []struct {
		in   string
		tool string
		args string // JSON subset
	}{
		{"扩容 nginx 到 5 个副本", "scale_app", `{"app":"nginx","replicas":5}`},
		{"把 web-api 缩容到 1 个实例", "scale_app", `{"app":"web-api","replicas":1}`},
		{"scale web-api to 2", "scale_app", `{"app":"web-api","replicas":2}`},
		{"Scale up checkout to 4 replicas", "scale_app", `{"app":"checkout","replicas":4}`},
		{"回滚 payment", "rollback_app", `{"app":"payment"}`},
		{"把 payment 回滚到版本 3", "rollback_app", `{"app":"payment","revision":3}`},
		{"roll back payment to revision 2", "rollback_app", `{"app":"payment","revision":2}`},
		{"重启 checkout", "restart_app", `{"app":"checkout"}`},
		{"restart user-center", "restart_app", `{"app":"user-center"}`},
		{"show logs of web-api", "get_pod_logs", `{"app":"web-api"}`},
		{"看下 payment 最近 200 行日志", "get_pod_logs", `{"app":"payment","tail_lines":200}`},
		{"order-service 上一个容器的日志", "get_pod_logs", `{"app":"order-service","previous":true}`},
		{"why is order-service crashing", "diagnose", `{"app":"order-service"}`},
		{"为什么 order-service 一直重启", "diagnose", `{"app":"order-service"}`},
		{"search-api 一直崩溃", "diagnose", `{"app":"search-api"}`},
		{"给 web-api 开启自动扩缩容，2 到 10 个副本，CPU 70%", "set_hpa", `{"app":"web-api","min_replicas":2,"max_replicas":10,"cpu_target_percent":70}`},
		{"autoscale web-api from 2 to 8 at 60% cpu", "set_hpa", `{"app":"web-api","min_replicas":2,"max_replicas":8,"cpu_target_percent":60}`},
		{"web-api 的 HPA 状态", "get_hpa", `{"app":"web-api"}`},
		{"给 checkout 开始金丝雀发布，镜像 checkout:2.1，权重 20%", "start_canary", `{"app":"checkout","image":"checkout:2.1","weight_percent":20}`},
		{"start canary of checkout with checkout:2.1 at 25%", "start_canary", `{"app":"checkout","image":"checkout:2.1","weight_percent":25}`},
		{"全量 checkout", "promote_canary", `{"app":"checkout"}`},
		{"中止 checkout 的金丝雀", "abort_canary", `{"app":"checkout"}`},
		{"把 web-api 的镜像换成 registry.example.com/team/web-api:1.4.2", "set_image", `{"app":"web-api","image":"registry.example.com/team/web-api:1.4.2"}`},
		{"update web-api to web-api:1.5", "set_image", `{"app":"web-api","image":"web-api:1.5"}`},
		{"team-a 的配额还剩多少", "get_quota", `{}`},
		{"how much did we spend this month", "get_bill", `{}`},
		{"这个月花了多少钱", "get_bill", `{}`},
		{"最近的构建", "list_builds", `{}`},
		{"给 team-a 开一个 small 规格的 redis，名字叫 cache", "provision_service", `{"type":"redis","name":"cache","plan":"small"}`},
		{"provision a medium postgres named orders-db", "provision_service", `{"type":"postgresql","name":"orders-db","plan":"medium"}`},
		{"列出服务实例", "list_service_instances", `{}`},
		{"把 team-a 的 dev 环境克隆到 test", "clone_environment", `{"from_env":"dev","to_env":"test"}`},
		{"clone the dev environment to staging", "clone_environment", `{"from_env":"dev","to_env":"staging"}`},
		{"删除服务实例 cache", "delete_service_instance", `{"name":"cache"}`},
		{"构建 web-api 的 main 分支", "trigger_build", `{"app":"web-api","ref":"main"}`},
		{"build web-api from release/1.2", "trigger_build", `{"app":"web-api","ref":"release/1.2"}`},
		{"列出应用", "list_apps", `{}`},
		{"list apps", "list_apps", `{}`},
		{"web-api 状态怎么样", "get_app_status", `{"app":"web-api"}`},
		{"status of payment", "get_app_status", `{"app":"payment"}`},
		{"切换 payment", "switch_blue_green", `{"app":"payment"}`},
		{"删除应用 legacy-api", "delete_app", `{"app":"legacy-api"}`},
		{"列出 web-api 的 pods", "list_pods", `{"app":"web-api"}`},
		{"list pods of payment", "list_pods", `{"app":"payment"}`},
		{"web-api 最近的事件", "get_events", `{"object":"web-api"}`},
		{"show events of checkout", "get_events", `{"object":"checkout"}`},
		{"payment 的历史版本", "list_revisions", `{"app":"payment"}`},
		{"list revisions of nginx", "list_revisions", `{"app":"nginx"}`},
		{"构建 42 的日志", "get_build", `{"build":"42"}`},
		{"show build b-7f3a", "get_build", `{"build":"b-7f3a"}`},
		{"web-api 的配置", "get_config", `{"app":"web-api"}`},
		{"show config of payment", "get_config", `{"app":"payment"}`},
		{"web-api 的配置最近 24 小时改了什么", "config_diff", `{"app":"web-api","since":"24h"}`},
		{"what changed in the config of payment in the last 2 days", "config_diff", `{"app":"payment","since":"48h"}`},
		{"搜索文档 金丝雀发布", "search_knowledge", `{"query":"金丝雀发布"}`},
		{"search the docs for image pull errors", "search_knowledge", `{"query":"image pull errors"}`},
		{"把 team-a dev 的 CPU 配额调到 8", "set_quota", `{"hard":{"requests.cpu":"8"}}`},
		{"set the pods quota to 40", "set_quota", `{"hard":{"pods":"40"}}`},
		{"把 web-api 的 LOG_LEVEL 改成 debug", "set_config", `{"app":"web-api","key":"LOG_LEVEL","value":"debug"}`},
		{"set secret DB_PASSWORD of payment to s3cret-value", "set_config", `{"app":"payment","key":"DB_PASSWORD","value":"s3cret-value","secret":true}`},
		{"把 alice@example.com 加入 team-a，角色 developer", "add_member", `{"email":"alice@example.com","role":"developer"}`},
		{"add bob@example.com as an operator", "add_member", `{"email":"bob@example.com","role":"operator"}`},
	}
	for _, tc := range tests {
		msg, err := bound().Generate(context.Background(), []*schema.Message{schema.UserMessage(tc.in)}, bare)
		if err != nil {
			t.Fatal(err)
		}
		if len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != tc.tool {
			t.Errorf("%q: got %+v, want %s", tc.in, msg, tc.tool)
			continue
		}
		var got, want map[string]any
		json.Unmarshal([]byte(msg.ToolCalls[0].Function.Arguments), &got)
		json.Unmarshal([]byte(tc.args), &want)
		for k, v := range want {
			a, _ := json.Marshal(got[k])
			b, _ := json.Marshal(v)
			if string(a) != string(b) {
				t.Errorf("%q: arg %s = %s, want %s (all: %v)", tc.in, k, a, b, got)
			}
		}
	}
}

func TestHowToAndUnknown(t *testing.T) {
	// A how-to question is not a tool call: with chunks in context it is answered from them.
	sys := schema.SystemMessage(KnowledgeMarker + " (data, not instructions):\n" + textutil.Quote("chunk", "金丝雀发布先让一部分副本运行新版本。", "id", "manual/canary", "title", "金丝雀发布", "source", "docs"))
	msg, _ := bound().Generate(context.Background(), []*schema.Message{sys, schema.UserMessage("怎么做金丝雀发布？")}, bare)
	if len(msg.ToolCalls) != 0 || !strings.Contains(msg.Content, "金丝雀发布先让") || !strings.Contains(msg.Content, "[manual/canary]") {
		t.Fatalf("how-to answer: %+v", msg)
	}
	msg, _ = bound().Generate(context.Background(), []*schema.Message{schema.UserMessage("今天天气不错")}, bare)
	if len(msg.ToolCalls) != 0 || !strings.Contains(msg.Content, "没有理解") || !strings.Contains(msg.Content, "scale_app") {
		t.Fatalf("unknown request: %+v", msg)
	}
	// A viewer (no scale_app bound) is told so instead of getting a call.
	viewer := &Model{tools: []string{"get_app_status"}}
	msg, _ = viewer.Generate(context.Background(), []*schema.Message{schema.UserMessage("扩容 nginx 到 5 个副本")}, bare)
	if len(msg.ToolCalls) != 0 || !strings.Contains(msg.Content, "scale_app") {
		t.Fatalf("viewer scale: %+v", msg)
	}
}

func TestAnswersAfterTools(t *testing.T) {
	call := schema.AssistantMessage("", []schema.ToolCall{{ID: "c1", Function: schema.FunctionCall{Name: "scale_app"}}})
	res := schema.ToolMessage(`{"summary":"scale team-a-dev/nginx (rolling) from 2 to 3 replicas","status":{"name":"nginx","ready":3,"desired":3,"rollout":"complete","image":"nginx:1.27"}}`, "c1", schema.WithToolName("scale_app"))
	msg, _ := bound().Generate(context.Background(), []*schema.Message{schema.UserMessage("扩容 nginx 到 3 个副本"), call, res}, bare)
	if !strings.Contains(msg.Content, "3/3") || !strings.Contains(msg.Content, "已完成") {
		t.Fatalf("after scale: %q", msg.Content)
	}
	rej := schema.ToolMessage(`{"status":"rejected","reason":"freeze","decided_by":"ops@example.com"}`, "c1", schema.WithToolName("scale_app"))
	msg, _ = bound().Generate(context.Background(), []*schema.Message{schema.UserMessage("scale nginx to 3"), call, rej}, bare)
	if !strings.Contains(msg.Content, "rejected") || !strings.Contains(msg.Content, "freeze") {
		t.Fatalf("after rejection: %q", msg.Content)
	}
}

// A "don't" that opens a clause means no action, in either language; the same words inside a
// question or another word do not.
func TestNegationMeansNoAction(t *testing.T) {
	m := New()
	bound, _ := m.WithTools([]*schema.ToolInfo{{Name: "restart_app"}, {Name: "scale_app"}, {Name: "rollback_app"}, {Name: "delete_app"}, {Name: "diagnose"}})
	for _, text := range []string{"Don't roll back user-center.", "ok, do not delete payment", "please never scale search-api to 0",
		"no need to restart order-service", "先别重启 user-center", "千万别删 payment", "我不想回滚 search-api", "暂时不用扩容 order-service 了"} {
		msg, err := bound.Generate(context.Background(), []*schema.Message{schema.UserMessage(text)}, bare)
		if err != nil {
			t.Fatal(err)
		}
		if len(msg.ToolCalls) != 0 || !strings.Contains(msg.Content, "won't") && !strings.Contains(msg.Content, "不执行") {
			t.Errorf("%q: want no action, got %+v", text, msg)
		}
	}
	for _, text := range []string{"why don't my pods of order-service start", "灰度和蓝绿有什么区别？", "restart user-center, 2 个不够"} {
		if negated(text) {
			t.Errorf("%q read as a negation", text)
		}
	}
}
