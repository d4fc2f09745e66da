// Package builtin is the deterministic offline model, used when no model provider is
// configured and in tests. It is a real eino ToolCallingChatModel: it understands the common
// operations in Chinese and English by emitting the same tool calls a hosted model would, turns
// tool results (diagnoses, statuses, changes) into readable answers, answers how-to questions
// from the knowledge chunks placed in its context, and says plainly when it does not understand.
package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudwego/eino/components/model"
	"github.com/cloudwego/eino/schema"
)

// Model is the builtin model; WithTools returns a copy bound to a tool list.
type Model struct {
	tools []string
}

var _ model.ToolCallingChatModel = (*Model)(nil)

// New returns the model with no tools bound.
func New() *Model { return &Model{} }

// WithTools binds the tools the turn may use.
func (m *Model) WithTools(tools []*schema.ToolInfo) (model.ToolCallingChatModel, error) {
	names := make([]string, len(tools))
	for i, t := range tools {
		names[i] = t.Name
	}
	return &Model{tools: names}, nil
}

// KnowledgeMarker starts the system message that carries retrieved chunks.
const KnowledgeMarker = "Knowledge chunks"

// NeedsAllTools says the model must be bound to every tool the caller may use: it reads no
// schemas, and refuses requests for tools it was not given.
func (m *Model) NeedsAllTools() bool { return true }

// Generate answers one step of the conversation.
func (m *Model) Generate(ctx context.Context, msgs []*schema.Message, opts ...model.Option) (*schema.Message, error) {
	if len(msgs) == 0 {
		return nil, fmt.Errorf("builtin model: no messages")
	}
	last := msgs[len(msgs)-1]
	if last.Role == schema.Tool {
		return m.afterTool(msgs), nil
	}
	user := ""
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == schema.User {
			user = msgs[i].Content
			break
		}
	}
	v := viewOf(opts)
	text, none := unnegated(clean(user, v), v)
	if none { // "don't restart checkout": nothing to run
		return schema.AssistantMessage(pick(hasHan(user), "好的，这次不执行任何操作。需要的时候直接告诉我。",
			"OK, I won't do that. Tell me when you want it done."), nil), nil
	}
	r, understood := m.read(text, v)
	if s := normalise(text); whatIfRe.MatchString(s) || aboutChangeRe.MatchString(s) && !question.MatchString(s) {
		answer := aboutChange(r, hasHan(user))
		if k, ok := answerFromKnowledge(msgs); ok && relevant(text, msgs) {
			answer = k + "\n\n" + answer
		}
		return schema.AssistantMessage(answer, nil), nil
	}
	r, understood = m.followUp(text, v, priorCalls(msgs), r, understood)
	switch {
	case understood && r.question != "":
		return schema.AssistantMessage(r.question, nil), nil
	case understood && r.tool != "" && !r.howTo:
		return m.call(len(msgs), r.tool, r.args), nil
	}
	if answer, ok := answerFromKnowledge(msgs); ok && (r.howTo || relevant(text, msgs)) {
		return schema.AssistantMessage(answer, nil), nil
	}
	return schema.AssistantMessage(m.help(user), nil), nil
}

// read understands one message on its own: the intent table, then the older phrase rules for
// what the table does not cover.
func (m *Model) read(text string, v view) (result, bool) {
	phraseRules := func() (result, bool) { // an app they name must exist when the apps are known
		c, ok := m.understand(text)
		if app, _ := c.args["app"].(string); ok && (app == "" || len(v.apps) == 0 || slices.Contains(v.apps, app)) {
			return result{tool: c.name, args: c.args}, true
		}
		return result{}, false
	}
	if len(v.apps) == 0 { // nothing to resolve names against: the phrase rules first
		if r, ok := phraseRules(); ok {
			return r, true
		}
	}
	r, understood := parse(text, v)
	switch {
	case understood && r.question != "":
		return r, true
	case understood && !r.howTo && !r.bare:
		return r, true
	case !understood || r.bare:
		if len(v.apps) > 0 {
			if pr, ok := phraseRules(); ok {
				return pr, true
			}
		}
	}
	return r, understood
}

// Stream streams Generate's answer in small pieces.
func (m *Model) Stream(ctx context.Context, msgs []*schema.Message, opts ...model.Option) (*schema.StreamReader[*schema.Message], error) {
	msg, err := m.Generate(ctx, msgs, opts...)
	if err != nil {
		return nil, err
	}
	if len(msg.ToolCalls) > 0 || msg.Content == "" {
		return schema.StreamReaderFromArray([]*schema.Message{msg}), nil
	}
	var parts []*schema.Message
	runes := []rune(msg.Content)
	for i := 0; i < len(runes); i += 8 {
		parts = append(parts, schema.AssistantMessage(string(runes[i:min(i+8, len(runes))]), nil))
	}
	return schema.StreamReaderFromArray(parts), nil
}

type call struct {
	name string
	args map[string]any
}

var (
	appName = `([a-z][a-z0-9-]*[a-z0-9])`
	image   = `([a-z0-9][a-z0-9./_:@-]*[a-z0-9])`
	num     = `(\d+)`
	key     = `([a-z_][a-z0-9_.-]*)`
	email   = `([a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,})`

	rules = []struct {
		re   *regexp.Regexp
		make func(m []string) call
	}{
		{rx(`(?:扩容|缩容|扩缩容|调整|把|将)\s*` + appName + `\s*(?:扩容|缩容|扩缩容|调整)?\s*(?:的副本数?)?\s*(?:到|至|为|成)\s*` + num + `\s*(?:个)?(?:副本|实例|replicas?)?`), func(m []string) call {
			return call{"scale_app", map[string]any{"app": m[1], "replicas": atoi(m[2])}}
		}},
		{rx(`scale\s+(?:up\s+|down\s+)?` + appName + `\s+(?:to\s+)?` + num), func(m []string) call {
			return call{"scale_app", map[string]any{"app": m[1], "replicas": atoi(m[2])}}
		}},
		{rx(`(?:给|为)?\s*` + appName + `\s*(?:开启|开|配置|设置)\s*(?:自动扩缩容|自动伸缩|hpa)\D*?` + num + `\s*(?:到|-|~|至)\s*` + num + `(?:\D*?cpu\s*` + num + `)?`), func(m []string) call {
			a := map[string]any{"app": m[1], "min_replicas": atoi(m[2]), "max_replicas": atoi(m[3]), "cpu_target_percent": 70}
			if m[4] != "" {
				a["cpu_target_percent"] = atoi(m[4])
			}
			return call{"set_hpa", a}
		}},
		{rx(`autoscale\s+` + appName + `\D*?` + num + `\s*(?:to|and|-)\s*` + num + `(?:\D*?` + num + `\s*%)?`), func(m []string) call {
			a := map[string]any{"app": m[1], "min_replicas": atoi(m[2]), "max_replicas": atoi(m[3]), "cpu_target_percent": 70}
			if m[4] != "" {
				a["cpu_target_percent"] = atoi(m[4])
			}
			return call{"set_hpa", a}
		}},
		{rx(`(?:关闭|删除|取消)\s*` + appName + `\s*的?\s*(?:自动扩缩容|自动伸缩|hpa)`), func(m []string) call { return call{"delete_hpa", map[string]any{"app": m[1]}} }},
		{rx(appName + `\s*的?\s*(?:hpa|自动扩缩容)`), func(m []string) call { return call{"get_hpa", map[string]any{"app": m[1]}} }},
		{rx(`(?:hpa|autoscaler)\s+(?:of|for)\s+` + appName), func(m []string) call { return call{"get_hpa", map[string]any{"app": m[1]}} }},
		{rx(`(?:给|为)?\s*` + appName + `\s*(?:开始|启动|做)\s*(?:金丝雀|灰度)(?:发布)?\D*?(?:镜像\s*)?` + image + `\D*?` + num + `\s*%`), func(m []string) call {
			return call{"start_canary", map[string]any{"app": m[1], "image": m[2], "weight_percent": atoi(m[3])}}
		}},
		{rx(`(?:start\s+(?:a\s+)?canary\s+(?:of|for)\s+)` + appName + `\s+(?:with\s+)?` + image + `\s+(?:at\s+)?` + num + `\s*%`), func(m []string) call {
			return call{"start_canary", map[string]any{"app": m[1], "image": m[2], "weight_percent": atoi(m[3])}}
		}},
		{rx(`(?:全量|推全|promote)\s*(?:the\s+)?(?:canary\s+(?:of|for)\s+)?` + appName), func(m []string) call { return call{"promote_canary", map[string]any{"app": m[1]}} }},
		{rx(`(?:中止|终止|停止|abort)\s*(?:the\s+)?(?:canary\s+(?:of|for)\s+)?` + appName), func(m []string) call { return call{"abort_canary", map[string]any{"app": m[1]}} }},
		{rx(`(?:把|将)\s*` + appName + `\s*(?:的)?\s*(?:镜像|image)\s*(?:换成|改成|更新为|升级到|设为|设置为)\s*` + image), func(m []string) call {
			return call{"set_image", map[string]any{"app": m[1], "image": m[2]}}
		}},
		{rx(`(?:set|change|update)\s+(?:the\s+)?image\s+of\s+` + appName + `\s+to\s+` + image), func(m []string) call {
			return call{"set_image", map[string]any{"app": m[1], "image": m[2]}}
		}},
		{rx(`(?:deploy|update|upgrade)\s+` + appName + `\s+to\s+` + image), func(m []string) call {
			return call{"set_image", map[string]any{"app": m[1], "image": m[2]}}
		}},
		{rx(`(?:回滚|回退)\s*` + appName + `(?:\D*?(?:版本|revision)\s*` + num + `)?`), func(m []string) call {
			a := map[string]any{"app": m[1]}
			if m[2] != "" {
				a["revision"] = atoi(m[2])
			}
			return call{"rollback_app", a}
		}},
		{rx(`(?:把|将)\s*` + appName + `\s*(?:回滚|回退)(?:\D*?(?:版本|revision)\s*` + num + `)?`), func(m []string) call {
			a := map[string]any{"app": m[1]}
			if m[2] != "" {
				a["revision"] = atoi(m[2])
			}
			return call{"rollback_app", a}
		}},
		{rx(`roll\s*back\s+` + appName + `(?:\D*?(?:revision|version)\s*` + num + `)?`), func(m []string) call {
			a := map[string]any{"app": m[1]}
			if m[2] != "" {
				a["revision"] = atoi(m[2])
			}
			return call{"rollback_app", a}
		}},
		{rx(`(?:重启|restart)\s*` + appName), func(m []string) call { return call{"restart_app", map[string]any{"app": m[1]}} }},
		{rx(`(?:切换|切流|switch)\s*` + appName), func(m []string) call { return call{"switch_blue_green", map[string]any{"app": m[1]}} }},
		{rx(`(?:删除应用|delete\s+(?:the\s+)?app(?:lication)?)\s*` + appName), func(m []string) call { return call{"delete_app", map[string]any{"app": m[1]}} }},
		{rx(`(?:为什么|为啥|诊断|排查|why\s+(?:is|does|do)|diagnose|what'?s\s+wrong\s+with)\s*` + appName), func(m []string) call {
			return call{"diagnose", map[string]any{"app": m[1]}}
		}},
		{rx(appName + `\s*(?:一直|总是|老是|不停)?\s*(?:重启|崩溃|挂了|起不来|crash)`), func(m []string) call {
			return call{"diagnose", map[string]any{"app": m[1]}}
		}},
		// Configuration, quota, members, knowledge search, builds, events, pods and revisions.
		{rx(`(?:把|将)\s*` + appName + `\s*的\s*` + key + `\s*(?:改成|改为|设置为|设为|设置成)\s*(\S+?)(?:\s*[(（]?\s*(?:作为|为|当作)?\s*(secret|密钥)\s*[)）]?)?$`), func(m []string) call {
			return setConfig(m[1], m[2], m[3], m[4] != "")
		}},
		{rx(`set\s+(?:the\s+)?(secret\s+)?` + key + `\s+(?:of|for|in)\s+` + appName + `\s+to\s+(\S+?)(\s+as\s+(?:a\s+)?secret)?$`), func(m []string) call {
			return setConfig(m[3], m[2], m[4], m[1] != "" || m[5] != "")
		}},
		{rx(appName + `\s*的\s*配置\s*(?:最近|过去)\s*` + num + `\s*(小时|分钟|天)\s*(?:内)?\s*(?:改了什么|有什么变化|的变更|变了什么)`), func(m []string) call {
			return call{"config_diff", map[string]any{"app": m[1], "since": since(m[2], m[3])}}
		}},
		{rx(`what\s+changed\s+in\s+(?:the\s+)?config(?:uration)?\s+of\s+` + appName + `\s+(?:in|over|during)\s+the\s+(?:last|past)\s+` + num + `\s*(hours?|minutes?|days?|h|m|d)\b`), func(m []string) call {
			return call{"config_diff", map[string]any{"app": m[1], "since": since(m[2], m[3])}}
		}},
		{rx(`(?:查看|看下|看一下|显示)?\s*` + appName + `\s*的\s*配置$|(?:show|get)\s+(?:the\s+)?config(?:uration)?\s+(?:of|for)\s+` + appName), func(m []string) call {
			return call{"get_config", map[string]any{"app": first(m[1], m[2])}}
		}},
		{rx(`(?:把|将)\s*(?:[a-z0-9-]+\s*)?(?:(dev|test|prod)\s*)?(?:环境\s*)?的?\s*(cpu|内存|memory|pods?|pod\s*数)\s*配额\s*(?:调到|改成|改为|设为|调整为|提高到|调整到|设置为)\s*(\S+)`), func(m []string) call {
			return quota(m[2], m[3])
		}},
		{rx(`set\s+(?:the\s+)?(cpu|memory|pods?)\s+quota\s+(?:of\s+[a-z0-9-]+\s+)?to\s+(\S+)`), func(m []string) call { return quota(m[1], m[2]) }},
		{rx(`(?:把|将)\s*` + email + `\s*(?:加入|添加到|加到)\s*(?:[a-z0-9-]+)?\s*[,，]?\s*(?:角色|role)\s*(?:为|是)?\s*(viewer|developer|operator|admin)`), func(m []string) call {
			return call{"add_member", map[string]any{"email": strings.ToLower(m[1]), "role": strings.ToLower(m[2])}}
		}},
		{rx(`add\s+` + email + `\s+(?:to\s+[a-z0-9-]+\s+)?as\s+(?:an?\s+)?(viewer|developer|operator|admin)`), func(m []string) call {
			return call{"add_member", map[string]any{"email": strings.ToLower(m[1]), "role": strings.ToLower(m[2])}}
		}},
		{rx(`(?:搜索|查找|查一下|检索)\s*(?:帮助)?(?:文档|知识库|手册|runbook)\s*[:：]?\s*(.+)$|search\s+(?:the\s+)?(?:docs|documentation|knowledge(?:\s+base)?|manual|runbooks?)\s+for\s+(.+)$`), func(m []string) call {
			return call{"search_knowledge", map[string]any{"query": strings.TrimSpace(first(m[1], m[2]))}}
		}},
		{rx(`构建\s*#?([a-z0-9][a-z0-9-]*)\s*的?\s*(?:日志|详情|状态)|(?:show|get)\s+(?:the\s+)?(?:logs?\s+of\s+)?build\s+#?([a-z0-9][a-z0-9-]*)`), func(m []string) call {
			return call{"get_build", map[string]any{"build": first(m[1], m[2])}}
		}},
		{rx(appName + `\s*(?:最近)?\s*的?\s*事件|(?:show|get|list)\s+(?:the\s+)?(?:recent\s+)?events\s+(?:of|for)\s+` + appName), func(m []string) call {
			return call{"get_events", map[string]any{"object": first(m[1], m[2])}}
		}},
		{rx(appName + `\s*的?\s*(?:历史版本|版本历史|发布历史|版本列表)|(?:list\s+)?(?:the\s+)?(?:revisions|rollout\s+history|release\s+history)\s+(?:of|for)\s+` + appName), func(m []string) call {
			return call{"list_revisions", map[string]any{"app": first(m[1], m[2])}}
		}},
		{rx(`(?:列出|查看|看下)?\s*` + appName + `\s*的\s*(?:pods?|容器组)|(?:list|show)\s+(?:the\s+)?pods\s+(?:of|for)\s+` + appName), func(m []string) call {
			return call{"list_pods", map[string]any{"app": first(m[1], m[2])}}
		}},
		{rx(`(?:上一个容器|崩溃前|previous)\D*?(?:of\s+)?` + appName + `|` + appName + `\s*(?:的)?\s*(?:上一个容器|崩溃前)`), func(m []string) call {
			return call{"get_pod_logs", map[string]any{"app": first(m[1], m[2]), "previous": true, "tail_lines": 100}}
		}},
		{rx(`(?:看|查看|看下|看一下|show|get)?\s*` + appName + `\s*(?:最近)?\s*(?:` + num + `\s*行)?\s*(?:的)?\s*日志`), func(m []string) call {
			a := map[string]any{"app": m[1], "tail_lines": 100}
			if m[2] != "" {
				a["tail_lines"] = atoi(m[2])
			}
			return call{"get_pod_logs", a}
		}},
		{rx(`(?:show|get|tail)\s+(?:the\s+)?logs?\s+(?:of|for)\s+` + appName), func(m []string) call {
			return call{"get_pod_logs", map[string]any{"app": m[1], "tail_lines": 100}}
		}},
		{rx(appName + `\s*(?:有哪些|的)\s*(?:版本|历史)|(?:revisions|history)\s+of\s+` + appName), func(m []string) call {
			return call{"list_revisions", map[string]any{"app": first(m[1], m[2])}}
		}},
		{rx(appName + `\s*(?:的)?\s*(?:pod|pods)|pods\s+of\s+` + appName), func(m []string) call {
			return call{"list_pods", map[string]any{"app": first(m[1], m[2])}}
		}},
		{rx(appName + `\s*(?:的)?\s*(?:事件)|events\s+(?:of|for)\s+` + appName), func(m []string) call {
			return call{"get_events", map[string]any{"object": first(m[1], m[2])}}
		}},
		{rx(appName + `\s*(?:的)?\s*(?:状态|怎么样|情况)|status\s+of\s+` + appName + `|how\s+is\s+` + appName), func(m []string) call {
			return call{"get_app_status", map[string]any{"app": first(m[1], m[2], m[3])}}
		}},
		{rx(`(?:开|开通|创建|申请|provision|create)\s*(?:a\s+|an\s+|一个\s*)?(?:(small|medium|large)\s*(?:规格的?|plan\s+)?)?\s*(redis|mysql|postgresql|postgres|kafka)\D*?(?:名字叫|叫|名为|named?|called)\s*` + appName), func(m []string) call {
			typ := strings.ToLower(m[2])
			if typ == "postgres" {
				typ = "postgresql"
			}
			return call{"provision_service", map[string]any{"type": typ, "name": m[3], "plan": first(strings.ToLower(m[1]), "small")}}
		}},
		{rx(`(?:删除|delete)\s*(?:服务实例|service\s+instance)\s*` + appName), func(m []string) call {
			return call{"delete_service_instance", map[string]any{"name": m[1]}}
		}},
		{rx(`服务实例|中间件实例|service\s+instances`), func([]string) call { return call{"list_service_instances", map[string]any{}} }},
		{rx(`(?:列出|有哪些|查看)\s*(?:所有)?\s*(?:应用|服务)|list\s+(?:the\s+|all\s+)?apps`), func([]string) call { return call{"list_apps", map[string]any{}} }},
		{rx(`(?:把|将)?\s*(?:[a-z0-9-]+\s*的\s*)?([a-z]+)\s*环境\s*(?:克隆|复制|同步)\s*(?:到|成|为)\s*([a-z]+)`), func(m []string) call {
			return call{"clone_environment", map[string]any{"from_env": m[1], "to_env": m[2]}}
		}},
		{rx(`(?:clone|copy)\s+(?:the\s+)?([a-z]+)\s+(?:environment\s+|env\s+)?(?:to|into)\s+([a-z]+)`), func(m []string) call {
			return call{"clone_environment", map[string]any{"from_env": m[1], "to_env": m[2]}}
		}},
		{rx(`配额|quota`), func([]string) call { return call{"get_quota", map[string]any{}} }},
		{rx(`账单|花了多少钱|费用|spend|bill|cost`), func([]string) call { return call{"get_bill", map[string]any{}} }},
		{rx(`(?:构建|打包|编译)\s*` + appName + `\s*的?\s*` + `([a-z0-9][a-z0-9._/-]*)\s*分支`), func(m []string) call {
			return call{"trigger_build", map[string]any{"app": m[1], "ref": m[2]}}
		}},
		{rx(`(?:build|rebuild)\s+` + appName + `(?:\s+(?:from|on)\s+(?:branch\s+)?([a-z0-9][a-z0-9._/-]*))?$`), func(m []string) call {
			a := map[string]any{"app": m[1]}
			if m[2] != "" {
				a["ref"] = m[2]
			}
			return call{"trigger_build", a}
		}},
		{rx(`构建|builds?\b`), func([]string) call { return call{"list_builds", map[string]any{}} }},
		{rx(`(?:我|我的)\s*(?:在)?\s*(?:哪些)?\s*租户|my\s+tenants|which\s+tenants`), func([]string) call { return call{"list_tenants", map[string]any{}} }},
	}
)

// howTo marks knowledge questions, which are answered from retrieved chunks instead of a tool.
var howTo = rx(`怎么|如何|怎样|是什么|什么是|区别|能不能|可以.*吗|how\s+(?:do|to|can|should)|what\s+(?:is|does|are)|can\s+i\b|explain`)

func rx(s string) *regexp.Regexp { return regexp.MustCompile(`(?i)` + s) }

// setConfig keeps the key's case (LOG_LEVEL) as written.
func setConfig(app, key, value string, secret bool) call {
	a := map[string]any{"app": app, "key": key, "value": strings.Trim(value, "\"'`"), "secret": secret}
	return call{"set_config", a}
}

// since turns "24 小时" or "2 days" into a duration string.
func since(n, unit string) string {
	u := strings.ToLower(unit)
	switch {
	case strings.HasPrefix(u, "m") || u == "分钟":
		return n + "m"
	case strings.HasPrefix(u, "d") || u == "天":
		return strconv.Itoa(atoi(n)*24) + "h"
	}
	return n + "h"
}

// quota maps "cpu 8" / "内存 16Gi" / "pods 40" to the ResourceQuota hard limit.
func quota(what, value string) call {
	res := map[string]string{"cpu": "requests.cpu", "内存": "requests.memory", "memory": "requests.memory"}[strings.ToLower(what)]
	if res == "" {
		res = "pods"
	}
	return call{"set_quota", map[string]any{"hard": map[string]any{res: strings.TrimRight(value, "。.个")}}}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func first(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// call emits a tool call, or says the tool is not offered to the person.
// n (the step's message count) makes the call's id unique in its conversation.
func (m *Model) call(n int, name string, args map[string]any) *schema.Message {
	if !slices.Contains(m.tools, name) {
		return schema.AssistantMessage(m.notOffered(name), nil)
	}
	b, _ := json.Marshal(args)
	return schema.AssistantMessage("", []schema.ToolCall{{ID: fmt.Sprintf("call_%s_%d", name, n), Type: "function",
		Function: schema.FunctionCall{Name: name, Arguments: string(b)}}})
}

// negation is a "don't" that opens a clause (or follows its subject): "don't restart checkout",
// "please never delete x", "先别扩容", "我不想重启". A "don't" inside a question ("why don't my pods
// start?") or a word ("区别", "不够") is not one.
var negation = rx(`(?:^|[,.;!?，。；！？、]\s*|\bplease\s+|\bjust\s+)(?:don'?t|do\s+not|never|no\s+need\s+to)\b|` +
	`(?:^|[,.;!?，。；！？、\s]|我|你|请|先|暂时|千万|也)(?:不要|别|不用|不需要|不想|不必)[^了，。,.!?！？\s]`)

func negated(text string) bool { return negation.MatchString(strings.TrimSpace(text)) }

// understand maps a request to a tool call. How-to questions are left to the knowledge answer.
func (m *Model) understand(text string) (call, bool) {
	t := strings.TrimSpace(text)
	if t == "" || (howTo.MatchString(strings.ReplaceAll(t, "怎么样", "")) && !strings.ContainsAny(t, "0123456789") && !regexp.MustCompile(`(?i)why\s+is|为什么`).MatchString(t)) {
		return call{}, false
	}
	for _, r := range rules {
		if mm := r.re.FindStringSubmatch(t); mm != nil {
			return r.make(mm), true
		}
	}
	return call{}, false
}

func (m *Model) notOffered(name string) string {
	return fmt.Sprintf("我理解你想用 %s，但这个操作现在对你不可用 (没有权限，或该功能尚未开放)。I understood the request (%s), but that tool is not available to you here: "+
		"either your role does not allow it or the feature is not available yet.", name, name)
}

// help is the answer when the request was not understood.
func (m *Model) help(text string) string {
	var can []string
	for _, t := range m.tools {
		can = append(can, t)
	}
	return "抱歉，我没有理解你的请求。Sorry, I did not understand that.\n" +
		"你可以这样说 (examples): 「扩容 nginx 到 5 个副本」「scale web-api to 2」「回滚 payment」「重启 checkout」「why is order-service crashing」" +
		"「show logs of web-api」「web-api 状态怎么样」「列出应用」「team-a 的配额」「怎么配置金丝雀发布？」\n" +
		"Tools available to you now: " + strings.Join(can, ", ")
}
