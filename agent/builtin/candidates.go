package builtin

import "slices"

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
	for _, in := range intents {
		for _, group := range [][]string{in.verbs, in.needs} {
			for _, word := range group {
				if word != "key" && word != "image-slot" && word != "two-numbers" && word != "number" && word != "build-id" && has(s, word) {
					add(in.tool)
				}
			}
		}
	}
	if relative(s) != nil { // an amount relative to the replicas now: "double it", "再加 50%"
		add("scale_app")
	}
	if c, ok := (&Model{}).understand(text); ok {
		add(c.name)
	}
	return out
}
