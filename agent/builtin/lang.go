package builtin

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"k8s-manage/internal/textutil"
	"k8s-manage/internal/toolname"
)

// The language layer: normalise a message, recognise its intent from a table of verbs and
// nouns (Chinese and English), fill the intent's slots with extractors that resolve names
// against what exists (the tenant's apps and environments, from the system prompt), and ask
// when a required slot is missing or ambiguous. It knows no phrasing, only words and slots.

// normalise lower-cases, maps full-width characters to ASCII and drops politeness, which makes a
// request of a question ("could you restart x?", "能不能帮我重启一下 x").
func normalise(text string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(text) {
		switch {
		case r >= '！' && r <= '～' && r != '，' && r != '？' && r != '：' && r != '；' && r != '！':
			r = r - '！' + '!'
		case r == '\u3000':
			r = ' '
		}
		b.WriteRune(unicode.ToLower(r))
	}
	s := " " + b.String() + " "
	for _, re := range politeness {
		s = re.ReplaceAllString(s, " ")
	}
	s = phrasalRe.ReplaceAllString(s, "$1 $3 $2") // "roll it back" is "roll back it"
	return strings.Join(strings.Fields(s), " ")
}

// phrasalRe is a phrasal verb split by its object.
var phrasalRe = regexp.MustCompile(`\b(roll|scale|turn|shut|bring|spin|kick|cut)\s+(it|that|them|this|everything)\s+(back|up|down|off|on|over)\b`)

var politeness = []*regexp.Regexp{
	regexp.MustCompile(`\b(?:could|can|would|will) you(?: please)?\b|\bplease\b|\bpls\b|\bkindly\b|\bfor me\b|\bi need you to\b|\bi'?d like you to\b|\bgo ahead and\b|\bhelp me\b`),
	regexp.MustCompile(`能不能|能否|可不可以|可以帮我|麻烦你?|帮我|帮忙|劳驾|(?:^|[\s,，。])请`),
	regexp.MustCompile(`一下|吧|吗[?？]?$|呢[?？]?$`),
}

// question marks a how-to question: it gets the docs even when it names an app or a number.
var question = regexp.MustCompile(`^(?:how (?:do|can|could|should|would|to)\b|what'?s the difference|why should\b|is it possible\b)|` +
	`怎么(?:做|办|配置|设置|用|把|给|才|让|删除|回滚|扩容|重启|发布|开启|关闭|添加|查看|处理)|如何|怎样|有什么区别|区别是什么|应该怎么|是什么意思|什么意思`)

// weakQuestion is a question about a concept ("what is a canary?"): docs, unless it names an app
// of the tenant ("what are the hpa settings of payment?" asks about the cluster).
var weakQuestion = regexp.MustCompile(`^(?:what (?:is|are|does)\b|explain\b|tell me about\b)|什么是`)

// intent is one row of the table: the tool, the words that signal it (any of verbs, and all of
// needs when set), the words that rule it out, and the slots it needs.
type intent struct {
	tool     string
	verbs    []string
	needs    []string // at least one of these must appear too
	not      []string // none of these may appear
	required []string // slots that must be filled, else a question
	weight   int      // breaks ties: more specific intents first
	// bindOnly intents name a tool for a hosted model's binding (Candidates); the builtin model
	// does not call it (it cannot fill the tool's arguments from a message alone).
	bindOnly bool
}

// result is what the layer made of a message.
type result struct {
	tool     string
	args     map[string]any
	question string // asked back when a slot is missing or ambiguous
	howTo    bool
	bare     bool // no intent, only an app named: look at it, unless the phrase rules know better
	// exact marks arguments that are a whole call already (one an earlier result proposed): they
	// are sent as they are.
	exact bool
}

// parse understands text against v. ok is false when no intent matched.
func parse(text string, v view) (result, bool) {
	s := normalise(text)
	if s == "" {
		return result{}, false
	}
	if question.MatchString(s) {
		return result{howTo: true}, true
	}
	sl := extract(text, s, v)
	if weakQuestion.MatchString(s) && len(sl.apps) == 0 {
		return result{howTo: true}, true
	}
	scored := s // an app's name holds no intent word ("billing-api" asks for no bill)
	for _, a := range sl.apps {
		scored = blank(scored, a)
	}
	if sl.guess != "" && len(v.apps) == 0 { // nor does a name when the apps are unknown ("list pods of payment")
		scored = blank(scored, sl.guess)
	}
	// The best intent scores highest; of two that score the same, the one whose matched phrase
	// holds the other's ("报错率" is more than the "报错" inside it), then the heavier (more
	// specific) one, then the one whose word the message holds whole ("login" holds "log" only as
	// a prefix).
	var best *intent
	bestScore, bestWhole, bestPhrase := 0, false, ""
	for i, in := range v.cat.intents {
		if in.bindOnly {
			continue
		}
		score := in.score(scored, sl)
		if score == 0 {
			continue
		}
		whole, phrase := in.wholeVerb(scored), in.longestVerb(scored)
		wider, narrower := best != nil && covers(phrase, bestPhrase), best != nil && covers(bestPhrase, phrase)
		if score > bestScore || score == bestScore && (wider || !narrower && (in.weight > best.weight || in.weight == best.weight && whole && !bestWhole)) {
			best, bestScore, bestWhole, bestPhrase = &v.cat.intents[i], score, whole, phrase
		}
	}
	if r, ok := failureReport(s, sl, v, best); ok {
		return r, true
	}
	if best == nil {
		if len(sl.apps) == 1 { // "checkout?": a message that names an app of the tenant and nothing else looks at it
			args := map[string]any{"app": sl.apps[0]}
			sl.optional(toolname.GetAppStatus, args)
			return result{tool: toolname.GetAppStatus, args: args, bare: true}, true
		}
		return result{}, false
	}
	in := *best
	args := map[string]any{}
	for _, name := range in.required {
		val, ok := sl.get(in.tool, name)
		if !ok {
			return result{tool: in.tool, question: sl.ask(in.tool, name, v, s)}, true
		}
		args[name] = val
	}
	sl.optional(in.tool, args)
	return result{tool: in.tool, args: args}, true
}

// yieldToSymptom are the intents a reported failure overrides: looking at an app's status, spec or
// pods is what the diagnosis does anyway. A change the person only reports ("x 扩到 25 个副本，只
// 起来一部分") is not a request either; one asked for is (see imperative).
var yieldToSymptom = map[string]bool{toolname.Diagnose: true, toolname.GetAppStatus: true, toolname.ListPods: true, toolname.ListApps: true, toolname.GetHPA: true,
	toolname.GetAppConfig: true}

// yieldUnlessAsked are the intents a reported failure overrides unless the message is a question
// about them: a metric over time is asked for ("is p95 getting worse?", "报错率高吗"); a metric
// reported as failing ("latency went through the roof"), or a why, is the diagnosis's.
var yieldUnlessAsked = map[string]bool{toolname.QueryMetrics: true}

// questionRe marks a message as a question: a question mark, a question word first, or a
// Chinese question particle or word.
var questionRe = regexp.MustCompile(`[?？]\s*$|^(?:what|how|is|are|was|were|does|do|did|can|show|give|tell|graph|plot|chart)\b|吗\s*$|多少|几次|怎么样|如何|是否|有没有|多高|多大|多久`)

// risingRe are the words that report a measure as too high or getting worse.
var risingRe = regexp.MustCompile(`through the roof|\bspik|\bjump|\bsurg|skyrocket|shot up|went up|going up|\bclimb|\bhigh\b|\bworse\b|\bdegrad|\bbad\b|飙|暴涨|涨|升高|太高|很高|变高|好高|变慢|严重|爆了`)

// failureReport turns a reported failure into a diagnose call scoped to what the message names.
func failureReport(s string, sl slots, v view, best *intent) (result, bool) {
	reported := s // a config key names a setting, not a failure: TIMEOUT_MS reports no timeout
	if sl.key != "" {
		reported = blank(s, strings.ToLower(sl.key))
	}
	sym, why := symptom(reported)
	name := resourceNamed(s, sl, v)
	if !sym && !(why && name != "") {
		return result{}, false
	}
	if best != nil { // a read-only tool or an explicit request is asked for
		in := *best
		asReport := yieldUnlessAsked[in.tool] && (why || risingRe.MatchString(s) && !questionRe.MatchString(s))
		if !yieldToSymptom[in.tool] && !asReport && (v.cat.readOnly[in.tool] || imperative(s, in)) {
			return result{}, false
		}
	}
	if sl.possessive && name == sl.tenant {
		sl.tenant = ""
	}
	args := map[string]any{}
	switch a, ok := sl.app(); {
	case ok && (len(sl.apps) > 0 || a == name):
		args["app"] = a
	case name != "":
		args["resource"] = name
	}
	sl.optional(toolname.Diagnose, args)
	return result{tool: toolname.Diagnose, args: args}, true
}

// has says whether s holds the word w: an English word must start a word of s ("log" finds
// "logs", "pending" is not in "spending"; a trailing "!" asks for the whole word); Chinese is
// matched anywhere.
func has(s, w string) bool {
	whole := strings.HasSuffix(w, "!") // the whole word only: "deploy!" is not in "deployment"
	w = strings.TrimSuffix(w, "!")
	if w == "" || w[0] >= 0x80 || !isWord(w[0]) {
		return strings.Contains(s, w)
	}
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		at, end := i+j, i+j+len(w)
		// A word does not start a hyphenated name: "log" is in "logs", not in "log-shipper".
		compound := end+1 < len(s) && s[end] == '-' && isWord(s[end+1]) && !strings.HasSuffix(w, "-")
		if (at == 0 || !isWord(s[at-1])) && (!whole || end == len(s) || !isWord(s[end])) && !compound {
			return true
		}
		i = at + 1
	}
}

// wholeVerb says whether one of the intent's verbs is in s as a whole word (or is Chinese).
func (in intent) wholeVerb(s string) bool {
	for _, w := range in.verbs {
		if w != "" && (w[0] >= 0x80 || !isWord(w[0])) && has(s, w) || has(s, strings.TrimSuffix(w, "!")+"!") {
			return true
		}
	}
	return false
}

// longestVerb is the longest of the intent's verbs the message holds.
func (in intent) longestVerb(s string) string {
	out := ""
	for _, w := range in.verbs {
		if len(w) > len(out) && has(s, w) {
			out = w
		}
	}
	return out
}

// covers says whether phrase a holds phrase b and more ("报错率" covers "报错").
func covers(a, b string) bool {
	return b != "" && len(a) > len(b) && strings.Contains(a, strings.TrimSuffix(b, "!"))
}

func (in intent) score(s string, sl slots) int {
	hit := false
	for _, w := range in.verbs {
		if has(s, w) {
			hit = true
			break
		}
	}
	if !hit {
		return 0
	}
	for _, w := range in.not {
		if has(s, w) {
			return 0
		}
	}
	if len(in.needs) > 0 {
		found := false
		for _, w := range in.needs {
			switch w {
			case "key":
				found = found || sl.key != ""
			case "image-slot":
				found = found || sl.image != ""
			case "two-numbers":
				found = found || len(sl.numbers) >= 2
			case "number":
				found = found || len(sl.numbers) > 0
			case "build-id":
				found = found || sl.build != ""
			default:
				found = found || has(s, w)
			}
		}
		if !found {
			return 0
		}
	}
	score := 10 + in.weight
	for _, name := range in.required {
		if _, ok := sl.get(in.tool, name); ok {
			score += 3
		}
	}
	return score
}

// slots are every value the message holds, found by extractors that know no intent.
type slots struct {
	apps       []string // known apps named, in order
	near       []string // unknown app-like words that resemble known apps
	guess      string   // an app-like word when the apps are unknown
	unknown    bool     // the tenant's apps are unknown: the guess stands for an app
	numbers    []int
	percent    int
	image      string
	env        string
	envs       []string // every env named, in order
	tenant     string
	possessive bool // the tenant was only a slug before "的"/"'s": it may name the owner of a resource instead
	key, value string
	email      string
	role       string
	typ, name  string
	plan       string
	lines      int
	previous   bool
	ref        string
	query      string
	quotaRes   string
	build      string
	since      string
	secret     bool
	tag        string // a bare version ("1.27.3"), the image of a named app with that tag
	newName    string // a name for something new: "an app named landing"
	newImage   string // the image of a new app, with or without a tag
	grep       string
	sinceSecs  int            // "the last 10 minutes"
	period     string         // a month, YYYY-MM
	quantity   string         // the last amount with its unit: "32Gi", "16"
	resources  map[string]any // an app's requests and limits the message states ("2c4g", "memory limit 2Gi")
	vpaMode    string         // a VerticalPodAutoscaler update mode the message names ("recommend only": Off)
	metric     string         // the metric a message asks about over time ("p95 latency": latency_p95)
}

var (
	wordRe       = regexp.MustCompile(`[a-z][a-z0-9-]*[a-z0-9]|[a-z]`)
	numberRe     = regexp.MustCompile(`(\d+)`)
	percentRe    = regexp.MustCompile(`(\d{1,3})\s*(?:%|percent|％)`)
	imageRe      = regexp.MustCompile(`(?:^|\s)((?:[a-z0-9.-]+(?::\d+)?/)?[a-z0-9][a-z0-9._/-]*:[a-z0-9][a-z0-9._-]*|[a-z0-9.-]+\.[a-z]{2,}(?::\d+)?/[a-z0-9._/-]+(?::[a-z0-9._-]+)?)`)
	keyValRe     = regexp.MustCompile(`\b([A-Z][A-Z0-9_]{1,})(?:\s+(?:of|for|in|on)\s+[a-z][a-z0-9-]*)?\s*(?:=|->|设成|设为|设置为|改为|改成|改到|换成|to|为)\s*["']?([^\s"'，。,()（）]+)`)
	buildRe      = regexp.MustCompile(`(?:构建|build)\s*#?([a-z0-9-]*\d[a-z0-9-]*)`)
	sinceRe      = regexp.MustCompile(`(\d+)\s*(小时|hours?|h\b|分钟|minutes?|min\b|天|days?|d\b)`)
	instRe       = regexp.MustCompile(`(?:instance|实例)\s+([a-z][a-z0-9-]*[a-z0-9])`)
	instBeforeRe = regexp.MustCompile(`([a-z][a-z0-9-]*[a-z0-9])\s+(?:(?:redis|mysql|postgres\w*|kafka)\s+)?(?:instance|这个数据库实例|数据库实例|实例|中间件)`)
	nameRe       = regexp.MustCompile(`(?:叫|名字叫|名为|named|called)\s*([a-z][a-z0-9-]*[a-z0-9])`)
	secretRe     = regexp.MustCompile(`secret|密钥|机密|敏感`)
	tenantWordRe = regexp.MustCompile(`租户|团队|tenant`)
	docsPrefixRe = regexp.MustCompile(`^(?:在?(?:知识库|帮助文档|文档|手册|runbooks?|the docs|docs|documentation)(?:里|中)?\s*[:：]?\s*)+`)
	enNumberRe   = regexp.MustCompile(`\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten)\b`)
	roleRe       = regexp.MustCompile(`(?:^|[^a-z])(viewer|只读|developer|开发|dev|operator|运维|ops|admin|管理员)(?:[^a-z]|$)`)
	keyRe        = regexp.MustCompile(`\b([A-Z][A-Z0-9_]{2,})\b`)
	emailRe      = regexp.MustCompile(`[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}`)
	linesRe      = regexp.MustCompile(`(\d+)\s*(?:行|lines?)`)
	refRe        = regexp.MustCompile(`(?:from|on|从)\s+(?:the\s+)?(?:branch\s+)?([a-z0-9][a-z0-9._/-]*)\s*(?:branch|分支)?|([a-z0-9][a-z0-9._/-]*)\s*(?:分支|branch)`)
	tenantRe     = regexp.MustCompile(`(?:\bin|\bof|\bfor|\bfrom|租户|团队|tenant)\s+([a-z][a-z0-9]*-[a-z0-9-]*[a-z0-9])\b|\b([a-z][a-z0-9]*-[a-z0-9-]*[a-z0-9])\s*(?:的|'s)`)
	cnNumbers    = map[string]int{"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "零": 0}
	enNumbers    = map[string]int{"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
	envWords     = map[string]string{"测试": "test", "生产": "prod", "线上": "prod", "开发": "dev", "预发": "staging", "production": "prod", "development": "dev", "staging": "staging"}
	roleWords    = map[string]string{"viewer": "viewer", "只读": "viewer", "developer": "developer", "开发": "developer", "dev": "developer",
		"operator": "operator", "运维": "operator", "ops": "operator", "admin": "admin", "管理员": "admin"}
	stopWords = map[string]bool{"the": true, "my": true, "our": true, "a": true, "an": true, "app": true, "service": true, "to": true, "in": true, "of": true,
		"for": true, "and": true, "it": true, "me": true, "is": true, "please": true, "replicas": true, "pods": true, "pod": true, "logs": true, "log": true,
		// Determiners and quantifiers name no object: "delete the whole cluster" names no app called "whole".
		"whole": true, "entire": true, "all": true, "every": true, "this": true, "that": true, "these": true, "those": true, "some": true, "any": true,
		// Kind nouns, like app and service above: "every deployment" names no app called deployment.
		"deployment": true, "deployments": true, "cluster": true, "namespace": true}
)

// extract finds every slot value in the message (raw keeps the case of config keys).
func extract(raw, s string, v view) slots {
	sl := slots{unknown: len(v.apps) == 0}
	masked := s
	if m := emailRe.FindString(s); m != "" {
		sl.email = m
		masked = strings.ReplaceAll(masked, m, " ")
	}
	if m := imageRe.FindStringSubmatch(masked); m != nil && strings.ContainsAny(m[1], ":/") && !strings.Contains(m[1], "://") {
		sl.image = m[1]
		masked = strings.ReplaceAll(masked, m[1], " ")
	}
	if m := keyValRe.FindStringSubmatch(raw); m != nil {
		sl.key, sl.value = m[1], m[2]
		masked = strings.ReplaceAll(masked, strings.ToLower(m[2]), " ")
	} else if m := keyRe.FindStringSubmatch(raw); m != nil && m[1] != strings.ToUpper(m[1][:1])+strings.ToLower(m[1][1:]) {
		sl.key = m[1]
	}
	if sl.key != "" {
		masked = strings.ReplaceAll(masked, strings.ToLower(sl.key), " ")
	}
	// Apps: known names anywhere (longest first), then near misses of unknown words.
	known := slices.Clone(v.apps)
	slices.SortFunc(known, func(a, b string) int { return len(b) - len(a) })
	type pos struct {
		at   int
		name string
	}
	var found []pos
	for _, a := range known {
		for i := 0; ; {
			j := strings.Index(masked[i:], a)
			if j < 0 {
				break
			}
			at := i + j
			end := at + len(a)
			if (at == 0 || !isWord(masked[at-1])) && (end == len(masked) || !isWord(masked[end])) {
				found = append(found, pos{at, a})
				masked = masked[:at] + strings.Repeat(" ", len(a)) + masked[end:]
			}
			i = end
			if i >= len(masked) {
				break
			}
		}
	}
	slices.SortFunc(found, func(a, b pos) int { return a.at - b.at })
	for _, f := range found {
		if !slices.Contains(sl.apps, f.name) {
			sl.apps = append(sl.apps, f.name)
		}
	}
	// Another tenant: a name the tenant words point at, or (when the apps are known) a slug that
	// is no app, after "in"/"of" or before "的".
	if m := tenantRe.FindStringSubmatch(masked); m != nil && (len(v.apps) > 0 || tenantWordRe.MatchString(s)) {
		t := first(m[1], m[2])
		if t != v.tenant && !slices.Contains(v.envs, t) && !slices.Contains(v.apps, t) {
			sl.tenant, sl.possessive = t, m[1] == "" && !tenantWordRe.MatchString(s)
			masked = strings.ReplaceAll(masked, t, " ")
		}
	}
	// Environments: the tenant's, and the usual names (an env the tenant lacks still goes to the
	// tool, whose gate says so, instead of the turn's own env), as a word in an env context, or a
	// Chinese/English synonym.
	envs := slices.Concat(v.envs, []string{"dev", "test", "prod", "staging", "uat", "qa", "pre"})
	inContext := envsInContext(masked)
	for _, w := range wordRe.FindAllString(masked, -1) {
		if slices.Contains(envs, w) && slices.Contains(inContext, w) {
			sl.envs = append(sl.envs, w)
		}
	}
	for word, env := range envWords {
		if strings.Contains(masked, word+"环境") || strings.Contains(masked, word+" 环境") || (strings.Contains(masked, word) && len(word) > 5) {
			if !slices.Contains(sl.envs, env) {
				sl.envs = append(sl.envs, env)
			}
		}
	}
	if len(sl.envs) > 0 {
		sl.env = sl.envs[0]
	}
	for _, w := range sl.envs {
		masked = blank(masked, w)
	}
	// A log filter ("grep for timeout") is text to look for, not a name.
	if m := grepRe.FindStringSubmatch(raw); m != nil {
		sl.grep = m[1]
		masked = blank(masked, strings.ToLower(m[1]))
	}
	// Words that are no known app: near misses ("gatway", "api" of two apps) make a question;
	// any other name-like word may be an app the list does not show (it is checked by the tool).
	for _, w := range wordRe.FindAllString(masked, -1) {
		if stopWords[w] || v.cat.isVerbWord(w) || len(w) < 3 || sl.key != "" && w == strings.ToLower(sl.key) {
			continue
		}
		near := false
		for _, a := range v.apps {
			if (strings.Contains(a, w) || textutil.Distance(a, w) <= 2) && a != w {
				near = true
				if !slices.Contains(sl.near, a) {
					sl.near = append(sl.near, a)
				}
			}
		}
		if !near && sl.guess == "" && !slices.Contains(envs, w) {
			sl.guess = w
		}
	}
	counted := masked // what amounts are read from: a version tag counts nothing
	if sl.image == "" {
		if ms := versionRe.FindAllStringSubmatch(masked, -1); len(ms) > 0 {
			sl.tag = ms[len(ms)-1][1]
			for _, m := range ms {
				counted = strings.Replace(counted, m[1], " ", 1)
			}
		}
	}
	if m := percentRe.FindStringSubmatch(counted); m != nil {
		sl.percent, _ = strconv.Atoi(m[1])
		counted = strings.Replace(counted, m[0], " ", 1)
	}
	if m := linesRe.FindStringSubmatch(counted); m != nil {
		sl.lines, _ = strconv.Atoi(m[1])
		counted = strings.Replace(counted, m[0], " ", 1)
	}
	for _, m := range numberRe.FindAllString(counted, -1) {
		n, _ := strconv.Atoi(m)
		sl.numbers = append(sl.numbers, n)
	}
	if len(sl.numbers) == 0 {
		for _, w := range enNumberRe.FindAllString(counted, -1) {
			sl.numbers = append(sl.numbers, enNumbers[w])
		}
		plain := strings.NewReplacer("上一个", "", "下一个", "", "一下", "", "一份", "").Replace(counted)
		for w, n := range cnNumbers {
			if strings.Contains(plain, w+"个") || strings.Contains(plain, "到"+w) || strings.Contains(plain, "成"+w) {
				sl.numbers = append(sl.numbers, n)
			}
		}
	}
	if m := roleRe.FindStringSubmatch(s); m != nil {
		sl.role = roleWords[m[1]]
	}
	for _, t := range []string{"redis", "mysql", "postgresql", "postgres", "kafka"} {
		if strings.Contains(s, t) {
			sl.typ = strings.Replace(t, "postgres", "postgresql", 1)
			sl.typ = strings.Replace(sl.typ, "postgresqlql", "postgresql", 1)
			break
		}
	}
	if m := nameRe.FindStringSubmatch(s); m != nil {
		sl.name = m[1]
	}
	for _, p := range []string{"small", "medium", "large"} {
		if strings.Contains(s, p) {
			sl.plan = p
		}
	}
	if strings.Contains(s, "crashed") || strings.Contains(s, "previous") || strings.Contains(s, "上一个容器") || strings.Contains(s, "崩溃前") {
		sl.previous = true
	}
	if m := refRe.FindStringSubmatch(masked); m != nil {
		sl.ref = first(m[1], m[2])
	}
	sl.query = searchQuery(raw)
	if m := buildRe.FindStringSubmatch(s); m != nil && !slices.Contains(v.apps, m[1]) {
		sl.build = m[1]
	}
	if m := sinceRe.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		switch u := m[2]; {
		case strings.HasPrefix(u, "min") || u == "分钟":
			sl.since = m[1] + "m"
		case strings.HasPrefix(u, "d") || u == "天":
			sl.since = strconv.Itoa(n*24) + "h"
		default:
			sl.since = m[1] + "h"
		}
	}
	for _, m := range slices.Concat(instRe.FindAllStringSubmatch(s, -1), instBeforeRe.FindAllStringSubmatch(s, -1)) {
		if sl.name == "" && !stopWords[m[1]] && !v.cat.isVerbWord(m[1]) {
			sl.name = m[1]
		}
	}
	sl.secret = secretRe.MatchString(s)
	sl.vpaMode = firstNamed(vpaModeRes, s)
	sl.metric = firstNamed(metricRes, s)
	sl.bareTag(masked, v)
	sl.words(raw, s, v)
	switch {
	case strings.Contains(s, "cpu"):
		sl.quotaRes = "requests.cpu"
	case strings.Contains(s, "内存") || strings.Contains(s, "memory"):
		sl.quotaRes = "requests.memory"
	case strings.Contains(s, "pod"):
		sl.quotaRes = "pods"
	}
	return sl
}

// named is one value of a slot and the ways people name it; a table of them is read in order,
// most specific first, and the first that matches names the value.
type named struct {
	value string
	re    *regexp.Regexp
}

// firstNamed is the value the first matching entry of a table names ("" when none).
func firstNamed(table []named, s string) string {
	for _, n := range table {
		if n.re.MatchString(s) {
			return n.value
		}
	}
	return ""
}

// vpaModeRes are the ways people name a VPA update mode, most specific first.
var vpaModeRes = []named{
	{"InPlaceOrRecreate", regexp.MustCompile(`in-?place|inplace|原地`)},
	{"Off", regexp.MustCompile(`\boff\b|recommend(?:ation)?s? only|recommend-only|just recommend|only recommend|dry|只推荐|只给建议|只看推荐|仅推荐|不自动`)},
	{"Initial", regexp.MustCompile(`\binitial\b|on (?:pod )?start|at start|启动时`)},
	{"Recreate", regexp.MustCompile(`\brecreate\b|\bauto\b|evict|重建|自动`)},
}

// metricRes are the ways people name a metric of an app, most specific first: a latency or an
// error share before the requests they are of, network before memory ("网络流量" is no 请求量).
var metricRes = []named{
	{"latency_p95", regexp.MustCompile(`latenc|p9[059]\b|percentile|response times?|slow (?:requests|responses)|延迟|时延|响应时间|耗时|响应慢`)},
	{"error_ratio", regexp.MustCompile(`5xx|\b50[0-9]s?\b|error (?:rate|ratio|percent)|errors? per|failure rate|failed requests|错误率|报错率|失败率|出错率|5开头`)},
	{"network_out", regexp.MustCompile(`(?:network|bytes?)\s*(?:out|sent|egress|transmit)|egress|outbound|出流量|出口流量|发送`)},
	{"network_in", regexp.MustCompile(`network|bandwidth|bytes? (?:in|received)|ingress traffic|inbound|\bio\b|网络|带宽|入流量|流量`)},
	{"request_rate", regexp.MustCompile(`\bqps\b|\brps\b|req/s|requests? (?:per|a|/) ?(?:second|sec|s|minute)|request rate|requests|throughput|traffic|hits|请求量|请求数|请求|吞吐|访问量`)},
	{"restarts", regexp.MustCompile(`restart|crash|重启|崩溃`)},
	{"memory", regexp.MustCompile(`memory|\bmem\b|\bram\b|内存`)},
	{"cpu", regexp.MustCompile(`\bcpu|processor|cores?\b|算力`)},
}

// blank replaces each whole-word occurrence of w in s with spaces.
func blank(s, w string) string {
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], w)
		if j < 0 {
			break
		}
		at, end := i+j, i+j+len(w)
		if (at == 0 || !isWord(s[at-1])) && (end == len(s) || !isWord(s[end])) {
			s = s[:at] + strings.Repeat(" ", len(w)) + s[end:]
		}
		i = end
	}
	return s
}

func isWord(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_' }

// envContextRe finds the words a message uses as an environment: "test" is one when the message
// says so ("in test", "test 环境", "to prod"), and "test-runner" is none.
var envContextRe = regexp.MustCompile(`\b(?:in|on|to|into|from|of|for|clone|copy|mirror)\s+(?:the\s+)?([a-z][a-z0-9_-]*)|` +
	`\b([a-z][a-z0-9_-]*)\s*(?:环境|env\b|environment)|^([a-z][a-z0-9_-]*)\s|(?:到|从|在)\s*([a-z][a-z0-9_-]*)`)

// envsInContext are the words s uses as environments. A search goes on from the word found, not
// past it: with a name masked, "status of   in test" holds "of in" and then "in test".
func envsInContext(s string) []string {
	var out []string
	for pos := 0; pos < len(s); {
		m := envContextRe.FindStringSubmatchIndex(s[pos:])
		if m == nil {
			break
		}
		next := pos + m[1]
		for g := 2; g+1 < len(m); g += 2 {
			if m[g] < 0 || g == 6 && pos > 0 { // the third form is the message's first word only
				continue
			}
			out = append(out, s[pos+m[g]:pos+m[g+1]])
			if m[g] > m[0] { // "in test": the word may open the next form
				next = pos + m[g]
			}
			break
		}
		pos = next
	}
	return out
}

var verbWords = regexp.MustCompile(`^(?:scale|restart|roll|rollback|back|deploy|show|list|get|set|delete|remove|stop|start|check|tail|give|run|make|bump|reduce|need|what|how|why|is|are|does|do|can|we|i|you|kick|off|build|create|look|up|on|with|at|up|down|status|doing|healthy|logs|events|config|image|canary|promote|abort|kill|flip|revert|undo|go|previous|version|revision|new|last|lines|copies|instances|replica|replicas|between|and|min|max|target|cpu|percent)$`)

var searchRe = regexp.MustCompile(`(?i)(?:搜一下|搜索|查一下|查找|search(?:\s+the\s+\w+)?\s+for|look\s+up|find)\s*(.+?)(?:\s+in\s+the\s+\w+)?$`)

func searchQuery(raw string) string {
	if m := searchRe.FindStringSubmatch(strings.TrimSpace(raw)); m != nil {
		q := strings.TrimSpace(m[1])
		q = docsPrefixRe.ReplaceAllString(q, "")
		return strings.TrimSpace(q)
	}
	return ""
}

// app is the app the message names: a known one, or the guess when the apps are unknown.
func (sl slots) app() (string, bool) {
	if len(sl.apps) > 0 {
		return sl.apps[0], true
	}
	return sl.guess, sl.unknown && sl.guess != ""
}

// get returns the slot a tool's argument name asks for.
func (sl slots) get(tool, name string) (any, bool) {
	switch name {
	case "app":
		if len(sl.apps) > 0 {
			return sl.apps[0], true
		}
		if len(sl.near) == 0 && sl.guess != "" {
			return sl.guess, true
		}
	case "build":
		return sl.build, sl.build != ""
	case "replicas":
		if tool == toolname.ScaleApp && len(sl.numbers) == 0 && len(sl.apps) > 0 {
			return nil, false
		}
		if len(sl.numbers) > 0 {
			return sl.numbers[len(sl.numbers)-1], true
		}
	case "min_replicas":
		if len(sl.numbers) >= 2 {
			return sl.numbers[0], true
		}
	case "max_replicas":
		if len(sl.numbers) >= 2 {
			return sl.numbers[1], true
		}
	case "image":
		if tool == toolname.CreateApp && sl.image == "" {
			return sl.newImage, sl.newImage != ""
		}
		return sl.image, sl.image != ""
	case "new_app":
		return sl.newName, sl.newName != ""
	case "weight_percent":
		return sl.percent, sl.percent > 0
	case "key":
		return sl.key, sl.key != ""
	case "value":
		return sl.value, sl.value != ""
	case "resources":
		return sl.resources, sl.resources != nil
	case "hard":
		if sl.quantity != "" && sl.quotaRes != "" {
			return map[string]any{sl.quotaRes: sl.quantity}, true
		}
	case "email":
		return sl.email, sl.email != ""
	case "role":
		return sl.role, sl.role != ""
	case "type":
		return sl.typ, sl.typ != ""
	case "name":
		return sl.name, sl.name != ""
	case "from_env":
		if len(sl.envs) >= 2 {
			return sl.envs[0], true
		}
	case "to_env":
		if len(sl.envs) >= 2 {
			return sl.envs[1], true
		}
	case "query":
		return sl.query, sl.query != ""
	case "update_mode":
		return sl.vpaMode, sl.vpaMode != ""
	case "metric":
		return sl.metric, sl.metric != ""
	}
	return nil, false
}

// optional adds the optional slots a tool takes.
func (sl slots) optional(tool string, args map[string]any) {
	if sl.env != "" && tool != toolname.CloneEnvironment {
		args["env"] = sl.env
	}
	if sl.tenant != "" {
		args["tenant"] = sl.tenant
	}
	switch tool {
	case toolname.RollbackApp:
		if len(sl.numbers) > 0 {
			args["revision"] = sl.numbers[len(sl.numbers)-1]
		}
	case toolname.ScaleApp:
		if _, ok := args["replicas"]; !ok {
			args["replicas"] = 0 // "stop x"
		}
	case toolname.SetHPA:
		args["cpu_target_percent"] = 70 // the usual default: the platform needs a CPU or memory target
		if sl.percent > 0 {
			args["cpu_target_percent"] = sl.percent
		}
	case toolname.GetPodLogs:
		if sl.lines > 0 {
			args["tail_lines"] = sl.lines
		}
		if sl.previous {
			args["previous"] = true
		}
	case toolname.ConfigDiff:
		if sl.since != "" {
			args["since"] = sl.since
		}
	case toolname.SetConfig:
		if sl.secret {
			args["secret"] = true
		}
	case toolname.GetEvents:
		if a, ok := args["app"]; ok {
			args["object"] = a
			delete(args, "app")
		}
	case toolname.ProvisionService:
		args["plan"] = first(sl.plan, "small")
	case toolname.TriggerBuild:
		if sl.ref != "" {
			args["ref"] = sl.ref
		}
	case toolname.ListBuilds:
		if len(sl.apps) == 1 {
			args["app"] = sl.apps[0]
		} else if sl.unknown && sl.guess != "" {
			args["app"] = sl.guess
		}
	case toolname.ListPods:
		if a, ok := sl.app(); ok {
			args["app"] = a
		}
	case toolname.Top, toolname.Rightsize:
		if a, ok := sl.app(); ok {
			args["app"] = a
		}
		if sl.quotaRes == "requests.memory" && tool == toolname.Top {
			args["sort_by"] = "memory"
		}
	case toolname.CreateApp:
		args["app"] = args["new_app"]
		delete(args, "new_app")
		if n := len(sl.numbers); n > 0 {
			args["replicas"] = sl.numbers[n-1]
		}
	case toolname.QueryMetrics:
		switch {
		case sl.sinceSecs > 0:
			args["range"] = strconv.Itoa(sl.sinceSecs) + "s"
		case sl.since != "":
			args["range"] = sl.since
		}
	case toolname.GetBill:
		if sl.period != "" {
			args["period"] = sl.period
		}
	}
	if a, ok := sl.app(); ok && tool == toolname.GetEvents {
		args["object"] = a
	}
	if tool == toolname.GetPodLogs {
		if sl.grep != "" {
			args["grep"] = sl.grep
		}
		if sl.sinceSecs > 0 {
			args["since_seconds"] = sl.sinceSecs
		}
	}
}

// ask is the short question for a missing or ambiguous slot.
func (sl slots) ask(tool, name string, v view, s string) string {
	cn := hasHan(s)
	switch name {
	case "app":
		if len(sl.near) == 1 {
			return pick(cn, fmt.Sprintf("你是说 %s 吗？", sl.near[0]), fmt.Sprintf("Did you mean %s?", sl.near[0]))
		}
		if len(sl.near) > 1 {
			return pick(cn, fmt.Sprintf("是哪个应用：%s？", strings.Join(sl.near, "、")), fmt.Sprintf("Which app do you mean: %s?", strings.Join(sl.near, " or ")))
		}
		if len(v.apps) > 0 {
			return pick(cn, fmt.Sprintf("要对哪个应用执行 %s？这里有：%s？", tool, strings.Join(v.apps, "、")),
				fmt.Sprintf("Which app should %s act on? There are: %s?", tool, strings.Join(v.apps, ", ")))
		}
		return pick(cn, "是哪个应用？", "Which app?")
	case "replicas":
		return pick(cn, fmt.Sprintf("%s 要调整到几个副本？", first(sl.apps...)), fmt.Sprintf("How many replicas should %s have?", first(sl.apps...)))
	case "image":
		return pick(cn, "要发布哪个镜像（例如 registry.example.com/team/app:1.2.3）？", "Which image should I deploy (e.g. registry.example.com/team/app:1.2.3)?")
	case "weight_percent":
		return pick(cn, "金丝雀要分多少流量（1-99%）？", "What share of traffic should the canary get (1-99%)?")
	case "min_replicas", "max_replicas":
		return pick(cn, "自动扩缩容的最小和最大副本数是多少？", "What are the minimum and maximum replicas for the autoscaler?")
	case "key", "value":
		return pick(cn, "要设置哪个配置项，值是什么（例如 LOG_LEVEL=debug）？", "Which key and value should I set (e.g. LOG_LEVEL=debug)?")
	case "from_env", "to_env":
		return pick(cn, "从哪个环境复制到哪个环境？", "From which environment to which?")
	case "email", "role":
		return pick(cn, "要添加谁（邮箱），什么角色？", "Whom should I add (e-mail), and with which role?")
	case "type", "name":
		return pick(cn, "要开哪种服务（redis/mysql/postgresql/kafka），叫什么名字？", "Which service (redis, mysql, postgresql, kafka), and what name?")
	case "hard":
		return pick(cn, "要把哪项配额（cpu、内存、pods）改成多少？", "Which quota (cpu, memory, pods) should change, and to what?")
	case "query":
		return pick(cn, "要搜什么？", "What should I look up?")
	case "update_mode":
		return pick(cn, "VPA 用哪种模式：Off（只给推荐）、Initial（启动时设置）、Recreate（驱逐后重建）还是 InPlaceOrRecreate（尽量原地调整）？",
			"Which VPA mode: Off (recommendations only), Initial (set at pod start), Recreate (evict to apply) or InPlaceOrRecreate (resize in place where possible)?")
	case "metric":
		return pick(cn, "看哪个指标：CPU、内存、重启、网络、请求量、5xx 错误率还是 p95 延迟？",
			"Which metric: CPU, memory, restarts, network, request rate, 5xx ratio or p95 latency?")
	case "resources":
		return pick(cn, "要把 CPU 和内存调到多少（例如 2c4g，或 memory limit 1Gi）？", "What CPU and memory should it get (e.g. 2c4g, or memory limit 1Gi)?")
	}
	return pick(cn, "能再具体一点吗？", "Could you be more specific?")
}
