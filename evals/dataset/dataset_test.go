package dataset_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s-manage/evals/dataset"
)

// The shipped datasets load, have the promised sizes, and cover every tool of the catalog.
func TestShippedDatasets(t *testing.T) {
	cs, err := dataset.Load(filepath.Join("..", "datasets"))
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	tools := map[string]bool{}
	langs := map[string]int{}
	for _, c := range cs {
		n[c.Kind]++
		if c.Kind == dataset.Chat {
			langs[c.Lang]++
			for _, tc := range c.Expect.ToolCalls {
				tools[tc.Name] = true
			}
		}
	}
	for kind, min := range map[string]int{dataset.Retrieval: 50, dataset.Chat: 60, dataset.Diagnosis: 15, dataset.Safety: 40} {
		if n[kind] < min {
			t.Errorf("%d %s cases, want at least %d", n[kind], kind, min)
		}
	}
	if langs["zh"] < 20 || langs["en"] < 20 {
		t.Errorf("chat languages: %v", langs)
	}
	catalog := []string{"list_apps", "get_app_status", "list_pods", "get_pod_logs", "get_events", "diagnose", "list_revisions", "get_hpa",
		"get_quota", "get_bill", "list_builds", "get_build", "get_config", "config_diff", "list_service_instances", "search_knowledge",
		"list_tenants", "scale_app", "restart_app", "rollback_app", "set_image", "set_hpa", "delete_hpa", "set_quota", "trigger_build",
		"start_canary", "promote_canary", "abort_canary", "switch_blue_green", "set_config", "provision_service", "clone_environment",
		"add_member", "delete_app", "delete_service_instance"}
	for _, tool := range catalog {
		if !tools[tool] {
			t.Errorf("no chat case calls %s", tool)
		}
	}
	tasks, err := dataset.Load(filepath.Join("..", "tasks"))
	if err != nil || len(tasks) == 0 || tasks[0].VerifyScript == "" || !strings.HasPrefix(tasks[0].ID, "task/") {
		t.Fatalf("k8s-ai-bench tasks: %+v %v", tasks, err)
	}
}

// Bad cases are refused with the file, line, case id and field.
func TestLoadNamesTheField(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "m.yaml"), []byte("kind: ConfigMap\n"), 0o600)
	for _, c := range []struct{ line, want string }{
		{`{"id":"a","kind":"chitchat","input":"x","expect":{"no_mutation":true}}`, "a): kind: must be one of"},
		{`{"id":"a","kind":"chat","input":" ","expect":{"no_mutation":true}}`, "input: is required"},
		{`{"id":"a","kind":"chat","input":"x","expect":{}}`, "expect: names nothing to check"},
		{`{"id":"a","kind":"retrieval","input":"x","expect":{"no_mutation":true}}`, "retrieved_ids_any or retrieved_keywords_any"},
		{`{"id":"a","kind":"chat","input":"x","setup":["../etc/passwd"],"expect":{"no_mutation":true}}`, "setup[0]: must be a path inside"},
		{`{"id":"a","kind":"chat","input":"x","setup":["missing.yaml"],"expect":{"no_mutation":true}}`, "setup[0]:"},
		{`{"id":"a","kind":"chat","input":"x","users":{"u@x.io":"king"},"expect":{"no_mutation":true}}`, "users[u@x.io]: role must be"},
		{`{"id":"a","kind":"chat","input":"x","expect":{"tool_calls":[{"args":{}}]}}`, "expect.tool_calls[0].name: is required"},
		{`{"id":"a","kind":"chat","input":"x","expected":{}}`, `unknown field "expected"`},
		{`{"id":"a","kind":"chat","lang":"fr","input":"x","expect":{"no_mutation":true}}`, "lang: must be zh or en"},
	} {
		p := filepath.Join(dir, "d.jsonl")
		os.WriteFile(p, []byte("// a comment line\n"+c.line+"\n"), 0o600)
		if _, err := dataset.Load(p); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "d.jsonl:2") {
			t.Errorf("%s: %v (want %q)", c.line, err, c.want)
		}
	}
	ok := `{"id":"a","kind":"chat","input":"x","setup":["m.yaml"],"expect":{"no_mutation":true}}`
	os.WriteFile(filepath.Join(dir, "d.jsonl"), []byte(ok+"\n"+ok+"\n"), 0o600)
	if _, err := dataset.Load(dir); err == nil || !strings.Contains(err.Error(), `"a" appears twice`) {
		t.Fatalf("duplicate ids: %v", err)
	}
}

func TestSelectAndLimit(t *testing.T) {
	cs := []dataset.Case{{ID: "chat-1", Kind: "chat"}, {ID: "chat-2", Kind: "chat"}, {ID: "safety-1", Kind: "safety"}, {ID: "chat-3", Kind: "chat"}}
	if got := dataset.Limit(cs, 2); len(got) != 3 || got[2].ID != "safety-1" {
		t.Fatalf("limit: %+v", got)
	}
	if got := dataset.Select(cs, []string{"safety"}); len(got) != 1 {
		t.Fatalf("select: %+v", got)
	}
}

// The paraphrase dataset (issue 13) is split into dev and test halves before any tuning: at
// least 200 cases, every group in both halves, no input in both halves or in the chat dataset
// the rules were written with. Only its structure is checked here; the model is never run on
// test in a unit test.
// TestHeldOutSplits keeps each everyday dataset's halves apart from each other and from
// evals/datasets/chat.jsonl, with every group in both halves.
func TestHeldOutSplits(t *testing.T) {
	chat, err := dataset.Load(filepath.Join("..", "datasets", "chat.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dir, prefix string
		min         int
	}{{"paraphrase", "para-", 200}, {"teamchat", "team-", 300}, {"usage", "usage-", 38}, {"metrics", "metrics-", 34}} {
		t.Run(c.dir, func(t *testing.T) {
			seen := map[string]string{}
			for _, cs := range chat {
				seen[strings.ToLower(cs.Input)] = "chat.jsonl"
			}
			groups := map[string]map[string]int{}
			total := 0
			for _, half := range []string{"dev", "test"} {
				cs, err := dataset.Load(filepath.Join("..", c.dir, half+".jsonl"))
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range cs {
					total++
					key := strings.ToLower(k.Input)
					if len(k.Prior) > 0 {
						key += " after " + strings.ToLower(k.Prior[len(k.Prior)-1].Input)
					}
					if where, dup := seen[key]; dup {
						t.Errorf("%s: %q is also in %s", k.ID, k.Input, where)
					}
					seen[key] = half
					if k.Group == "" || !strings.HasPrefix(k.ID, c.prefix+half+"-") {
						t.Errorf("%s: needs a group and an id of its half", k.ID)
					}
					if groups[k.Group] == nil {
						groups[k.Group] = map[string]int{}
					}
					groups[k.Group][half]++
				}
			}
			if total < c.min {
				t.Errorf("%d cases, want at least %d", total, c.min)
			}
			for g, n := range groups {
				if n["dev"] == 0 || n["test"] == 0 {
					t.Errorf("group %s is not in both halves: %v", g, n)
				}
			}
		})
	}
}
