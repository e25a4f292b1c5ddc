package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
)

func TestSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		a, err := s.CreateAccount(ctx, "sess@example.com", "a long enough password", "")
		if err != nil {
			t.Fatal(err)
		}

		id, sess, err := s.CreateSession(ctx, a.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(id) < 40 || sess.AccountID != a.ID || len(sess.CSRFToken) < 40 || !sess.ExpiresAt.Equal(now.Add(time.Hour)) {
			t.Errorf("CreateSession = %q, %+v", id, sess)
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM web_sessions WHERE id_hash = ?`, id).Scan(&n); err != nil || n != 0 {
			t.Errorf("the raw session ID is stored (%d rows, %v)", n, err)
		}

		got, err := s.GetSession(ctx, id)
		if err != nil || got.AccountID != a.ID || got.CSRFToken != sess.CSRFToken {
			t.Errorf("GetSession = %+v, %v", got, err)
		}
		for _, bad := range []string{"", "nope", id + "x"} {
			if _, err := s.GetSession(ctx, bad); !errors.Is(err, ErrNotFound) {
				t.Errorf("GetSession(%q) err = %v", bad, err)
			}
		}
		id2, _, err := s.CreateSession(ctx, a.ID, time.Hour)
		if err != nil || id2 == id {
			t.Fatalf("second session %q, %v", id2, err)
		}

		// Expiry.
		now = now.Add(time.Hour)
		if _, err := s.GetSession(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("expired session: err = %v", err)
		}
		if n, err := s.DeleteExpiredSessions(ctx); err != nil || n != 2 {
			t.Errorf("DeleteExpiredSessions = %d, %v; want 2", n, err)
		}

		// Logout deletes.
		id3, _, err := s.CreateSession(ctx, a.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSession(ctx, id3); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSession(ctx, id3); !errors.Is(err, ErrNotFound) {
			t.Errorf("session after logout: err = %v", err)
		}
		if err := s.DeleteSession(ctx, id3); err != nil {
			t.Errorf("second DeleteSession: %v", err)
		}
	})
}

func TestLoginFailures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		for range 3 {
			if err := s.RecordLoginFailure(ctx, "email:a@b.co", "ip:192.0.2.1"); err != nil {
				t.Fatal(err)
			}
			now = now.Add(time.Minute)
		}
		count := func(key string, since time.Time) int {
			t.Helper()
			n, err := s.LoginFailures(ctx, key, since)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count("email:a@b.co", now.Add(-time.Hour)); n != 3 {
			t.Errorf("failures = %d, want 3", n)
		}
		if n := count("email:a@b.co", now.Add(-90*time.Second)); n != 1 {
			t.Errorf("failures in last 90s = %d, want 1", n)
		}
		if n := count("ip:192.0.2.2", now.Add(-time.Hour)); n != 0 {
			t.Errorf("failures of another IP = %d", n)
		}
		if err := s.ClearLoginFailures(ctx, "email:a@b.co", now.Add(-150*time.Second)); err != nil {
			t.Fatal(err)
		}
		if n := count("email:a@b.co", now.Add(-time.Hour)); n != 0 {
			t.Errorf("failures after clear = %d", n)
		}
		if n := count("ip:192.0.2.1", now.Add(-time.Hour)); n != 2 {
			t.Errorf("ip failures after clearing the old ones = %d, want 2", n)
		}
		now = now.Add(25 * time.Hour)
		if _, err := s.DeleteExpiredSessions(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count("ip:192.0.2.1", time.Unix(0, 0)); n != 0 {
			t.Errorf("failures a day old are kept: %d", n)
		}
	})
}
