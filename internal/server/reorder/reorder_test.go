package reorder

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/pkg/forecast"
	"github.com/arsctl/arsctl/pkg/printer"
)

func ink(level, low int) printer.Supply {
	return printer.Supply{Name: "Black", Type: "inkCartridge", Colors: []string{"#000000"}, Level: level, Low: low}
}

func TestThreshold(t *testing.T) {
	tests := []struct {
		low, enrollment, want int
	}{
		{0, 15, 15},    // no low mark: the enrollment's
		{10, 15, 10},   // the printer's own low mark
		{100, 15, 100}, // still a percentage
		{101, 15, 15},  // not a percentage: ignored
		{-2, 15, 15},
	}
	for _, tt := range tests {
		if got := Threshold(ink(50, tt.low), tt.enrollment); got != tt.want {
			t.Errorf("Threshold(low %d, enrollment %d) = %d, want %d", tt.low, tt.enrollment, got, tt.want)
		}
	}
}

func TestThresholdPolicy(t *testing.T) {
	armed := func(readAt int64, cycle int64) Guard {
		return Guard{ReadAt: readAt, Level: 50, Armed: true, Cycle: cycle}
	}
	ordered := func(readAt int64, cycle int64, at int) Guard {
		return Guard{ReadAt: readAt, Level: at, Cycle: cycle, Ordered: true, OrderLevel: at}
	}
	waste := printer.Supply{Name: "Waste", Type: "wasteInk", Class: printer.ClassReceptacle, Level: 5}
	tests := []struct {
		name string
		in   Input
		want Decision
	}{
		{"new supply above threshold: stored armed",
			Input{Supply: ink(40, 0), ReadAt: 10, EnrollmentThreshold: 15, Active: true},
			Decision{Newer: true, Threshold: 15, Guard: Guard{ReadAt: 10, Level: 40, Armed: true}}},
		{"new supply at threshold orders cycle 0",
			Input{Supply: ink(15, 0), ReadAt: 10, EnrollmentThreshold: 15, Active: true},
			Decision{Newer: true, Threshold: 15, Order: true, Reason: "level 15% at or below 15%", Guard: Guard{ReadAt: 10, Level: 15, Ordered: true, OrderLevel: 15}}},
		{"duplicate reading changes nothing",
			Input{Supply: ink(5, 0), ReadAt: 10, Stored: armed(10, 0), Known: true, EnrollmentThreshold: 15, Active: true},
			Decision{}},
		{"older reading changes nothing",
			Input{Supply: ink(5, 0), ReadAt: 9, Stored: armed(10, 0), Known: true, EnrollmentThreshold: 15, Active: true},
			Decision{}},
		{"armed and low orders",
			Input{Supply: ink(12, 0), ReadAt: 11, Stored: armed(10, 3), Known: true, EnrollmentThreshold: 15, Active: true},
			Decision{Newer: true, Threshold: 15, Order: true, Reason: "level 12% at or below 15%", Guard: Guard{ReadAt: 11, Level: 12, Cycle: 3, Ordered: true, OrderLevel: 12}}},
		{"printer's low mark wins",
			Input{Supply: ink(20, 25), ReadAt: 11, Stored: armed(10, 0), Known: true, EnrollmentThreshold: 15, Active: true},
			Decision{Newer: true, Threshold: 25, Order: true, Reason: "level 20% at or below 25%", Guard: Guard{ReadAt: 11, Level: 20, Ordered: true, OrderLevel: 20}}},
		{"a few points of noise above the order level: not re-armed",
			Input{Supply: ink(19, 0), ReadAt: 11, Stored: ordered(10, 2, 14), Known: true, EnrollmentThreshold: 15, Active: true},
			Decision{Newer: true, Threshold: 15, Guard: Guard{ReadAt: 11, Level: 19, Cycle: 2, Ordered: true, OrderLevel: 14}}},
		{"paused (not active) does not order and stays armed",
			Input{Supply: ink(5, 0), ReadAt: 11, Stored: armed(10, 0), Known: true, EnrollmentThreshold: 15},
			Decision{Newer: true, Threshold: 15, Guard: Guard{ReadAt: 11, Level: 5, Armed: true}}},
		{"disarmed stays disarmed while low",
			Input{Supply: ink(3, 0), ReadAt: 11, Stored: ordered(10, 0, 12), Known: true, EnrollmentThreshold: 15, Active: true},
			Decision{Newer: true, Threshold: 15, Guard: Guard{ReadAt: 11, Level: 3, Ordered: true, OrderLevel: 12}}},
		{"replaced (above threshold and order level): re-armed in the next cycle",
			Input{Supply: ink(100, 0), ReadAt: 11, Stored: ordered(10, 2, 12), Known: true, EnrollmentThreshold: 15, Active: true},
			Decision{Newer: true, Threshold: 15, Guard: Guard{ReadAt: 11, Level: 100, Armed: true, Cycle: 3}}},
		{"above threshold but not above the order level: not re-armed",
			Input{Supply: ink(20, 0), ReadAt: 11, Stored: ordered(10, 2, 30), Known: true, EnrollmentThreshold: 15, Active: true},
			Decision{Newer: true, Threshold: 15, Guard: Guard{ReadAt: 11, Level: 20, Cycle: 2, Ordered: true, OrderLevel: 30}}},
		{"unknown level never orders",
			Input{Supply: ink(printer.LevelUnknown, 0), ReadAt: 11, Stored: armed(10, 0), Known: true, EnrollmentThreshold: 15, Active: true},
			Decision{Newer: true, Threshold: 15, Guard: Guard{ReadAt: 11, Level: printer.LevelUnknown, Armed: true}}},
		{"waste tank never orders",
			Input{Supply: waste, ReadAt: 11, EnrollmentThreshold: 15, Active: true},
			Decision{Newer: true, Threshold: 15, Guard: Guard{ReadAt: 11, Level: 5, Armed: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ThresholdPolicy(tt.in); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	if p, err := Lookup(""); err != nil || p == nil {
		t.Fatalf("Lookup(\"\") = %v, %v", p, err)
	}
	if _, err := Lookup("nonsense"); err == nil {
		t.Fatal("Lookup(nonsense) did not fail")
	}
}

func TestLow(t *testing.T) {
	if !Low(ink(15, 0), 15) || Low(ink(16, 0), 15) || !Low(ink(20, 25), 15) {
		t.Error("Low does not follow Threshold")
	}
	waste := printer.Supply{Name: "Waste", Type: "wasteInk", Class: printer.ClassReceptacle, Level: 5}
	if Low(waste, 15) {
		t.Error("a waste tank is never low")
	}
}

func TestCheckThreshold(t *testing.T) {
	for n, ok := range map[int]bool{-1: false, 0: false, 1: true, 15: true, 99: true, 100: false, 250: false} {
		if err := CheckThreshold(n); (err == nil) != ok {
			t.Errorf("CheckThreshold(%d) = %v, want ok %v", n, err, ok)
		}
	}
}

// TestForecastPolicy replays a supply falling 4 points a day: the forecast
// policy orders it with about a week left, above the threshold; after a
// skipped order (LowOnly) it waits for the threshold; a printer that says
// only "some remaining" orders from its past cartridges' length.
func TestForecastPolicy(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	at := func(d int) time.Time { return start.Add(time.Duration(d) * 24 * time.Hour) }
	var hist []forecast.Reading
	g, known := Guard{}, false
	orderedAt := -1
	for d := 0; d < 25 && orderedAt < 0; d++ {
		lv := 96 - 4*d
		in := Input{Supply: ink(lv, 10), ReadAt: at(d).UnixNano(), Stored: g, Known: known, EnrollmentThreshold: 15,
			Active: true, History: hist, Lead: forecast.DefaultLeadTime}
		dec := ForecastPolicy(in)
		if th := ThresholdPolicy(in); th.Order && !dec.Order {
			t.Fatalf("day %d: the threshold orders, the forecast not", d)
		}
		if dec.Order {
			orderedAt = lv
			if !strings.Contains(dec.Reason, "delivery in 5.0 days") || dec.Guard.Armed {
				t.Fatalf("decision %+v", dec)
			}
		}
		g, known = dec.Guard, true
		hist = append(hist, forecast.Reading{At: at(d), Level: lv})
	}
	if orderedAt <= 10 || orderedAt > 40 {
		t.Fatalf("ordered at %d%%, want above the low level with about a week left", orderedAt)
	}
	// The same supply after a skip: re-armed, low only.
	skipped := Guard{ReadAt: at(20).UnixNano(), Level: 16, Armed: true, Cycle: 1, LowOnly: true}
	in := Input{Supply: ink(16, 10), ReadAt: at(21).UnixNano(), Stored: skipped, Known: true, EnrollmentThreshold: 15,
		Active: true, History: hist, Lead: forecast.DefaultLeadTime}
	if dec := ForecastPolicy(in); dec.Order || !dec.Guard.LowOnly {
		t.Fatalf("skipped supply at 16%%: %+v", dec)
	}
	in.Supply, in.ReadAt = ink(10, 10), at(22).UnixNano()
	if dec := ForecastPolicy(in); !dec.Order {
		t.Fatalf("skipped supply at its low level: %+v", dec)
	}
	// A new cartridge clears LowOnly.
	in.Supply, in.ReadAt = ink(100, 10), at(23).UnixNano()
	if dec := ForecastPolicy(in); dec.Guard.LowOnly {
		t.Fatalf("new cartridge: %+v", dec)
	}
	// "Some remaining" printer: two cartridges of 20 days each, then
	// 17 days into the third.
	var ok []forecast.Reading
	add := func(d, level int) { ok = append(ok, forecast.Reading{At: at(d), Level: level}) }
	add(0, 15)
	for c := 0; c < 2; c++ {
		for d := 1; d < 18; d++ {
			add(c*20+d, printer.LevelSomeRemaining)
		}
		add(c*20+18, 15)
	}
	for d := 41; d <= 57; d++ {
		add(d, printer.LevelSomeRemaining)
	}
	last := ok[len(ok)-1]
	in = Input{Supply: ink(printer.LevelSomeRemaining, 15), ReadAt: at(58).UnixNano(),
		Stored: Guard{ReadAt: last.At.UnixNano(), Level: printer.LevelSomeRemaining, Armed: true, Cycle: 2}, Known: true,
		EnrollmentThreshold: 15, Active: true, History: ok, Lead: forecast.DefaultLeadTime}
	if dec := ForecastPolicy(in); !dec.Order {
		t.Fatalf("some-remaining printer near its usual end: %+v", dec)
	}
	if dec := ThresholdPolicy(in); dec.Order {
		t.Fatalf("threshold policy ordered at \"some remaining\": %+v", dec)
	}
}

// TestForecastPolicyPrior replays the first cartridge of a printer that
// reports only "some remaining" until its low mark of 15 %: with no rate
// of its own, the forecast policy orders it at the low mark, like the
// threshold; given the fleet's prior (5 % a day at the high end) it
// orders on day 15, when a cartridge new on day 0 used that fast would
// have 5 days left (on day 14, 6 days, more than delivery and a day), and
// once only; the threshold policy ignores the prior.
func TestForecastPolicyPrior(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	at := func(d int) time.Time { return start.Add(time.Duration(d) * 24 * time.Hour) }
	prior := &forecast.Prior{RateLow: 2, Rate: 3, RateHigh: 5, Supplies: 9, SameModel: true}
	for _, tc := range []struct {
		name   string
		policy Policy
		prior  *forecast.Prior
		want   []int // the days an order is placed
	}{
		{"forecast with the prior", ForecastPolicy, prior, []int{15}},
		{"forecast without a prior", ForecastPolicy, nil, []int{24}},
		{"threshold with the prior", ThresholdPolicy, prior, []int{24}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hist []forecast.Reading
			g, known := Guard{}, false
			var got []int
			for d := 0; d < 30; d++ {
				lv := printer.LevelSomeRemaining
				if d >= 24 {
					lv = 15
				}
				dec := tc.policy(Input{Supply: ink(lv, 15), ReadAt: at(d).UnixNano(), Stored: g, Known: known,
					EnrollmentThreshold: 15, Active: true, History: hist, Lead: forecast.DefaultLeadTime, Prior: tc.prior})
				if dec.Order {
					got = append(got, d)
					if tc.prior != nil && d < 24 && !strings.Contains(dec.Reason, "may be empty in 5.0 days (expected 18), delivery in 5.0 days, at the rate of 9 printers of the same model") {
						t.Errorf("day %d: reason %q", d, dec.Reason)
					}
				}
				g, known = dec.Guard, true
				if len(hist) == 0 || hist[len(hist)-1].Level != lv {
					hist = append(hist, forecast.Reading{At: at(d), Level: lv})
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("ordered on days %v, want %v", got, tc.want)
			}
		})
	}
}

// A printer that reports only "some remaining" says in words when its
// toner is low or empty (printer.Supply.State): each policy orders once
// when it says low, not again while it says low or empty, and once more
// after it stops saying so (a new cartridge). A toner whose coarse level
// still reads 100 while the printer says low is ordered too, and a printer
// that gives a percentage only when low orders in each cycle under either
// policy.
func TestSaidState(t *testing.T) {
	toner := func(level int, state string) printer.Supply {
		return printer.Supply{Name: "Black Toner", Type: "toner", Level: level, State: state}
	}
	some := printer.LevelSomeRemaining
	for name, policy := range Policies {
		for _, seq := range [][]struct {
			sp    printer.Supply
			order bool
		}{
			{
				{toner(some, ""), false},
				{toner(some, printer.StateLow), true},
				{toner(some, printer.StateLow), false},
				{toner(some, printer.StateEmpty), false},
				{toner(some, ""), false},
				{toner(some, ""), false},
				{toner(some, printer.StateLow), true},
				{toner(some, printer.StateEmpty), false},
			},
			{ // a percentage only when low: each cycle orders, whatever the policy
				{toner(some, ""), false},
				{toner(10, ""), true},
				{toner(4, ""), false},
				{toner(some, ""), false},
				{toner(12, ""), true},
			},
			{
				{toner(100, ""), false},
				{toner(100, printer.StateLow), true},
				{toner(90, printer.StateLow), false},
				{toner(100, ""), false},
				{toner(90, printer.StateEmpty), true},
			},
		} {
			var g Guard
			known := false
			var cycles []int64
			for i, step := range seq {
				d := policy(Input{Supply: step.sp, ReadAt: int64(i+1) * int64(time.Hour), Stored: g, Known: known,
					EnrollmentThreshold: 15, Active: true, Lead: 5 * 24 * time.Hour})
				if d.Order != step.order {
					t.Fatalf("%s, step %d (%d, %q): order %v, want %v (%s)", name, i, step.sp.Level, step.sp.State, d.Order, step.order, d.Reason)
				}
				if d.Order {
					cycles = append(cycles, d.Guard.Cycle)
					if step.sp.Known() && step.sp.Level > d.Threshold || !step.sp.Known() {
						if want := "the printer says the supply is " + step.sp.State; d.Reason != want {
							t.Errorf("%s, step %d: reason %q, want %q", name, i, d.Reason, want)
						}
					}
				}
				g, known = d.Guard, true
			}
			for i := 1; i < len(cycles); i++ {
				if cycles[i] == cycles[i-1] {
					t.Errorf("%s: two orders in cycle %d", name, cycles[i])
				}
			}
		}
	}
}

func TestLowSaid(t *testing.T) {
	toner := printer.Supply{Name: "K", Type: "toner", Level: printer.LevelSomeRemaining}
	if Low(toner, 15) {
		t.Error("some remaining is low")
	}
	toner.State = printer.StateLow
	if !Low(toner, 15) {
		t.Error("some remaining, said low, is not low")
	}
	waste := printer.Supply{Name: "Waste", Type: "wasteToner", Level: printer.LevelSomeRemaining, State: printer.StateLow}
	if Low(waste, 15) {
		t.Error("a waste box is low")
	}
	for _, tt := range []struct {
		level    int
		state    string
		th, want int
	}{
		{40, "", 15, 40}, {40, printer.StateLow, 15, 15}, {10, printer.StateLow, 15, 10},
		{printer.LevelSomeRemaining, printer.StateLow, 20, 20}, {printer.LevelUnknown, printer.StateEmpty, 15, 0},
		{printer.LevelSomeRemaining, "", 15, printer.LevelSomeRemaining},
	} {
		if got := SaidLevel(tt.level, tt.state, tt.th); got != tt.want {
			t.Errorf("SaidLevel(%d, %q, %d) = %d, want %d", tt.level, tt.state, tt.th, got, tt.want)
		}
	}
}
