package lifecycle

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestStackClosesNewestFirstOnce(t *testing.T) {
	var s Stack
	var order []string
	for _, n := range []string{"store", "knowledge", "tracing"} {
		s.Defer(n, func() error {
			order = append(order, n)
			if n == "knowledge" {
				return errors.New("boom")
			}
			return nil
		})
	}
	err := s.Close()
	if want := []string{"tracing", "knowledge", "store"}; !slices.Equal(order, want) {
		t.Fatalf("closed %v, want %v", order, want)
	}
	if err == nil || !strings.Contains(err.Error(), "close knowledge: boom") {
		t.Fatalf("err = %v, want the failing closer named", err)
	}
	if err := s.Close(); err != nil || len(order) != 3 {
		t.Fatalf("a second Close ran closers again: %v %v", order, err)
	}
}

func TestGroupStopsTogether(t *testing.T) {
	t.Run("context ends", func(t *testing.T) {
		var g Group
		var stopped atomic.Int32
		for _, n := range []string{"a", "b"} {
			g.Add(n, func(ctx context.Context) error { <-ctx.Done(); stopped.Add(1); return nil })
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- g.Run(ctx) }()
		cancel()
		if err := <-done; err != nil || stopped.Load() != 2 {
			t.Fatalf("Run = %v, stopped %d", err, stopped.Load())
		}
	})
	t.Run("a failure stops the others", func(t *testing.T) {
		var g Group
		var others atomic.Int32
		g.Add("waits", func(ctx context.Context) error { <-ctx.Done(); others.Add(1); return ctx.Err() })
		g.Add("fails", func(context.Context) error { return errors.New("listen: address in use") })
		err := g.Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), "fails: listen: address in use") || others.Load() != 1 {
			t.Fatalf("Run = %v (others stopped %d)", err, others.Load())
		}
		if strings.Contains(err.Error(), "waits") {
			t.Fatalf("a loop stopped by the cancellation is not a failure: %v", err)
		}
	})
}

func TestEveryKeepsGoingAfterErrors(t *testing.T) {
	var calls atomic.Int32
	r := Every(time.Millisecond, true, slog.New(slog.DiscardHandler), "tick", func(context.Context) error {
		calls.Add(1)
		return errors.New("database blip")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil || calls.Load() < 3 {
		t.Fatalf("Every = %v after %d calls", err, calls.Load())
	}
}
