package alertmanager

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"k8s-manage/agent"
	"k8s-manage/internal/httpserver"
	"k8s-manage/internal/store"
)

// Item states in the queue.
const (
	Queued     = "queued"
	Working    = "working"
	Done       = "done"
	Suppressed = "suppressed" // over the group's rate limit
	Unrouted   = "unrouted"   // no tenant or no channel for it
	Failed     = "failed"     // gave up after retries
)

// Item is one queued alert state.
type Item struct {
	ID, GroupKey, Fingerprint, Status, Receiver string
	Labels, Annotations                         map[string]string
	StartsAt                                    string
	State                                       string
	Attempts                                    int
	Outcome                                     string
	// ClaimedAt fences the claim: a worker's writes to its item hold only while the claim is
	// still its own (not taken over after the lease).
	ClaimedAt int64
	// Tenant is the tenant the worker routed the alert to (written with its outcome).
	Tenant string
}

// Queue is the durable alert queue in the service store.
type Queue struct {
	db  *store.Store
	now func() time.Time
}

// NewQueue returns the queue over db (now nil means time.Now).
func NewQueue(db *store.Store, now func() time.Time) *Queue {
	if now == nil {
		now = time.Now
	}
	return &Queue{db: db, now: now}
}

func newID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Enqueue stores every alert of w not seen before (by fingerprint, startsAt and status) in one
// transaction, and returns how many were new and how many were duplicates.
func (q *Queue) Enqueue(ctx context.Context, w *Webhook) (added, dups int, err error) {
	now := q.now().UnixMilli()
	err = q.db.InTx(ctx, func(tx *store.Tx) error {
		added, dups = 0, 0
		for _, a := range w.Alerts {
			labels := map[string]string{}
			maps.Copy(labels, w.CommonLabels)
			maps.Copy(labels, a.Labels)
			ann := map[string]string{}
			maps.Copy(ann, w.CommonAnnotations)
			maps.Copy(ann, a.Annotations)
			lb, _ := json.Marshal(labels)
			ab, _ := json.Marshal(ann)
			res, err := tx.ExecContext(ctx, `INSERT INTO alert_queue (id, dedupe_key, group_key, fingerprint, status, receiver, labels,
				annotations, starts_at, state, next_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (dedupe_key) DO NOTHING`,
				newID(), dedupeKey(a), w.GroupKey, a.Fingerprint, a.Status, w.Receiver, string(lb), string(ab),
				a.StartsAt.UTC().Format(time.RFC3339Nano), Queued, now, now)
			if err != nil {
				return fmt.Errorf("enqueue alert %s: %w", a.Fingerprint, err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				added++
			} else {
				dups++
			}
		}
		return nil
	})
	return added, dups, err
}

// Claim takes up to n due items: queued ones whose time has come, and working ones whose claim
// is older than lease (their worker died). Each is moved to working by a conditional update, so
// two workers never take the same item.
func (q *Queue) Claim(ctx context.Context, n int, lease time.Duration) ([]Item, error) {
	now := q.now()
	rows, err := q.db.QueryContext(ctx, `SELECT `+itemColumns+`, claimed_at FROM alert_queue
		WHERE (state = ? AND next_at <= ?) OR (state = ? AND claimed_at < ?) ORDER BY received_at, id LIMIT ?`,
		Queued, now.UnixMilli(), Working, now.Add(-lease).UnixMilli(), n)
	if err != nil {
		return nil, fmt.Errorf("claim alerts: %w", err)
	}
	type cand struct {
		it      Item
		claimed int64
	}
	var cs []cand
	for rows.Next() {
		var c cand
		if err := scanItem(rows, &c.it, &c.claimed); err != nil {
			rows.Close()
			return nil, err
		}
		cs = append(cs, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []Item
	for _, c := range cs {
		// The claim is conditional on the state and claim time read above.
		res, err := q.db.ExecContext(ctx, `UPDATE alert_queue SET state = ?, claimed_at = ?, attempts = attempts + 1
			WHERE id = ? AND state = ? AND claimed_at = ?`, Working, now.UnixMilli(), c.it.ID, c.it.State, c.claimed)
		if err != nil {
			return out, fmt.Errorf("claim alert %s: %w", c.it.ID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			continue
		}
		c.it.State = Working
		c.it.Attempts++
		c.it.ClaimedAt = now.UnixMilli()
		out = append(out, c.it)
	}
	return out, nil
}

const itemColumns = `id, group_key, fingerprint, status, receiver, labels, annotations, starts_at, state, attempts, outcome`

// scanItem reads itemColumns (and any extra columns into extra).
func scanItem(row interface{ Scan(...any) error }, it *Item, extra ...any) error {
	var lb, ab string
	dest := append([]any{&it.ID, &it.GroupKey, &it.Fingerprint, &it.Status, &it.Receiver, &lb, &ab, &it.StartsAt, &it.State,
		&it.Attempts, &it.Outcome}, extra...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	_ = json.Unmarshal([]byte(lb), &it.Labels)
	_ = json.Unmarshal([]byte(ab), &it.Annotations)
	return nil
}

// ErrLostClaim says another worker took the item over (this worker outlived its lease).
var ErrLostClaim = errors.New("alert claim lost to another worker")

func fenced(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrLostClaim
	}
	return nil
}

// Finish moves a claimed item to a final state with its outcome.
func (q *Queue) Finish(ctx context.Context, it Item, state, outcome string) error {
	return fenced(q.db.ExecContext(ctx, `UPDATE alert_queue SET state = ?, outcome = ?, tenant = ?, finished_at = ? WHERE id = ? AND state = ? AND claimed_at = ?`,
		state, outcome, it.Tenant, q.now().UnixMilli(), it.ID, Working, it.ClaimedAt))
}

// Progress records a claimed item's outcome so far (which channels it was posted to, which
// post is under way), so a worker taking it over does not post twice.
func (q *Queue) Progress(ctx context.Context, it Item, outcome string) error {
	return fenced(q.db.ExecContext(ctx, `UPDATE alert_queue SET outcome = ?, tenant = ? WHERE id = ? AND state = ? AND claimed_at = ?`,
		outcome, it.Tenant, it.ID, Working, it.ClaimedAt))
}

// Retry puts a claimed item back in the queue, due after delay.
func (q *Queue) Retry(ctx context.Context, it Item, outcome string, delay time.Duration) error {
	return fenced(q.db.ExecContext(ctx, `UPDATE alert_queue SET state = ?, outcome = ?, tenant = ?, next_at = ?, claimed_at = 0 WHERE id = ? AND state = ? AND claimed_at = ?`,
		Queued, outcome, it.Tenant, q.now().Add(delay).UnixMilli(), it.ID, Working, it.ClaimedAt))
}

// PostedSince counts the group's items that were posted (done) since t: the rate limiter.
func (q *Queue) PostedSince(ctx context.Context, groupKey string, t time.Time) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM alert_queue WHERE group_key = ? AND state = ? AND finished_at >= ?`,
		groupKey, Done, t.UnixMilli()).Scan(&n)
	return n, err
}

// OldestQueued is how long the oldest queued (not yet worked) alert has waited; 0 when none.
func (q *Queue) OldestQueued(ctx context.Context) (time.Duration, error) {
	var oldest sql.NullInt64
	err := q.db.QueryRowContext(ctx, `SELECT MIN(received_at) FROM alert_queue WHERE state = ?`, Queued).Scan(&oldest)
	if err != nil || !oldest.Valid {
		return 0, err
	}
	return max(0, q.now().Sub(time.UnixMilli(oldest.Int64))), nil
}

// Counts returns the number of items by state.
func (q *Queue) Counts(ctx context.Context) (map[string]int, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM alert_queue GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// Thread returns the chat thread of a group in a channel ("" when none yet).
func (q *Queue) Thread(ctx context.Context, groupKey, surface, channel string) (string, error) {
	var t string
	err := q.db.QueryRowContext(ctx, `SELECT thread FROM alert_threads WHERE group_key = ? AND surface = ? AND channel = ?`,
		groupKey, surface, channel).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return t, err
}

// SetThread records the thread a group's first post started.
func (q *Queue) SetThread(ctx context.Context, groupKey, surface, channel, thread string) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO alert_threads (group_key, surface, channel, thread, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (group_key, surface, channel) DO NOTHING`, groupKey, surface, channel, thread, q.now().UnixMilli())
	return err
}

// Record is one alert as a tenant's members see it: what fired, how the worker handled it, the
// diagnosis, the proposed fixes and the chat threads it was posted in.
type Record struct {
	ID          string            `json:"id"`
	Name        string            `json:"alertname"`
	Status      string            `json:"status"` // firing or resolved
	State       string            `json:"state"`  // queued, working, done, suppressed, unrouted, failed
	Severity    string            `json:"severity,omitempty"`
	Env         string            `json:"env,omitempty"`
	App         string            `json:"app,omitempty"`
	Summary     string            `json:"summary,omitempty"`
	Labels      map[string]string `json:"labels"`
	StartsAt    string            `json:"starts_at"`
	ReceivedAt  time.Time         `json:"received_at"`
	Finding     string            `json:"finding,omitempty"`
	Diagnosis   string            `json:"diagnosis,omitempty"`
	Fixes       []agent.Fix       `json:"fixes,omitempty"`
	Error       string            `json:"error,omitempty"`
	Threads     []ThreadRef       `json:"threads,omitempty"`
	receivedKey int64
}

// ThreadRef is a chat thread an alert's group was posted in.
type ThreadRef struct {
	Surface string `json:"surface"`
	Channel string `json:"channel"`
	Thread  string `json:"thread"`
}

// Recent lists a tenant's alerts, newest first: at most limit, received before the cursor
// (an earlier page's Next; empty for the first page). The next cursor is empty on the last page.
func (q *Queue) Recent(ctx context.Context, tenant string, limit int, cursor string) ([]Record, string, error) {
	before := int64(1<<63 - 1)
	beforeID := ""
	if cursor != "" {
		ms, id, ok := strings.Cut(cursor, ".")
		n, err := strconv.ParseInt(ms, 10, 64)
		if !ok || err != nil {
			return nil, "", &FieldError{Field: "cursor", Message: "is not a cursor this list returned"}
		}
		before, beforeID = n, id
	}
	rows, err := q.db.QueryContext(ctx, `SELECT `+itemColumns+`, received_at FROM alert_queue WHERE tenant = ?
		AND (received_at < ? OR (received_at = ? AND id < ?)) ORDER BY received_at DESC, id DESC LIMIT ?`,
		tenant, before, before, beforeID, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("alerts of %s: %w", tenant, err)
	}
	defer rows.Close()
	var out []Record
	var groups []string
	for rows.Next() {
		var it Item
		var received int64
		if err := scanItem(rows, &it, &received); err != nil {
			return nil, "", err
		}
		out = append(out, record(it, received))
		groups = append(groups, it.GroupKey)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	rows.Close() // before the threads' queries (a one-connection store)
	for i := range out {
		out[i].Threads = q.threads(ctx, groups[i])
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		next = fmt.Sprintf("%d.%s", last.receivedKey, last.ID)
	}
	return out, next, nil
}

// Record returns one of a tenant's alerts; another tenant's, or none, is not found.
func (q *Queue) Record(ctx context.Context, tenant, id string) (*Record, error) {
	var it Item
	var received int64
	err := scanItem(q.db.QueryRowContext(ctx, `SELECT `+itemColumns+`, received_at FROM alert_queue WHERE tenant = ? AND id = ?`, tenant, id), &it, &received)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("alert %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("alert %s: %w", id, err)
	}
	rec := record(it, received)
	rec.Threads = q.threads(ctx, it.GroupKey)
	return &rec, nil
}

// ErrNotFound is the error of Record for an alert the tenant does not have.
var ErrNotFound = httpserver.Refusal(404, "alert not found")

func record(it Item, received int64) Record {
	var oc outcome
	_ = json.Unmarshal([]byte(it.Outcome), &oc)
	return Record{ID: it.ID, Name: it.Labels["alertname"], Status: it.Status, State: it.State, Severity: it.Labels["severity"],
		Env: oc.Env, App: oc.App, Summary: cmp.Or(it.Annotations["summary"], it.Annotations["description"], it.Annotations["message"]),
		Labels: it.Labels, StartsAt: it.StartsAt, ReceivedAt: time.UnixMilli(received), Finding: oc.Finding, Diagnosis: oc.Diagnosis,
		Fixes: oc.Fixes, Error: oc.Error, receivedKey: received}
}

func (q *Queue) threads(ctx context.Context, groupKey string) []ThreadRef {
	rows, err := q.db.QueryContext(ctx, `SELECT surface, channel, thread FROM alert_threads WHERE group_key = ? ORDER BY created_at`, groupKey)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var out []ThreadRef
	for rows.Next() {
		var t ThreadRef
		if rows.Scan(&t.Surface, &t.Channel, &t.Thread) == nil {
			out = append(out, t)
		}
	}
	return out
}
