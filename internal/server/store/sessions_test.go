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
