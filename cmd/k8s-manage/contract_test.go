package main

import (
	"bytes"
	"io"
	"net/http"
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
