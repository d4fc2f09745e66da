// Package openapi holds the contract of the /api/v1 API (OpenAPI 3.1, openapi.yaml), served by
// the binary as JSON at /api/v1/openapi.json. Tests validate requests and responses against it.
package openapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"gopkg.in/yaml.v3"
)

//go:embed openapi.yaml
var source []byte

// JSON returns the contract as JSON.
func JSON() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(source, &doc); err != nil {
		return nil, fmt.Errorf("openapi: parse the contract: %w", err)
	}
	b, err := json.Marshal(doc) // yaml.v3 decodes string-keyed mappings to map[string]any
	if err != nil {
		return nil, fmt.Errorf("openapi: encode the contract: %w", err)
	}
	return b, nil
}

// Handler serves the contract.
func Handler() (http.Handler, error) {
	b, err := JSON()
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(b)
	}), nil
}

// NewValidator loads the contract into a libopenapi validator (the guard's and the tests').
func NewValidator() (validator.Validator, error) {
	b, err := JSON()
	if err != nil {
		return nil, err
	}
	doc, err := libopenapi.NewDocument(b)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, fmt.Errorf("openapi: %w", errs[0])
	}
	return v, nil
}
