package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s-manage/agent/identity"
	"k8s-manage/internal/store"
	"k8s-manage/internal/store/storetest"
)

func TestPasswordsAndSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		pw := identity.NewPasswords(st)
		if err := pw.Set(ctx, "dev@example.com", "short"); err == nil || !strings.Contains(err.Error(), "password:") {
			t.Fatalf("short password: %v", err)
		}
		if err := pw.Set(ctx, "not-an-email", "long enough password"); err == nil || !strings.Contains(err.Error(), "user:") {
			t.Fatalf("bad user: %v", err)
		}
		if err := pw.Set(ctx, "Dev@Example.com", "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		var stored string
		if err := st.QueryRowContext(ctx, "SELECT hash FROM user_passwords WHERE user_email = ?", "dev@example.com").Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(stored, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(stored, "horse") {
			t.Fatalf("stored hash: %q", stored)
		}
		if u, err := pw.Verify(ctx, " DEV@example.com", "correct horse battery"); err != nil || u != "dev@example.com" {
			t.Fatalf("verify: %q %v", u, err)
		}
		for _, c := range [][2]string{{"dev@example.com", "wrong password!!"}, {"nobody@example.com", "correct horse battery"}} {
			if _, err := pw.Verify(ctx, c[0], c[1]); !errors.Is(err, identity.ErrBadLogin) {
				t.Fatalf("%v: %v", c, err)
			}
		}
		// Changing the password invalidates the old one.
		if err := pw.Set(ctx, "dev@example.com", "a brand new passphrase"); err != nil {
			t.Fatal(err)
		}
		if _, err := pw.Verify(ctx, "dev@example.com", "correct horse battery"); !errors.Is(err, identity.ErrBadLogin) {
			t.Fatal("the old password still works")
		}

		ss := identity.NewSessions(st, time.Hour)
		secret, sess, err := ss.Create(ctx, "dev@example.com")
		if err != nil || !strings.HasPrefix(secret, identity.SessionPrefix) || sess.CSRF == "" {
			t.Fatalf("create: %q %+v %v", secret, sess, err)
		}
		got, err := ss.Lookup(ctx, secret)
		if err != nil || got.User != "dev@example.com" || got.CSRF != sess.CSRF {
			t.Fatalf("lookup: %+v %v", got, err)
		}
		if _, err := ss.Lookup(ctx, secret+"x"); !errors.Is(err, identity.ErrNoSession) {
			t.Fatalf("wrong secret: %v", err)
		}
		if err := ss.End(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if _, err := ss.Lookup(ctx, secret); !errors.Is(err, identity.ErrNoSession) {
			t.Fatalf("after logout: %v", err)
		}
		short := identity.NewSessions(st, time.Millisecond)
		s2, _, _ := short.Create(ctx, "dev@example.com")
		time.Sleep(5 * time.Millisecond)
		if _, err := short.Lookup(ctx, s2); !errors.Is(err, identity.ErrNoSession) {
			t.Fatalf("expired session: %v", err)
		}
	})
}
