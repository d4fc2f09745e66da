package builtin

import (
	"regexp"
	"slices"
	"strings"
)

// Symptoms: a message that reports something failing ("won't start", "503", "起不来", "打不开")
// is a question for the diagnosis, scoped to the resource it names (an app of the tenant, or any
// other name, which the diagnose tool resolves against the namespace: a pod, a service, an
// ingress host, a PVC), or the whole environment when it names none. This is vocabulary, not
// phrasing: the words people use for failures, in English and Chinese.

// symptomWords are matched with has (English at a word start, Chinese anywhere).
var symptomWords = []string{
	// English: failing, not starting, not serving, slow, stuck.
	"crash", "restarting", "keeps restarting", "restart loop", "won't start", "wont start", "doesn't start", "does not start", "can't start",
	"cannot start", "not starting", "fails to start", "failed to start", "fail", "broken", "is down", "are down", "went down", "dead",
	"died", "killed", "oom", "evicted", "pending", "stuck", "hang", "hung", "slow", "latency", "timeout", "timing out", "times out",
	"timed out", "unreachable", "can't reach", "cannot reach", "can't connect", "cannot connect", "nobody can reach", "not reachable",
	"connection refused", "refused", "no endpoints", "500", "502", "503", "504", "bad gateway", "unavailable", "error", "exception",
	"not ready", "unready", "no pods", "not working", "doesn't work", "isn't working", "nothing works", "not coming up", "won't come up",
	"didn't come up", "never came up", "not running", "isn't running", "aren't running", "what's wrong", "whats wrong",
	"what's going on", "whats going on", "problem", "unhealthy", "degraded", "hasn't run", "not scaling", "doesn't scale", "won't scale",
	"can't pull", "cannot pull", "imagepull", "backoff", "anything broken", "something broken", "is broken", "misbehaving", "flaky",
	// Chinese.
	"挂", "起不来", "启动不了", "启动失败", "无法启动", "没起来", "起不起来", "只起来", "报错", "出错", "错误", "异常", "崩溃", "一直重启", "老是重启", "总是重启", "不停重启", "反复重启", "频繁重启", "重启了好几次",
	"打不开", "访问不了", "访问不到", "无法访问", "连不上", "连接不上", "没反应", "没有反应", "没有响应", "超时", "慢", "卡住", "卡在",
	"不正常", "有问题", "出问题", "故障", "失败", "不可用", "不 ready", "不ready", "没有 pod", "都没有", "进不来", "不通", "被杀", "拉不下来",
	"不扩容", "不工作", "没跑", "没在跑", "怎么回事", "咋回事", "跑不起来",
}

var (
	onlyOfRe = regexp.MustCompile(`\bonly\s+\d+\s*(?:of|/)\s*\d+|\bonly (?:some|part|half)\b|\bnone of\b|\b0\s*/\s*\d+\b|只有\s*\d+\s*个|只起|一个都没`)
	// A liveness verb negated: "isn't coming up", "does not respond", "never became ready",
	// "不能启动", "没有响应".
	negLiveRe = regexp.MustCompile(`\b(?:isn'?t|is not|aren'?t|are not|won'?t|will not|doesn'?t|does not|didn'?t|did not|can'?t|cannot|never|not|no longer|hasn'?t|has not|haven'?t)\s+(?:[a-z]+\s+){0,2}?(?:start|come up|coming up|came up|become ready|became ready|run|running|work|working|load|loading|respond|responding|serv|ready|scal|boot|launch|reachable|accessible|up\b)|` +
		`不\s*(?:能|会)?\s*(?:启动|运行|工作|响应|扩|访问|服务|ready)|没(?:有)?[^，。,.!?！？]{0,8}?(?:启动|起来|运行|响应|反应|跑)`)
	whyRe = regexp.MustCompile(`^(?:why\b|how come\b)|\bwhy\b.*\?$|为什么|为啥|怎么(?:回事|会|不|总|老|一直)`)
)

// symptom says whether the message reports a failure; why says whether it asks why.
func symptom(s string) (found, why bool) {
	why = whyRe.MatchString(s)
	if onlyOfRe.MatchString(s) || negLiveRe.MatchString(s) {
		return true, why
	}
	for _, w := range symptomWords {
		if has(s, w) {
			return true, why
		}
	}
	return false, why
}

// Resource names in a message, best first: a host, a Kubernetes-style name (a dash or a digit
// in it), a word next to a kind noun ("the toolbox pod", "pvc mysql-data", "wiki 服务"), and then
// the first word that is no common English word.
var (
	hostRe     = regexp.MustCompile(`(?:https?://)?\b([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,})\b`)
	k8sNameRe  = regexp.MustCompile(`\b[a-z][a-z0-9]*(?:-[a-z0-9]+)+\b|\b[a-z]+[0-9][a-z0-9]*\b`)
	kindNounRe = regexp.MustCompile(`(?:\b(?:pod|pvc|svc|service|ingress|deployment|deploy|statefulset|sts|cronjob|job|hpa|app|application|claim)\s+|(?:域名|服务|应用|容器组|实例)\s*)([a-z][a-z0-9.-]*[a-z0-9])|([a-z][a-z0-9.-]*[a-z0-9])\s*(?:\s(?:pods?|service|svc|ingress|deployment|app|job|cronjob|pvc|hpa)\b|服务|应用|的\s*(?:pod|服务|域名|hpa|外网|地址|接口|页面))`)
)

// resourceNamed is the name the message gives what is failing, or "".
func resourceNamed(s string, sl slots, v view) string {
	if len(sl.apps) > 0 {
		return sl.apps[0]
	}
	if sl.tenant != "" && sl.possessive { // "api-burst 的 hpa 不扩容": the owner of what fails, not a tenant
		return sl.tenant
	}
	skip := func(w string) bool {
		return w == "" || stopWords[w] || v.cat.isVerbWord(w) || commonWords[w] || slices.Contains(sl.envs, w) || w == sl.tenant || w == v.tenant ||
			strings.Contains(sl.image, w) || strings.Contains(sl.email, w) || slices.Contains(symptomWords, w) || len(w) < 2
	}
	for _, m := range hostRe.FindAllStringSubmatch(s, -1) {
		if h := m[1]; !skip(h) && !strings.Contains(sl.email, h) && !strings.Contains(sl.image, h) {
			return h
		}
	}
	for _, m := range kindNounRe.FindAllStringSubmatch(s, -1) {
		if w := first(m[1], m[2]); !skip(w) {
			return w
		}
	}
	for _, w := range k8sNameRe.FindAllString(s, -1) {
		if !skip(w) && !onlyDigitsAndUnits(w) {
			return w
		}
	}
	for _, w := range wordRe.FindAllString(s, -1) {
		if !skip(w) && len(w) >= 3 {
			return w
		}
	}
	return ""
}

// onlyDigitsAndUnits: "502", "3of5", "24h" are no names.
func onlyDigitsAndUnits(w string) bool {
	letters := strings.TrimFunc(w, func(r rune) bool { return r >= '0' && r <= '9' })
	return len(letters) <= 3 && strings.ContainsAny(w, "0123456789") && !strings.Contains(w, "-")
}

// commonWords are English words that name no resource: function words, and the everyday verbs,
// adjectives and nouns of a report about a failure.
var commonWords = func() map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.Fields(`a an the this that these those it its it's they them their there here we our us you your i my me mine
		is are was were be been being am do does did doing done has have had having will would can could should may might must shall
		not no nor never none nothing nobody anything something everything anyone someone everyone any some all every each both either
		and or but so because since after before while when whenever where why how what which who whom whose if then than too very
		just only also again still already yet ever more most much many few less least lot lots of in on at to from by with without
		into onto over under up down out off about above below between through during against around near for as like
		today yesterday tomorrow now right morning night hour hours minute minutes day days week weeks time times ago soon later
		keep keeps kept keeping get gets got getting go goes went going gone come comes came coming give gives gave return returns
		returned returning say says said see seen seem seems seemed look looks looked make makes made take takes took use uses used
		work works worked working try tries tried run runs ran running start starts started starting stop stops stopped
		fail fails failed failing failure crash crashes crashed crashing die dies kill killed break breaks broke broken
		reach reached connect connected respond responds answer answers load loads loading open opens serve serves serving
		bad good ok okay fine wrong weird strange slow fast big small new old same other another whole
		page site website request requests response responses traffic users user customer customers people team
		error errors issue issues problem problems thing things stuff way deploy deployed deploying deployment release
		rotation rotate rotated change changed changes update updated upgrade upgraded pull pulls pulled pulling push image images
		container containers node nodes cluster namespace env environment production staging gateway bad-gateway endpoint endpoints
		ready unready pending stuck hang hanging dead alive healthy unhealthy fix fixed help please thanks thank hi hello hey
		anymore longer since-yesterday curl browser http https api url domain host called named`) {
		out[w] = true
	}
	return out
}()

// imperative says whether the message asks for the intent's change even though it reports a
// failure: a clause opens with the intent's verb (after an adverb such as 赶紧 or "just"), or the
// verb comes in a clause after the failure ("checkout 灰度有问题，赶紧撤回", "x 一直挂，重启").
// A verb before the failure tells what was done: "x 扩到 25 个副本，只起来一部分", "I restarted x
// and it still crashes".
func imperative(s string, in intent) bool {
	clauses := clauseRe.Split(s, -1)
	failing, acting := -1, -1
	for i, clause := range clauses {
		clause = adverbRe.ReplaceAllString(strings.TrimSpace(clause), "")
		if strings.HasPrefix(clause, "把") || strings.HasPrefix(clause, "将") {
			return true
		}
		reports, _ := symptom(clause)
		for _, v := range actionWords(in) {
			if strings.HasPrefix(clause, v) && !reports {
				return true
			}
			if acting < 0 && has(clause, v) && !reports { // "no pods" reports; it asks for nothing
				acting = i
			}
		}
		if reports && failing < 0 {
			failing = i
		}
	}
	return acting >= 0 && failing >= 0 && acting > failing
}

// actionWords are an intent's verbs and the words it needs beside them ("abort" of a canary).
func actionWords(in intent) []string {
	var out []string
	for _, w := range slices.Concat(in.verbs, in.needs) {
		if !slotTokens[w] {
			out = append(out, strings.TrimSuffix(w, "!"))
		}
	}
	return out
}

// slotTokens in an intent's needs stand for a filled slot, not a word.
var slotTokens = map[string]bool{"key": true, "image-slot": true, "two-numbers": true, "number": true, "build-id": true}

var (
	clauseRe = regexp.MustCompile(`[,.;!?，。；！？]|\bthen\b|\band\b|然后|再`)
	adverbRe = regexp.MustCompile(`^(?:(?:赶紧|马上|立刻|立即|先|快点?|现在|直接|just|quickly|immediately|now|asap)\s*)+`)
)
