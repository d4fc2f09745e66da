package builtin

import (
	"slices"

	"k8s-manage/internal/toolname"
)

// Candidates are the tools a message may need, read by the same intents the builtin model uses:
// the tool it would call itself, and every tool one of whose words the message holds (a hosted
// model then chooses among them). A how-to question needs none beyond the docs.
func Candidates(text string, w World) []string {
	v := worldView(&w)
	text, _ = unnegated(clean(text, v), v)
	s := normalise(text)
	if s == "" || question.MatchString(s) {
		return nil
	}
	var out []string
	add := func(t string) {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if r, ok := parse(text, v); ok {
		add(r.tool)
	}
	for _, in := range v.cat.intents {
		for _, group := range [][]string{in.verbs, in.needs} {
			for _, word := range group {
				if !slotNeed(word) && has(s, word) {
					add(in.tool)
				}
			}
		}
	}
	if relative(s) != nil { // an amount relative to the replicas now: "double it", "再加 50%"
		add(toolname.ScaleApp)
	}
	return out
}
