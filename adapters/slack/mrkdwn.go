package slack

import (
	"fmt"
	"strings"

	"k8s-manage/internal/markdown"
)

// escapeText escapes what Slack's mrkdwn treats as control characters: &, < and >. An answer
// can therefore never mention @channel or a user, nor open a link Slack did not get from us.
func escapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// mrkdwnDialect renders Markdown as Slack mrkdwn: *bold*, _italic_, ~strike~, <url|text>,
// bullets as •, tables as lines with the header in bold (Slack has no tables), raw HTML as
// escaped text.
func mrkdwnDialect() markdown.Dialect {
	return markdown.Dialect{
		Escape:     escapeText,
		EscapeCode: escapeText,
		Bold:       func(s string) string { return "*" + s + "*" },
		Italic:     func(s string) string { return "_" + s + "_" },
		Strike:     func(s string) string { return "~" + s + "~" },
		Code:       func(s string) string { return "`" + s + "`" },
		CodeBlock:  func(_, code string) string { return "```\n" + code + "\n```" },
		Heading:    func(_ int, s string) string { return "*" + s + "*" },
		Link: func(text, href string) string {
			return "<" + strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C").Replace(href) + "|" + text + ">"
		},
		Bullet: func(depth int, ordered bool, n int) string {
			if ordered {
				return strings.Repeat("    ", depth) + fmt.Sprintf("%d. ", n)
			}
			return strings.Repeat("    ", depth) + "• "
		},
		Table: func(rows [][]string) string {
			var lines []string
			for i, r := range rows {
				line := strings.Join(r, "  |  ")
				if i == 0 {
					line = "*" + line + "*"
				}
				lines = append(lines, line)
			}
			return strings.Join(lines, "\n")
		},
		Quote: func(s string) string { return "> " + strings.ReplaceAll(s, "\n", "\n> ") },
		HTML:  escapeText,
	}
}

// mrkdwn converts an answer written in Markdown to Slack mrkdwn.
func mrkdwn(md string) string { return markdown.Convert(md, mrkdwnDialect()) }
