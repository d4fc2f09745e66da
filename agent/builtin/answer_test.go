package builtin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cloudwego/eino/schema"

	"k8s-manage/internal/textutil"
	"k8s-manage/internal/toolname"
)

// The read-only tools' results are answered in words a person reads, not as JSON.
func TestReadOnlyAnswers(t *testing.T) {
	for _, tc := range []struct {
		tool, result string
		want         []string
	}{
		{toolname.ListPods, `[{"name":"web-1","phase":"Running","ready":true,"restarts":0},{"name":"web-2","phase":"Pending","ready":false,"restarts":3,"reason":"CrashLoopBackOff"}]`,
			[]string{"web-1: Running, ready", "web-2: Pending, not ready, restarts 3 (CrashLoopBackOff)"}},
		{toolname.GetEvents, `[{"type":"Warning","reason":"BackOff","object":"pod/web-2","message":` + quoteJSON(textutil.Quote("event", "Back-off restarting")) + `,"count":4}]`,
			[]string{"Warning BackOff pod/web-2 ×4: Back-off restarting"}},
		{toolname.GetConfig, `[{"key":"LOG_LEVEL","value":"debug"},{"key":"DB_PASSWORD","value":"******","secret":true}]`,
			[]string{"LOG_LEVEL = debug", "DB_PASSWORD = ****** (secret)"}},
		{toolname.ConfigDiff, `[{"key":"TIMEOUT_MS","change":"changed","from":"1000","to":"3000","author":"ann@example.com"}]`,
			[]string{"TIMEOUT_MS changed: 1000 → 3000, by ann@example.com"}},
		{toolname.ConfigDiff, `[]`, []string{"Nothing changed"}},
		{toolname.GetAppConfig, `{"name":"cart","image":"shop/cart:1.2","replicas":2,"strategy":"rolling","resources":{"cpu_limit":"1","memory_limit":"1Gi"},"readiness":{"path":"/healthz","port":8080}}`,
			[]string{"cart: image shop/cart:1.2, 2 replicas", "CPU -/1, memory -/1Gi", "readiness /healthz:8080"}},
		{toolname.GetBuild, `{"id":"b-7","app":"cart","ref":"main","commit":"abcdef0123","status":"failed","image":"shop/cart:b-7","log":` + quoteJSON(textutil.Quote("log", "npm ERR! missing script")) + `}`,
			[]string{"Build b-7 (cart main@abcdef0): failed", "npm ERR! missing script"}},
		{toolname.ListServiceInstances, `[{"name":"cache","type":"redis","plan":"small","ready":true,"host":"cache.shop-dev","port":6379}]`,
			[]string{"cache: redis small, ready, cache.shop-dev:6379"}},
		{toolname.ListTenants, `{"shop":"developer","ops":"viewer"}`, []string{"ops: viewer", "shop: developer"}},
	} {
		call := schema.AssistantMessage("", []schema.ToolCall{{ID: "c1", Function: schema.FunctionCall{Name: tc.tool}}})
		msg, err := bound().Generate(context.Background(), []*schema.Message{schema.UserMessage("show it"), call,
			schema.ToolMessage(tc.result, "c1", schema.WithToolName(tc.tool))}, bare)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg.Content, w) {
				t.Errorf("%s: answer lacks %q:\n%s", tc.tool, w, msg.Content)
			}
		}
		if strings.Contains(msg.Content, "{") || strings.Contains(msg.Content, textutil.Open) {
			t.Errorf("%s: the answer shows raw data:\n%s", tc.tool, msg.Content)
		}
	}
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
