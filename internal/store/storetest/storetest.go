// Package storetest gives tests fresh stores on both engines: a SQLite file in a temporary
// folder and a new PostgreSQL database on the server named by K8SM_TEST_POSTGRES_DSN
// (`make test` starts one on loopback with hack/ci/postgres.sh and sets the variable).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"k8s-manage/internal/store"
)

// PostgresEnv names the admin DSN of the PostgreSQL server used by tests.
const PostgresEnv = "K8SM_TEST_POSTGRES_DSN"

// Engine names a store engine under test.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Engines are every engine the store suite must pass on.
var Engines = []Engine{SQLite, Postgres}

// Each runs fn as a subtest per engine, each with its own fresh, migrated store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, e := range Engines {
		t.Run(string(e), func(t *testing.T) { fn(t, Open(t, e)) })
	}
}

// Open returns a fresh, migrated store on engine e, closed when the test ends.
func Open(t testing.TB, e Engine) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Options{DSN: DSN(t, e)})
	if err != nil {
		t.Fatalf("open %s store: %v", e, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// DSN returns the DSN of a new, empty database on engine e, dropped when the test ends.
// Tests that reopen a store (restarts, migrations) call it once and Open it themselves.
func DSN(t testing.TB, e Engine) string {
	t.Helper()
	switch e {
	case SQLite:
		return "sqlite://" + filepath.Join(t.TempDir(), "k8s-manage.db")
	case Postgres:
		return postgresDSN(t)
	default:
		t.Fatalf("unknown engine %q", e)
		return ""
	}
}

func postgresDSN(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a PostgreSQL server: runs in the full tier (make test), not under -short")
	}
	admin := os.Getenv(PostgresEnv)
	if admin == "" {
		t.Fatalf("%s is not set: the PostgreSQL half of the store suite needs a server. "+
			"Run `make test` (it starts one on 127.0.0.1 with hack/ci/postgres.sh), or export %s=$(hack/ci/postgres.sh)",
			PostgresEnv, PostgresEnv)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s is not a URL", PostgresEnv)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "k8sm_test_" + hex.EncodeToString(b[:])

	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("connect to test PostgreSQL: %v", err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// Describe returns a short name for logs: engine plus database, never credentials.
func Describe(e Engine, dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return string(e)
	}
	return fmt.Sprintf("%s %s", e, u.Path)
}
