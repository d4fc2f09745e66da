package slack

import (
	"strings"
	"testing"
)

func TestMrkdwn(t *testing.T) {
	for _, tc := range []struct {
		name, md string
		want     []string // all in the output
		never    []string // none in the output
	}{
		{"bold, italic, code", "**Cause:** the pod is _OOMKilled_; run `kubectl top pod`", []string{"*Cause:* the pod is _OOMKilled_; run `kubectl top pod`"}, []string{"**"}},
		{"heading", "## Next steps\nraise the limit", []string{"*Next steps*\n\nraise the limit"}, []string{"##"}},
		{"link", "see [the canary guide](https://docs.example.com/canary?a=1|2)", []string{"<https://docs.example.com/canary?a=1%7C2|the canary guide>"}, nil},
		{"bullets", "- one\n- two\n  - nested", []string{"• one", "• two", "    • nested"}, nil},
		{"ordered", "1. scale\n2. wait", []string{"1. scale", "2. wait"}, nil},
		{"table", "| app | ready |\n|---|---|\n| cart | 2/3 |", []string{"*app  |  ready*", "cart  |  2/3"}, []string{"|---"}},
		{"code block", "```yaml\nresources:\n  limits: {memory: 512Mi} # <b>\n```", []string{"```\nresources:\n  limits: {memory: 512Mi} # &lt;b&gt;\n```"}, []string{"<b>"}},
		// Hostile answers: nothing but our own markup gets through.
		{"script tag", "hello <script>alert(document.cookie)</script> world", []string{"&lt;script&gt;"}, []string{"<script"}},
		{"html block", "<div onclick=\"steal()\">\n<iframe src=\"https://evil.example\"></iframe>\n</div>", []string{"&lt;iframe"}, []string{"<iframe", "<div"}},
		{"javascript link", "[click me](javascript:alert(1)) and [x](data:text/html;base64,PHNjcmlwdD4=)", []string{"click me", "x"}, []string{"javascript:", "data:", "<"}},
		{"mention injection", "<!channel> ping <@U123> and <https://evil.example|docs>", []string{"&lt;!channel&gt;", "&lt;@U123&gt;"}, []string{"<!channel>", "<@U123>", "<https://evil"}},
		{"image onerror", "![x](https://e.example/x.png) <img src=x onerror=alert(1)>", []string{"<https://e.example/x.png|x>", "&lt;img"}, []string{"<img"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mrkdwn(tc.md)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("mrkdwn(%q) =\n%s\nwant it to contain %q", tc.md, got, w)
				}
			}
			for _, n := range tc.never {
				if strings.Contains(got, n) {
					t.Errorf("mrkdwn(%q) =\n%s\nmust not contain %q", tc.md, got, n)
				}
			}
		})
	}
}
