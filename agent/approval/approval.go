// Package approval stores approval requests for mutating tool calls and moves each one from
// pending to approved, rejected or expired exactly once, with a conditional update, so any
// number of concurrent or repeated decisions leaves one winner.
package approval

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"k8s-manage/internal/textutil"
	"strconv"
	"strings"
	"time"

	"k8s-manage/internal/httpserver"
	"k8s-manage/internal/store"
)

// Status of a request.
type Status string

const (
	Pending  Status = "pending"
	Approved Status = "approved"
	Rejected Status = "rejected"
	Expired  Status = "expired"
)

// Request is one approval request.
type Request struct {
	ID        string `json:"id"`
	Tenant    string `json:"tenant"`
	Env       string `json:"env"`
	Requester string `json:"requester"`
	Tool      string `json:"tool"`
	Args      string `json:"args"`
	Risk      string `json:"risk"`
	Summary   string `json:"summary"`
	Preview   string `json:"preview"` // the server-side dry run's diff
	// Where the paused turn resumes: the server's own, never shown (a conversation belongs to
	// its requester alone).
	ConversationID string    `json:"-"`
	CheckpointID   string    `json:"-"`
	InterruptID    string    `json:"-"`
	Status         Status    `json:"status"`
	CreatedAt      time.Time `json:"created_at"`
	ExpiresAt      time.Time `json:"expires_at"`
	DecidedBy      string    `json:"decided_by,omitempty"`
	DecidedAt      time.Time `json:"decided_at,omitzero"`
	Reason         string    `json:"reason,omitempty"`
}

// Errors of Decide.
var (
	ErrNotFound       = httpserver.Refusal(404, "approval request not found")
	ErrAlreadyDecided = httpserver.Refusal(409, "approval request already decided")
	ErrExpired        = httpserver.Refusal(409, "approval request expired")
)

// Store keeps requests in the service store.
type Store struct {
	db  *store.Store
	now func() time.Time
}

// New builds a Store; now is the clock (nil means time.Now).
func New(db *store.Store, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

// NewID returns a short random request id, easy to type in a chat ("同意 a1b2c3d4").
func NewID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Create stores a pending request; ID, Status and CreatedAt are filled in when empty.
func (s *Store) Create(ctx context.Context, r *Request) error {
	if r.ID == "" {
		r.ID = NewID()
	}
	r.Status, r.CreatedAt = Pending, s.now()
	if r.ExpiresAt.IsZero() {
		return errors.New("approval: ExpiresAt is required")
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO approvals (id, tenant, env, requester, tool, args, risk, summary, preview,
		conversation_id, checkpoint_id, interrupt_id, status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Tenant, r.Env, r.Requester, r.Tool, r.Args, r.Risk, r.Summary, r.Preview, r.ConversationID, r.CheckpointID,
		r.InterruptID, string(r.Status), r.CreatedAt.UnixMilli(), r.ExpiresAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("approval: create: %w", err)
	}
	return nil
}

const columns = `id, tenant, env, requester, tool, args, risk, summary, preview, conversation_id, checkpoint_id,
	interrupt_id, status, created_at, expires_at, decided_by, decided_at, reason`

func scan(row interface{ Scan(...any) error }) (*Request, error) {
	var r Request
	var status string
	var created, expires, decided int64
	if err := row.Scan(&r.ID, &r.Tenant, &r.Env, &r.Requester, &r.Tool, &r.Args, &r.Risk, &r.Summary, &r.Preview,
		&r.ConversationID, &r.CheckpointID, &r.InterruptID, &status, &created, &expires, &r.DecidedBy, &decided, &r.Reason); err != nil {
		return nil, err
	}
	r.Status, r.CreatedAt, r.ExpiresAt = Status(status), time.UnixMilli(created), time.UnixMilli(expires)
	if decided > 0 {
		r.DecidedAt = time.UnixMilli(decided)
	}
	return &r, nil
}

// SetInterrupt points a request at the interrupt its paused turn now waits on (it moves when
// another call of the same turn was resumed first).
func (s *Store) SetInterrupt(ctx context.Context, id, interruptID string) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE approvals SET interrupt_id = ? WHERE id = ?", interruptID, id); err != nil {
		return fmt.Errorf("approval %s: %w", id, err)
	}
	return nil
}

// Get loads a request.
func (s *Store) Get(ctx context.Context, id string) (*Request, error) {
	r, err := scan(s.db.QueryRowContext(ctx, "SELECT "+columns+" FROM approvals WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("approval: get %s: %w", id, err)
	}
	return r, nil
}

// Filter selects requests; empty fields match everything.
type Filter struct {
	Tenants   []string
	Status    Status
	Requester string
	Limit     int
	// Before pages: only requests older than this one (its Cursor), in the list's order.
	Before string
}

// Cursor is the keyset of r in List's order (newest first), for Filter.Before.
func (r *Request) Cursor() string { return fmt.Sprintf("%d.%s", r.CreatedAt.UnixMilli(), r.ID) }

// ErrBadCursor is List's error for a Before that no List returned.
var ErrBadCursor = errors.New("cursor: is not a cursor this list returned")

// List returns requests, newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]*Request, error) {
	q := "SELECT " + columns + " FROM approvals WHERE 1 = 1"
	var args []any
	if len(f.Tenants) > 0 {
		q += " AND tenant IN (?" + strings.Repeat(", ?", len(f.Tenants)-1) + ")"
		for _, t := range f.Tenants {
			args = append(args, t)
		}
	}
	if f.Status != "" {
		q += " AND status = ?"
		args = append(args, string(f.Status))
	}
	if f.Requester != "" {
		q += " AND requester = ?"
		args = append(args, f.Requester)
	}
	if f.Before != "" {
		ms, id, ok := strings.Cut(f.Before, ".")
		n, err := strconv.ParseInt(ms, 10, 64)
		if !ok || err != nil || id == "" {
			return nil, ErrBadCursor
		}
		q += " AND (created_at < ? OR (created_at = ? AND id < ?))"
		args = append(args, n, n, id)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	q += fmt.Sprintf(" ORDER BY created_at DESC, id DESC LIMIT %d", limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("approval: list: %w", err)
	}
	defer rows.Close()
	var out []*Request
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Decide moves a pending, unexpired request to approved or rejected. Exactly one caller wins;
// the others get ErrAlreadyDecided (or ErrExpired). Authorisation is the caller's job.
func (s *Store) Decide(ctx context.Context, id, decider string, approve bool, reason string) (*Request, error) {
	to := Rejected
	if approve {
		to = Approved
	}
	now := s.now()
	res, err := s.db.ExecContext(ctx, `UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, reason = ?
		WHERE id = ? AND status = ? AND expires_at > ?`, string(to), decider, now.UnixMilli(), reason, id, string(Pending), now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("approval: decide %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, err
	}
	r, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if n == 1 {
		return r, nil
	}
	if r.Status == Pending && !r.ExpiresAt.After(now) {
		if _, err := s.ExpireDue(ctx); err != nil {
			return nil, err
		}
		return r, fmt.Errorf("%w: %s expired at %s", ErrExpired, id, r.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if r.Status == Expired {
		return r, fmt.Errorf("%w: %s", ErrExpired, id)
	}
	return r, fmt.Errorf("%w: %s was %s by %s", ErrAlreadyDecided, id, r.Status, r.DecidedBy)
}

// PendingCount is how many requests wait for a decision (the approval backlog metric).
func (s *Store) PendingCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM approvals WHERE status = ?", string(Pending)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("approval: count pending: %w", err)
	}
	return n, nil
}

// ExpireDue marks every pending request past its expiry as expired and returns how many.
func (s *Store) ExpireDue(ctx context.Context) (int, error) {
	now := s.now().UnixMilli()
	res, err := s.db.ExecContext(ctx, "UPDATE approvals SET status = ?, decided_at = ? WHERE status = ? AND expires_at <= ?",
		string(Expired), now, string(Pending), now)
	if err != nil {
		return 0, fmt.Errorf("approval: expire: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// AuditEntry is one tool call in the audit log.
type AuditEntry struct {
	At         time.Time     `json:"at"`
	User       string        `json:"user"`
	Tenant     string        `json:"tenant"`
	Env        string        `json:"env"`
	Tool       string        `json:"tool"`
	Risk       string        `json:"risk"`
	Args       string        `json:"args"`
	ApprovalID string        `json:"approval_id,omitempty"`
	Outcome    string        `json:"outcome"` // ok, error, rejected, expired, forbidden
	Result     string        `json:"result"`
	Duration   time.Duration `json:"duration_ns"`
}

// Audit appends an entry to the audit log (never updated or deleted).
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	e.Result = textutil.Truncate(e.Result, 4000)
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit_log (at, user_email, tenant, env, tool, risk, args, approval_id, outcome, result, duration_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.At.UnixMilli(), e.User, e.Tenant, e.Env, e.Tool, e.Risk, e.Args, e.ApprovalID,
		e.Outcome, e.Result, e.Duration.Milliseconds())
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditLog returns the newest entries of a tenant (all tenants when empty).
func (s *Store) AuditLog(ctx context.Context, tenant string, limit int) ([]AuditEntry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := "SELECT at, user_email, tenant, env, tool, risk, args, approval_id, outcome, result, duration_ms FROM audit_log"
	var args []any
	if tenant != "" {
		q += " WHERE tenant = ?"
		args = append(args, tenant)
	}
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at, ms int64
		if err := rows.Scan(&at, &e.User, &e.Tenant, &e.Env, &e.Tool, &e.Risk, &e.Args, &e.ApprovalID, &e.Outcome, &e.Result, &ms); err != nil {
			return nil, err
		}
		e.At, e.Duration = time.UnixMilli(at), time.Duration(ms)*time.Millisecond
		out = append(out, e)
	}
	return out, rows.Err()
}
