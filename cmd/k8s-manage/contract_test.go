package main

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"k8s-manage/adapters/web/openapi"
)

// contractValidator is the /api/v1 contract (adapters/web/openapi), loaded once for the test
// binary. Every request and response the API tests make through client.do is checked against it.
var contractValidator = sync.OnceValues(func() (validator.Validator, error) {
	b, err := openapi.JSON()
	if err != nil {
		return nil, err
	}
	doc, err := libopenapi.NewDocument(b)
	if err != nil {
		return nil, err
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return v, nil
})

// checkContract fails t when an accepted req, or any resp (with their bodies), breaks the contract.
func checkContract(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	v, err := contractValidator()
	if err != nil {
		t.Fatalf("load the API contract: %v", err)
	}
	// A request the server accepted must be one the contract allows; the suites' deliberately
	// bad requests (no credentials, missing fields) are judged by their error answers only.
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	if ok, errs := v.ValidateHttpRequest(req); !ok && resp.StatusCode < 400 {
		t.Errorf("%s %s breaks the API contract: %s", req.Method, req.URL.Path, contractErrors(errs))
	}
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if ok, errs := v.ValidateHttpResponse(req, resp); !ok {
		t.Errorf("the %d answer to %s %s breaks the API contract: %s\n%s", resp.StatusCode, req.Method, req.URL.Path, contractErrors(errs),
			respBody[:min(len(respBody), 600)])
	}
}

func contractErrors[E interface{ Error() string }](errs []E) string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return strings.Join(out, "; ")
}

// The contract itself is a valid OpenAPI 3.1 document, served by the binary.
func TestContractIsValidAndServed(t *testing.T) {
	v, err := contractValidator()
	if err != nil {
		t.Fatal(err)
	}
	if ok, errs := v.ValidateDocument(); !ok {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %s", contractErrors(errs))
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
