package config

import (
	"context"
	"maps"
	"slices"
	"time"
)

// KeyChange is how one key differs between two points in time.
type KeyChange struct {
	Key    string `json:"key"`
	Change string `json:"change"` // added | removed | changed
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	Secret bool   `json:"secret,omitempty"`
	// FromVersion and ToVersion are the key's versions on each side (0: absent).
	FromVersion int64  `json:"from_version"`
	ToVersion   int64  `json:"to_version"`
	Author      string `json:"author,omitempty"` // who wrote the "to" side
}

// Diff compares the app's configuration as it was at from with how it was at to (zero: now).
// Secret values are never shown: a secret key is reported changed when a newer version was
// written, with both sides masked.
func (s *Service) Diff(ctx context.Context, r Ref, from, to time.Time) ([]KeyChange, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	if to.IsZero() {
		to = s.now()
	}
	rows, err := s.rows(ctx, s.db, r, "", true)
	if err != nil {
		return nil, err
	}
	a, b := snapshot(rows, from), snapshot(rows, to)
	var out []KeyChange
	for _, k := range slices.Sorted(maps.Keys(union(a, b))) {
		x, inA := a[k]
		y, inB := b[k]
		c := KeyChange{Key: k, Secret: x.Secret || y.Secret, FromVersion: x.Version, ToVersion: y.Version, Author: y.Author}
		switch {
		case inA && !inB:
			c.Change, c.From, c.Author = "removed", x.Value, ""
		case !inA && inB:
			c.Change, c.To = "added", y.Value
		case x.Version != y.Version && (x.Secret || y.Secret || x.Value != y.Value):
			c.Change, c.From, c.To = "changed", x.Value, y.Value
		default:
			continue
		}
		if c.Secret { // stored secret rows carry only ciphertext; show presence, never values
			c.From, c.To = present(inA), present(inB)
		}
		out = append(out, c)
	}
	return out, nil
}

// snapshot is the latest non-deleted version of each key written at or before t.
func snapshot(rows []row, t time.Time) map[string]Item {
	latest := map[string]row{}
	for _, x := range rows { // ordered by key, version
		if !x.UpdatedAt.After(t) {
			latest[x.Key] = x
		}
	}
	out := map[string]Item{}
	for k, x := range latest {
		if !x.Deleted {
			out[k] = x.Item
		}
	}
	return out
}

func union(a, b map[string]Item) map[string]bool {
	u := map[string]bool{}
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

func present(ok bool) string {
	if ok {
		return Masked
	}
	return ""
}
