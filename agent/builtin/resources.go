package builtin

import (
	"encoding/json"
	"regexp"

	"github.com/cloudwego/eino/schema"

	"k8s-manage/internal/toolname"
)

// An app's resources as people state them: the "2c4g" shorthand of Chinese cloud plans (2 cores,
// 4 GiB), or a resource word with an amount ("memory limit 2Gi", "cpu 到 500m", "内存 1g"). Which
// side changes follows the words: limit(s)/上限, request(s)/请求; neither means both.
var (
	planRe    = regexp.MustCompile(`(?:^|[^a-z0-9.])(\d+(?:\.\d+)?)\s*c(?:ores?|pu)?\s*(\d+(?:\.\d+)?)\s*(?:g|gi|gb)\b`)
	cpuRe     = regexp.MustCompile(`(?:cpu|核)\D{0,16}?(\d+(?:\.\d+)?)\s*(m|核|cores?|c)?(?:\b|$|[^a-z0-9])`)
	memRe     = regexp.MustCompile(`(?:memory|mem|内存)\D{0,16}?(\d+(?:\.\d+)?)\s*(gi|mi|g|m|gb|mb)\b`)
	limitRe   = regexp.MustCompile(`\blimits?\b|上限|限制`)
	requestRe = regexp.MustCompile(`\brequests?\b|请求|预留`)
)

// resourcesIn reads the resources s states (nil: none).
func resourcesIn(s string) map[string]any {
	cpu, mem := "", ""
	if m := planRe.FindStringSubmatch(s); m != nil {
		cpu, mem = m[1], m[2]+"Gi"
	}
	if m := cpuRe.FindStringSubmatch(s); m != nil && cpu == "" {
		cpu = m[1]
		if m[2] == "m" {
			cpu += "m"
		}
	}
	if m := memRe.FindStringSubmatch(s); m != nil && mem == "" {
		switch m[2] {
		case "gi", "g", "gb":
			mem = m[1] + "Gi"
		default:
			mem = m[1] + "Mi"
		}
	}
	if cpu == "" && mem == "" {
		return nil
	}
	limit, request := limitRe.MatchString(s), requestRe.MatchString(s)
	if !limit && !request {
		limit, request = true, true
	}
	out := map[string]any{}
	for _, side := range []struct {
		on       bool
		cpu, mem string
	}{{request, "cpu_request", "memory_request"}, {limit, "cpu_limit", "memory_limit"}} {
		if side.on && cpu != "" {
			out[side.cpu] = cpu
		}
		if side.on && mem != "" {
			out[side.mem] = mem
		}
	}
	return out
}

// change continues a change that needs the app's whole configuration: after get_app_config
// answered, the person's request (an update_app intent, e.g. new resources) becomes update_app with
// that configuration, changed as asked, against its version. ok is false when the last step was
// anything else, or the change was already proposed.
func (m *Model) change(msgs []*schema.Message, v view) (*schema.Message, bool) {
	last := msgs[len(msgs)-1]
	if last.ToolName != toolname.GetAppConfig {
		return nil, false
	}
	user := -1
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == schema.User {
			user = i
			break
		}
	}
	if user < 0 {
		return nil, false
	}
	for _, msg := range msgs[user:] {
		for _, c := range msg.ToolCalls {
			if c.Function.Name == toolname.UpdateApp {
				return nil, false
			}
		}
	}
	text, none := unnegated(clean(msgs[user].Content, v), v)
	if none {
		return nil, false
	}
	r, ok := parse(text, v)
	res, _ := r.args["resources"].(map[string]any)
	if !ok || r.tool != toolname.UpdateApp || res == nil {
		return nil, false
	}
	var cfg map[string]any
	if json.Unmarshal([]byte(last.Content), &cfg) != nil || cfg["error"] != nil || cfg["image"] == nil {
		return nil, false
	}
	args := map[string]any{"app": cfg["name"]}
	for _, k := range []string{"image", "replicas", "command", "args", "ports", "readiness", "liveness", "version"} {
		if val, ok := cfg[k]; ok && val != nil {
			args[k] = val
		}
	}
	if env, ok := cfg["env"]; ok && env != nil {
		args["env_vars"] = env
	}
	merged := map[string]any{}
	if cur, ok := cfg["resources"].(map[string]any); ok {
		for k, val := range cur {
			merged[k] = val
		}
	}
	for k, val := range res {
		merged[k] = val
	}
	args["resources"] = merged
	for _, k := range []string{"env", "tenant"} {
		if val, ok := r.args[k]; ok {
			args[k] = val
		}
	}
	return m.call(len(msgs), toolname.UpdateApp, args), true
}
