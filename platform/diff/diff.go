// Package diff compares two Kubernetes objects field by field and renders the changes a
// person reviews before approving: "spec.replicas: 2 -> 5".
package diff

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Change is one field that differs.
type Change struct {
	Path string `json:"path"`
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

func (c Change) String() string {
	switch {
	case c.From == "":
		return fmt.Sprintf("+ %s: %s", c.Path, c.To)
	case c.To == "":
		return fmt.Sprintf("- %s: %s", c.Path, c.From)
	default:
		return fmt.Sprintf("~ %s: %s -> %s", c.Path, c.From, c.To)
	}
}

// ignored are bookkeeping fields the server sets; they say nothing to a reviewer.
var ignored = []string{
	"metadata.managedFields", "metadata.resourceVersion", "metadata.generation", "metadata.uid",
	"metadata.creationTimestamp", "status", "metadata.annotations.deployment.kubernetes.io/revision",
	"metadata.annotations.kubectl.kubernetes.io/last-applied-configuration",
}

// Objects returns the changes from before to after (either may be nil for create/delete).
func Objects(before, after any) ([]Change, error) {
	b, err := flatten(before)
	if err != nil {
		return nil, err
	}
	a, err := flatten(after)
	if err != nil {
		return nil, err
	}
	var out []Change
	for k, v := range a {
		if old, ok := b[k]; !ok {
			out = append(out, Change{Path: k, To: v})
		} else if old != v {
			out = append(out, Change{Path: k, From: old, To: v})
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			out = append(out, Change{Path: k, From: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Render writes changes one per line.
func Render(cs []Change) string {
	lines := make([]string, len(cs))
	for i, c := range cs {
		lines[i] = c.String()
	}
	return strings.Join(lines, "\n")
}

func flatten(obj any) (map[string]string, error) {
	out := map[string]string{}
	if obj == nil {
		return out, nil
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	if string(data) == "null" {
		return out, nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	walk("", v, out)
	return out, nil
}

func walk(path string, v any, out map[string]string) {
	for _, ig := range ignored {
		if path == ig {
			return
		}
	}
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			p := k
			if path != "" {
				p = path + "." + k
			}
			walk(p, child, out)
		}
	case []any:
		for i, child := range t {
			key := fmt.Sprint(i)
			if m, ok := child.(map[string]any); ok {
				if name, ok := m["name"].(string); ok && name != "" {
					key = name // containers[app], env[LOG_LEVEL]: stable across reordering
				}
			}
			walk(fmt.Sprintf("%s[%s]", path, key), child, out)
		}
	case nil:
	default:
		b, _ := json.Marshal(t)
		s := string(b)
		if str, ok := t.(string); ok {
			s = str
		}
		out[path] = s
	}
}
