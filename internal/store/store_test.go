package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"k8s-manage/internal/store"
	"k8s-manage/internal/store/storetest"
)

func TestRebind(t *testing.T) {
	tests := []struct{ in, pg string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"},
		{"SELECT '?' FROM t WHERE a = ?", "SELECT '?' FROM t WHERE a = $1"},
	}
	for _, tc := range tests {
		if got := store.Rebind(store.Postgres, tc.in); got != tc.pg {
			t.Errorf("Rebind(postgres, %q) = %q, want %q", tc.in, got, tc.pg)
		}
		if got := store.Rebind(store.SQLite, tc.in); got != tc.in {
			t.Errorf("Rebind(sqlite, %q) changed it to %q", tc.in, got)
		}
	}
}

const itemsTable = `CREATE TABLE items (id BIGINT PRIMARY KEY, state TEXT NOT NULL, decided_by TEXT NOT NULL DEFAULT '', data {{BLOB}})`

// The suite every engine must pass.
func TestStoreSuite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t.Logf("engine %s", s.Dialect())
		if _, err := s.ExecContext(ctx, strings.ReplaceAll(itemsTable, "{{BLOB}}", map[store.Dialect]string{store.SQLite: "BLOB", store.Postgres: "BYTEA"}[s.Dialect()])); err != nil {
			t.Fatal(err)
		}

		t.Run("embedded migrations applied", func(t *testing.T) {
			v, err := s.SchemaVersion(ctx)
			if err != nil || v < 1 {
				t.Fatalf("schema version = %d, %v", v, err)
			}
			if _, err := s.ExecContext(ctx, "INSERT INTO users (email, created_at) VALUES (?, ?)", "a@example.com", 1); err != nil {
				t.Fatalf("users table: %v", err)
			}
		})

		t.Run("rows and blobs round trip", func(t *testing.T) {
			if _, err := s.ExecContext(ctx, "INSERT INTO items (id, state, data) VALUES (?, ?, ?)", 1, "pending", []byte{0, 1, 2, 255}); err != nil {
				t.Fatal(err)
			}
			var state string
			var data []byte
			if err := s.QueryRowContext(ctx, "SELECT state, data FROM items WHERE id = ?", 1).Scan(&state, &data); err != nil {
				t.Fatal(err)
			}
			if state != "pending" || string(data) != "\x00\x01\x02\xff" {
				t.Fatalf("got %q %v", state, data)
			}
		})

		t.Run("failed transaction leaves nothing", func(t *testing.T) {
			boom := errors.New("boom")
			err := s.InTx(ctx, func(tx *store.Tx) error {
				if _, err := tx.ExecContext(ctx, "INSERT INTO items (id, state) VALUES (?, ?)", 2, "pending"); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("InTx error = %v", err)
			}
			var n int
			if err := s.QueryRowContext(ctx, "SELECT COUNT(*) FROM items WHERE id = ?", 2).Scan(&n); err != nil || n != 0 {
				t.Fatalf("rolled-back row visible: n=%d err=%v", n, err)
			}
		})

		t.Run("panicking transaction rolls back", func(t *testing.T) {
			func() {
				defer func() { _ = recover() }()
				_ = s.InTx(ctx, func(tx *store.Tx) error {
					_, _ = tx.ExecContext(ctx, "INSERT INTO items (id, state) VALUES (?, ?)", 3, "pending")
					panic("crash")
				})
			}()
			var n int
			if err := s.QueryRowContext(ctx, "SELECT COUNT(*) FROM items WHERE id = ?", 3).Scan(&n); err != nil || n != 0 {
				t.Fatalf("row of panicked tx visible: n=%d err=%v", n, err)
			}
		})

		t.Run("transition applies exactly once under contention", func(t *testing.T) {
			if _, err := s.ExecContext(ctx, "INSERT INTO items (id, state) VALUES (?, ?)", 10, "pending"); err != nil {
				t.Fatal(err)
			}
			var wins atomic.Int32
			var wg sync.WaitGroup
			errs := make(chan error, 50)
			for i := range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					to := "approved"
					if i%2 == 1 {
						to = "rejected"
					}
					ok, err := store.Transition{Table: "items", KeyColumn: "id", Key: 10, Column: "state",
						From: []string{"pending"}, To: to, Set: map[string]any{"decided_by": "u" + string(rune('a'+i%26))}}.Apply(ctx, s)
					if err != nil {
						errs <- err
					}
					if ok {
						wins.Add(1)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if wins.Load() != 1 {
				t.Fatalf("%d callers applied the transition, want exactly 1", wins.Load())
			}
			var state, by string
			if err := s.QueryRowContext(ctx, "SELECT state, decided_by FROM items WHERE id = ?", 10).Scan(&state, &by); err != nil {
				t.Fatal(err)
			}
			if (state != "approved" && state != "rejected") || by == "" {
				t.Fatalf("state=%q decided_by=%q", state, by)
			}
			ok, err := store.Transition{Table: "items", KeyColumn: "id", Key: 10, Column: "state", From: []string{"pending"}, To: "expired"}.Apply(ctx, s)
			if err != nil || ok {
				t.Fatalf("second transition from a final state applied=%v err=%v", ok, err)
			}
		})

		t.Run("transition refuses bad identifiers", func(t *testing.T) {
			_, err := store.Transition{Table: "items; DROP TABLE items", KeyColumn: "id", Key: 1, Column: "state", From: []string{"a"}, To: "b"}.Apply(ctx, s)
			if err == nil || !strings.Contains(err.Error(), "invalid identifier") {
				t.Fatalf("want invalid identifier error, got %v", err)
			}
		})
	})
}

func TestMigrations(t *testing.T) {
	for _, e := range storetest.Engines {
		t.Run(string(e), func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, e)
			v1 := fstest.MapFS{
				"0001_a.sql": {Data: []byte("CREATE TABLE a (id BIGINT PRIMARY KEY);")},
				"0002_b.sql": {Data: []byte("CREATE TABLE b (id {{ID}}, v {{BLOB}}); INSERT INTO a (id) VALUES (1);")},
			}
			for i := range 2 { // applying twice is a no-op
				s, err := store.Open(ctx, store.Options{DSN: dsn, Migrations: v1})
				if err != nil {
					t.Fatalf("open #%d: %v", i+1, err)
				}
				var n int
				if err := s.QueryRowContext(ctx, "SELECT COUNT(*) FROM a").Scan(&n); err != nil || n != 1 {
					t.Fatalf("open #%d: rows in a = %d (%v), want 1: a migration ran twice", i+1, n, err)
				}
				if v, _ := s.SchemaVersion(ctx); v != 2 {
					t.Fatalf("schema version = %d, want 2", v)
				}
				s.Close()
			}

			// A binary that knows only version 1 refuses a database at version 2.
			old := fstest.MapFS{"0001_a.sql": v1["0001_a.sql"]}
			_, err := store.Open(ctx, store.Options{DSN: dsn, Migrations: old})
			if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), "schema version 2") ||
				!strings.Contains(err.Error(), "up to 1") {
				t.Fatalf("want ErrSchemaTooNew naming both versions, got %v", err)
			}

			// A failing migration leaves the schema at the last good version.
			bad := fstest.MapFS{
				"0001_a.sql": v1["0001_a.sql"], "0002_b.sql": v1["0002_b.sql"],
				"0003_c.sql": {Data: []byte("CREATE TABLE c (id BIGINT); INSERT INTO nope VALUES (1);")},
			}
			if _, err := store.Open(ctx, store.Options{DSN: dsn, Migrations: bad}); err == nil || !strings.Contains(err.Error(), "0003_c") {
				t.Fatalf("want an error naming migration 0003_c, got %v", err)
			}
			s, err := store.Open(ctx, store.Options{DSN: dsn, Migrations: v1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if v, _ := s.SchemaVersion(ctx); v != 2 {
				t.Fatalf("after failed migration schema version = %d, want 2", v)
			}
			if _, err := s.ExecContext(ctx, "SELECT COUNT(*) FROM c"); err == nil {
				t.Fatal("table c of the failed migration exists")
			}
		})
	}
}

func TestLoadMigrationsRejectsBadNames(t *testing.T) {
	tests := map[string]fstest.MapFS{
		"no number": {"init.sql": {Data: []byte("x")}},
		"duplicate": {"0001_a.sql": {Data: []byte("x")}, "0001_b.sql": {Data: []byte("y")}},
	}
	for name, fsys := range tests {
		if _, err := store.LoadMigrations(fsys); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
}

func TestOpenErrorsHideCredentials(t *testing.T) {
	_, err := store.Open(context.Background(), store.Options{DSN: "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=1"})
	if err == nil {
		t.Fatal("want connection error")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("password in error: %v", err)
	}
	_, err = store.Open(context.Background(), store.Options{DSN: "mysql://u:hunter2@h/db"})
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "store.dsn") {
		t.Fatalf("want store.dsn error without password, got %v", err)
	}
}
