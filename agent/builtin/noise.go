package builtin

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Noisy input, handled once before any intent is read: @mentions and emoji go, ops shorthand is
// spelled out, Chinese numerals become digits, and a word one edit away from exactly one word of
// the vocabulary or one of the tenant's apps is read as that word ("scael nignx" is "scale
// nginx"). Two readings equally close are left alone, so the slot extractors ask.

var (
	mentionRe = regexp.MustCompile(`(?:^|\s)@[\w.-]+`)
	// shorthand are words people type in ops chat, spelled out (or dropped: "rn" is "right now").
	shorthand = map[string]string{"rb": "roll back", "rn": "", "asap": "", "pls": "please", "plz": "please", "thx": "thanks",
		"ty": "thanks", "u": "you", "ur": "your", "ls": "list", "nuke": "delete", "k": "ok", "dunno": "do not know"}
	wordTokenRe = regexp.MustCompile(`[A-Za-z][A-Za-z0-9'-]*`)
	// A Chinese number with what it counts, or after a word that takes an amount.
	cnCountRe = regexp.MustCompile(`(百分之)?([零一二两三四五六七八九十百]+)\s*(个|天|小时|分钟|行|核|倍|成|次|副本|实例|台|%)`)
	countedRe = regexp.MustCompile(`^\s*(?:副本|实例|pod|replica|节点|容器)`)
	cnAfterRe = regexp.MustCompile(`(再|到|扩|加|减|缩|砍|调成|改成|成|第|最少|最多|最小|最大)\s*([零一二两三四五六七八九十]+)`)
)

// clean removes what carries no request and corrects typos against the vocabulary and v's apps.
// It keeps the case of what it does not change (config keys are upper-case).
func clean(text string, v view) string {
	text = mentionRe.ReplaceAllString(text, " ")
	text = strings.Map(func(r rune) rune {
		if isEmoji(r) {
			return ' '
		}
		return r
	}, text)
	text = wordTokenRe.ReplaceAllStringFunc(text, func(w string) string {
		lw := strings.ToLower(w)
		if full, ok := shorthand[lw]; ok {
			return full
		}
		if w != lw || len(w) < 5 || strings.Contains(w, "'") || v.cat.vocabulary[lw] || stopWords[lw] || commonWords[lw] || slices.Contains(v.envs, lw) {
			return w
		}
		for _, a := range v.apps {
			if a == lw {
				return w
			}
		}
		if inflected(lw, v.cat.vocabulary) {
			return w
		}
		if c, ok := correction(lw, v); ok && !strings.HasPrefix(lw, c) { // "deployed" is no typo of "deploy"
			return c
		}
		return w
	})
	var b strings.Builder
	at := 0
	for _, g := range cnCountRe.FindAllStringSubmatchIndex(text, -1) {
		b.WriteString(text[at:g[0]])
		at = g[1]
		n, ok := cnNumber(text[g[4]:g[5]])
		// "一个" is mostly "a": an amount only for what replicas count, or after a verb of amount.
		if ok && text[g[4]:g[5]] == "一" && text[g[6]:g[7]] == "个" && !countedRe.MatchString(text[g[1]:]) {
			ok = false
		}
		// "上一个容器", "这一个" are no amounts.
		if before := text[:g[0]]; !ok || g[2] < 0 && strings.HasSuffix(before, "上") || strings.HasSuffix(before, "下") ||
			strings.HasSuffix(before, "这") || strings.HasSuffix(before, "那") || strings.HasSuffix(before, "哪") || strings.HasSuffix(before, "每") {
			b.WriteString(text[g[0]:g[1]])
			continue
		}
		if g[2] >= 0 {
			b.WriteString(strconv.Itoa(n) + "%")
			continue
		}
		b.WriteString(strconv.Itoa(n) + text[g[6]:g[7]])
	}
	b.WriteString(text[at:])
	text = b.String()
	return cnAfterRe.ReplaceAllStringFunc(text, func(m string) string {
		g := cnAfterRe.FindStringSubmatch(m)
		if n, ok := cnNumber(g[2]); ok {
			return g[1] + strconv.Itoa(n)
		}
		return m
	})
}

// inflected says w is a form of a word (spending, deployed, instances): such words are read as
// they are, not corrected to a word one letter away ("spending" is not "pending").
func inflected(w string, vocabulary map[string]bool) bool {
	for _, suf := range []string{"ing", "ed", "ly", "es", "s", "er"} {
		if stem, ok := strings.CutSuffix(w, suf); ok && (suf == "ing" || suf == "ed" || suf == "ly" ||
			vocabulary[stem] || commonWords[stem] || vocabulary[stem+"e"] || commonWords[stem+"e"]) {
			return true
		}
	}
	return false
}

func isEmoji(r rune) bool {
	return unicode.Is(unicode.So, r) || (r >= 0x1F000 && r <= 0x1FAFF) || r == 0xFE0F || r == 0x200D
}

// correction is the one word of the vocabulary or the apps one edit away from w (two for long
// words); false when none is, or when two are equally close.
func correction(w string, v view) (string, bool) {
	best, bestD, ties := "", 3, 0
	try := func(c string) {
		if abs(len(c)-len(w)) > 2 {
			return
		}
		d := osa(w, c)
		limit := 1
		if len(w) >= 7 && len(c) == len(w) { // two swaps or substitutions in a long word
			limit = 2
		}
		if d > limit {
			return
		}
		switch {
		case d < bestD:
			best, bestD, ties = c, d, 0
		case d == bestD && c != best:
			ties++
		}
	}
	for c := range v.cat.vocabulary {
		if len(c) >= 4 {
			try(c)
		}
	}
	for _, a := range v.apps {
		try(a)
	}
	return best, best != "" && ties == 0
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// osa is the optimal string alignment distance: insertions, deletions, substitutions and
// transpositions of neighbours ("scael" is one edit from "scale").
func osa(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// cnNumber reads a Chinese number up to 999 ("十五", "两", "二十", "一百").
func cnNumber(s string) (int, bool) {
	digit := map[rune]int{'零': 0, '一': 1, '二': 2, '两': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}
	total, cur := 0, 0
	for _, r := range s {
		switch r {
		case '十':
			if cur == 0 {
				cur = 1
			}
			total += cur * 10
			cur = 0
		case '百':
			if cur == 0 {
				cur = 1
			}
			total += cur * 100
			cur = 0
		default:
			n, ok := digit[r]
			if !ok {
				return 0, false
			}
			cur = n
		}
	}
	return total + cur, true
}
