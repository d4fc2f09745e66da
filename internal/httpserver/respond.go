package httpserver

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error     string `json:"error"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id"`
}

// WriteError writes {"error": ..., "field": ..., "request_id": ...}. The message must already be
// safe to show. A handler served without the request-id middleware still answers with an id
// (made here and echoed in X-Request-Id), so every error has the one shape.
func WriteError(w http.ResponseWriter, r *http.Request, status int, err error) {
	id := RequestID(r.Context())
	if id == "" {
		if id = w.Header().Get(RequestIDHeader); id == "" {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
			w.Header().Set(RequestIDHeader, id)
		}
	}
	body := ErrorBody{Error: err.Error(), RequestID: id}
	var fn FieldNamer
	if errors.As(err, &fn) {
		body.Field = fn.FieldName()
	}
	WriteJSON(w, status, body)
}

// FieldError is a bad-input error that names the field at fault.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldName is the field at fault.
func (e *FieldError) FieldName() string { return e.Field }

// DecodeJSON reads a JSON body into v, rejecting unknown fields and trailing data. Errors
// name the offending field where the decoder knows it and report an oversized body as such.
func DecodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var ute *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &mbe):
			return fmt.Errorf("request body exceeds the limit of %d bytes", mbe.Limit)
		case errors.As(err, &ute):
			return &FieldError{Field: ute.Field, Message: fmt.Sprintf("must be %s", ute.Type)}
		case errors.As(err, &se):
			return fmt.Errorf("malformed JSON at byte %d", se.Offset)
		case errors.Is(err, io.EOF):
			return errors.New("request body is empty")
		default:
			if f, ok := unknownField(err); ok {
				return &FieldError{Field: f, Message: "unknown field"}
			}
			return fmt.Errorf("invalid JSON: %w", err)
		}
	}
	if dec.More() {
		return errors.New("request body has data after the JSON value")
	}
	return nil
}

func unknownField(err error) (string, bool) {
	var name string
	if _, scanErr := fmt.Sscanf(err.Error(), "json: unknown field %q", &name); scanErr == nil {
		return name, true
	}
	return "", false
}
