package builtin

import (
	"strings"

	"k8s-manage/tools"
)

// Catalog is the language layer's vocabulary, built from the tool catalog's specs (what people
// call each tool): the intent table, the English words that signal an intent (so never an app's
// name), the words a typo is corrected to, and which tools change nothing (from their risk). The
// agent builds it once from every tool, the person's or not, and passes it with the world: a
// request for a tool the person may not use is understood, and refused by name.
type Catalog struct {
	intents    []intent
	lexicon    map[string]bool
	vocabulary map[string]bool
	readOnly   map[string]bool
}

// NewCatalog builds the vocabulary of specs.
func NewCatalog(specs []tools.Spec) *Catalog {
	c := &Catalog{lexicon: map[string]bool{}, vocabulary: map[string]bool{}, readOnly: map[string]bool{}}
	for _, sp := range specs {
		if sp.Risk == tools.ReadOnly {
			c.readOnly[sp.Name] = true
		}
		for _, in := range sp.Intents {
			c.intents = append(c.intents, intent{tool: sp.Name, verbs: in.Verbs, needs: in.Needs, not: in.Not,
				required: in.Required, weight: in.Weight, bindOnly: in.BindOnly})
		}
	}
	for _, in := range c.intents {
		for _, group := range [][]string{in.verbs, in.needs, in.not} {
			for _, phrase := range group {
				for _, w := range wordRe.FindAllString(phrase, -1) {
					c.lexicon[w] = true
				}
			}
		}
	}
	for _, w := range []string{"what", "whats", "wrong", "with", "why", "show", "tell", "give", "get", "see", "check", "look", "secret", "secrets"} {
		c.lexicon[w] = true
	}
	for w := range c.lexicon {
		c.vocabulary[w] = true
	}
	for _, w := range strings.Split(strings.Trim(verbWords.String(), "^(?:)$"), "|") {
		c.vocabulary[w] = true
	}
	for _, w := range strings.Fields(`replicas replica rollback restart deploy image canary promote abort logs events config quota
		status pods build builds diagnose revision revisions version versions previous container upgrade update delete remove
		create service instance instances members member tenant tenants environment autoscale autoscaler autoscaling hpa scale`) {
		c.vocabulary[w] = true
	}
	return c
}

// isVerbWord says whether w is a word of a request (an intent's or a verb), never a name: a
// word of the lexicon, or an inflection of a long one ("autoscale" of "autoscal"; a name such as
// "search-api" or "status.example.org" is no inflection).
func (c *Catalog) isVerbWord(w string) bool {
	if verbWords.MatchString(w) || c.lexicon[w] {
		return true
	}
	if strings.ContainsFunc(w, func(r rune) bool { return r < 'a' || r > 'z' }) { // a name: search-api, status.example.org
		return false
	}
	for n := len(w) - 1; n >= 6; n-- {
		if c.lexicon[w[:n]] {
			return true
		}
	}
	return false
}

// slotNeed says whether a word of an intent's Needs stands for a slot rather than a word.
func slotNeed(w string) bool {
	switch w {
	case tools.NeedKey, tools.NeedImage, tools.NeedNumber, tools.NeedTwoNumbers, tools.NeedBuildID:
		return true
	}
	return false
}
