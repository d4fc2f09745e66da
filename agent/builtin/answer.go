package builtin

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/cloudwego/eino/schema"

	"k8s-manage/internal/textutil"
	"k8s-manage/internal/toolname"
	"k8s-manage/tools"
)

// zh says whether the conversation's last user message is Chinese.
func zh(msgs []*schema.Message) bool {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == schema.User {
			return hasHan(msgs[i].Content)
		}
	}
	return false
}

// hasHan says whether s holds a Chinese character.
func hasHan(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
}

func pick(cn bool, zhText, enText string) string {
	if cn {
		return zhText
	}
	return enText
}

// afterTool turns the last tool result into the answer.
func (m *Model) afterTool(msgs []*schema.Message) *schema.Message {
	res := msgs[len(msgs)-1]
	name := res.ToolName
	if name == "" {
		for i := len(msgs) - 1; i >= 0; i-- {
			if msgs[i].Role == schema.Assistant && len(msgs[i].ToolCalls) > 0 {
				name = msgs[i].ToolCalls[0].Function.Name
				break
			}
		}
	}
	cn := zh(msgs)
	var v any
	_ = json.Unmarshal([]byte(res.Content), &v)
	obj, _ := v.(map[string]any)
	if e, ok := obj["error"].(string); ok {
		return schema.AssistantMessage(pick(cn, "操作没有完成：", "That did not work: ")+e, nil)
	}
	if st, _ := obj["status"].(string); st == "rejected" || st == "expired" {
		reason, _ := obj["reason"].(string)
		by, _ := obj["decided_by"].(string)
		text := pick(cn, fmt.Sprintf("审批未通过 (%s)，%s 没有执行。", st, name), fmt.Sprintf("The approval was %s, so %s was not run.", st, name))
		if by != "" {
			text += pick(cn, " 决定人："+by+"。", " Decided by "+by+".")
		}
		if reason != "" {
			text += pick(cn, " 原因："+reason, " Reason: "+reason)
		}
		return schema.AssistantMessage(text, nil)
	}
	if items, ok := obj["items"].([]any); ok && obj["truncated"] != nil { // a list cut to the result cap
		v, obj = items, nil
	}
	return schema.AssistantMessage(describe(name, v, obj, cn), nil)
}

func toInt(v any) int {
	f, _ := v.(float64)
	return int(f)
}

func str(v any) string { s, _ := v.(string); return s }

// renderer is the readable answer of a read-only tool's result (nil: none; a change is answered
// by its summary).
func renderer(name string) func(v any, obj map[string]any, cn bool) string {
	switch name {
	case toolname.GetAppStatus:
		return func(v any, obj map[string]any, cn bool) string {
			return statusLine(obj, cn)
		}
	case toolname.Diagnose:
		return func(v any, obj map[string]any, cn bool) string {
			return diagnosis(obj, cn)
		}
	case toolname.ListApps:
		return func(v any, obj map[string]any, cn bool) string {
			list, _ := v.([]any)
			if len(list) == 0 {
				return pick(cn, "这个环境里还没有应用。", "There are no apps in this environment yet.")
			}
			var b strings.Builder
			b.WriteString(pick(cn, "应用列表：\n", "Apps:\n"))
			for _, it := range list {
				a, _ := it.(map[string]any)
				fmt.Fprintf(&b, "- %s: %d/%d ready, %s (%s)\n", str(a["name"]), toInt(a["ready"]), toInt(a["desired"]), str(a["image"]), str(a["strategy"]))
			}
			return b.String()
		}
	case toolname.GetPodLogs:
		return func(v any, obj map[string]any, cn bool) string {
			return pick(cn, fmt.Sprintf("Pod %s 的日志", str(obj["pod"])), fmt.Sprintf("Logs of pod %s", str(obj["pod"]))) +
				map[bool]string{true: pick(cn, " (上一个容器)", " (previous container)")}[obj["previous"] == true] + ":\n" + str(obj["log"])
		}
	case toolname.GetQuota:
		return func(v any, obj map[string]any, cn bool) string {
			var b strings.Builder
			b.WriteString(pick(cn, "配额使用情况 ", "Quota usage of ") + str(obj["namespace"]) + ":\n")
			lines, _ := obj["lines"].([]any)
			for _, it := range lines {
				l, _ := it.(map[string]any)
				fmt.Fprintf(&b, "- %s: %s / %s (%.0f%%)\n", str(l["resource"]), str(l["used"]), str(l["hard"]), l["percent"])
			}
			return b.String()
		}
	case toolname.Top:
		return topAnswer
	case toolname.Rightsize:
		return rightsizeAnswer
	case toolname.QueryMetrics:
		return metricsAnswer
	case toolname.GetVPA:
		return func(v any, obj map[string]any, cn bool) string {
			spec, _ := obj["spec"].(map[string]any)
			var b strings.Builder
			fmt.Fprintf(&b, pick(cn, "VPA %s：模式 %s", "VPA %s: mode %s"), str(obj["app"]), str(spec["update_mode"]))
			recs, _ := obj["recommendations"].([]any)
			for _, it := range recs {
				r, _ := it.(map[string]any)
				tg, _ := r["target"].(map[string]any)
				fmt.Fprintf(&b, pick(cn, "\n- 容器 %s 推荐 CPU %s、内存 %s", "\n- container %s: recommended CPU %s, memory %s"), str(r["container"]), str(tg["cpu"]), str(tg["memory"]))
			}
			if n := str(obj["note"]); n != "" {
				b.WriteString(pick(cn, "\n注意：", "\nNote: ") + n)
			}
			return b.String()
		}
	case toolname.GetHPA:
		return func(v any, obj map[string]any, cn bool) string {
			spec, _ := obj["spec"].(map[string]any)
			text := fmt.Sprintf("HPA %s: %d-%d replicas, CPU target %d%%, current %d, desired %d", str(obj["app"]), toInt(spec["min_replicas"]),
				toInt(spec["max_replicas"]), toInt(spec["cpu_target_percent"]), toInt(obj["current_replicas"]), toInt(obj["desired_replicas"]))
			if obj["missing_metrics"] == true {
				text += pick(cn, "。注意：", ". Note: ") + str(obj["note"])
			}
			return text
		}
	case toolname.ListRevisions:
		return func(v any, obj map[string]any, cn bool) string {
			list, _ := v.([]any)
			var b strings.Builder
			b.WriteString(pick(cn, "版本历史：\n", "Revisions:\n"))
			for _, it := range list {
				r, _ := it.(map[string]any)
				cur := ""
				if r["current"] == true {
					cur = pick(cn, " (当前)", " (current)")
				}
				fmt.Fprintf(&b, "- %d: %s %s%s\n", toInt(r["revision"]), str(r["image"]), str(r["cause"]), cur)
			}
			return b.String()
		}
	case toolname.ListBuilds:
		return func(v any, obj map[string]any, cn bool) string {
			list, _ := v.([]any)
			if len(list) == 0 {
				return pick(cn, "还没有构建记录。", "No builds yet.")
			}
			var b strings.Builder
			b.WriteString(pick(cn, "最近的构建：\n", "Recent builds:\n"))
			for i, it := range list {
				if i == 10 {
					break
				}
				x, _ := it.(map[string]any)
				fmt.Fprintf(&b, "- %s %s %s@%.7s %s (%s)\n", str(x["id"]), str(x["app"]), str(x["ref"]), str(x["commit"]), str(x["status"]), str(x["image"]))
			}
			return b.String()
		}
	case toolname.TriggerBuild:
		return func(v any, obj map[string]any, cn bool) string {
			return fmt.Sprintf(pick(cn, "已开始构建 %s (%s)，镜像 %s，状态 %s。", "Build %s started (%s): image %s, status %s."),
				str(obj["id"]), str(obj["ref"]), str(obj["image"]), str(obj["status"]))
		}
	case toolname.GetBill:
		return func(v any, obj map[string]any, cn bool) string {
			var b strings.Builder
			fmt.Fprintf(&b, pick(cn, "租户 %s 从 %s 到 %s 的账单：合计 %.2f %s", "Bill of %s from %s to %s: total %.2f %s"),
				str(obj["tenant"]), cut(str(obj["from"]), 10), cut(str(obj["to"]), 10), obj["total"], str(obj["currency"]))
			lines, _ := obj["lines"].([]any)
			for i, it := range lines {
				if i == 8 {
					fmt.Fprintf(&b, "\n…")
					break
				}
				l, _ := it.(map[string]any)
				fmt.Fprintf(&b, "\n- %s/%s %s: %.2f %s = %.2f", str(l["env"]), str(l["app"]), str(l["resource"]), l["usage"], str(l["unit"]), l["cost"])
				if used, ok := l["used"].(float64); ok {
					fmt.Fprintf(&b, pick(cn, "（申请 %.2f，实际使用 %.2f）", " (requested %.2f, used %.2f)"), l["requested"], used)
				}
			}
			if basis := str(obj["basis"]); basis != "" && basis != "requests" {
				b.WriteString(pick(cn, "\n计费依据：", "\nCharged on: ") + basis)
			}
			if note := str(obj["note"]); note != "" {
				b.WriteString(pick(cn, "\n注意：", "\nNote: ") + note)
			}
			return b.String()
		}
	case toolname.SearchKnowledge:
		return func(v any, obj map[string]any, cn bool) string {
			list, _ := v.([]any)
			if len(list) == 0 {
				return pick(cn, "文档里没有找到相关内容。", "Nothing relevant in the docs.")
			}
			h, _ := list[0].(map[string]any)
			return knowledgeAnswer(str(h["id"]), str(h["title"]), str(h["content"]), cn)
		}
	case toolname.ListPods:
		return func(v any, _ map[string]any, cn bool) string {
			return lines(v, pick(cn, "没有 pod。", "No pods."), pick(cn, "Pod 列表：", "Pods:"), func(p map[string]any) string {
				ready := pick(cn, "未就绪", "not ready")
				if p["ready"] == true {
					ready = pick(cn, "就绪", "ready")
				}
				s := fmt.Sprintf("%s: %s, %s, %s %d", str(p["name"]), str(p["phase"]), ready, pick(cn, "重启", "restarts"), toInt(p["restarts"]))
				if r := str(p["reason"]); r != "" {
					s += " (" + r + ")"
				}
				return s
			})
		}
	case toolname.GetEvents:
		return func(v any, _ map[string]any, cn bool) string {
			return lines(v, pick(cn, "最近没有事件。", "No recent events."), pick(cn, "最近的事件 (警告在前)：", "Recent events, warnings first:"), func(e map[string]any) string {
				return fmt.Sprintf("%s %s %s ×%d: %s", str(e["type"]), str(e["reason"]), str(e["object"]), toInt(e["count"]), data(str(e["message"])))
			})
		}
	case toolname.GetConfig:
		return func(v any, _ map[string]any, cn bool) string {
			return lines(v, pick(cn, "这个应用还没有配置项。", "The app has no configuration yet."), pick(cn, "配置：", "Configuration:"), func(it map[string]any) string {
				s := str(it["key"]) + " = " + str(it["value"])
				if it["secret"] == true {
					s += pick(cn, " (密钥)", " (secret)")
				}
				return s
			})
		}
	case toolname.ConfigDiff:
		return func(v any, _ map[string]any, cn bool) string {
			return lines(v, pick(cn, "这段时间里配置没有变化。", "Nothing changed in the configuration over that period."), pick(cn, "配置变更：", "Configuration changes:"), func(c map[string]any) string {
				s := fmt.Sprintf("%s %s", str(c["key"]), str(c["change"]))
				switch {
				case str(c["from"]) != "" && str(c["to"]) != "":
					s += ": " + str(c["from"]) + " → " + str(c["to"])
				case str(c["to"]) != "":
					s += ": " + str(c["to"])
				}
				if a := str(c["author"]); a != "" {
					s += pick(cn, "，修改人 ", ", by ") + a
				}
				return s
			})
		}
	case toolname.GetAppConfig:
		return func(_ any, obj map[string]any, cn bool) string {
			res, _ := obj["resources"].(map[string]any)
			s := fmt.Sprintf(pick(cn, "%s：镜像 %s，%d 个副本，策略 %s", "%s: image %s, %d replicas, %s strategy"), str(obj["name"]), str(obj["image"]), toInt(obj["replicas"]), str(obj["strategy"]))
			if len(res) > 0 {
				s += fmt.Sprintf(pick(cn, "；资源 CPU %s/%s，内存 %s/%s (request/limit)", "; resources CPU %s/%s, memory %s/%s (request/limit)"),
					or(str(res["cpu_request"])), or(str(res["cpu_limit"])), or(str(res["memory_request"])), or(str(res["memory_limit"])))
			}
			for _, probe := range []string{"readiness", "liveness"} {
				if p, ok := obj[probe].(map[string]any); ok {
					s += fmt.Sprintf("; %s %s:%d", probe, or(str(p["path"])), toInt(p["port"]))
				}
			}
			if env, ok := obj["env"].(map[string]any); ok && len(env) > 0 {
				s += fmt.Sprintf(pick(cn, "；%d 个环境变量", "; %d env vars"), len(env))
			}
			return s + pick(cn, "。", ".")
		}
	case toolname.GetBuild:
		return func(_ any, obj map[string]any, cn bool) string {
			s := fmt.Sprintf(pick(cn, "构建 %s (%s %s@%.7s)：%s，镜像 %s", "Build %s (%s %s@%.7s): %s, image %s"),
				str(obj["id"]), str(obj["app"]), str(obj["ref"]), str(obj["commit"]), str(obj["status"]), str(obj["image"]))
			if l := data(str(obj["log"])); l != "" {
				s += pick(cn, "\n日志末尾：\n", "\nEnd of the log:\n") + l
			}
			return s
		}
	case toolname.ListServiceInstances:
		return func(v any, _ map[string]any, cn bool) string {
			return lines(v, pick(cn, "这个环境里还没有服务实例。", "No service instances in this environment."), pick(cn, "服务实例：", "Service instances:"), func(in map[string]any) string {
				ready := pick(cn, "未就绪", "not ready")
				if in["ready"] == true {
					ready = pick(cn, "就绪", "ready")
				}
				return fmt.Sprintf("%s: %s %s, %s, %s:%d", str(in["name"]), str(in["type"]), str(in["plan"]), ready, str(in["host"]), toInt(in["port"]))
			})
		}
	case toolname.ListTenants:
		return func(_ any, obj map[string]any, cn bool) string {
			if len(obj) == 0 {
				return pick(cn, "你还不属于任何租户。", "You do not belong to any tenant yet.")
			}
			var b strings.Builder
			b.WriteString(pick(cn, "你所在的租户：\n", "Your tenants:\n"))
			for _, name := range slices.Sorted(maps.Keys(obj)) {
				fmt.Fprintf(&b, "- %s: %s\n", name, str(obj[name]))
			}
			return b.String()
		}
	}
	return nil
}

// lines renders a list of objects one line each, under a title (empty when the list is).
func lines(v any, empty, title string, line func(map[string]any) string) string {
	list, _ := v.([]any)
	if len(list) == 0 {
		return empty
	}
	var b strings.Builder
	b.WriteString(title + "\n")
	for i, it := range list {
		if i == 20 {
			fmt.Fprintf(&b, "… (%d more)\n", len(list)-i)
			break
		}
		m, _ := it.(map[string]any)
		b.WriteString("- " + line(m) + "\n")
	}
	return b.String()
}

// data is the text of a quoted data block (an event's message, a log), as the person reads it.
func data(s string) string {
	t, _ := textutil.UnquoteAny(s)
	return t
}

func or(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Answers says whether the builtin model has a readable answer for the tool's results: its own
// rendering, or (for a change) the change's summary and the app's status after it.
func Answers(sp tools.Spec) bool { return sp.Risk != tools.ReadOnly || renderer(sp.Name) != nil }

func describe(name string, v any, obj map[string]any, cn bool) string {
	if r := renderer(name); r != nil {
		return r(v, obj, cn)
	}
	if sum := str(obj["summary"]); sum != "" { // a change (mutating tools)
		text := pick(cn, "已完成：", "Done: ") + sum + "."
		if st, ok := obj["status"].(map[string]any); ok {
			text += " " + statusLine(st, cn)
		}
		return text
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	out := string(b)
	out = textutil.Truncate(out, 1500)
	return fmt.Sprintf("%s:\n%s", name, out)
}

func statusLine(s map[string]any, cn bool) string {
	text := fmt.Sprintf("%s: %d/%d %s, rollout %s, image %s", str(s["name"]), toInt(s["ready"]), toInt(s["desired"]),
		pick(cn, "个副本就绪", "replicas ready"), str(s["rollout"]), str(s["image"]))
	if ps, _ := s["problems"].([]any); len(ps) > 0 {
		var probs []string
		for _, p := range ps {
			probs = append(probs, str(p))
		}
		text += pick(cn, "。问题：", ". Problems: ") + strings.Join(probs, "; ")
	}
	return text
}

func diagnosis(d map[string]any, cn bool) string {
	var b strings.Builder
	all, _ := d["findings"].([]any)
	var fs []any
	for _, it := range all { // context notes (a shared quota nearly used) are not the answer
		if f, _ := it.(map[string]any); f["context"] != true {
			fs = append(fs, it)
		}
	}
	if u := str(d["unresolved"]); u != "" {
		fmt.Fprintf(&b, pick(cn, "命名空间里没有叫 %s 的资源，下面是整个环境的诊断。\n", "Nothing here is named %s, so this is the whole environment's diagnosis.\n"), u)
	}
	if len(fs) == 0 { // say so plainly, with what was looked at: never an unrelated finding as the cause
		fmt.Fprintf(&b, pick(cn, "没有找到原因：%s 里检查过的对象都没有显示故障。\n检查了：%s",
			"I found no cause: nothing I checked in %s shows a failure.\nChecked: %s"), str(d["scope"]), str(d["checked"]))
		return b.String()
	}
	b.WriteString(str(d["summary"]))
	for i, it := range fs {
		if i == 3 {
			break
		}
		f, _ := it.(map[string]any)
		fmt.Fprintf(&b, "\n%d. [%s] %s — %s", i+1, str(f["severity"]), str(f["resource"]), str(f["reason"]))
		if ev, _ := f["evidence"].([]any); len(ev) > 0 {
			for _, e := range ev[:min(len(ev), 3)] {
				line := str(e)
				if body, ok := textutil.Unquote("evidence", line); ok {
					line = body
				}
				if len(line) > 400 {
					line, _ = textutil.CapTail(line, 400)
				}
				fmt.Fprintf(&b, "\n   %s %s", pick(cn, "证据:", "evidence:"), line)
			}
		}
		if lc, ok := f["likely_change"].(map[string]any); ok {
			fmt.Fprintf(&b, "\n   %s %s %s (%s)", pick(cn, "故障前的变更:", "changed just before:"), str(lc["what"]),
				strings.TrimSpace(pick(cn, "操作人 ", "by ")+str(lc["who"])), cut(str(lc["at"]), 19))
		}
		fmt.Fprintf(&b, "\n   %s %s", pick(cn, "建议:", "suggestion:"), str(f["suggestion"]))
		if t := str(f["suggested_tool"]); t != "" {
			fmt.Fprintf(&b, pick(cn, " (可以让我执行 %s，需要审批)", " (I can run %s for you, with approval)"), t)
		}
	}
	return b.String()
}

// chunkRe matches a chunk block as textutil.Quote writes it (attributes %q-quoted).
var chunkRe = regexp.MustCompile(`(?s)<<<chunk id=("(?:[^"\\]|\\.)*") title=("(?:[^"\\]|\\.)*")[^\n]*\n(.*?)\n>>>`)

func unq(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// answerFromKnowledge answers from the chunks the knowledge step placed in a system message.
func answerFromKnowledge(msgs []*schema.Message) (string, bool) {
	for _, m := range msgs {
		if m.Role != schema.System || !strings.Contains(m.Content, KnowledgeMarker) {
			continue
		}
		cs := chunkRe.FindAllStringSubmatch(m.Content, -1)
		if len(cs) == 0 {
			return "", false
		}
		answer := knowledgeAnswer(unq(cs[0][1]), unq(cs[0][2]), cs[0][3], zh(msgs))
		if len(cs) > 1 {
			var more []string
			for _, c := range cs[1:min(len(cs), 3)] {
				more = append(more, fmt.Sprintf("[%s] %s", unq(c[1]), unq(c[2])))
			}
			answer += pick(zh(msgs), "\n相关：", "\nSee also: ") + strings.Join(more, "; ")
		}
		return answer, true
	}
	return "", false
}

func knowledgeAnswer(id, title, content string, cn bool) string {
	if body, ok := textutil.Unquote("document", content); ok {
		content = body
	}
	content = strings.TrimSpace(content)
	if r := []rune(content); len(r) > 700 {
		content = string(r[:700]) + "…"
	}
	return fmt.Sprintf("%s%s\n\n%s\n\n%s[%s]", pick(cn, "根据帮助文档《", "From the docs, \""), title+pick(cn, "》：", "\":"), content,
		pick(cn, "来源 ", "Source "), id)
}

// RenderDiagnosis renders a diagnose tool result (JSON) as the builtin model would answer it.
func RenderDiagnosis(resultJSON string, chinese bool) string {
	var obj map[string]any
	if err := json.Unmarshal([]byte(resultJSON), &obj); err != nil {
		return resultJSON
	}
	return diagnosis(obj, chinese)
}

// cut keeps the first n bytes of an ASCII value (a timestamp's date), whatever its length.
func cut(s string, n int) string { return s[:min(n, len(s))] }

// relevant says whether the best knowledge chunk shares enough with the message to be its
// answer: a third of the message's words (English words of three letters or more, Chinese
// character pairs) appear in the chunk. Below that the honest answer is "I did not understand".
func relevant(text string, msgs []*schema.Message) bool {
	chunk := ""
	for _, m := range msgs {
		if m.Role == schema.System && strings.Contains(m.Content, KnowledgeMarker) {
			if cs := chunkRe.FindStringSubmatch(m.Content); cs != nil {
				chunk = strings.ToLower(unq(cs[2]) + " " + cs[3])
			}
		}
	}
	if chunk == "" {
		return false
	}
	words := terms(strings.ToLower(text))
	if len(words) == 0 {
		return false
	}
	hit := 0
	for _, w := range words {
		if strings.Contains(chunk, w) {
			hit++
		}
	}
	return hit*3 >= len(words)
}

var asciiWord = regexp.MustCompile(`[a-z][a-z0-9-]{2,}`)

// terms are a message's content words: English words of three letters or more (common
// function words left out) and pairs of adjacent Chinese characters.
func terms(s string) []string {
	var out []string
	for _, w := range asciiWord.FindAllString(s, -1) {
		if !functionWords[w] {
			out = append(out, w)
		}
	}
	var han []rune
	flush := func() {
		for i := 0; i+1 < len(han); i++ {
			out = append(out, string(han[i:i+2]))
		}
		han = han[:0]
	}
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			han = append(han, r)
		} else {
			flush()
		}
	}
	flush()
	return out
}

var functionWords = map[string]bool{"the": true, "and": true, "you": true, "for": true, "with": true, "this": true, "that": true, "what": true,
	"how": true, "can": true, "are": true, "our": true, "please": true, "tell": true, "about": true, "from": true, "have": true, "does": true}

// topAnswer lists the apps by the resource they were sorted by, then the environment's total.
func topAnswer(_ any, obj map[string]any, cn bool) string {
	var b strings.Builder
	by := str(obj["sorted_by"])
	if by == "memory" {
		b.WriteString(pick(cn, "按内存排序的资源使用（", "Usage by memory ("))
	} else {
		b.WriteString(pick(cn, "按 CPU 排序的资源使用（", "Usage by CPU ("))
	}
	b.WriteString(str(obj["namespace"]) + pick(cn, "）：\n", "):\n"))
	if u := str(obj["unavailable"]); u != "" {
		b.WriteString(pick(cn, "注意：读不到实际用量：", "Note: no actual usage: ") + u + "\n")
	}
	line := func(l map[string]any) {
		pods := ""
		if n := toInt(l["pods"]); n > 1 {
			pods = fmt.Sprintf(pick(cn, "（%d 个 pod）", " (%d pods)"), n)
		}
		fmt.Fprintf(&b, "- %s%s: CPU %s; memory %s\n", str(l["name"]), pods, str(l["cpu"]), str(l["memory"]))
	}
	appsList, _ := obj["apps"].([]any)
	if len(appsList) == 0 {
		b.WriteString(pick(cn, "这个环境里没有运行中的 pod。\n", "No pods run in this environment.\n"))
	}
	for i, it := range appsList {
		if i == 10 {
			fmt.Fprintf(&b, pick(cn, "…还有 %d 个应用\n", "… %d more apps\n"), len(appsList)-10)
			break
		}
		l, _ := it.(map[string]any)
		line(l)
	}
	if pods, _ := obj["pods"].([]any); len(pods) > 0 {
		b.WriteString(pick(cn, "Pod：\n", "Pods:\n"))
		for i, it := range pods {
			if i == 10 {
				break
			}
			l, _ := it.(map[string]any)
			line(l)
		}
	}
	if t, _ := obj["total"].(map[string]any); t != nil && len(appsList) > 1 {
		fmt.Fprintf(&b, pick(cn, "合计：CPU %s；内存 %s", "Total: CPU %s; memory %s"), str(t["cpu"]), str(t["memory"]))
	}
	return strings.TrimRight(b.String(), "\n")
}

// rightsizeAnswer gives each app's suggestion, and how to apply it.
func rightsizeAnswer(_ any, obj map[string]any, cn bool) string {
	var b strings.Builder
	one := func(o map[string]any) {
		cpu, _ := o["cpu"].(map[string]any)
		mem, _ := o["memory"].(map[string]any)
		fmt.Fprintf(&b, pick(cn, "- %s：CPU request %s，p95 用量 %s → 建议 %s（%s）；内存 request %s，峰值 %s → 建议 %s（%s）；%d 个样本\n",
			"- %s: CPU request %s, p95 usage %s → %s (%s); memory request %s, peak %s → %s (%s); %d samples\n"),
			str(o["app"]), str(cpu["request"]), str(cpu["p95"]), str(cpu["suggested_request"]), str(cpu["change"]),
			str(mem["request"]), str(mem["peak"]), str(mem["suggested_request"]), str(mem["change"]), toInt(o["samples"]))
		if r := str(o["refused"]); r != "" {
			b.WriteString(pick(cn, "  不能应用：", "  It cannot be applied: ") + r + "\n")
		}
	}
	list, _ := obj["apps"].([]any)
	proposes := obj["suggested_call"] != nil
	if str(obj["app"]) != "" {
		one(obj)
	} else {
		if len(list) == 0 {
			b.WriteString(pick(cn, "还没有可以用来估算的用量数据。\n", "There is no usage history to size from yet.\n"))
		}
		for _, it := range list {
			o, _ := it.(map[string]any)
			one(o)
			proposes = proposes || o["suggested_call"] != nil
		}
	}
	if sk, _ := obj["skipped"].([]any); len(sk) > 0 {
		b.WriteString(pick(cn, "没有估算：", "Not sized: "))
		for i, it := range sk {
			o, _ := it.(map[string]any)
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(str(o["app"]) + " (" + cut(str(o["reason"]), 120) + ")")
		}
		b.WriteString("\n")
	}
	if proposes && str(obj["app"]) != "" {
		b.WriteString(pick(cn, "回复「应用」即可按建议修改（会先给出 dry-run 差异并等待审批）。", "Say \"apply it\" to make the change (you get the dry-run diff, and it waits for approval)."))
	} else if proposes {
		b.WriteString(pick(cn, "要调整某个应用，说「right-size <应用>」再回复「应用」。", "To change one, ask \"right-size <app>\" and then say \"apply it\"."))
	}
	return strings.TrimRight(b.String(), "\n")
}

// metricTitles are the Chinese names of the named queries.
var metricTitles = map[string]string{"cpu": "CPU", "memory": "内存", "restarts": "重启次数（每分钟）", "network_in": "网络接收",
	"network_out": "网络发送", "request_rate": "请求量", "error_ratio": "5xx 错误率", "latency_p95": "p95 延迟"}

// trendWords are the trend words in Chinese.
var trendWords = map[string]string{"rising": "上升", "falling": "下降", "steady": "平稳", "spiky": "有尖峰"}

func metricsAnswer(_ any, obj map[string]any, cn bool) string {
	if !cn {
		return str(obj["summary"])
	}
	head := fmt.Sprintf("%s 的%s（过去 %s）", str(obj["app"]), first(metricTitles[str(obj["query"])], str(obj["title"])), str(obj["range"]))
	if nd := str(obj["no_data"]); nd != "" {
		return head + "：没有数据（" + nd + "）"
	}
	t, _ := obj["text"].(map[string]any)
	return fmt.Sprintf("%s：当前 %s，平均 %s，最低 %s，最高 %s，%s", head, str(t["now"]), str(t["avg"]), str(t["min"]), str(t["max"]),
		first(trendWords[str(obj["trend"])], str(obj["trend"])))
}
