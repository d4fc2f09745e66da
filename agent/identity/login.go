package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"k8s-manage/internal/store"
)

// Argon2id parameters (OWASP's recommended minimum: 19 MiB, 2 passes, 1 lane).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// SessionPrefix marks web session secrets (cookie value, or bearer token for the widget).
const SessionPrefix = "k8sms_"

// ErrBadLogin is the one answer to an unknown user or a wrong password.
var ErrBadLogin = errors.New("wrong e-mail or password")

// ErrNoSession is returned for a missing, expired or ended session.
var ErrNoSession = errors.New("no such session (expired or logged out)")

// Passwords stores local users' password hashes.
type Passwords struct{ db *store.Store }

// NewPasswords builds the password store.
func NewPasswords(db *store.Store) *Passwords { return &Passwords{db: db} }

// hashPassword returns the PHC string of password with a fresh salt.
func hashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// checkPassword verifies password against a PHC string (with its own parameters).
func checkPassword(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<20 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummy is verified against when the user is unknown, so both cases take the same time.
var dummy, _ = hashPassword("k8s-manage timing equaliser")

// Set sets (or replaces) a user's password; it must be at least 12 characters.
func (p *Passwords) Set(ctx context.Context, user, password string) error {
	user = strings.ToLower(strings.TrimSpace(user))
	if !strings.Contains(user, "@") {
		return fmt.Errorf("user: %q is not an e-mail address", user)
	}
	if len([]rune(password)) < 12 {
		return errors.New("password: must be at least 12 characters")
	}
	h, err := hashPassword(password)
	if err != nil {
		return err
	}
	_, err = p.db.ExecContext(ctx, `INSERT INTO user_passwords (user_email, hash, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (user_email) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`, user, h, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// Verify returns the normalised user when password is right, else ErrBadLogin.
func (p *Passwords) Verify(ctx context.Context, user, password string) (string, error) {
	user = strings.ToLower(strings.TrimSpace(user))
	var h string
	err := p.db.QueryRowContext(ctx, "SELECT hash FROM user_passwords WHERE user_email = ?", user).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		checkPassword(dummy, password)
		return "", ErrBadLogin
	}
	if err != nil {
		return "", fmt.Errorf("look up password: %w", err)
	}
	if !checkPassword(h, password) {
		return "", ErrBadLogin
	}
	return user, nil
}

// Session is a logged-in browser (or widget).
type Session struct {
	User    string
	CSRF    string
	Expires time.Time
}

// Sessions stores web sessions.
type Sessions struct {
	db  *store.Store
	ttl time.Duration
}

// NewSessions builds the session store; sessions last ttl (default 12h).
func NewSessions(db *store.Store, ttl time.Duration) *Sessions {
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	return &Sessions{db: db, ttl: ttl}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Create starts a session for user and returns its secret (shown once) and state.
func (s *Sessions) Create(ctx context.Context, user string) (string, Session, error) {
	secret := SessionPrefix + randomHex(32)
	sess := Session{User: user, CSRF: randomHex(24), Expires: time.Now().Add(s.ttl)}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO web_sessions (id_hash, user_email, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		hash(secret), user, sess.CSRF, time.Now().UnixMilli(), sess.Expires.UnixMilli()); err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	if randomHex(1) == "00" { // now and then, drop expired sessions
		_, _ = s.db.ExecContext(ctx, "DELETE FROM web_sessions WHERE expires_at < ?", time.Now().UnixMilli())
	}
	return secret, sess, nil
}

// Lookup returns the live session of a secret.
func (s *Sessions) Lookup(ctx context.Context, secret string) (Session, error) {
	if !strings.HasPrefix(secret, SessionPrefix) {
		return Session{}, ErrNoSession
	}
	var sess Session
	var exp int64
	err := s.db.QueryRowContext(ctx, "SELECT user_email, csrf, expires_at FROM web_sessions WHERE id_hash = ?", hash(secret)).
		Scan(&sess.User, &sess.CSRF, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("look up session: %w", err)
	}
	sess.Expires = time.UnixMilli(exp)
	if time.Now().After(sess.Expires) {
		return Session{}, ErrNoSession
	}
	return sess, nil
}

// End logs a session out.
func (s *Sessions) End(ctx context.Context, secret string) error {
	_, err := s.db.ExecContext(ctx, "DELETE FROM web_sessions WHERE id_hash = ?", hash(secret))
	return err
}
