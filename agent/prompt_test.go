package agent

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/eino/schema"

	"k8s-manage/platform/tenant"
	"k8s-manage/tools"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./agent -run Golden -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s changed (go test ./agent -run Golden -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestSystemPromptGolden(t *testing.T) {
	tmpl, err := loadPrompt()
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	cases := map[string]promptContext{
		"prompt-developer-slack.golden": {Caller: tools.Caller{User: "dev@example.com", Tenant: "team-a", Env: "prod", Role: tenant.Developer},
			Surface: "slack", Envs: []string{"dev", "test", "prod"}, Date: date, Apps: []string{"checkout", "nginx"},
			Approval: []string{"scale_app", "restart_app"}, More: []string{"get_bill", "set_config"}},
		"prompt-viewer-web.golden": {Caller: tools.Caller{User: "viewer@example.com", Tenant: "team-a", Env: "dev", Role: tenant.Viewer},
			Surface: "web", Envs: []string{"dev"}, Date: date},
		"prompt-no-tenant-dingtalk.golden": {Caller: tools.Caller{User: "someone@example.com"}, Surface: "dingtalk", Date: date},
	}
	for name, pc := range cases {
		got, err := systemPrompt(tmpl, pc)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, name, got)
	}
}

// The history sent to the model is the newest that fits the token budget, never more; CJK text
// counts a token a character; tool calls and their results come with it in pairs, so a
// follow-up ("and its logs?") knows what was looked at.
func TestHistoryWithinTokenBudget(t *testing.T) {
	tmpl, _ := loadPrompt()
	pc := promptContext{Caller: tools.Caller{User: "dev@example.com", Tenant: "team-a", Env: "dev", Role: tenant.Developer}, Surface: "web"}
	var hist []Message
	for i := range 50 {
		hist = append(hist, Message{Role: "user", Content: fmt.Sprintf("第%d轮：请帮我看一下 nginx 的状态，为什么它的副本一直起不来？", i)})
		call, _ := json.Marshal(storedCall{ID: fmt.Sprintf("c%d", i), Name: "get_app_status", Args: `{"app":"nginx"}`})
		res, _ := json.Marshal(storedCall{ID: fmt.Sprintf("c%d", i), Name: "get_app_status", Result: `{"name":"nginx","ready":1,"desired":3,"problems":["镜像拉取失败"]}`})
		hist = append(hist, Message{Role: "tool_call", Content: string(call)}, Message{Role: "tool", Content: string(res)},
			Message{Role: "assistant", Content: strings.Repeat("nginx 有两个副本因为镜像拉取失败没有就绪。", 3)})
	}
	for _, budget := range []int{300, 1000, 3000} {
		msgs, err := buildMessages(tmpl, pc, hist, "那它的日志呢？", budget)
		if err != nil {
			t.Fatal(err)
		}
		earlier := msgs[1 : len(msgs)-1]
		used := 0
		for _, m := range earlier {
			used += messageTokens(m)
		}
		if used > budget || used < budget/2 {
			t.Errorf("budget %d: history uses %d tokens", budget, used)
		}
		if earlier[0].Role != schema.User {
			t.Errorf("budget %d: history starts with a %s message", budget, earlier[0].Role)
		}
		for i, m := range earlier {
			if m.Role == schema.Tool && (i == 0 || len(earlier[i-1].ToolCalls) != 1 || earlier[i-1].ToolCalls[0].ID != m.ToolCallID) {
				t.Errorf("budget %d: tool result %d without its call", budget, i)
			}
		}
		if last := earlier[len(earlier)-1]; !strings.Contains(last.Content, "镜像拉取失败") {
			t.Errorf("budget %d: the newest answer is not kept: %q", budget, last.Content)
		}
		if !strings.Contains(fmt.Sprint(earlier), "get_app_status") {
			t.Errorf("budget %d: the earlier tool call is gone, so the follow-up cannot know the app", budget)
		}
	}
	// The estimate counts CJK characters one each: 50 characters are 50 tokens, not 150 bytes / 4.
	if n := EstimateTokens(strings.Repeat("日", 50)); n != 50 {
		t.Errorf("EstimateTokens(50 CJK) = %d", n)
	}
	if n := EstimateTokens(strings.Repeat("abcd", 50)); n != 50 {
		t.Errorf("EstimateTokens(200 ASCII) = %d", n)
	}
}

// A call recorded while it waited for approval and again once decided reaches the model once,
// with its decided result; a call still pending reaches it with the pending one.
func TestHistoryKeepsTheLastRecordOfACall(t *testing.T) {
	rec := func(id, result string) []Message {
		call, _ := json.Marshal(storedCall{ID: id, Name: "scale_app", Args: `{"app":"nginx","replicas":3}`})
		res, _ := json.Marshal(storedCall{ID: id, Name: "scale_app", Result: result})
		return []Message{{Role: "tool_call", Content: string(call)}, {Role: "tool", Content: string(res)}}
	}
	var hist []Message
	hist = append(hist, Message{Role: "user", Content: "scale nginx to 3"})
	hist = append(hist, rec("a", `{"status":"pending approval"}`)...)
	hist = append(hist, Message{Role: "user", Content: "scale web to 2"})
	hist = append(hist, rec("b", `{"status":"pending approval"}`)...)
	hist = append(hist, rec("a", `{"replicas":"3/3"}`)...)
	msgs := historyMessages(hist)
	var results []string
	for _, m := range msgs {
		if m.Role == schema.Tool {
			results = append(results, m.ToolCallID+"="+m.Content)
		}
	}
	if got := strings.Join(results, " "); got != `b={"status":"pending approval"} a={"replicas":"3/3"}` {
		t.Errorf("tool results sent: %s", got)
	}
}
