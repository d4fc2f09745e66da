package openapi

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"

	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"

	"k8s-manage/internal/httpserver"
)

// Guard checks every /api/v1 request against the contract before a handler runs: path and
// query values of the wrong type, outside their enum or pattern, a missing required parameter,
// or a body the operation's schema refuses get a 400 naming the parameter (or the body field),
// so no handler sees a value the contract forbids. Requests for paths or methods the contract
// does not have go on to the router (its 404 and 405), and authentication stays the handlers'
// (401 before any input is judged would leak nothing, but their answers say more).
func Guard() (func(http.Handler) http.Handler, error) {
	v, err := NewValidator()
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex // the validator is not documented as safe for concurrent use
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodOptions || r.Header.Get("Upgrade") != "" {
				next.ServeHTTP(w, r)
				return
			}
			var body []byte
			if r.Body != nil && r.Body != http.NoBody {
				b, err := io.ReadAll(r.Body)
				r.Body.Close()
				if err != nil {
					var mbe *http.MaxBytesError
					if errors.As(err, &mbe) {
						httpserver.WriteError(w, r, http.StatusRequestEntityTooLarge, fmt.Errorf("request body exceeds the limit of %d bytes", mbe.Limit))
						return
					}
					httpserver.WriteError(w, r, http.StatusBadRequest, fmt.Errorf("read the request body: %w", err))
					return
				}
				body = b
			}
			check := r.Clone(r.Context())
			check.Body = io.NopCloser(bytes.NewReader(body))
			mu.Lock()
			ok, verrs := v.ValidateHttpRequest(check)
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
			if !ok {
				if fe := firstRefusal(verrs); fe != nil {
					httpserver.WriteError(w, r, http.StatusBadRequest, fe)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// firstRefusal turns the validator's first input error into a FieldError; nil when every error
// is one the guard leaves to others (unknown path or method, security, content type of an
// empty body).
func firstRefusal(errs []*verrors.ValidationError) *httpserver.FieldError {
	for _, e := range errs {
		switch {
		case e.IsPathMissingError(), e.IsOperationMissingError(), e.ValidationType == helpers.SecurityValidation,
			e.ValidationSubType == helpers.ParameterValidationHeader:
			// Headers are the handlers' to judge: a missing If-Match is a 428 there, credentials a 401.
			continue
		case e.ValidationType == helpers.ParameterValidation || e.ParameterName != "":
			name := e.ParameterName
			if name == "" {
				name = e.ValidationSubType
			}
			return &httpserver.FieldError{Field: name, Message: reason(e)}
		case e.ValidationType == helpers.RequestBodyValidation || e.ValidationType == helpers.Schema:
			field := "body"
			for _, s := range e.SchemaValidationErrors {
				if p := strings.TrimPrefix(strings.TrimPrefix(s.FieldPath, "$"), "."); p != "" {
					field = p
					break
				}
				if m := extraProperty.FindStringSubmatch(s.Reason); m != nil { // the unknown or missing field itself
					field = m[1]
					break
				}
			}
			return &httpserver.FieldError{Field: field, Message: reason(e)}
		default:
			return &httpserver.FieldError{Field: cmp.Or(e.ParameterName, "request"), Message: reason(e)}
		}
	}
	return nil
}

// extraProperty finds the field in "additional properties 'colour' not allowed" and in
// "missing property 'replicas'".
var extraProperty = regexp.MustCompile(`(?:additional|missing) propert(?:y|ies) '([^']+)'`)

// reason is the validator's message in a sentence a client can act on.
func reason(e *verrors.ValidationError) string {
	msg := e.Message
	if e.Reason != "" && !strings.Contains(msg, e.Reason) {
		msg += ": " + e.Reason
	}
	for _, s := range e.SchemaValidationErrors {
		if s.Reason != "" && !strings.Contains(msg, s.Reason) {
			msg += " (" + s.Reason + ")"
			break
		}
	}
	return msg
}
