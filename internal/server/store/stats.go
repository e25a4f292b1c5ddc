package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Stats are counts over the whole service, for its metrics.
type Stats struct {
	// Enrollments counts enrollments by provider and state.
	Enrollments map[EnrollmentKey]int
	// Orders counts orders by state.
	Orders map[arsapi.OrderState]int
	// DispatchPending is the number of orders waiting to be handed to a
	// fulfiller (the dispatch outbox), not those in their hold window.
	DispatchPending int
	// OldestPending is since when the oldest of them has waited (placed,
	// or its hold over); zero when none waits.
	OldestPending time.Time
}

// EnrollmentKey is one group of Stats.Enrollments.
type EnrollmentKey struct {
	Provider arsapi.Provider
	State    arsapi.EnrollmentState
}

// Stats counts enrollments and orders by state and reads the dispatch
// outbox: three grouped reads, each one scan of its table (or, for the
// outbox, of its partial index).
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Enrollments: map[EnrollmentKey]int{}, Orders: map[arsapi.OrderState]int{}}
	err := s.each(ctx, `SELECT provider, state, COUNT(*) FROM enrollments GROUP BY provider, state`, func(r *sql.Rows) error {
		var k EnrollmentKey
		var n int
		if err := r.Scan(&k.Provider, &k.State, &n); err != nil {
			return err
		}
		st.Enrollments[k] = n
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("count enrollments: %w", err)
	}
	err = s.each(ctx, `SELECT state, COUNT(*) FROM orders GROUP BY state`, func(r *sql.Rows) error {
		var state arsapi.OrderState
		var n int
		if err := r.Scan(&state, &n); err != nil {
			return err
		}
		st.Orders[state] = n
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("count orders: %w", err)
	}
	var oldest sql.NullInt64
	// An order in its hold window waits for its owner, not for a
	// fulfiller; once the hold is over it waits since the hold ended.
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*), MIN(COALESCE(hold_until, created_at)) FROM orders
		WHERE next_attempt_at IS NOT NULL AND (state <> 'scheduled' OR hold_until IS NULL OR hold_until <= ?)`, nanos(s.now())).
		Scan(&st.DispatchPending, &oldest); err != nil {
		return Stats{}, fmt.Errorf("read dispatch outbox: %w", err)
	}
	if oldest.Valid {
		st.OldestPending = fromNanos(oldest.Int64)
	}
	return st, nil
}

// each runs query and calls fn for every row.
func (s *Store) each(ctx context.Context, query string, fn func(*sql.Rows) error) error {
	rows, err := s.DB.Query(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
