package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaultsAreValid(t *testing.T) {
	cfg, err := Load(LoadOptions{LookupEnv: env(nil)})
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if cfg.HTTP.Addr() != "127.0.0.1:8080" || cfg.Store.DSN != "sqlite://./data/k8s-manage.db" {
		t.Fatalf("unexpected defaults: %+v", cfg)
	}
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string // every problem, "key: message fragment"
	}{
		{
			name: "typo and negative port are both reported",
			yaml: "http:\n  prot: 9090\n  port: -1\n",
			want: []string{`http.port: must be between 0 and 65535, got -1`, `http.prot: unknown key (did you mean "http.port"?)`},
		},
		{
			name: "unknown section",
			yaml: "htpp:\n  port: 1\n",
			want: []string{`htpp: unknown key (did you mean "http"?)`},
		},
		{
			name: "bad duration and level",
			yaml: "http:\n  read_timeout: soon\nlog:\n  level: loud\n",
			want: []string{`http.read_timeout: not a duration`, `log.level: must be one of`},
		},
		{
			name: "wrong type",
			yaml: "http:\n  port: eighty\n",
			want: []string{`http.port: cannot unmarshal`},
		},
		{
			name: "section given a value",
			yaml: "http: 8080\n",
			want: []string{`http: must be a mapping of keys`},
		},
		{
			name: "bad env override names the variable",
			env:  map[string]string{"K8SM_HTTP_PORT": "x"},
			want: []string{`K8SM_HTTP_PORT: cannot unmarshal`},
		},
		{
			name: "bad dsn scheme does not echo the secret",
			yaml: "store:\n  dsn: mysql://root:hunter2@db/x\n",
			want: []string{`store.dsn: must start with sqlite:// or postgres://`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := LoadOptions{LookupEnv: env(tc.env)}
			if tc.yaml != "" {
				opts.Path = write(t, "c.yaml", tc.yaml)
			}
			_, err := Load(opts)
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want Problems, got %v", err)
			}
			if len(ps) != len(tc.want) {
				t.Fatalf("want %d problems, got %d: %v", len(tc.want), len(ps), ps)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(ps[i].String(), w) {
					t.Errorf("problem %d = %q, want prefix %q", i, ps[i], w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("secret echoed in error: %v", err)
			}
		})
	}
}

func TestOverridesAndSecretFiles(t *testing.T) {
	secret := write(t, "dsn", "postgres://u:s3cret@127.0.0.1/db\n")
	path := write(t, "c.yaml", "http:\n  port: 9000\n  shutdown_timeout: 3s\nstore:\n  dsn_file: "+secret+"\n")
	cfg, err := Load(LoadOptions{Path: path, LookupEnv: env(map[string]string{
		"K8SM_HTTP_HOST": "0.0.0.0", "K8SM_LOG_FORMAT": "text", "K8SM_HTTP_MAX_BODY_BYTES": "1024",
	})})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Addr() != "0.0.0.0:9000" || cfg.Log.Format != "text" || cfg.HTTP.MaxBodyBytes != 1024 {
		t.Errorf("overrides not applied: %+v", cfg)
	}
	if cfg.HTTP.ShutdownTimeout.D() != 3*time.Second {
		t.Errorf("shutdown_timeout = %s", cfg.HTTP.ShutdownTimeout)
	}
	if cfg.Store.DSN != "postgres://u:s3cret@127.0.0.1/db" {
		t.Errorf("dsn_file not read: %q", cfg.Store.DSN)
	}

	// The environment's *_FILE wins over the file's value, and a missing file names the variable.
	_, err = Load(LoadOptions{Path: path, LookupEnv: env(map[string]string{"K8SM_STORE_DSN_FILE": "/nonexistent/x"})})
	if err == nil || !strings.Contains(err.Error(), "K8SM_STORE_DSN_FILE: cannot read secret file") {
		t.Errorf("want error naming K8SM_STORE_DSN_FILE, got %v", err)
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "config", "k8s-manage.example.yaml")
	if _, err := Load(LoadOptions{Path: path, LookupEnv: env(nil)}); err != nil {
		t.Fatalf("example config: %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add("http:\n  port: 1\n")
	f.Add("store: {dsn: x}\n")
	f.Add("- a\n- b\n")
	f.Fuzz(func(t *testing.T, body string) {
		_, _ = Load(LoadOptions{Path: "x", LookupEnv: env(nil), ReadFile: func(string) ([]byte, error) { return []byte(body), nil }})
	})
}
