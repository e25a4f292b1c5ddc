package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

const day = 24 * 60 // minutes

// ordersOf lists an enrollment's orders, oldest first.
func ordersOf(t *testing.T, s *Store, account, enrollmentID string) []arsapi.Order {
	t.Helper()
	l, err := s.ListOrders(context.Background(), account, enrollmentID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	out := l.Items
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// TestForecastPolicyOrdersAhead reports a black cartridge falling 4
// points a day. The forecast policy (the default) orders it while it has
// about a week left, well above the printer's low level of 10 %; the
// threshold policy, set on the account, orders at 10 %. Then the noise of
// a point up and duplicate reports order nothing more in the cycle, and a
// new cartridge orders again by forecast.
func TestForecastPolicyOrdersAhead(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		acct, err := s.CreateAccount(ctx, "fc@example.com", "correct horse battery", "Fc")
		if err != nil {
			t.Fatal(err)
		}
		run := func(serial string) (firstOrderDay, level int, e arsapi.Enrollment) {
			e = mustEnroll(t, s, acct.ID, arsapi.ProviderCanon, serial)
			firstOrderDay = -1
			for d := 0; d < 30; d++ {
				lv := max(96-4*d, 0)
				res, err := s.ReportLevels(ctx, acct.ID, e.ID, rep(d*day, fmt.Sprintf("BK=%d/10", lv)))
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Orders) > 0 && firstOrderDay < 0 {
					firstOrderDay, level = d, lv
				}
			}
			return firstOrderDay, level, e
		}
		d1, lv1, e1 := run("FC1")
		// About a week left at 4 a day: 5 days' delivery, a day to the
		// next report, the margin of the range.
		if d1 < 0 || lv1 <= 10 || lv1 > 40 {
			t.Fatalf("forecast policy ordered on day %d at %d%%, want before the low level, with about a week left", d1, lv1)
		}
		os := ordersOf(t, s, acct.ID, e1.ID)
		if len(os) != 1 || !strings.Contains(os[0].Reason, "delivery in 5.0 days") {
			t.Fatalf("orders %+v, want one with the forecast's reason", os)
		}
		if _, err := s.SetOrderSettings(ctx, acct.ID, "", arsapi.OrderSettings{Policy: "threshold"}); err != nil {
			t.Fatal(err)
		}
		d2, lv2, _ := run("FC2")
		if lv2 > 10 || d2 <= d1 {
			t.Fatalf("threshold policy ordered on day %d at %d%%, want at 10%% or below", d2, lv2)
		}
		if _, err := s.SetOrderSettings(ctx, acct.ID, "", arsapi.OrderSettings{Policy: "nonsense"}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("policy nonsense: %v", err)
		}
		// Back to the forecast, on the enrollment only.
		if _, err := s.SetOrderSettings(ctx, acct.ID, e1.ID, arsapi.OrderSettings{Policy: "forecast"}); err != nil {
			t.Fatal(err)
		}
		// One order per cycle under noise, duplicates and concurrency.
		at := 30 * day
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				lv := 0
				if i%2 == 1 {
					lv = 1 // a point of noise up: no new cartridge
				}
				if _, err := s.ReportLevels(ctx, acct.ID, e1.ID, rep(at+i%4, fmt.Sprintf("BK=%d/10", lv))); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := len(ordersOf(t, s, acct.ID, e1.ID)); n != 1 {
			t.Fatalf("%d orders after noise and concurrent reports, want 1", n)
		}
		// A new cartridge: the next cycle orders again, ahead, once.
		var again []arsapi.Order
		for d := 0; d < 30; d++ {
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() {
					res, err := s.ReportLevels(ctx, acct.ID, e1.ID, rep(at+day+d*day, fmt.Sprintf("BK=%d/10", max(100-4*d, 0))))
					if err != nil {
						t.Error(err)
					}
					again = append(again, res.Orders...)
				})
				wg.Wait()
			}
		}
		if len(again) != 1 || again[0].LevelAtOrder <= 10 {
			t.Fatalf("second cycle orders %+v, want one, above the low level", again)
		}
	})
}

// TestHoldSkipShip: with a hold window an order is scheduled and the
// dispatcher cannot claim it before the window ends; a skip re-arms the
// supply at its low level only; ship now makes it due at once; a skip
// after the hand-over is refused, and another account finds nothing.
func TestHoldSkipShip(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		now := t0
		s.Now = func() time.Time { return now }
		s.DefaultHold = 24 * time.Hour
		s.ScheduledNotices = true
		e := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "HOLD1")
		res, err := s.ReportLevels(ctx, "acct", e.ID, rep(0, "C=8/10"))
		if err != nil || len(res.Orders) != 1 {
			t.Fatalf("report: %v %+v", err, res)
		}
		o := res.Orders[0]
		if o.State != arsapi.OrderScheduled || o.HoldUntil == nil || !o.HoldUntil.Equal(t0.Add(24*time.Hour)) {
			t.Fatalf("order %+v, want scheduled until t0+24h", o)
		}
		// The order.scheduled notice is due; the hand-over is not.
		ns, err := s.ClaimScheduledNotices(ctx, 10, time.Minute)
		if err != nil || len(ns) != 1 || ns[0].Notice.Order.ID != o.ID || !ns[0].Notice.HoldUntil.Equal(*o.HoldUntil) ||
			ns[0].Notice.Order.Supply != "C" || ns[0].Notice.Reason == "" {
			t.Fatalf("notices %v %+v", err, ns)
		}
		if err := s.RecordScheduledNotice(ctx, o.ID, nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if ns, _ := s.ClaimScheduledNotices(ctx, 10, time.Minute); len(ns) != 0 {
			t.Fatalf("notice claimed again after it was sent: %+v", ns)
		}
		now = t0.Add(23 * time.Hour)
		if cs, err := s.ClaimDispatch(ctx, 10, time.Minute); err != nil || len(cs) != 0 {
			t.Fatalf("claimed within the hold: %v %+v", err, cs)
		}
		// Skip: never handed over, the supply re-armed at its low level.
		if _, err := s.SkipOrder(ctx, "other", o.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other account skips: %v", err)
		}
		sk, err := s.SkipOrder(ctx, "acct", o.ID)
		if err != nil || sk.State != arsapi.OrderSkipped {
			t.Fatalf("skip: %v %+v", err, sk)
		}
		if again, err := s.SkipOrder(ctx, "acct", o.ID); err != nil || again.State != arsapi.OrderSkipped {
			t.Fatalf("second skip: %v %+v", err, again)
		}
		if _, err := s.ShipOrder(ctx, "acct", o.ID); !errors.Is(err, ErrOrderNotOpen) {
			t.Fatalf("ship a skipped order: %v", err)
		}
		now = t0.Add(48 * time.Hour)
		if cs, _ := s.ClaimDispatch(ctx, 10, time.Minute); len(cs) != 0 {
			t.Fatalf("a skipped order was claimed: %+v", cs)
		}
		// Still low: the re-armed supply orders again (low only, even
		// with a forecast saying so earlier).
		res, err = s.ReportLevels(ctx, "acct", e.ID, rep(48*60, "C=7/10"))
		if err != nil || len(res.Orders) != 1 || res.Orders[0].ID == o.ID {
			t.Fatalf("report after skip: %v %+v", err, res)
		}
		o2 := res.Orders[0]
		if !strings.Contains(o2.Reason, "at or below 10%") {
			t.Fatalf("re-armed order's reason %q, want the low level", o2.Reason)
		}
		// Ship now: claimed at the next pass, placed, with its events.
		sh, err := s.ShipOrder(ctx, "acct", o2.ID)
		if err != nil || sh.State != arsapi.OrderScheduled || sh.HoldUntil == nil || !sh.HoldUntil.Equal(now) {
			t.Fatalf("ship: %v %+v", err, sh)
		}
		cs, err := s.ClaimDispatch(ctx, 10, time.Minute)
		if err != nil || len(cs) != 1 || cs[0].Order.ID != o2.ID {
			t.Fatalf("claim after ship: %v %+v", err, cs)
		}
		if _, err := s.SkipOrder(ctx, "acct", o2.ID); !errors.Is(err, ErrOrderNotOpen) {
			t.Fatalf("skip after the hand-over started: %v", err)
		}
		if err := s.RecordDispatch(ctx, o2.ID, "webhook", fulfil.Result{State: "placed"}, nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetOrder(ctx, "acct", o2.ID)
		if err != nil || got.State != arsapi.OrderPlaced {
			t.Fatalf("after hand-over: %v %+v", err, got)
		}
		var events []string
		for _, ev := range got.History {
			events = append(events, string(ev.State)+": "+ev.Detail)
		}
		joined := strings.Join(events, "\n")
		for _, want := range []string{"scheduled: C at 7%", "shipped now by the owner", "hold over", "handed to webhook"} {
			if !strings.Contains(joined, want) {
				t.Errorf("history lacks %q:\n%s", want, joined)
			}
		}
		// Hold 0 on the enrollment: placed at once, due at once.
		zero := 0
		if _, err := s.SetOrderSettings(ctx, "acct", e.ID, arsapi.OrderSettings{HoldMinutes: &zero}); err != nil {
			t.Fatal(err)
		}
		res, err = s.ReportLevels(ctx, "acct", e.ID, rep(49*60, "M=5/10"))
		if err != nil || len(res.Orders) != 1 || res.Orders[0].State != arsapi.OrderPlaced || res.Orders[0].HoldUntil != nil {
			t.Fatalf("hold 0: %v %+v", err, res)
		}
		if set, err := s.OrderSettings(ctx, "acct", e.ID); err != nil || set.HoldMinutes == nil || *set.HoldMinutes != 0 {
			t.Fatalf("settings %v %+v", err, set)
		}
	})
}

// TestSkipRacesReports skips a scheduled order while reports of the same
// supply arrive concurrently: whatever the interleaving, the order is
// skipped, and the re-armed supply orders exactly once more.
func TestSkipRacesReports(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		s.DefaultHold = time.Hour
		e := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "RACE1")
		res, err := s.ReportLevels(ctx, "acct", e.ID, rep(0, "C=8/10"))
		if err != nil || len(res.Orders) != 1 {
			t.Fatalf("report: %v %+v", err, res)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := s.SkipOrder(ctx, "acct", res.Orders[0].ID); err != nil {
				t.Error(err)
			}
		})
		for i := range 20 {
			wg.Go(func() {
				if _, err := s.ReportLevels(ctx, "acct", e.ID, rep(1+i%5, "C=8/10")); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		// One more report after the skip orders at most once more.
		for i := range 5 {
			if _, err := s.ReportLevels(ctx, "acct", e.ID, rep(10+i, "C=7/10")); err != nil {
				t.Fatal(err)
			}
		}
		os := ordersOf(t, s, "acct", e.ID)
		if len(os) != 2 || os[0].State != arsapi.OrderSkipped || os[1].State != arsapi.OrderScheduled {
			var st []string
			for _, o := range os {
				st = append(st, string(o.State))
			}
			t.Fatalf("orders %v, want skipped then one scheduled", st)
		}
	})
}

// TestCancelSkipsScheduled cancels a plan while one of its orders waits in
// the hold window and another was already handed over: the scheduled one
// is skipped and never claimed, with no notice, and the handed-over one
// keeps its state.
func TestCancelSkipsScheduled(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		now := t0
		s.Now = func() time.Time { return now }
		s.DefaultHold = 24 * time.Hour
		s.ScheduledNotices = true
		e := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "HOLDC")
		res, err := s.ReportLevels(ctx, "acct", e.ID, rep(0, "C=8/10"))
		if err != nil || len(res.Orders) != 1 {
			t.Fatalf("report: %v %+v", err, res)
		}
		shipped := res.Orders[0]
		if _, err := s.ShipOrder(ctx, "acct", shipped.ID); err != nil {
			t.Fatal(err)
		}
		if cs, err := s.ClaimDispatch(ctx, 10, time.Minute); err != nil || len(cs) != 1 {
			t.Fatalf("claim the shipped order: %v %+v", err, cs)
		}
		if err := s.RecordDispatch(ctx, shipped.ID, "webhook", fulfil.Result{State: "placed"}, nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
		now = t0.Add(time.Hour)
		res, err = s.ReportLevels(ctx, "acct", e.ID, rep(60, "C=8/10", "M=6/10"))
		if err != nil || len(res.Orders) != 1 || res.Orders[0].State != arsapi.OrderScheduled {
			t.Fatalf("second report: %v %+v", err, res)
		}
		held := res.Orders[0]
		if _, err := s.CancelEnrollment(ctx, "acct", e.ID, arsapi.CancelRequest{Reasons: []string{"printing-less"}}); err != nil {
			t.Fatal(err)
		}
		now = t0.Add(48 * time.Hour)
		if cs, err := s.ClaimDispatch(ctx, 10, time.Minute); err != nil || len(cs) != 0 {
			t.Fatalf("claimed after the plan was cancelled: %v %+v", err, cs)
		}
		ns, err := s.ClaimScheduledNotices(ctx, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			if n.Notice.Order.ID == held.ID {
				t.Fatalf("a notice for the skipped order after the plan was cancelled: %+v", n)
			}
		}
		got, err := s.GetOrder(ctx, "acct", held.ID)
		if err != nil || got.State != arsapi.OrderSkipped {
			t.Fatalf("held order after cancel: %v %+v", err, got)
		}
		if last := got.History[len(got.History)-1]; !strings.Contains(last.Detail, "plan was cancelled") {
			t.Errorf("held order's last event %+v, want why it was skipped", last)
		}
		if got, err := s.GetOrder(ctx, "acct", shipped.ID); err != nil || got.State != arsapi.OrderPlaced {
			t.Fatalf("handed-over order after cancel: %v %+v", err, got)
		}
	})
}

// TestOrderSettingsEffective: what applies to a printer comes from the
// printer, else the account, else the server, and says which.
func TestOrderSettingsEffective(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		s.DefaultHold = 24 * time.Hour
		acct, err := s.CreateAccount(ctx, "eff@example.com", "correct horse battery", "Eff")
		if err != nil {
			t.Fatal(err)
		}
		e := mustEnroll(t, s, acct.ID, arsapi.ProviderCanon, "EFF1")
		want := func(enr string, w arsapi.EffectiveOrderSettings) {
			t.Helper()
			set, err := s.OrderSettings(ctx, acct.ID, enr)
			if err != nil || set.Effective == nil || *set.Effective != w {
				t.Fatalf("settings of %q: %v %+v, want effective %+v", enr, err, set, w)
			}
		}
		def := arsapi.EffectiveOrderSettings{Policy: "forecast", PolicyFrom: "default", HoldMinutes: 1440, HoldFrom: "default"}
		want("", def)
		want(e.ID, def)
		two := 120
		got, err := s.SetOrderSettings(ctx, acct.ID, "", arsapi.OrderSettings{Policy: "threshold", HoldMinutes: &two,
			Effective: &arsapi.EffectiveOrderSettings{Policy: "ignored"}})
		if err != nil || got.Effective == nil || got.Effective.Policy != "threshold" || got.Effective.PolicyFrom != "account" {
			t.Fatalf("set account: %v %+v", err, got)
		}
		want(e.ID, arsapi.EffectiveOrderSettings{Policy: "threshold", PolicyFrom: "account", HoldMinutes: 120, HoldFrom: "account"})
		zero := 0
		if _, err := s.SetOrderSettings(ctx, acct.ID, e.ID, arsapi.OrderSettings{HoldMinutes: &zero}); err != nil {
			t.Fatal(err)
		}
		want(e.ID, arsapi.EffectiveOrderSettings{Policy: "threshold", PolicyFrom: "account", HoldMinutes: 0, HoldFrom: "printer"})
		want("", arsapi.EffectiveOrderSettings{Policy: "threshold", PolicyFrom: "account", HoldMinutes: 120, HoldFrom: "account"})
		s.OrderPolicy = "threshold"
		if _, err := s.SetOrderSettings(ctx, acct.ID, "", arsapi.OrderSettings{}); err != nil {
			t.Fatal(err)
		}
		want("", arsapi.EffectiveOrderSettings{Policy: "threshold", PolicyFrom: "default", HoldMinutes: 1440, HoldFrom: "default"})
	})
}
