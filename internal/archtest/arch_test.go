// Package archtest checks the import arrows of docs/architecture: which top-level folder may
// import which. Test-support packages (names ending in "test" or "fake") are exempt.
package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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
	// cmd wires everything; nothing imports it (checked below).
	"cmd":   {""},
	"evals": {"internal", "agent", "tools", "platform", "knowledge", "evals", "hack/sandbox"},
	"web":   {},
}

// allowedIn narrows or widens a folder's rule for one package (its non-test code).
var allowedIn = map[string][]string{
	// The REST resources take the platform's value types and services behind their own small
	// interfaces; what reaches the cluster or a database (kube, tools, the store) is cmd's to wire.
	"adapters/rest": {"internal/httpserver", "internal/redact", "internal/textutil", "internal/toolname", "agent", "adapters/web", "adapters/alertmanager",
		"platform/apps", "platform/build", "platform/billing", "platform/catalog", "platform/config", "platform/perr", "platform/tenant"},
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
		if r, ok := allowedIn[filepath.ToSlash(filepath.Dir(rel))]; ok {
			rules = r
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
			if strings.HasPrefix(target, "cmd/") || target == "cmd" {
				t.Errorf("%s imports %s: nothing imports cmd", rel, p)
			}
			if top == "cmd" {
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

// forbiddenImports are the packages a folder's non-test code must not import, whatever else
// its rule allows: cmd wires and runs commands (no HTTP handlers, SQL or cluster calls of its
// own), and the REST adapter makes no cluster or database call.
var forbiddenImports = map[string][]string{
	"cmd":           {"database/sql", "k8s.io/client-go/kubernetes", "k8s.io/client-go/rest", "k8s.io/client-go/dynamic", "k8s.io/apimachinery/pkg/apis/meta/v1"},
	"adapters/rest": {"database/sql", "k8s.io/client-go", "k8s.io/apimachinery", "k8s-manage/tools", "k8s-manage/platform/kube", "k8s-manage/internal/store"},
}

// forbiddenCalls are method names whose call in cmd means it does a platform's or a store's
// job itself.
var forbiddenCalls = []string{"CoreV1", "AppsV1", "BatchV1", "NetworkingV1", "Discovery", "ExecContext", "QueryContext", "QueryRowContext"}

// cmd holds wiring and commands only, and adapters/rest reaches nothing but its interfaces.
func TestCmdIsWiringOnly(t *testing.T) {
	root := filepath.Join("..", "..")
	checked := 0
	for dir, banned := range forbiddenImports {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			checked++
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				for _, b := range banned {
					if p == b || strings.HasPrefix(p, b+"/") {
						t.Errorf("%s imports %s: %s may not", rel, p, dir)
					}
				}
			}
			if dir != "cmd" {
				return nil
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.FuncDecl:
					if x.Name.Name == "ServeHTTP" {
						t.Errorf("%s: %s implements http.Handler: handlers live in an adapter", rel, x.Name.Name)
					}
				case *ast.FuncType:
					for _, p := range x.Params.List {
						if sel, ok := p.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "ResponseWriter" {
							t.Errorf("%s:%d: a function takes an http.ResponseWriter: handlers live in an adapter", rel, fset.Position(x.Pos()).Line)
						}
					}
				case *ast.CallExpr:
					if sel, ok := x.Fun.(*ast.SelectorExpr); ok && slices.Contains(forbiddenCalls, sel.Sel.Name) {
						t.Errorf("%s: calls %s: cluster and store calls live in platform or internal", rel, sel.Sel.Name)
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 20 {
		t.Fatalf("only %d files checked", checked)
	}
}
