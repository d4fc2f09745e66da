package dingtalk

import (
	"fmt"
	"strings"

	mdconv "k8s-manage/internal/markdown"
)

func escapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// dingDialect renders Markdown as the subset DingTalk's markdown messages show: headings,
// bold, italic, links, lists, quotes and code. Tables become lines (DingTalk has none), raw
// HTML is dropped, and only http, https and mailto links keep their target.
func dingDialect() mdconv.Dialect {
	return mdconv.Dialect{
		Escape:     escapeText,
		EscapeCode: escapeText,
		Bold:       func(s string) string { return "**" + s + "**" },
		Italic:     func(s string) string { return "*" + s + "*" },
		Strike:     func(s string) string { return s },
		Code:       func(s string) string { return "`" + s + "`" },
		CodeBlock:  func(_, code string) string { return "```\n" + code + "\n```" },
		Heading:    func(level int, s string) string { return strings.Repeat("#", min(max(level, 1), 6)) + " " + s },
		Link: func(text, href string) string {
			return "[" + strings.NewReplacer("[", "(", "]", ")").Replace(text) + "](" + strings.NewReplacer("(", "%28", ")", "%29", " ", "%20").Replace(href) + ")"
		},
		Bullet: func(depth int, ordered bool, n int) string {
			if ordered {
				return strings.Repeat("  ", depth) + fmt.Sprintf("%d. ", n)
			}
			return strings.Repeat("  ", depth) + "- "
		},
		Table: func(rows [][]string) string {
			var lines []string
			for i, r := range rows {
				line := strings.Join(r, " | ")
				if i == 0 {
					line = "**" + line + "**"
				}
				lines = append(lines, "- "+line)
			}
			return strings.Join(lines, "\n")
		},
		Quote: func(s string) string { return "> " + strings.ReplaceAll(s, "\n", "\n> ") },
		HTML:  func(string) string { return "" },
	}
}

// toMarkdown converts an answer to DingTalk markdown.
func toMarkdown(md string) string { return mdconv.Convert(md, dingDialect()) }
