// Package split cuts Markdown into retrieval chunks at headings, keeping each chunk's section
// path. A heading may carry a stable id as `## 金丝雀发布 {#canary}`; the chunk id is the
// prefix plus that anchor (or a slug of the path), so ids survive edits of the text.
package split

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"k8s-manage/knowledge"
)

// Options configure Markdown.
type Options struct {
	// IDPrefix starts every chunk id, e.g. "manual/".
	IDPrefix string
	Source   string
	Kind     string
	Tenant   string
	// MaxRunes splits longer sections at paragraph boundaries (default 1500).
	MaxRunes int
}

var (
	headingRe = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*$`)
	anchorRe  = regexp.MustCompile(`\s*\{#([A-Za-z0-9_./-]+)\}\s*$`)
	tagsRe    = regexp.MustCompile(`^<!--\s*tags:\s*(.*?)\s*-->$`)
)

type section struct {
	level   int
	title   string
	anchor  string
	path    []string
	tags    []string
	content []string
}

// Markdown splits a document. Sections without text of their own (only sub-headings) yield no chunk.
// A line `<!-- tags: a, b -->` right under a heading sets that chunk's tags.
func Markdown(md string, opts Options) ([]knowledge.Chunk, error) {
	if opts.MaxRunes <= 0 {
		opts.MaxRunes = 1500
	}
	var sections []*section
	var stack []*section
	cur := &section{}
	fenced := false
	for _, line := range strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		m := headingRe.FindStringSubmatch(line)
		if fenced || m == nil {
			if t := tagsRe.FindStringSubmatch(strings.TrimSpace(line)); t != nil && len(cur.content) == 0 {
				cur.tags = splitTags(t[1])
				continue
			}
			cur.content = append(cur.content, line)
			continue
		}
		sections = append(sections, cur)
		level, title := len(m[1]), m[2]
		anchor := ""
		if a := anchorRe.FindStringSubmatch(title); a != nil {
			anchor = a[1]
			title = strings.TrimSpace(anchorRe.ReplaceAllString(title, ""))
		}
		for len(stack) > 0 && stack[len(stack)-1].level >= level {
			stack = stack[:len(stack)-1]
		}
		path := make([]string, 0, len(stack)+1)
		for _, s := range stack {
			path = append(path, s.title)
		}
		path = append(path, title)
		cur = &section{level: level, title: title, anchor: anchor, path: path}
		stack = append(stack, cur)
	}
	sections = append(sections, cur)

	var out []knowledge.Chunk
	seen := map[string]bool{}
	for _, s := range sections {
		body := strings.TrimSpace(strings.Join(s.content, "\n"))
		if body == "" {
			continue
		}
		id := s.anchor
		if id == "" {
			id = slug(s.path)
		}
		id = opts.IDPrefix + id
		if seen[id] {
			return nil, fmt.Errorf("split %s: chunk id %q is used twice (give the heading %q its own {#anchor})", opts.Source, id, s.title)
		}
		seen[id] = true
		title := s.title
		if title == "" {
			title = opts.Source
		}
		for i, part := range pieces(body, opts.MaxRunes) {
			cid := id
			if i > 0 {
				cid = fmt.Sprintf("%s#%d", id, i+1)
			}
			out = append(out, knowledge.Chunk{ID: cid, Title: title, Section: s.path, Content: part, Tags: s.tags,
				Source: opts.Source, Kind: opts.Kind, Tenant: opts.Tenant})
		}
	}
	return out, nil
}

func splitTags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// pieces cuts text at blank lines into parts of at most max runes (a longer paragraph stays whole).
func pieces(body string, max int) []string {
	if utf8.RuneCountInString(body) <= max {
		return []string{body}
	}
	var out []string
	var cur strings.Builder
	for _, para := range strings.Split(body, "\n\n") {
		if cur.Len() > 0 && utf8.RuneCountInString(cur.String())+utf8.RuneCountInString(para) > max {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
		cur.WriteString(para + "\n\n")
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slug makes an id from a section path: ASCII words, or a short hash for other scripts.
func slug(path []string) string {
	joined := strings.Join(path, "/")
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(joined), "-"), "-")
	if len(s) >= 3 && len(s) >= len(joined)/2 {
		return s
	}
	h := sha256.Sum256([]byte(joined))
	return "s-" + hex.EncodeToString(h[:4])
}
