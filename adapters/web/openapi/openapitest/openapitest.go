// Package openapitest checks HTTP traffic against the /api/v1 contract (adapters/web/openapi) in
// tests: wrap a transport with a Recorder and every /api/v1 request the server accepted, and
// every answer, is validated with libopenapi-validator. A test package installs it on
// http.DefaultTransport in TestMain and fails when Violations is not empty.
package openapitest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	validator "github.com/pb33f/libopenapi-validator"

	"k8s-manage/adapters/web/openapi"
)

// Recorder validates traffic and keeps what broke the contract.
type Recorder struct {
	v          validator.Validator
	mu         sync.Mutex
	violations []string
	checked    int
}

// New loads the contract.
func New() (*Recorder, error) {
	v, err := openapi.NewValidator()
	if err != nil {
		return nil, fmt.Errorf("openapitest: %w", err)
	}
	return &Recorder{v: v}, nil
}

// Validator is the contract's validator (for checking the document itself).
func (r *Recorder) Validator() validator.Validator { return r.v }

// Check validates one exchange and returns what broke the contract: the request only when the
// server accepted it (status < 400: the suites' deliberately bad requests are judged by their
// error answers), the answer always.
func (r *Recorder) Check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) []string {
	r.mu.Lock()
	defer r.mu.Unlock() // the validator is not documented as safe for concurrent use
	r.checked++
	var out []string
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	if ok, errs := r.v.ValidateHttpRequest(req); !ok && resp.StatusCode < 400 {
		out = append(out, fmt.Sprintf("%s %s breaks the API contract: %s", req.Method, req.URL.Path, join(errs)))
	}
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if ok, errs := r.v.ValidateHttpResponse(req, resp); !ok {
		out = append(out, fmt.Sprintf("the %d answer to %s %s breaks the API contract: %s\n%s", resp.StatusCode, req.Method, req.URL.Path,
			join(errs), respBody[:min(len(respBody), 400)]))
	}
	r.violations = append(r.violations, out...)
	return out
}

// Violations returns everything that broke the contract so far.
func (r *Recorder) Violations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.violations...)
}

// Checked is how many exchanges were validated.
func (r *Recorder) Checked() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.checked
}

func join[E interface{ Error() string }](errs []E) string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return strings.Join(out, "; ")
}

// Transport validates every /api/v1 exchange that goes through next. Event streams pass
// through untouched (their status and content type are checked, not their body), and so do
// WebSocket upgrades and CORS preflights.
func (r *Recorder) Transport(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		// CORS preflights are the browser's, not operations of the API.
		if !strings.HasPrefix(req.URL.Path, "/api/v1/") || req.Header.Get("Upgrade") != "" || req.Method == http.MethodOptions {
			return next.RoundTrip(req)
		}
		var reqBody []byte
		if req.Body != nil {
			b, err := io.ReadAll(req.Body)
			req.Body.Close()
			if err != nil {
				return nil, err
			}
			reqBody = b
			req.Body = io.NopCloser(bytes.NewReader(b))
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		}
		resp, err := next.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		check := req.Clone(req.Context())
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			shallow := *resp
			r.Check(check, reqBody, &shallow, nil)
			return resp, nil
		}
		respBody, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		shallow := *resp
		r.Check(check, reqBody, &shallow, respBody)
		resp.Body = io.NopCloser(bytes.NewReader(respBody))
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
