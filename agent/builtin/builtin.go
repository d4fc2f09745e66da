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
	"strings"

	"github.com/cloudwego/eino/components/model"
	"github.com/cloudwego/eino/schema"

	"k8s-manage/internal/toolname"
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
	v := viewOf(opts)
	last := msgs[len(msgs)-1]
	if last.Role == schema.Tool {
		if msg, ok := m.change(msgs, v); ok {
			return msg, nil
		}
		return m.afterTool(msgs), nil
	}
	user := ""
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == schema.User {
			user = msgs[i].Content
			break
		}
	}
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
	case understood && r.tool == toolname.UpdateApp && !r.exact && !r.howTo && slices.Contains(m.tools, r.tool):
		// The whole configuration goes in one update: read it first (change continues).
		return m.call(len(msgs), toolname.GetAppConfig, target(r.args)), nil
	case understood && r.tool != "" && !r.howTo:
		return m.call(len(msgs), r.tool, r.args), nil
	}
	if answer, ok := answerFromKnowledge(msgs); ok && (r.howTo || relevant(text, msgs)) {
		return schema.AssistantMessage(answer, nil), nil
	}
	return schema.AssistantMessage(m.help(user), nil), nil
}

// read understands one message on its own, by the intent table.
func (m *Model) read(text string, v view) (result, bool) { return parse(text, v) }

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

// target is the app and where it lives, of a call's arguments.
func target(args map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"app", "env", "tenant"} {
		if v, ok := args[k]; ok {
			out[k] = v
		}
	}
	return out
}

func rx(s string) *regexp.Regexp { return regexp.MustCompile(`(?i)` + s) }

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
