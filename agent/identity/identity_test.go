package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"k8s-manage/agent/identity"
	"k8s-manage/internal/store"
	"k8s-manage/internal/store/storetest"
)

func TestTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.Store) {
		ctx := context.Background()
		ts := identity.NewTokens(db)
		tok, err := ts.Create(ctx, "Dev@Example.com", "laptop")
		if err != nil || !strings.HasPrefix(tok, identity.TokenPrefix) {
			t.Fatalf("token %q, %v", tok, err)
		}
		if u, err := ts.Lookup(ctx, tok); err != nil || u != "dev@example.com" {
			t.Fatalf("lookup = %q, %v", u, err)
		}
		var n int
		db.QueryRowContext(ctx, "SELECT COUNT(*) FROM api_tokens WHERE token_hash = ?", tok).Scan(&n)
		if n != 0 {
			t.Fatal("the token itself is stored")
		}
		for _, bad := range []string{"", "nope", identity.TokenPrefix + "00", tok + "x"} {
			if _, err := ts.Lookup(ctx, bad); !errors.Is(err, identity.ErrUnknownToken) {
				t.Errorf("lookup(%q): %v", bad, err)
			}
		}
		if n, err := ts.Revoke(ctx, "dev@example.com", "laptop"); err != nil || n != 1 {
			t.Fatalf("revoke %d %v", n, err)
		}
		if _, err := ts.Lookup(ctx, tok); !errors.Is(err, identity.ErrUnknownToken) {
			t.Fatal("revoked token still works")
		}
		if _, err := ts.Create(ctx, "not-an-email", ""); err == nil || !strings.Contains(err.Error(), "user") {
			t.Fatalf("bad user: %v", err)
		}
	})
}
