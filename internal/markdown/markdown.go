// Package markdown converts an answer written in Markdown (CommonMark + GFM tables and
// strikethrough, parsed by goldmark) into a chat surface's own markup, given as a Dialect.
// Whatever the answer says, only the dialect's markup comes out: raw HTML is never passed
// through (the dialect escapes or drops it), and links keep their target only when it is
// http, https or mailto.
package markdown

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
)

// Dialect is a surface's markup. Every function receives text that was already escaped
// with Escape (code receives raw code to escape itself, with EscapeCode).
type Dialect struct {
	Escape     func(string) string // plain text
	EscapeCode func(string) string // inside inline code and code blocks
	Bold       func(string) string
	Italic     func(string) string
	Strike     func(string) string
	Code       func(string) string
	CodeBlock  func(lang, code string) string
	Heading    func(level int, s string) string
	Link       func(text, href string) string // href is a vetted http(s)/mailto URL
	Bullet     func(depth int, ordered bool, n int) string
	Table      func(rows [][]string) string // cells are converted inline markup
	Quote      func(s string) string
	// HTML receives raw HTML found in the answer (inline or block): escape it or drop it.
	HTML func(raw string) string
}

// Convert renders src in d. (A parser per call: answers are small, and no state is shared.)
func Convert(src string, d Dialect) string {
	source := []byte(src)
	parser := goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify)).Parser()
	doc := parser.Parse(text.NewReader(source))
	c := converter{src: source, d: d}
	var b strings.Builder
	c.blocks(&b, doc, 0)
	return strings.TrimRight(b.String(), "\n")
}

// SafeURL returns the link target when its scheme is http, https or mailto, else "".
func SafeURL(dest string) string {
	u, err := url.Parse(strings.TrimSpace(dest))
	if err != nil {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "mailto":
		return u.String()
	}
	return ""
}

type converter struct {
	src []byte
	d   Dialect
}

func (c converter) blocks(b *strings.Builder, parent ast.Node, depth int) {
	for n := parent.FirstChild(); n != nil; n = n.NextSibling() {
		c.block(b, n, depth)
	}
}

func (c converter) block(b *strings.Builder, n ast.Node, depth int) {
	switch n := n.(type) {
	case *ast.Heading:
		b.WriteString(c.d.Heading(n.Level, c.inlines(n)) + "\n\n")
	case *ast.Paragraph, *ast.TextBlock:
		b.WriteString(c.inlines(n) + "\n\n")
	case *ast.ThematicBreak:
		b.WriteString("———\n\n")
	case *ast.FencedCodeBlock:
		b.WriteString(c.d.CodeBlock(string(n.Language(c.src)), c.lines(n)) + "\n\n")
	case *ast.CodeBlock:
		b.WriteString(c.d.CodeBlock("", c.lines(n)) + "\n\n")
	case *ast.Blockquote:
		var inner strings.Builder
		c.blocks(&inner, n, depth)
		b.WriteString(c.d.Quote(strings.TrimRight(inner.String(), "\n")) + "\n\n")
	case *ast.List:
		i := n.Start
		for item := n.FirstChild(); item != nil; item = item.NextSibling() {
			var inner strings.Builder
			for ch := item.FirstChild(); ch != nil; ch = ch.NextSibling() {
				if l, ok := ch.(*ast.List); ok {
					var sub strings.Builder
					c.block(&sub, l, depth+1)
					inner.WriteString("\n" + strings.TrimRight(sub.String(), "\n"))
					continue
				}
				var one strings.Builder
				c.block(&one, ch, depth)
				inner.WriteString(strings.TrimRight(one.String(), "\n"))
			}
			b.WriteString(c.d.Bullet(depth, n.IsOrdered(), i) + inner.String() + "\n")
			i++
		}
		if depth == 0 {
			b.WriteString("\n")
		}
	case *east.Table:
		var rows [][]string
		for r := n.FirstChild(); r != nil; r = r.NextSibling() {
			var row []string
			for cell := r.FirstChild(); cell != nil; cell = cell.NextSibling() {
				row = append(row, c.inlines(cell))
			}
			rows = append(rows, row)
		}
		b.WriteString(c.d.Table(rows) + "\n\n")
	case *ast.HTMLBlock:
		var raw bytes.Buffer
		for i := 0; i < n.Lines().Len(); i++ {
			seg := n.Lines().At(i)
			raw.Write(seg.Value(c.src))
		}
		if n.HasClosure() {
			raw.Write(n.ClosureLine.Value(c.src))
		}
		if s := c.d.HTML(raw.String()); s != "" {
			b.WriteString(s + "\n\n")
		}
	default:
		c.blocks(b, n, depth)
	}
}

func (c converter) lines(n ast.Node) string {
	var b bytes.Buffer
	for i := 0; i < n.Lines().Len(); i++ {
		seg := n.Lines().At(i)
		b.Write(seg.Value(c.src))
	}
	return c.d.EscapeCode(strings.TrimRight(b.String(), "\n"))
}

func (c converter) inlines(parent ast.Node) string {
	var b strings.Builder
	for n := parent.FirstChild(); n != nil; n = n.NextSibling() {
		c.inline(&b, n)
	}
	return b.String()
}

func (c converter) inline(b *strings.Builder, n ast.Node) {
	switch n := n.(type) {
	case *ast.Text:
		b.WriteString(c.d.Escape(string(n.Segment.Value(c.src))))
		if n.HardLineBreak() || n.SoftLineBreak() {
			b.WriteString("\n")
		}
	case *ast.String:
		b.WriteString(c.d.Escape(string(n.Value)))
	case *ast.CodeSpan:
		var raw strings.Builder
		for ch := n.FirstChild(); ch != nil; ch = ch.NextSibling() {
			if t, ok := ch.(*ast.Text); ok {
				raw.Write(t.Segment.Value(c.src))
			}
		}
		b.WriteString(c.d.Code(c.d.EscapeCode(raw.String())))
	case *ast.Emphasis:
		if n.Level >= 2 {
			b.WriteString(c.d.Bold(c.inlines(n)))
		} else {
			b.WriteString(c.d.Italic(c.inlines(n)))
		}
	case *east.Strikethrough:
		b.WriteString(c.d.Strike(c.inlines(n)))
	case *ast.Link:
		c.link(b, c.inlines(n), string(n.Destination))
	case *ast.Image:
		alt := c.inlines(n)
		c.link(b, alt, string(n.Destination))
	case *ast.AutoLink:
		u := string(n.URL(c.src))
		if n.AutoLinkType == ast.AutoLinkEmail && !strings.HasPrefix(u, "mailto:") {
			u = "mailto:" + u
		}
		c.link(b, c.d.Escape(string(n.Label(c.src))), u)
	case *ast.RawHTML:
		var raw strings.Builder
		for i := 0; i < n.Segments.Len(); i++ {
			seg := n.Segments.At(i)
			raw.Write(seg.Value(c.src))
		}
		b.WriteString(c.d.HTML(raw.String()))
	default:
		b.WriteString(c.inlines(n))
	}
}

func (c converter) link(b *strings.Builder, label, dest string) {
	href := SafeURL(dest)
	switch {
	case href == "":
		b.WriteString(label) // the text stays, the unsafe target does not
	default:
		if label == "" {
			label = c.d.Escape(href)
		}
		b.WriteString(c.d.Link(label, href))
	}
}
