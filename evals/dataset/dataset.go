// Package dataset reads eval datasets: JSONL files of cases (one per line) and task directories in
// the k8s-ai-bench layout (task.yaml with the prompt, setup.sh, verify.sh, cleanup.sh).
package dataset

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Kinds of cases.
const (
	Retrieval = "retrieval"
	Chat      = "chat"
	Diagnosis = "diagnosis"
	Safety    = "safety"
)

// ToolCall is an expected tool call: name, and a subset of its arguments.
type ToolCall struct {
	Name string         `json:"name"`
	Args map[string]any `json:"args,omitempty"`
}

// Expect is what a case must show.
type Expect struct {
	RetrievedKeywordsAny []string   `json:"retrieved_keywords_any,omitempty"`
	RetrievedIDsAny      []string   `json:"retrieved_ids_any,omitempty"`
	ToolCalls            []ToolCall `json:"tool_calls,omitempty"`
	ApprovalRequired     *bool      `json:"approval_required,omitempty"`
	NoMutation           bool       `json:"no_mutation,omitempty"`
	AnswerKeywordsAny    []string   `json:"answer_keywords_any,omitempty"`
	AnswerMustNotContain []string   `json:"answer_must_not_contain,omitempty"`
	// TopFindingAny: the diagnosis's first finding (resource and reason) contains one of these.
	TopFindingAny []string `json:"top_finding_any,omitempty"`
	// TopFindingAll: the first finding contains every one of these (an object's kind and name).
	TopFindingAll []string `json:"top_finding_all,omitempty"`
	// Abstain: the diagnosis finds no cause in its scope (no fault there, or one in another app);
	// context notes do not count.
	Abstain bool `json:"abstain,omitempty"`
	// Scope are the diagnose tool's arguments for the direct run that a diagnosis case also gets,
	// beside the chat turn: the analyzers' own score, whatever the model made of the question.
	Scope map[string]any `json:"scope,omitempty"`
	// Verify is a shell command run after the case (KUBECONFIG, NAMESPACE, TENANT set); exit 0 passes.
	Verify string `json:"verify,omitempty"`
	// NoTool: the turn calls no tool at all (chit-chat).
	NoTool bool `json:"no_tool,omitempty"`
	// Asks: the answer opens with a question back to the person (a missing or ambiguous detail):
	// its first line ends with a question mark.
	Asks bool `json:"asks,omitempty"`
}

// Case is one eval case.
type Case struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Lang string `json:"lang"`
	// Group names what the case tests (an intent, or negation, ambiguity, …) for per-group reports.
	Group  string `json:"group,omitempty"`
	Tenant string `json:"tenant,omitempty"`
	Env    string `json:"env,omitempty"`
	User   string `json:"user,omitempty"`
	Input  string `json:"input"`
	// Setup are manifests (paths relative to the dataset file) applied to the case's tenant
	// namespace before the turn.
	Setup []string `json:"setup,omitempty"`
	// Users gives roles ("developer", or "team-b:operator" for another tenant) instead of the
	// naming convention (viewer-*, dev-*, ops-*, admin-*).
	Users map[string]string `json:"users,omitempty"`
	// Approve decides the approvals the turn requests (true approve, false reject); nil leaves them pending.
	Approve *bool `json:"approve,omitempty"`
	// Approver decides them (default: the eval's operator of the tenant).
	Approver string `json:"approver,omitempty"`
	// Prior are turns taken first in the case's conversation (the same surface thread), by the
	// same or other people, e.g. to check that one person cannot read another's conversation.
	Prior  []Prior `json:"prior,omitempty"`
	Expect Expect  `json:"expect"`

	// Dir is the folder setup paths and scripts are relative to.
	Dir string `json:"-"`
	// Task scripts of a k8s-ai-bench task (empty for JSONL cases).
	SetupScript, VerifyScript, CleanupScript string `json:"-"`
}

// Prior is a turn taken before the case's own, in its conversation.
type Prior struct {
	User   string `json:"user"`
	Tenant string `json:"tenant,omitempty"` // default: the case's tenant
	Input  string `json:"input"`
}

// Kinds lists the kinds in report order.
var Kinds = []string{Retrieval, Chat, Diagnosis, Safety}

// validate names the first problem of a case.
func (c *Case) validate() error {
	switch {
	case c.ID == "":
		return errors.New("id: is required")
	case !slices.Contains(Kinds, c.Kind):
		return fmt.Errorf("kind: must be one of %s, got %q", strings.Join(Kinds, ", "), c.Kind)
	case c.Lang != "" && c.Lang != "zh" && c.Lang != "en":
		return fmt.Errorf("lang: must be zh or en, got %q", c.Lang)
	case strings.TrimSpace(c.Input) == "":
		return errors.New("input: is required")
	}
	e := c.Expect
	if c.Kind == Retrieval {
		if len(e.RetrievedIDsAny)+len(e.RetrievedKeywordsAny) == 0 {
			return errors.New("expect: a retrieval case needs retrieved_ids_any or retrieved_keywords_any")
		}
		return nil
	}
	if len(e.ToolCalls) == 0 && e.ApprovalRequired == nil && !e.NoMutation && !e.NoTool && !e.Asks && len(e.AnswerKeywordsAny)+len(e.AnswerMustNotContain)+len(e.TopFindingAny)+len(e.TopFindingAll) == 0 && !e.Abstain && e.Verify == "" && c.VerifyScript == "" {
		return errors.New("expect: names nothing to check")
	}
	if e.Abstain && len(e.TopFindingAny)+len(e.TopFindingAll) > 0 {
		return errors.New("expect.abstain: a case that expects no cause names no top finding")
	}
	if e.Scope != nil && c.Kind != Diagnosis {
		return errors.New("expect.scope: only diagnosis cases get a direct run")
	}
	for i, p := range c.Prior {
		if p.User == "" || strings.TrimSpace(p.Input) == "" {
			return fmt.Errorf("prior[%d]: needs user and input", i)
		}
	}
	for i, tc := range e.ToolCalls {
		if tc.Name == "" {
			return fmt.Errorf("expect.tool_calls[%d].name: is required", i)
		}
	}
	for i, s := range c.Setup {
		if filepath.IsAbs(s) || strings.Contains(filepath.ToSlash(s), "../") {
			return fmt.Errorf("setup[%d]: must be a path inside the dataset's folder, got %q", i, s)
		}
		if _, err := os.Stat(filepath.Join(c.Dir, s)); err != nil {
			return fmt.Errorf("setup[%d]: %v", i, err)
		}
	}
	for u, r := range c.Users {
		role := r
		if _, after, ok := strings.Cut(r, ":"); ok {
			role = after
		}
		if !slices.Contains([]string{"viewer", "developer", "operator", "admin"}, role) {
			return fmt.Errorf("users[%s]: role must be viewer, developer, operator or admin, got %q", u, r)
		}
	}
	return nil
}

// Load reads a JSONL file, or every *.jsonl file and task directory under a folder, in name order.
// Duplicate ids are refused.
func Load(path string) ([]Case, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var out []Case
	if !st.IsDir() {
		out, err = loadJSONL(path)
	} else {
		err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch {
			case d.IsDir():
				if _, err := os.Stat(filepath.Join(p, "task.yaml")); err == nil {
					c, err := loadTask(p)
					if err != nil {
						return err
					}
					out = append(out, c)
					return filepath.SkipDir
				}
			case strings.HasSuffix(p, ".jsonl"):
				cs, err := loadJSONL(p)
				if err != nil {
					return err
				}
				out = append(out, cs...)
			}
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, c := range out {
		if seen[c.ID] {
			return nil, fmt.Errorf("case id %q appears twice", c.ID)
		}
		seen[c.ID] = true
	}
	return out, nil
}

func loadJSONL(path string) ([]Case, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Case
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var c Case
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		c.Dir = filepath.Dir(path)
		if err := c.validate(); err != nil {
			return nil, fmt.Errorf("%s:%d (%s): %w", path, n, c.ID, err)
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

// task is a k8s-ai-bench task.yaml.
type task struct {
	Script []struct {
		Prompt string `yaml:"prompt"`
	} `yaml:"script"`
	Prompt     string `yaml:"prompt"`
	Setup      string `yaml:"setup"`
	Verifier   string `yaml:"verifier"`
	Cleanup    string `yaml:"cleanup"`
	Difficulty string `yaml:"difficulty"`
	// k8s-manage additions (optional).
	Kind    string            `yaml:"kind"`
	Tenant  string            `yaml:"tenant"`
	User    string            `yaml:"user"`
	Lang    string            `yaml:"lang"`
	Users   map[string]string `yaml:"users"`
	Approve *bool             `yaml:"approve"`
	Expect  Expect            `yaml:"expect"`
}

// loadTask reads a k8s-ai-bench task folder: the prompt from task.yaml, setup.sh / verify.sh /
// cleanup.sh (or the names task.yaml gives) next to it.
func loadTask(dir string) (Case, error) {
	b, err := os.ReadFile(filepath.Join(dir, "task.yaml"))
	if err != nil {
		return Case{}, err
	}
	var t task
	if err := yaml.Unmarshal(b, &t); err != nil {
		return Case{}, fmt.Errorf("%s/task.yaml: %w", dir, err)
	}
	prompt := t.Prompt
	if prompt == "" && len(t.Script) > 0 {
		prompt = t.Script[0].Prompt
	}
	c := Case{ID: "task/" + filepath.Base(dir), Kind: orDefault(t.Kind, Chat), Lang: orDefault(t.Lang, "en"), Tenant: t.Tenant, User: t.User,
		Input: strings.TrimSpace(prompt), Users: t.Users, Approve: t.Approve, Expect: t.Expect, Dir: dir}
	script := func(named, def string) string {
		name := orDefault(named, def)
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return ""
		}
		return filepath.Join(dir, name)
	}
	c.SetupScript, c.VerifyScript, c.CleanupScript = script(t.Setup, "setup.sh"), script(t.Verifier, "verify.sh"), script(t.Cleanup, "cleanup.sh")
	if err := c.validate(); err != nil {
		return Case{}, fmt.Errorf("%s: %w", dir, err)
	}
	return c, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Filter keeps the cases whose kind is in kinds (all when empty), grouped in the order of Kinds
// (file order within a kind).
func Filter(cs []Case, kinds []string) []Case {
	if len(kinds) == 0 {
		return cs
	}
	var out []Case
	for _, c := range cs {
		if slices.Contains(kinds, c.Kind) {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return slices.Index(Kinds, out[i].Kind) < slices.Index(Kinds, out[j].Kind) })
	return out
}

// Select keeps the cases whose id starts with one of prefixes (all when none).
func Select(cs []Case, prefixes []string) []Case {
	if len(prefixes) == 0 {
		return cs
	}
	var out []Case
	for _, c := range cs {
		if slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(c.ID, p) }) {
			out = append(out, c)
		}
	}
	return out
}

// Limit keeps the first n cases of each kind (all when n is 0).
func Limit(cs []Case, n int) []Case {
	if n <= 0 {
		return cs
	}
	seen := map[string]int{}
	var out []Case
	for _, c := range cs {
		if seen[c.Kind] < n {
			seen[c.Kind]++
			out = append(out, c)
		}
	}
	return out
}
