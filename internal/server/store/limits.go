package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/db"
)

// Limit is core.Limit.
type Limit = core.Limit

// Burst is the Limit under key that lets a burst of n attempts through,
// then one per every: n attempts in a window of n × every (at most a
// day), and past them one attempt every interval.
func Burst(key string, n int, every time.Duration) Limit {
	return Limit{Key: key, Max: max(n, 1), Window: min(time.Duration(max(n, 1))*every, attemptTTL), Spacing: every}
}

// LimitedError is core.LimitedError.
type LimitedError = core.LimitedError

// Limits is core.Limits.
type Limits = core.Limits

var _ Limits = (*Store)(nil)

// attemptTTL is how long attempt counts are kept after the last attempt;
// every Limit.Window is shorter.
const attemptTTL = 24 * time.Hour

// takeAttempt counts one attempt under a key in one statement: a new key
// starts at 1; a key whose window has closed starts a new window; an open
// window counts on while under its maximum or, with spacing, when the
// last attempt is far enough back. No row comes back when the attempt is
// refused. The row lock the upsert takes (PostgreSQL) or the write lock
// (SQLite) makes concurrent attempts count one after another.
const takeAttempt = `INSERT INTO attempt_limits (key, n, since, last_at) VALUES (?, 1, ?, ?)
	ON CONFLICT (key) DO UPDATE SET
		n = CASE WHEN attempt_limits.since <= ? THEN 1 ELSE attempt_limits.n + 1 END,
		since = CASE WHEN attempt_limits.since <= ? THEN excluded.since ELSE attempt_limits.since END,
		last_at = excluded.last_at
	WHERE attempt_limits.since <= ? OR attempt_limits.n < ? OR attempt_limits.last_at <= ?
	RETURNING n`

// TakeAttempt implements Limits. The keys are taken in sorted order, so
// that concurrent transactions on PostgreSQL lock rows in one order.
func (s *Store) TakeAttempt(ctx context.Context, limits ...Limit) error {
	limits = slices.SortedFunc(slices.Values(limits), func(a, b Limit) int { return cmp.Compare(a.Key, b.Key) })
	now := s.now()
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		for _, l := range limits {
			if l.Window <= 0 || l.Window > attemptTTL || l.Max < 1 {
				return fmt.Errorf("take attempt under %s: bad limit %+v", l.Key, l)
			}
			opened := nanos(now.Add(-l.Window)) // a window that began at or before this has closed
			spaced := int64(math.MinInt64)      // no spacing: never far enough back
			if l.Spacing > 0 {
				spaced = nanos(now.Add(-l.Spacing))
			}
			var n int64
			err := tx.QueryRow(ctx, takeAttempt, l.Key, nanos(now), nanos(now),
				opened, opened, opened, l.Max, spaced).Scan(&n)
			if errors.Is(err, sql.ErrNoRows) {
				return s.limited(ctx, tx, l, now)
			}
			if err != nil {
				return fmt.Errorf("take attempt: %w", err)
			}
		}
		return nil
	})
}

// limited reads the spent budget of l to tell when it allows an attempt.
func (s *Store) limited(ctx context.Context, tx *db.Tx, l Limit, now time.Time) error {
	var since, last int64
	if err := tx.QueryRow(ctx, `SELECT since, last_at FROM attempt_limits WHERE key = ?`, l.Key).Scan(&since, &last); err != nil {
		return fmt.Errorf("read attempt limit: %w", err)
	}
	return spent(l, since, last, now)
}

// CheckAttempt implements Limits with the conditions of takeAttempt.
func (s *Store) CheckAttempt(ctx context.Context, l Limit) error {
	now := s.now()
	var n, since, last int64
	err := s.DB.QueryRow(ctx, `SELECT n, since, last_at FROM attempt_limits WHERE key = ?`, l.Key).Scan(&n, &since, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read attempt limit: %w", err)
	}
	if since <= nanos(now.Add(-l.Window)) || n < int64(l.Max) || (l.Spacing > 0 && last <= nanos(now.Add(-l.Spacing))) {
		return nil
	}
	return spent(l, since, last, now)
}

// spent is the LimitedError of l's spent budget, whose window began at
// since and whose last attempt was at last (unix nanoseconds).
func spent(l Limit, since, last int64, now time.Time) *LimitedError {
	wait := time.Unix(0, since).Add(l.Window).Sub(now)
	if l.Spacing > 0 {
		wait = min(wait, time.Unix(0, last).Add(l.Spacing).Sub(now))
	}
	return &LimitedError{Key: l.Key, RetryAfter: max(wait, time.Second)}
}

// ReturnAttempt implements Limits.
func (s *Store) ReturnAttempt(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if _, err := s.DB.Exec(ctx, `UPDATE attempt_limits SET n = n - 1 WHERE key = ? AND n > 0`, k); err != nil {
			return fmt.Errorf("return attempt: %w", err)
		}
	}
	return nil
}

// ResetAttempts implements Limits.
func (s *Store) ResetAttempts(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if _, err := s.DB.Exec(ctx, `DELETE FROM attempt_limits WHERE key = ?`, k); err != nil {
			return fmt.Errorf("reset attempts: %w", err)
		}
	}
	return nil
}
