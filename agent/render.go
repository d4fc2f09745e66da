package agent

import (
	"encoding/json"
	"fmt"
	"iter"
	"strings"
)

// PreviewText renders an approval's preview (the dry run's JSON: summary, objects with field
// diffs) as the plain-text diff every surface shows; other previews are returned as they are.
func PreviewText(preview string) string {
	var p struct {
		Objects []struct {
			Kind, Name, Action string
			Diff               []struct{ Path, From, To string }
		}
	}
	if err := json.Unmarshal([]byte(preview), &p); err != nil || len(p.Objects) == 0 {
		return preview
	}
	var b strings.Builder
	for i, o := range p.Objects {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s %s %s", o.Action, o.Kind, o.Name)
		for _, d := range o.Diff {
			switch {
			case d.From == "":
				fmt.Fprintf(&b, "\n  + %s: %s", d.Path, d.To)
			case d.To == "":
				fmt.Fprintf(&b, "\n  - %s: %s", d.Path, d.From)
			default:
				fmt.Fprintf(&b, "\n  ~ %s: %s -> %s", d.Path, d.From, d.To)
			}
		}
	}
	return b.String()
}

// Events yields before, then the events of ch until it closes: a surface that has already read
// the first event of a turn (a decision) renders it with the rest.
func Events(ch <-chan Event, before ...Event) iter.Seq[Event] {
	return func(yield func(Event) bool) {
		for _, e := range before {
			if !yield(e) {
				return
			}
		}
		for e := range ch {
			if !yield(e) {
				return
			}
		}
	}
}
