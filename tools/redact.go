package tools

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"k8s-manage/internal/redact"
	"k8s-manage/internal/toolname"
)

// Redacted replaces a secret.
const Redacted = redact.Mask

// Redact masks secrets in s.
func Redact(s string) string { return redact.String(s) }

// CapLog keeps a log readable for a model: the last max lines, plus earlier lines that look
// like errors (up to max/2 of them), in order.
func CapLog(log string, max int) (string, bool) {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	if len(lines) <= max {
		return log, false
	}
	cut := len(lines) - max
	var kept []string
	budget := max / 2
	for _, l := range lines[:cut] {
		if budget > 0 && errorLine.MatchString(l) {
			kept = append(kept, l)
			budget--
		}
	}
	out := append(kept, "… ("+strconv.Itoa(cut-len(kept))+" lines omitted) …")
	out = append(out, lines[cut:]...)
	return strings.Join(out, "\n") + "\n", true
}

var errorLine = regexp.MustCompile(`(?i)\b(error|err|fatal|panic|exception|failed|refused|timeout|oom|killed)\b`)

// RedactArgs masks argument values that are secrets by declaration (set_config with secret),
// for approval requests, audit entries and events. The call itself keeps the value.
func RedactArgs(tool, args string) string {
	if tool != toolname.SetConfig || !strings.Contains(args, `"secret"`) {
		return Redact(args)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(args), &m); err != nil {
		return Redacted
	}
	if s, _ := m["secret"].(bool); s {
		m["value"] = Redacted
	}
	b, _ := json.Marshal(m)
	return string(b)
}
