package split

import (
	"strings"
	"testing"
)

const doc = "# 帮助手册 {#manual}\n\n简介段落。\n\n## 应用与部署 {#apps}\n<!-- tags: deploy, app -->\n部署应用的说明。\n\n### 金丝雀发布 {#canary}\n\n金丝雀发布把一部分副本换成新版本。\n\n```\n# not a heading\n```\n\n## No Anchor Here\n\ntext\n"

func TestMarkdown(t *testing.T) {
	cs, err := Markdown(doc, Options{IDPrefix: "manual/", Source: "docs/user/x.md", Kind: "manual"})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	want := []string{"manual/manual", "manual/apps", "manual/canary", "manual/no-anchor-here"}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("ids = %v, want %v", ids, want)
	}
	canary := cs[2]
	if strings.Join(canary.Section, " > ") != "帮助手册 > 应用与部署 > 金丝雀发布" || canary.Title != "金丝雀发布" {
		t.Errorf("section = %v title = %q", canary.Section, canary.Title)
	}
	if !strings.Contains(canary.Content, "# not a heading") {
		t.Error("fenced line taken as a heading")
	}
	if strings.Join(cs[1].Tags, ",") != "deploy,app" {
		t.Errorf("tags = %v", cs[1].Tags)
	}
	// Editing the text keeps the id, changes the hash.
	cs2, _ := Markdown(strings.Replace(doc, "一部分副本", "少量副本", 1), Options{IDPrefix: "manual/", Source: "docs/user/x.md", Kind: "manual"})
	if cs2[2].ID != canary.ID || cs2[2].Hash() == canary.Hash() || cs2[1].Hash() != cs[1].Hash() {
		t.Error("ids must be stable and hashes follow content")
	}
}

func TestMarkdownLongSectionAndDuplicates(t *testing.T) {
	long := "## Long {#long}\n\n" + strings.Repeat("段落内容。", 100) + "\n\n" + strings.Repeat("第二段。", 100) + "\n"
	cs, err := Markdown(long, Options{MaxRunes: 600})
	if err != nil || len(cs) != 2 || cs[1].ID != "long#2" {
		t.Fatalf("chunks = %d %v", len(cs), err)
	}
	if _, err := Markdown("## A {#x}\na\n## B {#x}\nb\n", Options{}); err == nil {
		t.Fatal("duplicate anchors accepted")
	}
}
