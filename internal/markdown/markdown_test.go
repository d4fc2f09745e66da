package markdown

import (
	"strings"
	"testing"
)

func TestSafeURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://docs.example.com/a?b=1":     "https://docs.example.com/a?b=1",
		"http://x.example":                   "http://x.example",
		"mailto:ops@example.com":             "mailto:ops@example.com",
		"javascript:alert(1)":                "",
		" JavaScript:alert(1)":               "",
		"data:text/html;base64,PHNjcmlwdD4=": "",
		"vbscript:msgbox(1)":                 "",
		"/relative/path":                     "",
		"file:///etc/passwd":                 "",
	} {
		if got := SafeURL(in); got != want {
			t.Errorf("SafeURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// A dialect that marks every construct shows the walk reaches each of them.
func TestConvertWalksEveryConstruct(t *testing.T) {
	d := Dialect{
		Escape: func(s string) string { return s }, EscapeCode: func(s string) string { return s },
		Bold: func(s string) string { return "B(" + s + ")" }, Italic: func(s string) string { return "I(" + s + ")" },
		Strike: func(s string) string { return "S(" + s + ")" }, Code: func(s string) string { return "C(" + s + ")" },
		CodeBlock: func(lang, s string) string { return "K[" + lang + "](" + s + ")" },
		Heading:   func(l int, s string) string { return "H" + strings.Repeat("#", l) + "(" + s + ")" },
		Link:      func(text, href string) string { return "L(" + text + "," + href + ")" },
		Bullet:    func(depth int, ordered bool, n int) string { return strings.Repeat(">", depth) + "* " },
		Table:     func(rows [][]string) string { return "T" + strings.Repeat("r", len(rows)) },
		Quote:     func(s string) string { return "Q(" + s + ")" },
		HTML:      func(raw string) string { return "X" },
	}
	got := Convert("# T\n\n**b** _i_ ~~s~~ `c` [l](https://e.example) <b>x</b>\n\n- a\n  - b\n\n> q\n\n```go\nx := 1\n```\n\n| h |\n|---|\n| v |\n", d)
	for _, want := range []string{"H#(T)", "B(b)", "I(i)", "S(s)", "C(c)", "L(l,https://e.example)", "XxX", "* a", ">* b", "Q(q)", "K[go](x := 1)", "Trr"} {
		if !strings.Contains(got, want) {
			t.Errorf("Convert lacks %q:\n%s", want, got)
		}
	}
}
