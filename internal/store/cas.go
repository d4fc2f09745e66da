package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// ErrNotFound is returned by repositories when a row does not exist.
var ErrNotFound = errors.New("not found")

// Transition moves one row's state column from one of From to To, with optional extra
// column values, in a single conditional UPDATE. It is the building block for state machines
// such as approvals: when two callers race, exactly one applies the transition.
type Transition struct {
	Table     string
	KeyColumn string
	Key       any
	Column    string
	From      []string
	To        string
	// Set holds other columns to write with the transition (e.g. decided_by, decided_at).
	Set map[string]any
}

var ident = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Apply runs the transition. It returns true when this call moved the row, false when the row
// was not in one of the From states (already moved by someone else, or absent).
func (t Transition) Apply(ctx context.Context, q Querier) (bool, error) {
	if len(t.From) == 0 {
		return false, errors.New("transition: From is empty")
	}
	cols := []string{t.Column}
	args := []any{t.To}
	for _, c := range slices.Sorted(maps.Keys(t.Set)) {
		cols = append(cols, c)
		args = append(args, t.Set[c])
	}
	for _, c := range append([]string{t.Table, t.KeyColumn}, cols...) {
		if !ident.MatchString(c) {
			return false, fmt.Errorf("transition: invalid identifier %q", c)
		}
	}
	sets := make([]string, len(cols))
	for i, c := range cols {
		sets[i] = c + " = ?"
	}
	args = append(args, t.Key)
	for _, f := range t.From {
		args = append(args, f)
	}
	q1 := fmt.Sprintf("UPDATE %s SET %s WHERE %s = ? AND %s IN (%s)", t.Table, strings.Join(sets, ", "),
		t.KeyColumn, t.Column, strings.TrimSuffix(strings.Repeat("?, ", len(t.From)), ", "))
	res, err := q.ExecContext(ctx, q1, args...)
	if err != nil {
		return false, fmt.Errorf("transition %s %v -> %s: %w", t.Table, t.From, t.To, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("transition %s: rows affected: %w", t.Table, err)
	}
	return n == 1, nil
}
