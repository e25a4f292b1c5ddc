package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
)

// TestAPITokenCapConcurrent: creations sent at the same moment by one
// account never take it past MaxAPITokens; each one beyond is refused
// with ErrTooManyAPITokens, and the others succeed.
func TestAPITokenCapConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := New(d)
		ctx := context.Background()
		a, err := s.CreateAccount(ctx, "tok@example.com", "correct horse battery", "")
		if err != nil {
			t.Fatal(err)
		}
		for i := range MaxAPITokens - 5 {
			if _, _, err := s.CreateAPIToken(ctx, a.ID, fmt.Sprintf("t%d", i), 0); err != nil {
				t.Fatal(err)
			}
		}
		const n = 40
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			made    int
			refused int
		)
		for i := range n {
			wg.Go(func() {
				_, _, err := s.CreateAPIToken(ctx, a.ID, fmt.Sprintf("race%d", i), 0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					made++
				case errors.Is(err, ErrTooManyAPITokens):
					refused++
				default:
					t.Errorf("create: %v", err)
				}
			})
		}
		wg.Wait()
		var kept int
		if err := d.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE account_id = ?`, a.ID).Scan(&kept); err != nil {
			t.Fatal(err)
		}
		if kept != MaxAPITokens || made != 5 || refused != n-5 {
			t.Errorf("%d tokens kept (want %d), %d made (want 5), %d refused (want %d)", kept, MaxAPITokens, made, refused, n-5)
		}
	})
}
