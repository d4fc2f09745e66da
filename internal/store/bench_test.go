package store_test

import (
	"context"
	"testing"

	"k8s-manage/internal/store"
	"k8s-manage/internal/store/storetest"
)

// BenchmarkTransition measures one conditional state change (an approval decision) per engine.
func BenchmarkTransition(b *testing.B) {
	for _, e := range storetest.Engines {
		b.Run(string(e), func(b *testing.B) {
			ctx := context.Background()
			s := storetest.Open(b, e)
			if _, err := s.ExecContext(ctx, "CREATE TABLE items (id BIGINT PRIMARY KEY, state TEXT NOT NULL)"); err != nil {
				b.Fatal(err)
			}
			for i := range b.N {
				if _, err := s.ExecContext(ctx, "INSERT INTO items (id, state) VALUES (?, 'pending')", i); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				ok, err := store.Transition{Table: "items", KeyColumn: "id", Key: i, Column: "state",
					From: []string{"pending"}, To: "approved"}.Apply(ctx, s)
				if err != nil || !ok {
					b.Fatalf("transition %d: ok=%v err=%v", i, ok, err)
				}
			}
		})
	}
}
