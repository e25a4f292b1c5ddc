package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"  Alice@Example.COM ", "alice@example.com", true},
		{"bob.smith+ink@mail.example.org", "bob.smith+ink@mail.example.org", true},
		{"", "", false},
		{"alice", "", false},
		{"alice@localhost", "", false},
		{"Alice <alice@example.com>", "", false},
		{"a@b.c, d@e.f", "", false},
		{"alice@example.com.", "", false},
		{strings.Repeat("a", 250) + "@example.com", "", false},
	}
	for _, tt := range tests {
		got, err := NormalizeEmail(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if !tt.ok {
			var ie *InvalidAccountError
			if !errors.As(err, &ie) || ie.Field != "email" {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want an email InvalidAccountError", tt.in, got, err)
			}
		}
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@b.co", "A <a@b.co>", "\"q\"@x.y", "@", "a@@b", "\x00@x.y", "ü@ü.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeEmail(s)
		if err != nil {
			return
		}
		again, err := NormalizeEmail(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeEmail not idempotent: %q -> %q -> %q, %v", s, got, again, err)
		}
	})
}

func TestAccounts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)

		a, err := s.CreateAccount(ctx, " Owner@Example.com", "a long enough password", "  Pat Owner ")
		if err != nil {
			t.Fatal(err)
		}
		if a.Email != "owner@example.com" || a.Name != "Pat Owner" || a.ID == "" || a.CreatedAt.IsZero() {
			t.Errorf("created account = %+v", a)
		}
		var stored string
		if err := d.QueryRow(ctx, `SELECT password_hash FROM accounts WHERE id = ?`, a.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, "a long enough password") || !strings.HasPrefix(stored, "$argon2id$") {
			t.Errorf("stored password hash = %q", stored)
		}

		if _, err := s.CreateAccount(ctx, "OWNER@example.com", "another long password", ""); !errors.Is(err, ErrEmailTaken) {
			t.Errorf("second account with same email: err = %v, want ErrEmailTaken", err)
		}
		var ie *InvalidAccountError
		if _, err := s.CreateAccount(ctx, "new@example.com", "short", ""); !errors.As(err, &ie) || ie.Field != "password" {
			t.Errorf("short password: err = %v", err)
		}
		if _, err := s.CreateAccount(ctx, "not an email", "a long enough password", ""); !errors.As(err, &ie) || ie.Field != "email" {
			t.Errorf("bad email: err = %v", err)
		}

		got, err := s.CheckPassword(ctx, "OWNER@EXAMPLE.COM ", "a long enough password")
		if err != nil || got.ID != a.ID || got.Email != a.Email || !got.CreatedAt.Equal(a.CreatedAt) {
			t.Errorf("CheckPassword right = %+v, %v; want %+v", got, err, a)
		}
		for _, tc := range []struct{ email, pw string }{
			{"owner@example.com", "a long enough passworD"},
			{"nobody@example.com", "a long enough password"},
			{"garbage", "a long enough password"},
			{"owner@example.com", strings.Repeat("x", MaxPasswordLen+5)},
		} {
			if _, err := s.CheckPassword(ctx, tc.email, tc.pw); err != ErrBadCredentials {
				t.Errorf("CheckPassword(%q) err = %v, want ErrBadCredentials", tc.email, err)
			}
		}

		g, err := s.GetAccount(ctx, a.ID)
		if err != nil || g != a {
			t.Errorf("GetAccount = %+v, %v; want %+v", g, err, a)
		}
		if _, err := s.GetAccount(ctx, "no-such-id"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetAccount(unknown) err = %v", err)
		}
	})
}

func TestCreateAccountConcurrentSameEmail(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := New(d)
		const n = 8
		var (
			wg              sync.WaitGroup
			mu              sync.Mutex
			created, taken  int
			unexpectedError error
		)
		for range n {
			wg.Go(func() {
				_, err := s.CreateAccount(context.Background(), "race@example.com", "a long enough password", "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					created++
				case errors.Is(err, ErrEmailTaken):
					taken++
				default:
					unexpectedError = err
				}
			})
		}
		wg.Wait()
		if unexpectedError != nil {
			t.Fatal(unexpectedError)
		}
		if created != 1 || taken != n-1 {
			t.Errorf("created %d, taken %d; want 1 and %d", created, taken, n-1)
		}
	})
}

// BenchmarkCheckPassword measures a sign-in: one argon2id hash (19 MiB,
// 2 passes) plus one query, for a known and for an unknown email.
func BenchmarkCheckPassword(b *testing.B) {
	s := New(dbtest.SQLite(b))
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, "bench@example.com", "a long enough password", ""); err != nil {
		b.Fatal(err)
	}
	for _, email := range []string{"bench@example.com", "nobody@example.com"} {
		b.Run(strings.Split(email, "@")[0], func(b *testing.B) {
			for b.Loop() {
				if _, err := s.CheckPassword(ctx, email, "a long enough password"); err != nil && email == "bench@example.com" {
					b.Fatal(err)
				}
			}
		})
	}
}
