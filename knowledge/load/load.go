// Package load reads the knowledge sources: Markdown documents (split at headings), the on-call
// FAQ and knowledge-base JSONL files. Errors name the file and line.
package load

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s-manage/knowledge"
	"k8s-manage/knowledge/split"
)

// FAQ is one line of docs/ai/ops-faq-100.jsonl.
type FAQ struct {
	ID           string   `json:"id"`
	Question     string   `json:"question"`
	Answer       string   `json:"answer"`
	Tags         []string `json:"tags"`
	RelatedTools []string `json:"related_tools"`
}

// KBEntry is one line of docs/ai/help-knowledge-base.jsonl.
type KBEntry struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	SectionPath []string `json:"section_path"`
	Content     string   `json:"content"`
	Tags        []string `json:"tags"`
	Source      string   `json:"source"`
}

// Markdown reads and splits a Markdown file; source is how chunks cite it.
func Markdown(path string, opts split.Options) ([]knowledge.Chunk, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return split.Markdown(string(data), opts)
}

// FAQChunk turns a FAQ entry into a chunk: the question is the title, the answer the content.
func FAQChunk(f FAQ, source string) knowledge.Chunk {
	content := f.Answer
	if len(f.RelatedTools) > 0 {
		content += "\n\n机器人可用的工具 (tools): " + strings.Join(f.RelatedTools, ", ")
	}
	return knowledge.Chunk{ID: f.ID, Title: f.Question, Section: []string{"值班 FAQ", f.Question}, Content: content,
		Tags: f.Tags, Source: source, Kind: "faq"}
}

// ReadFAQ reads FAQ entries, checking required fields and unique ids.
func ReadFAQ(path string) ([]FAQ, error) {
	var out []FAQ
	seen := map[string]int{}
	err := eachLine(path, func(n int, line []byte) error {
		var f FAQ
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return err
		}
		switch {
		case f.ID == "":
			return fmt.Errorf("field id is required")
		case f.Question == "":
			return fmt.Errorf("field question is required")
		case f.Answer == "":
			return fmt.Errorf("field answer is required")
		}
		if prev, dup := seen[f.ID]; dup {
			return fmt.Errorf("id %s already used on line %d", f.ID, prev)
		}
		seen[f.ID] = n
		out = append(out, f)
		return nil
	})
	return out, err
}

// FAQFile loads the FAQ JSONL as chunks.
func FAQFile(path, source string) ([]knowledge.Chunk, error) {
	fs, err := ReadFAQ(path)
	if err != nil {
		return nil, err
	}
	out := make([]knowledge.Chunk, len(fs))
	for i, f := range fs {
		out[i] = FAQChunk(f, source)
	}
	return out, nil
}

// KBFile loads knowledge-base JSONL entries as chunks.
func KBFile(path string) ([]knowledge.Chunk, error) {
	var out []knowledge.Chunk
	err := eachLine(path, func(_ int, line []byte) error {
		var e KBEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return err
		}
		if e.ID == "" || e.Content == "" {
			return fmt.Errorf("fields id and content are required")
		}
		out = append(out, knowledge.Chunk{ID: e.ID, Title: e.Title, Section: e.SectionPath, Content: e.Content,
			Tags: e.Tags, Source: e.Source, Kind: "manual"})
		return nil
	})
	return out, err
}

func eachLine(path string, fn func(n int, line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := fn(n, line); err != nil {
			return fmt.Errorf("%s:%d: %w", filepath.Base(path), n, err)
		}
	}
	return sc.Err()
}
