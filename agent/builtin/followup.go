package builtin

import (
	"encoding/json"
	"maps"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cloudwego/eino/schema"

	"k8s-manage/internal/toolname"
)

// Conversation state: a message is read against the calls made earlier in its conversation
// (their tool, arguments and results are in the history the agent passes), so that ellipsis
// ("and its logs?", "test 环境呢"), corrections ("actually make it 6"), relative amounts ("再扩两个",
// "double it") and references ("same for web-api", "promote it") resolve. A follow-up with
// nothing to refer to gets a question back.

// earlier is a tool call made before the current message.
type earlier struct {
	tool   string
	args   map[string]any
	result string
}

// app is the application the call acted on.
func (e earlier) app() string {
	for _, k := range []string{"app", "object", "resource"} {
		if a, ok := e.args[k].(string); ok && a != "" {
			return a
		}
	}
	return ""
}

// priorCalls are the conversation's calls before its last user message, oldest first.
func priorCalls(msgs []*schema.Message) []earlier {
	lastUser := -1
	for i, m := range msgs {
		if m.Role == schema.User {
			lastUser = i
		}
	}
	results := map[string]string{}
	for _, m := range msgs {
		if m.Role == schema.Tool {
			results[m.ToolCallID] = m.Content
		}
	}
	var out []earlier
	for i := 0; i < lastUser; i++ {
		for _, tc := range msgs[i].ToolCalls {
			args := map[string]any{}
			_ = json.Unmarshal([]byte(tc.Function.Arguments), &args)
			out = append(out, earlier{tool: tc.Function.Name, args: args, result: results[tc.ID]})
		}
	}
	return out
}

var (
	// acceptRe: a yes to a proposal ("apply it", "do it", "go ahead", "照这个改").
	acceptRe = regexp.MustCompile(`\b(?:apply|do it|go ahead|go for it|ship it|make it so|sounds good|lgtm|yes,? (?:please|do)|let'?s do (?:it|that))\b|应用|照做|照这个|按这个|就这么|这么改|执行吧|改吧|可以改|行，改|那就改`)
	// refersBack: words that point at something said before.
	refersBackRe = regexp.MustCompile(`\b(?:it|its|it's|that|this one|them|same|too|also|again|instead|then)\b|它|这个|那个|也|同样|一样|^(?:and|what about|how about|ok|okay|now)\b|^(?:那|那么|好的|还有)|呢\s*[?？]?$`)
	// sameFor: the last request again, for what this message names; sameRe says so outright.
	sameForRe = regexp.MustCompile(`\bsame\b|^(?:and|what about|how about|also)\b|\btoo\b|也|同样|一样|^那|呢\s*[?？]?$`)
	sameRe    = regexp.MustCompile(`\bsame\b|\btoo\b|也|同样|一样`)
	// filler clauses carry no request: "ok, don't delete it" asks for nothing.
	fillerRe = regexp.MustCompile(`^(?:ok|okay|k|sure|yes|yeah|fine|thanks|thank you|好|好的|嗯|行|好吧|谢谢)$`)
	// correcting: a new value for the last request.
	correctingRe = regexp.MustCompile(`\b(?:actually|instead|nah|no|make (?:it|that)|now|again|rather)\b|不对|改成|改为|还是|算了|换成`)

	moreRe    = regexp.MustCompile(`(?:再|又)\s*(?:扩|加|多|来|增加|扩容)?\s*(\d+)\s*个?|\b(\d+|one|two|three|four|five|a couple(?: of)?|a few)\s+more\b|(?:加|增加|多加|多)\s*(\d+)\s*个`)
	fewerRe   = regexp.MustCompile(`(?:减|少|减少|缩|缩掉|去掉)\s*(\d+)\s*个|\b(\d+|one|two|three|four|five)\s+(?:fewer|less)\b`)
	doubleRe  = regexp.MustCompile(`\bdouble\b|\btwice\b|\bx\s?2\b|翻倍|加倍|翻一倍`)
	halfRe    = regexp.MustCompile(`\bhalf\b|\bhalve\b|一半|减半|砍半`)
	byPctRe   = regexp.MustCompile(`(?:\bby|\bup|再加|再增加|增加|加|多)\s*(\d+)\s*%`)
	downPctRe = regexp.MustCompile(`\bdown by\s*(\d+)\s*%|(?:减少|减|少)\s*(\d+)\s*%`)
	wordNums  = map[string]int{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "a couple": 2, "a couple of": 2, "a few": 3}
)

// relative reads an amount relative to the current one: "two more", "再扩两个", "double it",
// "by half", "by 100%". nil when the message states none.
func relative(s string) func(int) int {
	num := func(g ...string) int {
		for _, x := range g {
			if x == "" {
				continue
			}
			if n, err := strconv.Atoi(x); err == nil {
				return n
			}
			return wordNums[x]
		}
		return 0
	}
	switch {
	case doubleRe.MatchString(s):
		return func(n int) int { return n * 2 }
	case halfRe.MatchString(s):
		return func(n int) int { return max(1, int(math.Round(float64(n)/2))) }
	}
	if m := downPctRe.FindStringSubmatch(s); m != nil {
		p := num(m[1:]...)
		return func(n int) int { return max(0, int(math.Round(float64(n)*(1-float64(p)/100)))) }
	}
	if m := byPctRe.FindStringSubmatch(s); m != nil {
		p := num(m[1])
		return func(n int) int { return int(math.Round(float64(n) * (1 + float64(p)/100))) }
	}
	if m := moreRe.FindStringSubmatch(s); m != nil {
		d := num(m[1:]...)
		return func(n int) int { return n + d }
	}
	if m := fewerRe.FindStringSubmatch(s); m != nil {
		d := num(m[1:]...)
		return func(n int) int { return max(0, n-d) }
	}
	return nil
}

// numericSlot is the argument of tool a bare number corrects, and its new value.
func numericSlot(tool string, sl slots) (string, any, bool) {
	last := func() (int, bool) {
		if len(sl.numbers) == 0 {
			return 0, false
		}
		return sl.numbers[len(sl.numbers)-1], true
	}
	switch tool {
	case toolname.ScaleApp:
		n, ok := last()
		return "replicas", n, ok
	case toolname.StartCanary:
		if sl.percent > 0 {
			return "weight_percent", sl.percent, true
		}
		n, ok := last()
		return "weight_percent", n, ok && n > 0 && n < 100
	case toolname.SetHPA:
		n, ok := last()
		return "max_replicas", n, ok
	case toolname.GetPodLogs:
		if sl.lines > 0 {
			return "tail_lines", sl.lines, true
		}
		n, ok := last()
		return "tail_lines", n, ok
	case toolname.RollbackApp:
		n, ok := last()
		return "revision", n, ok
	}
	return "", nil, false
}

// followUp resolves r, what the message says on its own, against the conversation's calls.
func (m *Model) followUp(text string, v view, calls []earlier, r result, ok bool) (result, bool) {
	s := normalise(text)
	sl := extract(text, s, v)
	own := len(sl.apps) > 0
	var last *earlier
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].tool != "" {
			last = &calls[i]
			break
		}
	}
	cn := hasHan(s)
	// A relative amount for an app the message names: from its replica count now ("payment 加两个副本").
	if rel := relative(s); rel != nil && own && last == nil && (r.tool == "" || r.tool == toolname.ScaleApp || r.bare) {
		if base, known := v.counts[sl.apps[0]]; known {
			args := map[string]any{"app": sl.apps[0], "replicas": rel(base)}
			if sl.env != "" {
				args["env"] = sl.env
			}
			return result{tool: toolname.ScaleApp, args: args}, true
		}
	}
	if last == nil {
		refers := refersBackRe.MatchString(s) || correctingRe.MatchString(s) || relative(s) != nil
		if refers && (!own && (!ok || r.question != "" || r.tool == "") || own && sameRe.MatchString(s) && r.bare) {
			return result{question: pick(cn, "这个对话里还没有可以参照的操作：你指的是哪个应用、要做什么？",
				"What should that apply to? Nothing was done in this conversation yet: name the app and what to do (e.g. \"scale nginx to 3\")?")}, true
		}
		return r, ok
	}
	app := last.app()
	// Yes to what the last result proposed ("apply it", "go ahead", "就按这个改"): its suggested call.
	if acceptRe.MatchString(s) && !negated(text) && !own && len(strings.Fields(s)) <= 8 {
		if tool, args, found := suggestedCall(last.result); found {
			return result{tool: tool, args: args, exact: true}, true
		}
	}
	withEnv := func(args map[string]any) map[string]any {
		if sl.env != "" {
			args["env"] = sl.env
		}
		return args
	}
	// A relative amount: from the last scale of the app, else from its replica count now.
	if rel := relative(s); rel != nil && (r.tool == "" || r.tool == toolname.ScaleApp || r.bare) {
		target := app
		if own {
			target = sl.apps[0]
		}
		base, known := v.counts[target]
		if last.tool == toolname.ScaleApp && last.app() == target {
			base, known = toInt(last.args["replicas"]), true
		}
		if target != "" && known {
			args := map[string]any{"app": target, "replicas": rel(base)}
			if e, ok := last.args["env"]; ok && last.app() == target {
				args["env"] = e
			}
			return result{tool: toolname.ScaleApp, args: withEnv(args)}, true
		}
	}
	// A new number for the last request ("actually 6", "make that 10% instead", "last 20 lines").
	if !own && len(strings.Fields(s)) <= 6 && (r.tool == "" || r.tool == last.tool || r.question != "") {
		if slot, val, found := numericSlot(last.tool, sl); found && (correctingRe.MatchString(s) || r.tool == last.tool || r.tool == "" || r.question != "") {
			args := maps.Clone(last.args)
			args[slot] = val
			return result{tool: last.tool, args: withEnv(args)}, true
		}
	}
	// The last request for another app ("same for web-api", "how about payment?", "那 checkout 的呢").
	if own && (r.bare || !ok) && sameForRe.MatchString(s) && app != "" {
		args := maps.Clone(last.args)
		for _, k := range []string{"app", "object", "resource"} {
			if _, has := args[k]; has {
				args[k] = sl.apps[0]
			}
		}
		return result{tool: last.tool, args: withEnv(args)}, true
	}
	// The last request in another environment ("and in test?", "prod 呢", "same thing in test").
	if !own && sl.env != "" && !r.howTo && elliptical(s) && (r.tool == "" || r.bare || r.question != "" || r.tool == last.tool) {
		args := maps.Clone(last.args)
		args["env"] = sl.env
		return result{tool: last.tool, args: args}, true
	}
	// A request that names no app of its own is about the last one ("promote it", "and its logs?").
	if !own && app != "" && !r.howTo && (r.question != "" || refersBackRe.MatchString(s) || !ok) {
		if r2, ok2 := m.read(text+" "+app, v); ok2 && r2.question == "" && r2.tool != "" && !r2.howTo && !r2.bare {
			return r2, true
		}
	}
	return r, ok
}

// elliptical says a message is short enough to lean on the last request ("and in test?", "prod 呢",
// "same thing in staging please"); a whole sentence that names an environment asks something of
// its own ("what is the password of the production database?").
func elliptical(s string) bool {
	if hasHan(s) {
		return utf8.RuneCountInString(strings.Join(strings.Fields(s), "")) <= 10
	}
	return len(strings.Fields(s)) <= 5
}

// Clauses: a negation covers its own clause only. "先别重启 checkout，帮我看看它现在的状态" asks
// for the status; "don't delete search-api" asks for nothing.
var clauseSepRe = regexp.MustCompile(`[,，;；。!！]+|\s+(?:but|just|instead)\s+`)

// unnegated is the message without its negated clauses; none says every clause was negated. A
// pronoun left in the rest refers to the app the negated clause named.
func unnegated(text string, v view) (rest string, none bool) {
	parts := clauseSepRe.Split(text, -1)
	var keep, dropped []string
	for _, p := range parts {
		if strings.TrimSpace(p) == "" {
			continue
		}
		if negated(p) {
			dropped = append(dropped, p)
		} else if !fillerRe.MatchString(normalise(p)) {
			keep = append(keep, p)
		}
	}
	if len(dropped) == 0 {
		return text, false
	}
	if len(keep) == 0 {
		return "", true
	}
	rest = strings.Join(keep, "，")
	rs := normalise(rest)
	if len(extract(rest, rs, v).apps) == 0 {
		d := strings.Join(dropped, " ")
		if apps := extract(d, normalise(d), v).apps; len(apps) > 0 {
			rest += " " + apps[0]
		}
	}
	return rest, false
}

// aboutChangeRe is a question about a change, which changes nothing: "should I restart x?", "what
// would happen if I scale x to 0?", "如果我回滚 x 会怎样", "要不要给 x 开 hpa".
var aboutChangeRe = regexp.MustCompile(`^(?:should (?:i|we)\b|would\b|what (?:would|will) happen|what happens if|is it (?:safe|ok|okay|a good idea) to|do (?:i|we) need to|is there a risk)|` +
	`如果|要不要|该不该|是否应该|应不应该|会不会|会影响|会怎样|会怎么样|有风险吗|安全吗`)

// whatIfRe asks what a change would do: it is never a request, how-to words or not.
var whatIfRe = regexp.MustCompile(`如果|会怎样|会怎么样|what (?:would|will) happen|what happens if`)

// aboutChange answers a question about a change: nothing is changed, and the person learns what
// to ask for to have it done (r is what the message would do as a request).
func aboutChange(r result, cn bool) string {
	what := ""
	if r.tool != "" && r.question == "" {
		what = r.tool
		if a := (earlier{args: r.args}).app(); a != "" {
			what += " " + a
		}
	}
	if what == "" {
		return pick(cn, "这是一个问题，我没有做任何改动。需要执行时，直接告诉我要做什么，审批通过后才会执行。",
			"That is a question, so I changed nothing. When you want it done, tell me what to do; changes run after an approval.")
	}
	return pick(cn, "这是一个问题，我没有做任何改动（"+what+"）。需要执行时直接让我去做，审批通过后才会执行。",
		"That is a question, so I changed nothing ("+what+"). When you want it done, ask me to do it; it runs after an approval.")
}

// suggestedCall reads the call a tool result proposes: {"suggested_call": {"tool": …, "args": {…}}}.
func suggestedCall(result string) (string, map[string]any, bool) {
	i := strings.Index(result, `"suggested_call"`)
	if i < 0 {
		return "", nil, false
	}
	rest := result[i+len(`"suggested_call"`):]
	j := strings.Index(rest, "{")
	if j < 0 {
		return "", nil, false
	}
	var call struct {
		Tool string         `json:"tool"`
		Args map[string]any `json:"args"`
	}
	if err := json.NewDecoder(strings.NewReader(rest[j:])).Decode(&call); err != nil || call.Tool == "" {
		return "", nil, false
	}
	return call.Tool, call.Args, true
}
