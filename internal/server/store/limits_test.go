package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
)

func TestAttemptLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		pair := Limit{Key: "pair", Max: 3, Window: 15 * time.Minute}
		ip := Limit{Key: "ip", Max: 5, Window: 15 * time.Minute}
		take := func(ls ...Limit) error {
			t.Helper()
			err := s.TakeAttempt(ctx, ls...)
			var le *LimitedError
			if err != nil && !errors.As(err, &le) {
				t.Fatal(err)
			}
			return err
		}
		for i := range 3 {
			if err := take(pair, ip); err != nil {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
			now = now.Add(time.Minute)
		}
		err := take(pair, ip)
		var le *LimitedError
		if !errors.As(err, &le) || le.Key != "pair" || le.RetryAfter != 12*time.Minute {
			t.Fatalf("fourth attempt: %v, want pair limited for 12m", err)
		}
		// A refused attempt takes nothing, from any of its limits.
		other := Limit{Key: "pair2", Max: 3, Window: 15 * time.Minute}
		for i := range 2 {
			if err := take(other, ip); err != nil {
				t.Fatalf("another pair, attempt %d: %v", i+1, err)
			}
		}
		if err := take(other, ip); !errors.As(err, &le) || le.Key != "ip" {
			t.Fatalf("sixth attempt from ip: %v, want ip limited", err)
		}
		// Given back, an attempt can be taken again.
		if err := s.ReturnAttempt(ctx, "ip"); err != nil {
			t.Fatal(err)
		}
		if err := take(ip); err != nil {
			t.Fatalf("after a returned attempt: %v", err)
		}
		if err := s.ResetAttempts(ctx, "pair"); err != nil {
			t.Fatal(err)
		}
		if err := take(pair); err != nil {
			t.Fatalf("after reset: %v", err)
		}
		// The window closes 15 minutes after its first attempt.
		now = now.Add(12 * time.Minute)
		if err := take(ip); err != nil {
			t.Fatalf("after the window: %v", err)
		}

		// With spacing, attempts past the maximum go on, spaced.
		slow := Limit{Key: "acct", Max: 2, Window: time.Hour, Spacing: 10 * time.Second}
		take(slow)
		take(slow)
		if err := take(slow); !errors.As(err, &le) || le.RetryAfter != 10*time.Second {
			t.Fatalf("third spaced attempt at once: %v, want wait 10s", err)
		}
		now = now.Add(4 * time.Second)
		if err := take(slow); !errors.As(err, &le) || le.RetryAfter != 6*time.Second {
			t.Fatalf("after 4s: %v, want wait 6s", err)
		}
		now = now.Add(6 * time.Second)
		if err := take(slow); err != nil {
			t.Fatalf("after 10s: %v", err)
		}
		if err := take(slow); !errors.As(err, &le) {
			t.Fatalf("right after a spaced attempt: %v", err)
		}

		// Counts are forgotten a day after their last attempt.
		now = now.Add(25 * time.Hour)
		if _, err := s.DeleteExpiredSessions(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM attempt_limits`).Scan(&n); err != nil || n != 0 {
			t.Errorf("attempt counts a day old: %d (%v)", n, err)
		}
	})
}

// TestAttemptLimitsConcurrent takes attempts from 100 goroutines at once
// (several limits each, in different orders): exactly Max of them get
// one. Counting after the work, as sign-in did, let most of them through.
func TestAttemptLimitsConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ls := []Limit{
					{Key: "pair", Max: 5, Window: time.Hour},
					{Key: "ip", Max: 1000, Window: time.Hour},
					{Key: "acct", Max: 1000, Window: time.Hour, Spacing: time.Second},
				}
				if i%2 == 1 {
					ls[0], ls[2] = ls[2], ls[0]
				}
				err := s.TakeAttempt(ctx, ls...)
				var le *LimitedError
				switch {
				case err == nil:
					ok.Add(1)
				case errors.As(err, &le):
					refused.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if ok.Load() != 5 || refused.Load() != 95 {
			t.Errorf("100 concurrent attempts with 5 allowed: %d taken, %d refused", ok.Load(), refused.Load())
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT n FROM attempt_limits WHERE key = 'ip'`).Scan(&n); err != nil || n != 5 {
			t.Errorf("ip count = %d (%v), want 5: refused attempts took from it", n, err)
		}
	})
}
