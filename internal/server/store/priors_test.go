package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// TestFleetPriors: six printers of one model use their black ink at 4
// points a day. A seventh, of the same model, reports only "some
// remaining" until its low mark: with no rate of its own it would be
// ordered only at 15 %. Once arsd has refreshed the fleet's priors, its
// forecast takes their rate ("rate of 6 printers of the same model") and
// it is ordered while still "some remaining", once, with refreshes running
// during its reports; a printer of another model gets the rate of every
// model. A printer that stopped reporting a month ago does not count.
func TestFleetPriors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		clock := t0
		s.Now = func() time.Time { return clock }
		acct, err := s.CreateAccount(ctx, "prior@example.com", "correct horse battery", "Prior")
		if err != nil {
			t.Fatal(err)
		}
		report := func(e arsapi.Enrollment, day int, items ...string) []arsapi.Order {
			t.Helper()
			clock = t0.Add(time.Duration(day) * 24 * time.Hour)
			res, err := s.ReportLevels(ctx, acct.ID, e.ID, rep(day*24*60, items...))
			if err != nil {
				t.Fatal(err)
			}
			return res.Orders
		}
		// A printer of the model that stopped reporting more than 30 days
		// ago: its rate is not counted.
		stale := mustEnroll(t, s, acct.ID, arsapi.ProviderCanon, "STALE1")
		for day := -45; day < -38; day++ {
			report(stale, day, fmt.Sprintf("BK=%d/10", 100-10*(day+45)))
		}
		var fleet []arsapi.Enrollment
		for i := range 6 {
			fleet = append(fleet, mustEnroll(t, s, acct.ID, arsapi.ProviderCanon, fmt.Sprintf("PRIOR%d", i)))
		}
		coarse := mustEnroll(t, s, acct.ID, arsapi.ProviderCanon, "COARSE1")
		req := enrollReq(arsapi.ProviderCanon, "OTHER1")
		req.Printer.Model = "G4080"
		other, err := s.CreateEnrollment(ctx, acct.ID, req, 15)
		if err != nil {
			t.Fatal(err)
		}
		sr := fmt.Sprintf("BK=%d/15", printer.LevelSomeRemaining)
		var coarseOrders []int
		for day := 0; day < 8; day++ {
			for _, e := range fleet {
				report(e, day, fmt.Sprintf("BK=%d/10", 96-4*day))
			}
			if len(report(coarse, day, sr)) > 0 {
				coarseOrders = append(coarseOrders, day)
			}
		}
		f, err := s.SupplyForecast(ctx, acct.ID, coarse.ID, "BK")
		if err != nil {
			t.Fatal(err)
		}
		if f.Known || f.Prior != nil {
			t.Fatalf("forecast before any refresh: %+v", f)
		}
		if err := s.RefreshPriors(ctx); err != nil {
			t.Fatal(err)
		}
		f, err = s.SupplyForecast(ctx, acct.ID, coarse.ID, "BK")
		if err != nil {
			t.Fatal(err)
		}
		if !f.Known || f.Prior == nil || !f.Prior.SameModel || f.Prior.Supplies != 6 || f.Prior.RateHigh < 3.9 || f.Prior.RateHigh > 4.1 {
			t.Fatalf("forecast after the refresh: %+v (prior %+v)", f, f.Prior)
		}
		if !strings.Contains(f.Text(), "rate of 6 printers of the same model") {
			t.Errorf("Text() = %q", f.Text())
		}
		// Another model: every model's prior (the six, as the printer of
		// the other model has no rate).
		report(other, 7, "BK=70/10")
		h, err := s.LevelHistory(ctx, acct.ID, other.ID, t0)
		if err != nil {
			t.Fatal(err)
		}
		if p := h.Supplies[0].Forecast.Prior; p == nil || p.SameModel {
			t.Fatalf("other model's forecast %+v", h.Supplies[0].Forecast)
		}
		// The coarse printer goes on: new on day 0, used at 4 a day it
		// would have (100-4*d)/4 days left, ordered when that is within
		// delivery and a day (6 days on day 19, 5 on day 20): day 20.
		// Refreshes run meanwhile.
		done := make(chan error, 1)
		go func() {
			var err error
			for range 20 {
				if err = s.RefreshPriors(ctx); err != nil {
					break
				}
			}
			done <- err
		}()
		for day := 8; day < 24; day++ {
			if len(report(coarse, day, sr)) > 0 {
				coarseOrders = append(coarseOrders, day)
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// Low at last: the cycle's order is placed already.
		if len(report(coarse, 24, "BK=15/15")) > 0 {
			coarseOrders = append(coarseOrders, 24)
		}
		if fmt.Sprint(coarseOrders) != "[20]" {
			t.Fatalf("coarse printer ordered on days %v, want [20]", coarseOrders)
		}
		os := ordersOf(t, s, acct.ID, coarse.ID)
		if len(os) != 1 || !strings.Contains(os[0].Reason, "may be empty in") || !strings.Contains(os[0].Reason, "at the rate of 6 printers of the same model") {
			t.Fatalf("orders %+v", os)
		}
	})
}

// TestFleetPriorsOneAccountWeighsAsOne: ten owners' printers of a model use
// their black ink at 4 points a day; one account enrolls more printers of
// that model than a refresh reads (priorPerModel) and reports them, last,
// draining at 40 a day. Its printers crowded out every other owner's and
// set the fleet's rate every other owner's printer of the model is
// forecast with (ordered far too early). An account's printers now fill
// at most priorPerAccount of a model's places and weigh as one owner's.
func TestFleetPriorsOneAccountWeighsAsOne(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		clock := t0
		s.Now = func() time.Time { return clock }
		type printer struct {
			acct string
			e    arsapi.Enrollment
			rate int
		}
		var ps []printer
		for i := range 10 {
			acct := fmt.Sprintf("owner%d", i)
			ps = append(ps, printer{acct, mustEnroll(t, s, acct, arsapi.ProviderCanon, fmt.Sprintf("HONEST%d", i)), 4})
		}
		for i := range priorPerModel + 10 {
			ps = append(ps, printer{"mallory", mustEnroll(t, s, "mallory", arsapi.ProviderCanon, fmt.Sprintf("POISON%d", i)), 40})
		}
		for _, day := range []int{0, 2} {
			clock = t0.Add(time.Duration(day) * 24 * time.Hour)
			for _, p := range ps {
				if _, err := s.ReportLevels(ctx, p.acct, p.e.ID, rep(day*24*60, fmt.Sprintf("BK=%d/10", 96-p.rate*day))); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.RefreshPriors(ctx); err != nil {
			t.Fatal(err)
		}
		pr := s.prior(ps[0].e.Printer.Model, "BK")
		if pr == nil {
			t.Fatal("no prior")
		}
		if pr.Rate > 4.5 || pr.RateHigh > 4.5 || pr.Supplies != 10+priorPerAccount {
			t.Errorf("prior %+v: one account of %d printers moved the rate of 10 owners' printers (4 a day); want it from %d printers",
				*pr, priorPerModel+10, 10+priorPerAccount)
		}
	})
}
