package builtin

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/cloudwego/eino/schema"

	"k8s-manage/internal/toolname"
)

func TestResourcesIn(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]any
	}{
		{"把 payment 的资源调到 2c4g", map[string]any{"cpu_request": "2", "cpu_limit": "2", "memory_request": "4Gi", "memory_limit": "4Gi"}},
		{"checkout 内存 limit 改成 2gi", map[string]any{"memory_limit": "2Gi"}},
		{"give web-api cpu requests of 500m", map[string]any{"cpu_request": "500m"}},
		{"raise the memory of cart to 512mi", map[string]any{"memory_request": "512Mi", "memory_limit": "512Mi"}},
		{"nginx 资源给到 0.5c1g", map[string]any{"cpu_request": "0.5", "cpu_limit": "0.5", "memory_request": "1Gi", "memory_limit": "1Gi"}},
		{"scale nginx to 3", nil},
		{"what cpu does payment use", nil},
	} {
		if got := resourcesIn(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
		}
	}
}

// A resources change reads the app's configuration, then proposes update_app with that
// configuration (its env vars, probes and version kept) and the new resources merged in.
func TestResourcesChangeReadsTheConfigFirst(t *testing.T) {
	bound, _ := New().WithTools(toolInfos(allTools...))
	msgs := []*schema.Message{schema.UserMessage("cart 内存 limit 调到 1gi")}
	msg, err := bound.Generate(context.Background(), msgs, shop)
	if err != nil || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != toolname.GetAppConfig {
		t.Fatalf("first step: %+v %v", msg, err)
	}
	cfg := `{"name":"cart","image":"registry.example.com/shop/cart:1.2.0","replicas":2,"env":{"MODE":"fast"},
		"resources":{"cpu_request":"100m","memory_request":"128Mi","memory_limit":"256Mi"},"readiness":{"path":"/healthz","port":8080},"version":"42"}`
	msgs = append(msgs, msg, schema.ToolMessage(cfg, msg.ToolCalls[0].ID, schema.WithToolName(toolname.GetAppConfig)))
	if msg, err = bound.Generate(context.Background(), msgs, shop); err != nil || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != toolname.UpdateApp {
		t.Fatalf("second step: %+v %v", msg, err)
	}
	var args map[string]any
	json.Unmarshal([]byte(msg.ToolCalls[0].Function.Arguments), &args)
	res, _ := args["resources"].(map[string]any)
	if args["app"] != "cart" || args["version"] != "42" || args["image"] != "registry.example.com/shop/cart:1.2.0" || args["env_vars"] == nil ||
		args["readiness"] == nil || res["memory_limit"] != "1Gi" || res["cpu_request"] != "100m" || res["memory_request"] != "128Mi" {
		t.Fatalf("update_app args: %v", args)
	}
	// The proposal is made once: a rejected change's result does not start it again.
	msgs = append(msgs, msg, schema.ToolMessage(`{"status":"rejected"}`, msg.ToolCalls[0].ID, schema.WithToolName(toolname.UpdateApp)))
	if msg, _ = bound.Generate(context.Background(), msgs, shop); len(msg.ToolCalls) != 0 {
		t.Fatalf("after the decision: %+v", msg)
	}
}

func TestEnvsInContext(t *testing.T) {
	for in, want := range map[string][]string{
		"status of         in test":   {"test"},
		"clone dev to staging":        {"dev", "staging"},
		"test 环境的 nginx":              {"test"},
		"prod is down":                {"prod"},
		"run the test-runner in prod": {"prod"},
		"restart the test pod":        nil,
	} {
		var got []string // the words in an env context that name an environment
		for _, w := range envsInContext(in) {
			if slices.Contains([]string{"dev", "test", "staging", "prod"}, w) {
				got = append(got, w)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
