// Package corpus knows the project's knowledge sources: the help-center manual (cut into
// retrieval chunks in docs/ai/help-knowledge-base.jsonl) and the on-call FAQ
// (docs/ai/ops-faq-100.jsonl). It also renders the derived documents that `make docs` writes.
package corpus

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"k8s-manage/knowledge"
	"k8s-manage/knowledge/load"
	"k8s-manage/knowledge/split"
)

// Paths of the sources, relative to the repository root.
const (
	Manual       = "docs/user/help-center-manual.md"
	FAQ          = "docs/ai/ops-faq-100.jsonl"
	KB           = "docs/ai/help-knowledge-base.jsonl"
	KBMD         = "docs/ai/help-knowledge-base.md"
	FAQMD        = "docs/user/ops-faq-100.md"
	SourcePrefix = "docs/" // ingest owns every source under docs/
)

// ManualChunks splits the manual as the knowledge base stores it.
func ManualChunks(root string) ([]knowledge.Chunk, error) {
	return load.Markdown(filepath.Join(root, Manual), split.Options{IDPrefix: "manual/", Source: Manual, Kind: "manual"})
}

// Load returns every shared chunk: the knowledge-base file and the FAQ.
func Load(root string) ([]knowledge.Chunk, error) {
	kb, err := load.KBFile(filepath.Join(root, KB))
	if err != nil {
		return nil, err
	}
	faq, err := load.FAQFile(filepath.Join(root, FAQ), FAQ)
	if err != nil {
		return nil, err
	}
	return append(kb, faq...), nil
}

// KBJSONL renders the manual's chunks as docs/ai/help-knowledge-base.jsonl.
func KBJSONL(chunks []knowledge.Chunk) ([]byte, error) {
	var b strings.Builder
	for _, c := range chunks {
		line, err := json.Marshal(load.KBEntry{ID: c.ID, Title: c.Title, SectionPath: c.Section, Content: c.Content, Tags: c.Tags, Source: c.Source})
		if err != nil {
			return nil, err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

// KBMarkdown renders the chunks for people: one section per chunk with its id and path.
func KBMarkdown(chunks []knowledge.Chunk) []byte {
	var b strings.Builder
	b.WriteString("# 帮助中心知识库 (检索切片)\n\n")
	b.WriteString("由 `make docs` 从 " + Manual + " 生成，请勿手工编辑。每个切片对应手册中的一个带锚点的章节，")
	b.WriteString("id 在修改正文时保持不变，检索评测与回答引用都使用它。\n")
	for _, c := range chunks {
		fmt.Fprintf(&b, "\n## %s\n\n- id: `%s`\n- 章节: %s\n", c.Title, c.ID, strings.Join(c.Section, " > "))
		if len(c.Tags) > 0 {
			fmt.Fprintf(&b, "- 标签: %s\n", strings.Join(c.Tags, ", "))
		}
		b.WriteString("\n" + c.Content + "\n")
	}
	return []byte(b.String())
}

// FAQMarkdown renders the FAQ for people.
func FAQMarkdown(faqs []load.FAQ) []byte {
	var b strings.Builder
	b.WriteString("# 值班 FAQ：100 个常见问题\n\n")
	b.WriteString("由 `make docs` 从 " + FAQ + " 生成，请编辑 JSONL 后重新生成。每条包含症状、可能原因、如何检查、如何修复，以及机器人能帮你做什么。\n")
	for _, f := range faqs {
		fmt.Fprintf(&b, "\n## %s %s\n\n%s\n", strings.ToUpper(strings.TrimPrefix(f.ID, "faq-")), f.Question, f.Answer)
		if len(f.Tags) > 0 {
			fmt.Fprintf(&b, "\n标签：%s", strings.Join(f.Tags, "、"))
		}
		if len(f.RelatedTools) > 0 {
			fmt.Fprintf(&b, "；相关工具：`%s`", strings.Join(f.RelatedTools, "`, `"))
		}
		b.WriteString("\n")
	}
	return []byte(b.String())
}

// Generated returns every derived file (path relative to root -> content).
func Generated(root string) (map[string][]byte, error) {
	chunks, err := ManualChunks(root)
	if err != nil {
		return nil, err
	}
	kb, err := KBJSONL(chunks)
	if err != nil {
		return nil, err
	}
	faqs, err := load.ReadFAQ(filepath.Join(root, FAQ))
	if err != nil {
		return nil, err
	}
	return map[string][]byte{KB: kb, KBMD: KBMarkdown(chunks), FAQMD: FAQMarkdown(faqs)}, nil
}
