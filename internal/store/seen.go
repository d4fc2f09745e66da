package store

import (
	"context"
	"fmt"
	"time"
)

// FirstSeen records that surface delivered event id and reports whether this is its first
// delivery: the durable dedupe of chat events (retries, HA redeliveries, app_mention plus
// message for one message). Records older than keep are purged now and then.
func (s *Store) FirstSeen(ctx context.Context, surface, id string, keep time.Duration) (bool, error) {
	now := time.Now()
	res, err := s.ExecContext(ctx, `INSERT INTO chat_events_seen (surface, event_id, seen_at) VALUES (?, ?, ?)
		ON CONFLICT (surface, event_id) DO NOTHING`, surface, id, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("record %s event: %w", surface, err)
	}
	n, _ := res.RowsAffected()
	if n == 1 && now.UnixNano()%64 == 0 {
		_, _ = s.ExecContext(ctx, `DELETE FROM chat_events_seen WHERE seen_at < ?`, now.Add(-keep).UnixMilli())
	}
	return n == 1, nil
}
