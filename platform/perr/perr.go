// Package perr types the errors the platform returns, so callers (tools, the agent, HTTP
// handlers) can tell a user "not found", "forbidden", "quota exceeded" and so on with the
// message they need, without parsing strings.
package perr

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Kind classifies a platform error.
type Kind int

const (
	Internal Kind = iota
	NotFound
	AlreadyExists
	Forbidden
	Conflict
	Invalid
	QuotaExceeded
	Unavailable
)

func (k Kind) String() string {
	return [...]string{"internal", "not found", "already exists", "forbidden", "conflict", "invalid",
		"quota exceeded", "unavailable"}[k]
}

// Error is a typed platform error.
type Error struct {
	Kind Kind
	// Field names the input at fault (Invalid), if known.
	Field string
	// Resources names the quota resources exceeded (QuotaExceeded), e.g. ["pods", "requests.cpu"].
	Resources []string
	Message   string
	Err       error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// Is matches on Kind, so errors.Is(err, perr.ErrNotFound) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Kind == e.Kind
}

// Sentinels for errors.Is.
var (
	ErrNotFound      = &Error{Kind: NotFound}
	ErrAlreadyExists = &Error{Kind: AlreadyExists}
	ErrForbidden     = &Error{Kind: Forbidden}
	ErrConflict      = &Error{Kind: Conflict}
	ErrInvalid       = &Error{Kind: Invalid}
	ErrQuotaExceeded = &Error{Kind: QuotaExceeded}
	ErrUnavailable   = &Error{Kind: Unavailable}
)

// KindOf returns the Kind of err (Internal when untyped).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Invalidf is a bad-input error naming the field.
func Invalidf(field, format string, args ...any) error {
	return &Error{Kind: Invalid, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// New builds a typed error.
func New(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

var quotaResource = regexp.MustCompile(`limited: ([^,]+(?:,[^,]+)*)$`)

// FromAPI converts an API server error into a typed one; what says what was being done
// ("scale deployment team-a-dev/web"). Non-API errors are wrapped as Internal or Unavailable.
func FromAPI(err error, what string) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	msg := apiMessage(err)
	switch {
	case isQuota(err, msg):
		res := quotaResources(msg)
		return &Error{Kind: QuotaExceeded, Resources: res, Err: err,
			Message: fmt.Sprintf("%s: quota exceeded for %s: %s", what, strings.Join(res, ", "), msg)}
	case apierrors.IsNotFound(err):
		return &Error{Kind: NotFound, Err: err, Message: fmt.Sprintf("%s: not found: %s", what, msg)}
	case apierrors.IsAlreadyExists(err):
		return &Error{Kind: AlreadyExists, Err: err, Message: fmt.Sprintf("%s: already exists", what)}
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return &Error{Kind: Forbidden, Err: err, Message: fmt.Sprintf("%s: forbidden: %s", what, msg)}
	case apierrors.IsConflict(err):
		return &Error{Kind: Conflict, Err: err, Message: fmt.Sprintf("%s: changed by someone else meanwhile, try again", what)}
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		e := &Error{Kind: Invalid, Err: err, Message: fmt.Sprintf("%s: invalid: %s", what, msg)}
		var se apierrors.APIStatus
		if errors.As(err, &se) && se.Status().Details != nil && len(se.Status().Details.Causes) > 0 {
			e.Field = se.Status().Details.Causes[0].Field
		}
		return e
	case apierrors.IsServerTimeout(err), apierrors.IsTimeout(err), apierrors.IsServiceUnavailable(err),
		apierrors.IsTooManyRequests(err), apierrors.IsInternalError(err):
		return &Error{Kind: Unavailable, Err: err, Message: fmt.Sprintf("%s: the cluster is unavailable: %s", what, msg)}
	case isLocalNameRefusal(err):
		// client-go refuses a name the API server could never hold before sending anything.
		return &Error{Kind: Invalid, Err: err, Message: fmt.Sprintf("%s: %v", what, err)}
	default:
		return &Error{Kind: Internal, Err: err, Message: fmt.Sprintf("%s: %v", what, err)}
	}
}

// isLocalNameRefusal is client-go's own refusal of a resource name (rest.Request.Name).
func isLocalNameRefusal(err error) bool {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		return false
	}
	m := err.Error()
	return strings.HasPrefix(m, "invalid resource name") || strings.HasPrefix(m, "resource name may not be empty")
}

func apiMessage(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) && se.Status().Message != "" {
		return se.Status().Message
	}
	return err.Error()
}

func isQuota(err error, msg string) bool {
	return apierrors.IsForbidden(err) && strings.Contains(msg, "exceeded quota")
}

// quotaResources extracts "pods" and "requests.cpu" from
// "exceeded quota: q, requested: pods=1,requests.cpu=500m, used: ..., limited: pods=2,requests.cpu=1".
func quotaResources(msg string) []string {
	m := quotaResource.FindStringSubmatch(msg)
	if m == nil {
		return []string{"unknown resource"}
	}
	var out []string
	for _, kv := range strings.Split(m[1], ",") {
		if k, _, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			out = append(out, k)
		}
	}
	return out
}

// QuotaMessageResources is quotaResources for messages found elsewhere (events, conditions).
func QuotaMessageResources(msg string) []string { return quotaResources(msg) }

// FieldName is the input at fault ("" when unknown): an HTTP answer names it.
func (e *Error) FieldName() string { return e.Field }

// HTTPStatus is the status an HTTP API answers this error with: a refusal of bad input or of
// something the caller may not do is a 4xx (a quota refusal 422, since the same request could
// succeed once the quota is raised or usage drops); only Internal is the server's fault.
func (e *Error) HTTPStatus() int {
	switch e.Kind {
	case NotFound:
		return 404
	case AlreadyExists, Conflict:
		return 409
	case Forbidden:
		return 403
	case Invalid:
		return 400
	case QuotaExceeded:
		return 422
	case Unavailable:
		return 503
	default:
		return 500
	}
}
