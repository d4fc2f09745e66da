package tools

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// secretPatterns match secret values in text a tool returns (logs, events, configs): they are
// replaced before the model, a chat message or a log line can carry them.
var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret)["']?\s*[:=]\s*["']?)([^\s"',;&]{3,})`),
	regexp.MustCompile(`(?i)(authorization:\s*(?:bearer|basic)\s+)([A-Za-z0-9._~+/=-]{8,})`),
	regexp.MustCompile(`\b(xox[abpr]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16})\b`),
	regexp.MustCompile(`(://[^:/\s"]+:)([^@\s"]+)(@)`),
	regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----`),
}

// Redacted replaces a secret.
const Redacted = "******"

// Redact masks secrets in s.
func Redact(s string) string {
	for i, re := range secretPatterns {
		switch i {
		case 2, 4:
			s = re.ReplaceAllString(s, Redacted)
		case 3:
			s = re.ReplaceAllString(s, "${1}"+Redacted+"${3}")
		default:
			s = re.ReplaceAllString(s, "${1}"+Redacted)
		}
	}
	return s
}

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
	if tool != "set_config" || !strings.Contains(args, `"secret"`) {
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
