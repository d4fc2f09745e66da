package httpserver

import (
	"errors"
	"net/http"

	"k8s-manage/internal/redact"
)

// A StatusError knows the HTTP status it answers with: the platform's typed errors (perr) and
// the agent's refusals implement it, so every adapter maps errors in this one place.
type StatusError interface {
	error
	HTTPStatus() int
}

// A FieldNamer is a bad-input error that names the input at fault.
type FieldNamer interface {
	error
	FieldName() string
}

// StatusOf is the HTTP status of err: its own (StatusError), 400 for a named bad input, 413 for
// an oversized body, else 500: a 5xx means the server is at fault.
func StatusOf(err error) int {
	var se StatusError
	if errors.As(err, &se) {
		if s := se.HTTPStatus(); s >= 400 && s < 600 {
			return s
		}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	var fn FieldNamer
	if errors.As(err, &fn) && fn.FieldName() != "" {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// Fail answers err with its status (StatusOf), the field it names, and its message with
// secrets masked. An error of the server's own (500) is logged by the caller's middleware; its
// message is still shown, since the platform's messages say what failed and never hold secrets
// once masked.
func Fail(w http.ResponseWriter, r *http.Request, err error) {
	WriteError(w, r, StatusOf(err), &safeError{err: err, msg: redact.String(err.Error())})
}

// safeError is err with its message masked; it keeps err's field and status.
type safeError struct {
	err error
	msg string
}

func (e *safeError) Error() string { return e.msg }
func (e *safeError) Unwrap() error { return e.err }

// Refusal is a sentinel error that answers with its own HTTP status (match it with errors.Is).
func Refusal(status int, msg string) error { return &refusal{msg: msg, status: status} }

type refusal struct {
	msg    string
	status int
}

func (e *refusal) Error() string   { return e.msg }
func (e *refusal) HTTPStatus() int { return e.status }
