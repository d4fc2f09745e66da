package dingtalk

import (
	"strings"
	"testing"
)

func TestToMarkdown(t *testing.T) {
	for _, tc := range []struct {
		name, md string
		want     []string
		never    []string
	}{
		{"bold and heading", "## 原因\n**OOMKilled**：内存超限", []string{"## 原因", "**OOMKilled**：内存超限"}, nil},
		{"link", "见 [金丝雀发布](https://docs.example.com/canary (guide))", []string{"[金丝雀发布](https://docs.example.com/canary)"}, nil},
		{"table", "| 应用 | 就绪 |\n|---|---|\n| cart | 2/3 |", []string{"- **应用 | 就绪**", "- cart | 2/3"}, []string{"|---"}},
		{"list", "- 扩容\n- 观察", []string{"- 扩容\n- 观察"}, nil},
		// Hostile answers: raw HTML is dropped, unsafe link targets lose their target.
		{"script tag", "你好 <script>alert(1)</script> 世界", []string{"你好", "世界"}, []string{"<script", "&lt;script"}},
		{"html block", "<div onclick=\"x()\">\n<iframe src=\"https://evil.example\"></iframe>\n</div>\n\n正文", []string{"正文"}, []string{"<iframe", "<div", "onclick"}},
		{"javascript link", "[点我](javascript:alert(1))", []string{"点我"}, []string{"javascript:", "]("}},
		{"image onerror", "<img src=x onerror=alert(1)>图", []string{"图"}, []string{"<img", "onerror"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := toMarkdown(tc.md)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("toMarkdown(%q) =\n%s\nwant it to contain %q", tc.md, got, w)
				}
			}
			for _, n := range tc.never {
				if strings.Contains(got, n) {
					t.Errorf("toMarkdown(%q) =\n%s\nmust not contain %q", tc.md, got, n)
				}
			}
		})
	}
}
