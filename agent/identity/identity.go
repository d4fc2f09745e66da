// Package identity maps surface identities to platform users: API tokens (stored as SHA-256
// hashes, shown once at creation) for the web API and the CLI.
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s-manage/internal/store"
)

// TokenPrefix marks k8s-manage API tokens (and lets secret scanners find them).
const TokenPrefix = "k8sm_"

// ErrUnknownToken is returned for a missing, wrong or revoked token.
var ErrUnknownToken = errors.New("unknown or revoked API token")

// Tokens stores API tokens.
type Tokens struct{ db *store.Store }

// NewTokens builds a token store.
func NewTokens(db *store.Store) *Tokens { return &Tokens{db: db} }

func hash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Create issues a token for a user; the token itself is returned once and never stored.
func (t *Tokens) Create(ctx context.Context, user, name string) (string, error) {
	user = strings.ToLower(strings.TrimSpace(user))
	if !strings.Contains(user, "@") {
		return "", fmt.Errorf("user: %q is not an e-mail address", user)
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	token := TokenPrefix + hex.EncodeToString(b[:])
	if _, err := t.db.ExecContext(ctx, "INSERT INTO api_tokens (token_hash, user_email, name, created_at) VALUES (?, ?, ?, ?)",
		hash(token), user, name, time.Now().UnixMilli()); err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	return token, nil
}

// Lookup returns the user of a token.
func (t *Tokens) Lookup(ctx context.Context, token string) (string, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return "", ErrUnknownToken
	}
	var user string
	err := t.db.QueryRowContext(ctx, "SELECT user_email FROM api_tokens WHERE token_hash = ? AND revoked = 0", hash(token)).Scan(&user)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrUnknownToken
	}
	if err != nil {
		return "", fmt.Errorf("look up token: %w", err)
	}
	return user, nil
}

// Revoke disables every token of a user with the given name (all when name is empty).
func (t *Tokens) Revoke(ctx context.Context, user, name string) (int, error) {
	q, args := "UPDATE api_tokens SET revoked = 1 WHERE user_email = ?", []any{strings.ToLower(user)}
	if name != "" {
		q += " AND name = ?"
		args = append(args, name)
	}
	res, err := t.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
