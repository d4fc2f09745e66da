// Package store is the service's persistent store: SQLite (pure Go, WAL mode) by default and
// PostgreSQL when the DSN is postgres://. Repository code is written once with '?' placeholders
// and runs on both; schema changes are numbered, embedded migrations applied at Open.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Dialect is the SQL engine behind a Store.
type Dialect int

const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	default:
		return "unknown"
	}
}

// Options configures Open.
type Options struct {
	// DSN is sqlite://PATH or postgres://... (postgresql:// also accepted).
	DSN string
	// MaxOpenConns bounds the pool; 0 means 10.
	MaxOpenConns int
	// Migrations overrides the embedded migrations (tests); nil means the embedded set.
	Migrations fs.FS
}

// Store is an open, migrated database.
type Store struct {
	db      *sql.DB
	dialect Dialect
}

// Open connects, checks the connection and applies pending migrations.
func Open(ctx context.Context, opts Options) (*Store, error) {
	dialect, driver, dsn, err := parseDSN(opts.DSN)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s store: %w", dialect, err)
	}
	maxOpen := opts.MaxOpenConns
	if maxOpen <= 0 {
		maxOpen = 10
	}
	db.SetMaxOpenConns(maxOpen)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{db: db, dialect: dialect}
	if err := s.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	migrations := opts.Migrations
	if migrations == nil {
		migrations = embedded()
	}
	if err := s.migrate(ctx, migrations); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// parseDSN maps a store DSN to a driver and its DSN. Errors never include the DSN: it may hold a password.
func parseDSN(dsn string) (Dialect, string, string, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		path := strings.TrimPrefix(dsn, "sqlite://")
		query := ""
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path, query = path[:i], path[i+1:]
		}
		if path == "" {
			return 0, "", "", errors.New("store.dsn: sqlite:// needs a file path, e.g. sqlite://./data/k8s-manage.db")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return 0, "", "", fmt.Errorf("store.dsn: create directory for the SQLite file: %w", err)
		}
		v := url.Values{}
		v.Add("_pragma", "journal_mode(WAL)")
		v.Add("_pragma", "busy_timeout(10000)")
		v.Add("_pragma", "foreign_keys(1)")
		v.Add("_pragma", "synchronous(NORMAL)")
		v.Set("_txlock", "immediate") // writers queue at BEGIN instead of failing on lock upgrade
		if query != "" {
			query = "&" + query
		}
		return SQLite, "sqlite", "file:" + path + "?" + v.Encode() + query, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return Postgres, "pgx", dsn, nil
	default:
		return 0, "", "", errors.New("store.dsn: must start with sqlite:// or postgres://")
	}
}

// Dialect says which engine this store runs on.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB exposes the pool for callers that need database/sql directly (e.g. checkpoint stores).
func (s *Store) DB() *sql.DB { return s.db }

// Ping checks that the database answers; readiness probes call it.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("%s store unreachable: %w", s.dialect, err)
	}
	return nil
}

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// Querier is what repository code needs: a Store or a Tx.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	Dialect() Dialect
}

// ExecContext runs a statement written with '?' placeholders.
func (s *Store) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, Rebind(s.dialect, q), args...)
}

// QueryContext runs a query written with '?' placeholders.
func (s *Store) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.db.QueryContext(ctx, Rebind(s.dialect, q), args...)
}

// QueryRowContext runs a single-row query written with '?' placeholders.
func (s *Store) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return s.db.QueryRowContext(ctx, Rebind(s.dialect, q), args...)
}

// Tx is a transaction with the same '?' placeholder convention.
type Tx struct {
	tx      *sql.Tx
	dialect Dialect
}

func (t *Tx) Dialect() Dialect { return t.dialect }

func (t *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, Rebind(t.dialect, q), args...)
}

func (t *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, Rebind(t.dialect, q), args...)
}

func (t *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, Rebind(t.dialect, q), args...)
}

// InTx runs fn in a transaction: committed when fn returns nil, rolled back otherwise
// (and on panic, which is re-raised), so a failed step leaves the store as it was.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	tx := &Tx{tx: sqlTx, dialect: s.dialect}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// Rebind turns '?' placeholders into the dialect's own ($1, $2, ... for PostgreSQL).
// Question marks inside single-quoted literals are left alone.
func Rebind(d Dialect, q string) string {
	if d != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
			b.WriteByte(c)
		case c == '?' && !quoted:
			n++
			fmt.Fprintf(&b, "$%d", n)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
