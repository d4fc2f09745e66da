// Package archtest checks the import arrows of docs/architecture: which top-level folder may
// import which. Test-support packages (names ending in "test" or "fake") are exempt.
package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "k8s-manage/"

// allowed lists, per top-level folder, the module folders its non-test code may import
// (besides itself).
var allowed = map[string][]string{
	"internal":  {"internal"},
	"platform":  {"internal", "platform", "hack/sandbox"},
	"knowledge": {"internal", "knowledge"},
	"tools":     {"internal", "platform", "knowledge", "tools"},
	"agent":     {"internal", "tools", "knowledge", "agent", "platform/tenant"},
	"adapters":  {"internal", "agent", "adapters/web", "web"},
	"evals":     {"internal", "agent", "tools", "platform", "knowledge", "evals", "hack/sandbox"},
	"web":       {},
}

func exempt(dir string) bool {
	base := filepath.Base(dir)
	return strings.HasSuffix(base, "test") || strings.HasSuffix(base, "fake")
}

func TestImportArrows(t *testing.T) {
	root := filepath.Join("..", "..")
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == "node_modules" || name == ".sandbox" || strings.HasPrefix(name, ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		top := strings.Split(rel, "/")[0]
		rules, ok := allowed[top]
		if !ok || exempt(filepath.Dir(rel)) {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		own := filepath.ToSlash(filepath.Dir(rel))
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			target, ok := strings.CutPrefix(p, module)
			if !ok || target == own || strings.HasPrefix(target, own+"/") {
				continue
			}
			if strings.Split(target, "/")[0] == top && top != "adapters" {
				continue
			}
			okArrow := false
			for _, a := range rules {
				if target == a || strings.HasPrefix(target, a+"/") {
					okArrow = true
				}
			}
			if !okArrow {
				t.Errorf("%s imports %s: %s may import only %v", rel, p, top, rules)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d files checked: is the walk rooted right?", checked)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal("root is not the module root")
	}
}
