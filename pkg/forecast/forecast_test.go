package forecast

import (
	"encoding/json"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/pkg/printer"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// daily returns one reading a day, day 0 first.
func daily(levels ...int) []Reading {
	rs := make([]Reading, len(levels))
	for i, l := range levels {
		rs[i] = Reading{At: t0.Add(time.Duration(i) * 24 * time.Hour), Level: l}
	}
	return rs
}

// linear returns n daily readings from start going down by rate a day,
// rounded, plus the noise pattern repeated.
func linear(start, rate float64, n int, noise ...int) []int {
	out := make([]int, n)
	for i := range out {
		v := start - rate*float64(i)
		if len(noise) > 0 {
			v += float64(noise[i%len(noise)])
		}
		out[i] = int(math.Round(math.Max(v, 0)))
	}
	return out
}

func day(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }

func TestEstimate(t *testing.T) {
	steady := linear(90, 2, 20)
	noisy := linear(90, 2, 20, 2, -1, 0, -2, 1)
	noisy[7] = 40 // one wild reading
	refill := append(linear(30, 3, 8), linear(100, 1, 10)...)
	idle := append(linear(80, 2, 10), linear(62, 0, 14)...)
	steps := []int{}
	for i := 0; i < 30; i++ { // true level 95 - 1.5 a day, rounded up to 10
		steps = append(steps, int(math.Ceil((95-1.5*float64(i))/10))*10)
	}
	tests := []struct {
		name           string
		rs             []Reading
		now            time.Time
		known          bool
		rate, rateTol  float64
		days, daysTol  float64
		step, points   int
		cycleStartDays int
	}{
		{name: "steady 2 a day", rs: daily(steady...), now: day(19), known: true, rate: 2, rateTol: 0.01, days: 26, daysTol: 0.5, step: 1, points: 20},
		{name: "noise and a wild reading", rs: daily(noisy...), now: day(19), known: true, rate: 2, rateTol: 0.3, days: 26, daysTol: 4, step: 1, points: 20},
		{name: "a refill starts a new cycle", rs: daily(refill...), now: day(17), known: true, rate: 1, rateTol: 0.01, days: 91, daysTol: 1, step: 1, points: 10, cycleStartDays: 8},
		{name: "idle days slow the rate", rs: daily(idle...), now: day(23), known: true, rate: 2, rateTol: 0.01, days: 31, daysTol: 1, step: 1, points: 10},
		{name: "steps of 10", rs: daily(steps...), now: day(29), known: true, rate: 1.5, rateTol: 0.3, days: 40, daysTol: 10, step: 10, points: 5},
		{name: "one level only", rs: daily(100, 100, 100), now: day(2), step: 1, points: 1},
		{name: "ok/low only", rs: daily(printer.LevelSomeRemaining, printer.LevelSomeRemaining, 15), now: day(2), step: 1, points: 1, cycleStartDays: 2},
		{name: "nothing", now: day(0), step: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := Estimate(tc.rs, tc.now)
			if f.Known != tc.known || f.Step != tc.step || f.Points != tc.points {
				t.Fatalf("known %v step %d points %d, want %v %d %d (%+v)", f.Known, f.Step, f.Points, tc.known, tc.step, tc.points, f)
			}
			if len(tc.rs) > 0 && !f.CycleStart.Equal(day(tc.cycleStartDays)) {
				t.Errorf("cycle starts %v, want day %d", f.CycleStart, tc.cycleStartDays)
			}
			if !tc.known {
				return
			}
			if math.Abs(f.Rate-tc.rate) > tc.rateTol {
				t.Errorf("rate %.3f, want %.2f±%.2f", f.Rate, tc.rate, tc.rateTol)
			}
			if math.Abs(f.DaysToEmpty-tc.days) > tc.daysTol {
				t.Errorf("days to empty %.2f, want %.1f±%.1f", f.DaysToEmpty, tc.days, tc.daysTol)
			}
			if !(f.DaysLow <= f.DaysToEmpty && f.DaysToEmpty <= f.DaysHigh) || !(f.RateLow <= f.Rate && f.Rate <= f.RateHigh) {
				t.Errorf("range does not hold the estimate: %+v", f)
			}
		})
	}
}

func TestEstimateIdleSinceRefill(t *testing.T) {
	// A cartridge used a little then left: rate known, range wide but finite.
	f := Estimate(daily(100, 99, 99, 98, 98, 98, 98), day(6))
	if !f.Known || f.Rate <= 0 || math.IsInf(f.DaysToEmpty, 1) {
		t.Fatalf("%+v", f)
	}
	// Readings after now are ignored.
	g := Estimate(daily(100, 99, 98, 10), day(2))
	if g.Level != 98 || g.Rate != 1 {
		t.Fatalf("future reading used: %+v", g)
	}
}

func TestPolicies(t *testing.T) {
	lead := DefaultLeadTime
	fast := Estimate(daily(linear(60, 5, 8)...), day(7))   // 25% left at 5 a day: 5 days
	slow := Estimate(daily(linear(40, 1, 15)...), day(14)) // 26% left at 1 a day: 26 days
	low := Estimate(daily(30, 20, 14), day(2))
	okLow := Estimate(daily(printer.LevelSomeRemaining, printer.LevelSomeRemaining), day(1))
	tests := []struct {
		name      string
		f         Forecast
		low       int
		forecast  bool
		threshold bool
	}{
		{"fast user orders early", fast, 15, true, false},
		{"slow user waits", slow, 15, false, false},
		{"low level orders under both", low, 15, true, true},
		{"ok/low without a level waits", okLow, 15, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := Forecasted(tc.f, lead, tc.low); d.Order != tc.forecast || d.Reason == "" {
				t.Errorf("forecast policy: %+v, want order %v", d, tc.forecast)
			}
			if d := Threshold(tc.f, lead, tc.low); d.Order != tc.threshold || d.Reason == "" {
				t.Errorf("threshold policy: %+v, want order %v", d, tc.threshold)
			}
		})
	}
	if Policies["forecast"] == nil || Policies["threshold"] == nil {
		t.Fatal("policies not registered by name")
	}
}

func TestForecastJSON(t *testing.T) {
	idle := Estimate(daily(50, 49, 49, 49, 48), day(4))
	idle.DaysHigh = math.Inf(1)
	b, err := json.Marshal(idle)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"days_high":null`) || !strings.Contains(string(b), `"days_to_empty":`) {
		t.Fatalf("JSON %s", b)
	}
	if DaysText(math.Inf(1)) != "never" || DaysText(4.25) != "4.2" || DaysText(12.4) != "12" {
		t.Fatal("DaysText")
	}
}

func TestEstimateOkLowFromPastCycles(t *testing.T) {
	sr := printer.LevelSomeRemaining
	// Days 0-1: the end of an unknown cartridge. Day 2: a new one, low
	// (15) on day 19, so 85 points in 17 days: 5 a day. Day 20: new
	// cartridge; day 24 is now.
	var lv []int
	lv = append(lv, 15, 0)
	for i := 2; i < 19; i++ {
		lv = append(lv, sr)
	}
	lv = append(lv, 15)
	for i := 20; i <= 24; i++ {
		lv = append(lv, sr)
	}
	f := Estimate(daily(lv...), day(24))
	if !f.Known || math.Abs(f.Rate-5) > 1e-9 || !f.CycleStart.Equal(day(20)) {
		t.Fatalf("%+v", f)
	}
	// 100 - 4 days at 5 = 80 left: 16 days.
	if math.Abs(f.Estimated-80) > 1e-9 || math.Abs(f.DaysToEmpty-16) > 1e-9 || !(f.DaysLow < 16 && f.DaysHigh > 16) {
		t.Fatalf("%+v", f)
	}
	// Three past cycles of exactly 5 a day still leave a quarter either
	// way: the days ahead may be busier than any whole cycle was.
	three := append([]int(nil), lv[:19]...)
	for range 3 {
		three = append(three, lv[2:20]...)
	}
	three = append(three, sr, sr, sr, sr, sr)
	c := Estimate(daily(three...), day(len(three)-1))
	if !c.Known || c.Points != 3 || math.Abs(c.Rate-5) > 1e-9 || c.RateLow > 3.75+1e-9 || c.RateHigh < 6.25-1e-9 {
		t.Fatalf("three agreeing cycles: %+v, want rate 5 within at least 3.75-6.25", c)
	}
	// The level never goes below the low mark the printer has yet to report.
	g := Estimate(daily(lv...), day(40))
	if g.Estimated != 15 {
		t.Fatalf("estimated %.1f, want 15", g.Estimated)
	}
	// With no complete past cycle there is no rate.
	if h := Estimate(daily(sr, sr, sr), day(2)); h.Known {
		t.Fatalf("%+v", h)
	}
}

func TestForecastText(t *testing.T) {
	day := 24 * time.Hour
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	var rs []Reading
	for d := range 10 {
		rs = append(rs, Reading{At: t0.Add(time.Duration(d) * day), Level: 90 - 2*d})
	}
	for _, tt := range []struct {
		f    Forecast
		want string
	}{
		{Estimate(rs, t0.Add(9*day)), "empty in 36 days ("},
		{Estimate(rs[:1], t0), "no rate yet: readings span less than a day"},
		{Estimate([]Reading{{At: t0, Level: printer.LevelSomeRemaining}}, t0), "only \"some remaining\" until low, and no cartridge has been seen from new to low yet"},
		{Estimate(nil, t0), "no rate yet: no level reported yet"},
		{Estimate([]Reading{{At: t0, Level: printer.LevelUnknown}}, t0), "no rate: the printer reports no percentage"},
		{Estimate([]Reading{{At: t0, Level: 80}, {At: t0.Add(3 * day), Level: 80}}, t0.Add(3*day)),
			"no rate yet: the level has not moved in 3.0 days of readings"},
		{Estimate([]Reading{{At: t0, Level: 60}, {At: t0.Add(time.Minute), Level: 9}, {At: t0.Add(4 * day), Level: 9}}, t0.Add(4*day)),
			"no rate yet: the level moved only within its first day of readings, not in the 4.0 days since"},
	} {
		if got := tt.f.Text(); !strings.Contains(got, tt.want) {
			t.Errorf("Text() = %q, want %q in it (%+v)", got, tt.want, tt.f)
		}
	}
}

// TestEstimateDropWithinMinutes replays a new enrollment whose colour
// cartridge is read at 60 % and, seconds later, at 9 %: status said "empty
// in 0.0 days (0.0-0.0), 122012319.4 % a day". Changes within less than a
// day give no rate, and the reason says so (not that the level has not
// moved); the same drop over two days does give a rate.
func TestEstimateDropWithinMinutes(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	rs := []Reading{{At: t0, Level: 60}, {At: t0.Add(5 * time.Second), Level: 9}, {At: t0.Add(10 * time.Second), Level: 9}}
	f := Estimate(rs, t0.Add(time.Minute))
	if f.Known || f.Rate != 0 {
		t.Fatalf("rate from a drop within seconds: %+v", f)
	}
	if got, want := f.Text(), "no rate yet: readings span less than a day"; got != want {
		t.Errorf("Text() = %q, want %q", got, want)
	}
	if d := Forecasted(f, DefaultLeadTime, 15); !d.Order {
		t.Errorf("9 %% with a low level of 15 %% not ordered: %+v", d)
	}
	late := []Reading{{At: t0, Level: 60}, {At: t0.Add(48 * time.Hour), Level: 50}}
	if f := Estimate(late, t0.Add(48*time.Hour)); !f.Known || math.Abs(f.Rate-5) > 0.01 {
		t.Errorf("10 points over two days: %+v, want 5 %% a day", f)
	}
}

// TestEstimateBoundedByMaxPoints: readings that go up and down by one
// point at every report (as any client may send) are all change points;
// the rate weighs every pair of them, so 5000 of them allocated 2 GB in
// 5 s. Only the last MaxPoints count.
func TestEstimateBoundedByMaxPoints(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var rs []Reading
	for i := range 5000 {
		rs = append(rs, Reading{At: now.Add(-29 * 24 * time.Hour).Add(time.Duration(i) * 8 * time.Minute), Level: 60 + i%2})
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f := Estimate(rs, now)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("Estimate of %d alternating readings allocated %d MiB, want under 16", len(rs), alloc>>20)
	}
	if f.Points != MaxPoints {
		t.Errorf("Points = %d, want %d", f.Points, MaxPoints)
	}
}
