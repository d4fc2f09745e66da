// Package text tokenizes Chinese and English text for retrieval: CJK runs become single
// characters and bigrams (no dictionary needed, robust to unseen words); Latin runs become
// lower-cased words with a light English stemmer, and sub-word pieces for identifiers such as
// CrashLoopBackOff.
package text

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Normalize folds full-width forms to ASCII and lower-cases.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// IsCJK reports Han, Hiragana, Katakana and Hangul characters.
func IsCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

// Tokens returns the lexical tokens of s: CJK unigrams and bigrams, English word stems and the
// camel-case parts of identifiers (from the original casing), numbers kept whole.
func Tokens(s string) []string {
	var out []string
	var word []rune
	var cjk []rune
	flushWord := func() {
		if len(word) == 0 {
			return
		}
		w := string(word)
		lw := strings.ToLower(w)
		if !stop[lw] {
			out = append(out, Stem(lw))
		}
		if parts := camelParts(w); len(parts) > 1 {
			for _, p := range parts {
				if lp := strings.ToLower(p); len(lp) > 1 && !stop[lp] {
					out = append(out, Stem(lp))
				}
			}
		}
		word = word[:0]
	}
	flushCJK := func() {
		for i, r := range cjk {
			if !cjkStop[r] {
				out = append(out, string(r))
			}
			if i+1 < len(cjk) {
				out = append(out, string(cjk[i:i+2]))
			}
		}
		cjk = cjk[:0]
	}
	for _, r := range foldWidth(s) {
		switch {
		case IsCJK(r):
			flushWord()
			cjk = append(cjk, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			flushCJK()
			word = append(word, r)
		default:
			flushWord()
			flushCJK()
		}
	}
	flushWord()
	flushCJK()
	return out
}

func foldWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		}
		b.WriteRune(r)
	}
	return b.String()
}

// camelParts splits CrashLoopBackOff into Crash, Loop, Back, Off and OOMKilled into OOM, Killed.
func camelParts(w string) []string {
	var parts []string
	start := 0
	rs := []rune(w)
	for i := 1; i < len(rs); i++ {
		lowerToUpper := unicode.IsLower(rs[i-1]) && unicode.IsUpper(rs[i])
		acronymEnd := i+1 < len(rs) && unicode.IsUpper(rs[i-1]) && unicode.IsUpper(rs[i]) && unicode.IsLower(rs[i+1])
		letterDigit := unicode.IsLetter(rs[i-1]) != unicode.IsLetter(rs[i])
		if lowerToUpper || acronymEnd || letterDigit {
			parts = append(parts, string(rs[start:i]))
			start = i
		}
	}
	return append(parts, string(rs[start:]))
}

// Stem is a light English stemmer: plural and common verb endings.
func Stem(w string) string {
	if utf8.RuneCountInString(w) <= 3 {
		return w
	}
	for _, suf := range []struct{ from, to string }{
		{"ies", "y"}, {"sses", "ss"}, {"ing", ""}, {"ed", ""}, {"es", ""}, {"s", ""},
	} {
		if strings.HasSuffix(w, suf.from) && len(w)-len(suf.from) >= 3 && !strings.HasSuffix(w, "ss") {
			return w[:len(w)-len(suf.from)] + suf.to
		}
	}
	return w
}

var stop = map[string]bool{
	"a": true, "an": true, "the": true, "is": true, "are": true, "was": true, "be": true, "to": true, "of": true,
	"and": true, "or": true, "in": true, "on": true, "for": true, "it": true, "my": true, "i": true, "do": true,
	"does": true, "how": true, "what": true, "why": true, "can": true, "with": true, "this": true, "that": true,
	"me": true, "we": true, "our": true, "you": true, "your": true, "at": true, "by": true, "from": true, "as": true,
	"if": true, "so": true, "get": true, "should": true, "when": true, "there": true, "its": true, "into": true,
}

// cjkStop are single characters too common to mean anything alone (they still form bigrams).
var cjkStop = map[rune]bool{
	'的': true, '了': true, '是': true, '在': true, '我': true, '们': true, '你': true, '吗': true, '呢': true,
	'么': true, '怎': true, '和': true, '与': true, '或': true, '把': true, '被': true, '就': true, '也': true,
	'都': true, '这': true, '那': true, '个': true, '一': true, '有': true, '要': true, '会': true, '能': true,
	'可': true, '以': true, '为': true, '什': true, '啊': true, '吧': true, '请': true, '下': true, '让': true,
}
