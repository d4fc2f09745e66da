// Package redact masks secret values (passwords, tokens, keys, credentials in URLs, private
// keys) in text before a log line, an API answer, a chat message or the model can carry them.
package redact

import "regexp"

// secretPatterns match secret values in text the service passes on (logs, events, configs).
var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret)["']?\s*[:=]\s*["']?)([^\s"',;&]{3,})`),
	regexp.MustCompile(`(?i)(authorization:\s*(?:bearer|basic)\s+)([A-Za-z0-9._~+/=-]{8,})`),
	regexp.MustCompile(`\b(xox[abpr]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16})\b`),
	regexp.MustCompile(`(://[^:/\s"]+:)([^@\s"]+)(@)`),
	regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----`),
}

// Mask replaces a secret.
const Mask = "******"

// String masks secrets in s.
func String(s string) string {
	for i, re := range secretPatterns {
		switch i {
		case 2, 4:
			s = re.ReplaceAllString(s, Mask)
		case 3:
			s = re.ReplaceAllString(s, "${1}"+Mask+"${3}")
		default:
			s = re.ReplaceAllString(s, "${1}"+Mask)
		}
	}
	return s
}
