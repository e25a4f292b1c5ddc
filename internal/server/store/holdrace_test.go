package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// TestHoldActionsRace runs, at once on an order whose hold is over, what
// the owner and the server can do to it: skip, ship now, the dispatcher's
// claim (twice) and the cancel of the plan. Whatever the interleaving, the
// order has exactly one outcome: skipped and never claimed (also not
// later, past every lease), or claimed and placed; a skip that answered
// "skipped" means it was never claimed.
func TestHoldActionsRace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		var now atomic.Int64
		now.Store(t0.UnixNano())
		s.Now = func() time.Time { return time.Unix(0, now.Load()).UTC() }
		s.DefaultHold = time.Hour
		for round := range 6 {
			now.Store(t0.UnixNano())
			e := mustEnroll(t, s, "acct", arsapi.ProviderCanon, fmt.Sprintf("RACE%d", round))
			res, err := s.ReportLevels(ctx, "acct", e.ID, rep(0, "C=8/10"))
			if err != nil || len(res.Orders) != 1 || res.Orders[0].State != arsapi.OrderScheduled {
				t.Fatalf("report: %v %+v", err, res)
			}
			o := res.Orders[0]
			now.Store(t0.Add(2 * time.Hour).UnixNano())
			var (
				wg                 sync.WaitGroup
				claims             atomic.Int32
				skipped            atomic.Bool
				skipErr, shipErr   error
				cancelErr          error
				claimErr1, claimE2 error
			)
			claim := func(errp *error) {
				cs, err := s.ClaimDispatch(ctx, 10, time.Minute)
				*errp = err
				for _, c := range cs {
					if c.Order.ID == o.ID {
						claims.Add(1)
					}
				}
			}
			wg.Go(func() {
				got, err := s.SkipOrder(ctx, "acct", o.ID)
				skipErr = err
				if err == nil && got.State == arsapi.OrderSkipped {
					skipped.Store(true)
				}
			})
			wg.Go(func() { _, shipErr = s.ShipOrder(ctx, "acct", o.ID) })
			wg.Go(func() { claim(&claimErr1) })
			wg.Go(func() { claim(&claimE2) })
			wg.Go(func() {
				_, cancelErr = s.CancelEnrollment(ctx, "acct", e.ID, arsapi.CancelRequest{Reasons: []string{"printing-less"}})
			})
			wg.Wait()
			for _, err := range []error{skipErr, shipErr} {
				if err != nil && !errors.Is(err, ErrOrderNotOpen) {
					t.Fatalf("round %d: skip or ship: %v", round, err)
				}
			}
			for _, err := range []error{claimErr1, claimE2, cancelErr} {
				if err != nil {
					t.Fatalf("round %d: claim or cancel: %v", round, err)
				}
			}
			// Past any lease: nothing of a skipped order is claimed later.
			now.Store(t0.Add(48 * time.Hour).UnixNano())
			var late error
			claim(&late)
			if late != nil {
				t.Fatal(late)
			}
			got, err := s.GetOrder(ctx, "acct", o.ID)
			if err != nil {
				t.Fatal(err)
			}
			n := claims.Load()
			switch got.State {
			case arsapi.OrderSkipped:
				if n != 0 {
					t.Fatalf("round %d: skipped order claimed %d times", round, n)
				}
			case arsapi.OrderPlaced:
				if n < 1 || skipped.Load() {
					t.Fatalf("round %d: placed order, claimed %d times, skip answered skipped: %v", round, n, skipped.Load())
				}
			default:
				t.Fatalf("round %d: order %s after the race (claimed %d times)", round, got.State, n)
			}
		}
	})
}
