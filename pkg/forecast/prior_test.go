package forecast

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/pkg/printer"
)

func TestNewPrior(t *testing.T) {
	if _, ok := NewPrior([]float64{1, 2, 3, 4}, true); ok {
		t.Fatal("a prior from 4 rates")
	}
	// Rates that are no rate are left out: 0 (not in use), +Inf, NaN.
	if _, ok := NewPrior([]float64{1, 2, 3, 4, 0, math.Inf(1), math.NaN()}, true); ok {
		t.Fatal("a prior from 4 usable rates")
	}
	rates := []float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5} // 1..10
	p, ok := NewPrior(rates, true)
	if !ok || p.RateLow != 3 || p.Rate != 6 || p.RateHigh != 10 || p.Supplies != 10 || !p.SameModel {
		t.Fatalf("%+v %v", p, ok)
	}
	if got, want := p.Text(), "rate of 10 printers of the same model"; got != want {
		t.Errorf("Text() = %q, want %q", got, want)
	}
}

func TestPriorsFor(t *testing.T) {
	var samples []PriorSample
	for i := range 6 {
		samples = append(samples, PriorSample{Model: "TS8320", Supply: "BK", Rate: float64(i + 1)})
	}
	samples = append(samples, PriorSample{Model: "G4080", Supply: "BK", Rate: 20})
	ps := NewPriors(samples)
	tests := []struct {
		model, supply string
		sameModel     bool
		supplies      int
	}{
		{"TS8320", "BK", true, 6},
		{"G4080", "BK", false, 7},    // one of its own: every model's
		{"TS8320", "CYAN", false, 7}, // no cyan rates: every supply's
	}
	for _, tc := range tests {
		p := ps.For(tc.model, tc.supply)
		if p == nil || p.SameModel != tc.sameModel || p.Supplies != tc.supplies {
			t.Errorf("For(%s, %s) = %+v, want same model %v from %d", tc.model, tc.supply, p, tc.sameModel, tc.supplies)
		}
	}
	if p := NewPriors(samples[:4]).For("TS8320", "BK"); p != nil {
		t.Errorf("prior from 4 rates: %+v", p)
	}
	if p := (Priors{}).For("TS8320", "BK"); p != nil {
		t.Errorf("zero Priors gave %+v", p)
	}
}

// TestEstimateWithPrior: a prior stands in for the rate a supply's own
// readings cannot give yet, and for nothing else; the forecast policy
// then orders the first cartridge of a printer reporting only "some
// remaining" before it is low, and a new enrollment read low ahead of
// its low mark.
func TestEstimateWithPrior(t *testing.T) {
	sr := printer.LevelSomeRemaining
	prior := &Prior{RateLow: 2, Rate: 3, RateHigh: 5, Supplies: 12, SameModel: true}
	srDays := func(n int) []Reading {
		var lv []int
		for range n + 1 {
			lv = append(lv, sr)
		}
		return daily(lv...)
	}
	tests := []struct {
		name       string
		rs         []Reading
		now        int
		known      bool
		estimated  float64
		daysLow    float64
		order      bool
		withPrior  bool
		textSuffix string
	}{
		// New at day 0; at 5 % a day the soonest end is (100-5*10)/5 = 10
		// days away on day 10, more than delivery and a day (6 days).
		{name: "some remaining, day 10", rs: srDays(10), now: 10, known: true, estimated: 70, daysLow: 10, withPrior: true,
			textSuffix: "(rate of 12 printers of the same model)"},
		// Day 15: (100-75)/5 = 5 days: ordered, though the printer says
		// nothing but "some remaining".
		{name: "some remaining, day 15", rs: srDays(15), now: 15, known: true, estimated: 55, daysLow: 5, order: true, withPrior: true},
		// The cycle starts at the first "some remaining" after a
		// percentage: the cartridge put in on day 3.
		{name: "cycle start after a low level", rs: append(daily(15, 15, 0), srDays(14)[3:]...), now: 14, known: true,
			estimated: 67, daysLow: 100.0/5 - 11, withPrior: true},
		// A new enrollment read at 25 %: 25/5 = 5 days.
		{name: "read once at 25", rs: daily(25), now: 0, known: true, estimated: 25, daysLow: 5, order: true, withPrior: true},
		{name: "read once at 60", rs: daily(60), now: 0, known: true, estimated: 60, daysLow: 12, withPrior: true},
		// Its own rate, however slow, wins.
		{name: "own rate", rs: daily(linear(40, 1, 15)...), now: 14, known: true, estimated: 26, daysLow: 25.0 / 1},
		// A level that has not moved in days is a supply hardly used:
		// no prior says otherwise.
		{name: "level not moving", rs: daily(30, 30, 30, 30), now: 3},
		{name: "no percentage", rs: daily(printer.LevelUnknown), now: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := EstimateWith(tc.rs, day(tc.now), prior)
			if f.Known != tc.known || (f.Prior != nil) != tc.withPrior {
				t.Fatalf("known %v, prior %v, want %v %v: %+v", f.Known, f.Prior, tc.known, tc.withPrior, f)
			}
			if !tc.known {
				if d := Forecasted(f, DefaultLeadTime, 15); d.Order {
					t.Errorf("ordered without a rate: %+v", d)
				}
				return
			}
			if math.Abs(f.Estimated-tc.estimated) > 1.5 {
				t.Errorf("estimated %.1f, want %.1f", f.Estimated, tc.estimated)
			}
			if tc.withPrior && math.Abs(f.DaysLow-tc.daysLow) > 1e-9 {
				t.Errorf("days low %.2f, want %.2f", f.DaysLow, tc.daysLow)
			}
			if d := Forecasted(f, DefaultLeadTime, 15); d.Order != tc.order {
				t.Errorf("Forecasted = %+v, want order %v (%+v)", d, tc.order, f)
			}
			if !strings.HasSuffix(f.Text(), tc.textSuffix) {
				t.Errorf("Text() = %q, want it to end in %q", f.Text(), tc.textSuffix)
			}
			// Without the prior, the same readings give no rate.
			if g := Estimate(tc.rs, day(tc.now)); tc.withPrior && g.Known {
				t.Errorf("a rate without the prior: %+v", g)
			}
		})
	}
	// The printer's own low mark still orders first, prior or not.
	low := EstimateWith(append(srDays(2), Reading{At: day(3), Level: 15}), day(3), prior)
	if d := Forecasted(low, DefaultLeadTime, 15); !d.Order || !strings.Contains(d.Reason, "at or below 15%") {
		t.Errorf("low level: %+v (%+v)", d, low)
	}
	// JSON carries where the rate comes from.
	b, err := json.Marshal(EstimateWith(srDays(10), day(10), prior))
	if err != nil || !strings.Contains(string(b), `"prior":{"rate_low":2,"rate":3,"rate_high":5,"supplies":12,"same_model":true}`) {
		t.Errorf("JSON %s, %v", b, err)
	}
}

// TestPriorsOwnerWeighsAsOne: the samples of one owner weigh as one
// sample; without owners every sample weighs alone, as before.
func TestPriorsOwnerWeighsAsOne(t *testing.T) {
	var samples []PriorSample
	for i := range 10 {
		samples = append(samples, PriorSample{Model: "TS8320", Supply: "BK", Rate: 4, Owner: fmt.Sprint("owner", i)})
	}
	for range 30 {
		samples = append(samples, PriorSample{Model: "TS8320", Supply: "BK", Rate: 40, Owner: "mallory"})
	}
	p := NewPriors(samples).For("TS8320", "BK")
	if p == nil || p.Rate != 4 || p.RateHigh != 4 || p.Supplies != 40 {
		t.Errorf("owners weighed: %+v, want rates of 4 from 40 supplies", p)
	}
	for i := range samples {
		samples[i].Owner = ""
	}
	if p := NewPriors(samples).For("TS8320", "BK"); p == nil || p.Rate != 40 || p.RateHigh != 40 {
		t.Errorf("no owners: %+v, want every sample alone", p)
	}
}
