package approval_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s-manage/agent/approval"
	"k8s-manage/internal/store"
	"k8s-manage/internal/store/storetest"
)

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time      { return time.UnixMilli(c.t.Load()) }
func (c *clock) add(d time.Duration) { c.t.Add(d.Milliseconds()) }
func newClock() *clock {
	c := &clock{}
	c.t.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	return c
}

func request(c *clock) *approval.Request {
	return &approval.Request{Tenant: "team-a", Env: "dev", Requester: "dev@example.com", Tool: "scale_app",
		Args: `{"app":"nginx","replicas":3}`, Risk: "mutating", Summary: "scale nginx 2 -> 3", Preview: "~ spec.replicas: 2 -> 3",
		ExpiresAt: c.now().Add(30 * time.Minute)}
}

func TestApprovals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.Store) {
		ctx := context.Background()
		c := newClock()
		s := approval.New(db, c.now)

		t.Run("exactly one of 100 concurrent decisions wins", func(t *testing.T) {
			r := request(c)
			if err := s.Create(ctx, r); err != nil {
				t.Fatal(err)
			}
			var wins, already atomic.Int32
			var wg sync.WaitGroup
			for i := range 100 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.Decide(ctx, r.ID, fmt.Sprintf("ops%d@example.com", i), i%2 == 0, "")
					switch {
					case err == nil:
						wins.Add(1)
					case errors.Is(err, approval.ErrAlreadyDecided):
						already.Add(1)
					default:
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 || already.Load() != 99 {
				t.Fatalf("wins=%d already=%d", wins.Load(), already.Load())
			}
			got, _ := s.Get(ctx, r.ID)
			if got.Status == approval.Pending || got.DecidedBy == "" {
				t.Fatalf("after decisions: %+v", got)
			}
		})

		t.Run("expiry", func(t *testing.T) {
			r := request(c)
			if err := s.Create(ctx, r); err != nil {
				t.Fatal(err)
			}
			c.add(31 * time.Minute)
			if _, err := s.Decide(ctx, r.ID, "ops@example.com", true, ""); !errors.Is(err, approval.ErrExpired) {
				t.Fatalf("want ErrExpired, got %v", err)
			}
			got, _ := s.Get(ctx, r.ID)
			if got.Status != approval.Expired {
				t.Fatalf("status %s", got.Status)
			}
		})

		t.Run("list, reject with reason, unknown id", func(t *testing.T) {
			r := request(c)
			r.Tenant = "team-b"
			if err := s.Create(ctx, r); err != nil {
				t.Fatal(err)
			}
			pending, err := s.List(ctx, approval.Filter{Tenants: []string{"team-b"}, Status: approval.Pending})
			if err != nil || len(pending) != 1 || pending[0].ID != r.ID || pending[0].Preview != r.Preview {
				t.Fatalf("pending = %+v %v", pending, err)
			}
			got, err := s.Decide(ctx, r.ID, "ops@example.com", false, "not during the sale")
			if err != nil || got.Status != approval.Rejected || got.Reason != "not during the sale" {
				t.Fatalf("reject: %+v %v", got, err)
			}
			if _, err := s.Decide(ctx, "nope", "x", true, ""); !errors.Is(err, approval.ErrNotFound) {
				t.Fatalf("unknown id: %v", err)
			}
		})

		t.Run("audit log is append-only and newest first", func(t *testing.T) {
			for i := range 3 {
				if err := s.Audit(ctx, approval.AuditEntry{User: "dev@example.com", Tenant: "team-a", Env: "dev", Tool: "get_app_status",
					Risk: "read-only", Args: fmt.Sprintf(`{"app":"a%d"}`, i), Outcome: "ok", Result: "{}", Duration: time.Millisecond}); err != nil {
					t.Fatal(err)
				}
			}
			log, err := s.AuditLog(ctx, "team-a", 10)
			if err != nil || len(log) != 3 || log[0].Args != `{"app":"a2"}` {
				t.Fatalf("audit = %+v %v", log, err)
			}
		})
	})
}

// The inbox pages newest first by keyset: every request once across pages, also
// when several share a millisecond; a cursor no list returned is refused.
func TestListPagesByCursor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.Store) {
		c := newClock()
		s := approval.New(db, c.now)
		ctx := context.Background()
		for i := range 7 {
			r := request(c)
			if err := s.Create(ctx, r); err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				c.add(time.Millisecond) // pairs share a created_at
			}
		}
		var got []string
		before := ""
		for range 10 {
			page, err := s.List(ctx, approval.Filter{Tenants: []string{"team-a"}, Limit: 3, Before: before})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page {
				got = append(got, r.ID)
			}
			if len(page) < 3 {
				break
			}
			before = page[len(page)-1].Cursor()
		}
		if len(got) != 7 {
			t.Fatalf("paged %d of 7: %v", len(got), got)
		}
		seen := map[string]bool{}
		for _, id := range got {
			if seen[id] {
				t.Fatalf("%s listed twice: %v", id, got)
			}
			seen[id] = true
		}
		if _, err := s.List(ctx, approval.Filter{Before: "yesterday"}); !errors.Is(err, approval.ErrBadCursor) {
			t.Fatalf("a bad cursor: %v", err)
		}
	})
}
