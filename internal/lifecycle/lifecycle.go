// Package lifecycle starts and stops a service's parts in order, in the spirit of
// alertmanager's main and controller-runtime's Runnable: each part registers its close on a
// last-in-first-out Stack as soon as it opens (so a failed start closes exactly what opened
// before it), and every long-running loop is a Runnable in one Group that stops together.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Stack closes what was opened, newest first.
type Stack struct {
	mu      sync.Mutex
	closers []closer
}

type closer struct {
	name string
	fn   func() error
}

// Defer registers fn to run at Close under name (for logs and errors).
func (s *Stack) Defer(name string, fn func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closers = append(s.closers, closer{name, fn})
}

// Names are the registered closers, oldest first.
func (s *Stack) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.closers))
	for i, c := range s.closers {
		out[i] = c.name
	}
	return out
}

// Close runs every closer in reverse order of registration, once, and joins their errors.
// Closing again does nothing.
func (s *Stack) Close() error {
	s.mu.Lock()
	cs := s.closers
	s.closers = nil
	s.mu.Unlock()
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		if err := cs[i].fn(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", cs[i].name, err))
		}
	}
	return errors.Join(errs...)
}

// Runnable is a loop that runs until its context ends. It returns nil when it stopped because
// the context ended; any other error stops the whole Group.
type Runnable func(ctx context.Context) error

// Group runs named Runnables together.
type Group struct {
	runs []named
}

type named struct {
	name string
	run  Runnable
}

// Add registers a Runnable (before Run).
func (g *Group) Add(name string, r Runnable) { g.runs = append(g.runs, named{name, r}) }

// Names are the registered Runnables, in order.
func (g *Group) Names() []string {
	out := make([]string, len(g.runs))
	for i, r := range g.runs {
		out[i] = r.name
	}
	return out
}

// Run starts every Runnable and waits until all have returned. The first failure cancels the
// others; it is returned, named, with any others joined.
func (g *Group) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(g.runs))
	for i, r := range g.runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.run(ctx); err != nil && !(errors.Is(err, context.Canceled) && ctx.Err() != nil) {
				errs[i] = fmt.Errorf("%s: %w", r.name, err)
				cancel()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Every is a Runnable that calls fn each interval (first after one interval, or at once with
// now set) until the context ends. A failing call is logged and the loop goes on: a sampling or
// expiry loop must survive a database or cluster blip.
func Every(interval time.Duration, now bool, log *slog.Logger, what string, fn func(ctx context.Context) error) Runnable {
	return func(ctx context.Context) error {
		t := time.NewTicker(interval)
		defer t.Stop()
		if now {
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				log.Error(what, "err", err)
			}
		}
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				if err := fn(ctx); err != nil && ctx.Err() == nil {
					log.Error(what, "err", err)
				}
			}
		}
	}
}
