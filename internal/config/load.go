package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"k8s-manage/internal/textutil"
)

// EnvPrefix starts every environment variable that overrides a key.
const EnvPrefix = "K8SM_"

// LoadOptions says where configuration comes from.
type LoadOptions struct {
	// Path is the YAML file; empty means defaults and environment only.
	Path string
	// LookupEnv reads environment variables; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// ReadFile reads files (the config file and *_file secrets); nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

// Load builds the configuration: defaults, then the file, then environment overrides, then
// validation. The error, if any, is a Problems value listing every problem with its key.
func Load(opts LoadOptions) (Config, error) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	cfg := Default()
	l := loader{opts: opts}
	if opts.Path != "" {
		data, err := opts.ReadFile(opts.Path)
		if err != nil {
			return cfg, fmt.Errorf("read config file: %w", err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return cfg, Problems{{Key: opts.Path, Message: "not valid YAML: " + err.Error()}}
		}
		if len(doc.Content) > 0 {
			l.node(doc.Content[0], reflect.ValueOf(&cfg).Elem(), "")
		}
	}
	l.env(reflect.ValueOf(&cfg).Elem(), "")
	ps := append(l.problems, cfg.Validate()...)
	if len(ps) > 0 {
		sortProblems(ps)
		return cfg, ps
	}
	return cfg, nil
}

type loader struct {
	opts     LoadOptions
	problems Problems
}

func (l *loader) add(key, format string, args ...any) {
	l.problems = append(l.problems, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

// field is one struct field as configuration sees it.
type field struct {
	name   string
	value  reflect.Value
	secret bool
}

func fields(v reflect.Value) []field {
	t := v.Type()
	out := make([]field, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, field{name: name, value: v.Field(i), secret: t.Field(i).Tag.Get("secret") == "true"})
	}
	return out
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// isSection says whether a field holds nested keys rather than a value.
func isSection(v reflect.Value) bool {
	return v.Kind() == reflect.Struct && v.Type() != reflect.TypeOf(Duration(0))
}

// node decodes a YAML mapping into a struct, reporting unknown keys and bad values by key.
func (l *loader) node(n *yaml.Node, v reflect.Value, prefix string) {
	if n.Kind != yaml.MappingNode {
		l.add(orRoot(prefix), "must be a mapping of keys, got %s", kindName(n))
		return
	}
	fs := fields(v)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i].Value, n.Content[i+1]
		key := join(prefix, k)
		f, ok := lookup(fs, k)
		switch {
		case ok && isSection(f.value):
			l.node(val, f.value, key)
		case ok:
			if err := val.Decode(f.value.Addr().Interface()); err != nil {
				l.add(key, "%s", cleanYAMLError(err, f.secret))
			}
		default:
			if base, isFile := strings.CutSuffix(k, "_file"); isFile {
				if f, ok := lookup(fs, base); ok && f.secret {
					var path string
					if err := val.Decode(&path); err != nil {
						l.add(key, "must be a file path")
						continue
					}
					l.secretFile(key, path, f.value)
					continue
				}
			}
			msg := "unknown key"
			if s := suggest(k, fs); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", join(prefix, s))
			}
			l.add(key, "%s", msg)
		}
	}
}

func (l *loader) secretFile(key, path string, dst reflect.Value) {
	data, err := l.opts.ReadFile(path)
	if err != nil {
		l.add(key, "cannot read secret file: %v", errors.Unwrap(err))
		return
	}
	dst.SetString(strings.TrimRight(string(data), "\r\n"))
}

// env applies K8SM_<PATH> and, for secrets, K8SM_<PATH>_FILE overrides to every leaf key.
func (l *loader) env(v reflect.Value, prefix string) {
	for _, f := range fields(v) {
		key := join(prefix, f.name)
		if isSection(f.value) {
			l.env(f.value, key)
			continue
		}
		name := EnvName(key)
		if f.secret {
			if path, ok := l.opts.LookupEnv(name + "_FILE"); ok {
				l.secretFile(name+"_FILE", path, f.value)
			}
		}
		s, ok := l.opts.LookupEnv(name)
		if !ok {
			continue
		}
		if f.value.Kind() == reflect.String {
			f.value.SetString(s)
			continue
		}
		scalar := &yaml.Node{Kind: yaml.ScalarNode, Value: s}
		if err := scalar.Decode(f.value.Addr().Interface()); err != nil {
			l.add(name, "%s", cleanYAMLError(err, f.secret))
		}
	}
}

// EnvName is the environment variable that overrides a dotted key.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func lookup(fs []field, name string) (field, bool) {
	for _, f := range fs {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// cleanYAMLError turns yaml.v3's "line 3: cannot unmarshal !!str `abc` into int" into a
// message a person reads; secret values are never echoed.
func cleanYAMLError(err error, secret bool) string {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if secret {
		return "invalid value"
	}
	if _, after, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
		msg = after
	}
	return msg
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		return "a single value"
	case yaml.SequenceNode:
		return "a list"
	default:
		return "something else"
	}
}

func orRoot(key string) string {
	if key == "" {
		return "(top level)"
	}
	return key
}

// suggest returns the known key closest to a misspelt one, if any is close.
func suggest(k string, fs []field) string {
	best, bestD := "", 3
	for _, f := range fs {
		if d := textutil.Distance(k, f.name); d < bestD {
			best, bestD = f.name, d
		}
	}
	return best
}

func sortProblems(ps Problems) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Key < ps[j].Key })
}
