package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s-manage/adapters/web/openapi"
	"k8s-manage/adapters/web/openapi/openapitest"
)

// contract validates every /api/v1 exchange the package's tests make over http.DefaultTransport
// (installed in TestMain): the requests the server accepted and all the answers.
var contract *openapitest.Recorder

// The contract itself is a valid OpenAPI 3.1 document, served by the binary.
func TestContractIsValidAndServed(t *testing.T) {
	if ok, errs := contract.Validator().ValidateDocument(); !ok {
		var out []string
		for _, e := range errs {
			out = append(out, e.Error())
		}
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %s", strings.Join(out, "; "))
	}
	_, addr, _ := startServe(t)
	c := client{t, "http://" + addr, ""}
	resp, body := c.do("GET", "/api/v1/openapi.json", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"openapi":"3.1.0"`) {
		t.Fatalf("GET /api/v1/openapi.json: %d %.200s", resp.StatusCode, body)
	}
	resp, _ = c.do("GET", "/api/v1/version", "")
	if resp.StatusCode != 200 {
		t.Fatalf("version: %d", resp.StatusCode)
	}
}

// The TypeScript client (console, widget) calls only operations the contract has: every
// /api/v1 path literal in web/src, with the method of its call, must match one.
func TestWebClientAgreesWithTheContract(t *testing.T) {
	b, err := openapi.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	type op struct {
		re     *regexp.Regexp
		method map[string]bool
	}
	var ops []op
	for p, methods := range doc.Paths {
		pattern := "^/api/v1" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(p), `[^/]+`) + "$"
		o := op{re: regexp.MustCompile(pattern), method: map[string]bool{}}
		for m := range methods {
			o.method[strings.ToUpper(m)] = true
		}
		ops = append(ops, o)
	}
	literal := regexp.MustCompile("[\"`](/api/v1/[^\"`?]*)")
	method := regexp.MustCompile(`"(GET|POST|PUT|PATCH|DELETE)"\s*,\s*[` + "`" + `"]/api/v1/`)
	calls := 0
	err = filepath.WalkDir(filepath.Join("..", "..", "web", "src"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".ts") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			for _, m := range literal.FindAllStringSubmatch(line, -1) {
				p := regexp.MustCompile(`\$\{[^}]*\}`).ReplaceAllString(m[1], "x")
				verb := "GET"
				if g := method.FindStringSubmatch(line); g != nil {
					verb = g[1]
				} else if strings.Contains(line, "turn(") || strings.Contains(line, "run(") || strings.Contains(line, "stream(") {
					verb = "POST" // chat turns and decisions stream from a POST
				}
				calls++
				found := false
				for _, o := range ops {
					if o.re.MatchString(p) && o.method[verb] {
						found = true
					}
				}
				if !found {
					t.Errorf("%s:%d: %s %s is not in the API contract", path, i+1, verb, m[1])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 10 {
		t.Fatalf("found only %d API calls in web/src: is the scan broken?", calls)
	}
	t.Logf("%d API calls in web/src match the contract", calls)
}
