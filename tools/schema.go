package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudwego/eino/schema"
	"github.com/eino-contrib/jsonschema"

	"k8s-manage/internal/textutil"
	"k8s-manage/platform/perr"
)

// Tool is one catalog entry.
type Tool struct {
	spec Spec
	// run executes the call; dryRun previews it (mutating tools only). It returns a value that
	// is rendered as JSON for the model.
	run    func(ctx context.Context, c Call, args json.RawMessage, dryRun bool) (any, error)
	params *jsonschema.Schema
}

// Spec returns the tool's description.
func (t *Tool) Spec() Spec { return t.spec }

// Info is the tool's schema for models.
func (t *Tool) Info() (*schema.ToolInfo, error) {
	return &schema.ToolInfo{Name: t.spec.Name, Desc: t.spec.Desc, ParamsOneOf: schema.NewParamsOneOfByJSONSchema(t.params)}, nil
}

// Schema is the JSON schema of the tool's arguments.
func (t *Tool) Schema() *jsonschema.Schema { return t.params }

var snake = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// define builds a tool whose arguments are the JSON of In (which embeds Target). The schema comes
// from In's fields: `json` names them, `desc` describes them (defaults stated there), and
// `jsonschema` holds only constraints: required, enum, minimum, maximum. The arguments are
// checked against those constraints before run sees them, so every tool reports a bad argument
// the same way: an Invalid error naming the field, which goes back to the model as the result.
// Unknown extra arguments are ignored.
func define[In any, PIn interface {
	*In
	targeted
}](spec Spec, run func(ctx context.Context, c Call, in PIn, dryRun bool) (any, error)) *Tool {
	if !snake.MatchString(spec.Name) {
		panic("tool name must be snake_case: " + spec.Name) // programming error in the catalog
	}
	js := reflectSchema[In]()
	return &Tool{
		spec:   spec,
		params: js,
		run: func(ctx context.Context, c Call, raw json.RawMessage, dryRun bool) (any, error) {
			var in PIn = new(In)
			if len(strings.TrimSpace(string(raw))) > 0 {
				if err := json.Unmarshal(raw, in); err != nil {
					return nil, argError(spec.Name, err)
				}
			}
			if err := validate(js, raw); err != nil {
				return nil, err
			}
			return run(ctx, c, in, dryRun)
		},
	}
}

func reflectSchema[In any]() *jsonschema.Schema {
	r := &jsonschema.Reflector{Anonymous: true, DoNotReference: true, RequiredFromJSONSchemaTags: true}
	js := r.Reflect(new(In))
	js.Version = ""
	describe(reflect.TypeFor[In](), js)
	if js.Required == nil {
		js.Required = []string{}
	}
	return js
}

// describe copies the `desc` tags of t's fields (and of embedded structs) into the schema.
func describe(t reflect.Type, js *jsonschema.Schema) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			describe(f.Type, js)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if p, ok := js.Properties.Get(name); ok {
			p.Description = f.Tag.Get("desc")
		}
	}
}

// validate checks raw against the schema's required fields, enums and bounds.
func validate(js *jsonschema.Schema, raw json.RawMessage) error {
	args := map[string]json.RawMessage{}
	if len(strings.TrimSpace(string(raw))) > 0 {
		if err := json.Unmarshal(raw, &args); err != nil {
			return perr.Invalidf("arguments", "must be a JSON object: %v", err)
		}
	}
	for _, name := range js.Required {
		v, ok := args[name]
		if !ok || isEmpty(v) {
			return perr.Invalidf(name, "is required")
		}
	}
	for p := js.Properties.Oldest(); p != nil; p = p.Next() {
		v, ok := args[p.Key]
		if !ok || isEmpty(v) {
			continue
		}
		if err := check(p.Key, p.Value, v); err != nil {
			return err
		}
	}
	return nil
}

func isEmpty(v json.RawMessage) bool {
	s := strings.TrimSpace(string(v))
	return s == "" || s == "null" || s == `""`
}

func check(name string, p *jsonschema.Schema, v json.RawMessage) error {
	if len(p.Enum) > 0 {
		var s string
		if json.Unmarshal(v, &s) == nil {
			allowed := make([]string, 0, len(p.Enum))
			for _, e := range p.Enum {
				allowed = append(allowed, fmt.Sprint(e))
			}
			if !slices.Contains(allowed, strings.ToLower(strings.TrimSpace(s))) {
				return perr.Invalidf(name, "%q is not one of %s", s, strings.Join(allowed, ", "))
			}
		}
	}
	if p.Minimum == "" && p.Maximum == "" {
		return nil
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(string(v)), 64)
	if err != nil {
		return perr.Invalidf(name, "must be a number")
	}
	if lo, err := p.Minimum.Float64(); err == nil && p.Minimum != "" && n < lo {
		return perr.Invalidf(name, "must be at least %s, got %s", p.Minimum, strings.TrimSpace(string(v)))
	}
	if hi, err := p.Maximum.Float64(); err == nil && p.Maximum != "" && n > hi {
		return perr.Invalidf(name, "must be at most %s, got %s", p.Maximum, strings.TrimSpace(string(v)))
	}
	return nil
}

// argError turns a JSON decoding error into an Invalid error naming the field.
func argError(tool string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return perr.Invalidf(te.Field, "%s: must be a %s, got a JSON %s", tool, jsonKind(te.Type), te.Value)
	}
	return perr.Invalidf("arguments", "%s: arguments must be a JSON object: %v", tool, err)
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Slice:
		return "list"
	default:
		return "string"
	}
}

// capResult keeps a tool result within max bytes. A list too long loses its last items and
// becomes {"items": [...], "truncated": "…"}; anything else is cut with textutil.Cap's marker.
func capResult(s string, max int) string {
	if len(s) <= max {
		return s
	}
	var items []json.RawMessage
	if json.Unmarshal([]byte(s), &items) == nil && len(items) > 0 {
		size := 64
		keep := 0
		for keep < len(items) && size+len(items[keep])+1 <= max-96 {
			size += len(items[keep]) + 1
			keep++
		}
		b, _ := encode(map[string]any{"items": items[:keep],
			"truncated": fmt.Sprintf("%d of %d items left out (%d of %d bytes); ask for fewer, e.g. one app", len(items)-keep, len(items), len(s)-size, len(s))})
		if len(b) <= max {
			return b
		}
	}
	out, _ := textutil.Cap(s, max)
	return out
}

// encode renders a result as JSON without HTML escaping: the model reads "<<<log …>>>" blocks,
// not "\u003c\u003c\u003clog".
func encode(v any) (string, error) {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}
