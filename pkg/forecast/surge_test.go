package forecast

import (
	"math"
	"testing"
	"time"
)

// office returns daily readings of an office printer: 4 points a weekday,
// half a point a weekend day, from Monday day 0, for days days, the last
// heavy of them at twice the use.
func office(days, heavy int) []Reading {
	var rs []Reading
	level := 100.0
	for d := range days {
		rs = append(rs, Reading{At: day(d), Level: int(math.Round(level))})
		use := 4.0
		if wd := day(d).Weekday(); wd == time.Saturday || wd == time.Sunday {
			use = 0.5
		}
		if d >= days-1-heavy {
			use *= 2
		}
		level -= use
	}
	return rs
}

// TestSurge: the busy weekdays of an office printer are its rhythm, not a
// surge; the same printer at twice its use for the last four days is
// (the first days of a busy month), and its high rate follows at once,
// where the rates of pairs and of the last week lag behind.
func TestSurge(t *testing.T) {
	if day(0).Weekday() != time.Monday {
		t.Fatal("day 0 is not a Monday")
	}
	for _, tc := range []struct {
		name     string
		rs       []Reading
		now      int
		min, max float64
		ok       bool
	}{
		// Now is a Friday: the last four days were weekdays.
		{"rhythm, weekdays", office(26, 0), 25, 0.8, 1.2, true},
		// Now is a Tuesday: the last four days hold the weekend.
		{"rhythm over a weekend", office(23, 0), 22, 0.7, 1.3, true},
		{"twice the use", office(26, 4), 25, 1.8, 2.2, true},
		{"under two weeks", office(12, 4), 11, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := surge(tc.rs, day(tc.now))
			if ok != tc.ok || (ok && (r < tc.min || r > tc.max)) {
				t.Fatalf("surge = %.2f, %v; want %.1f-%.1f, %v", r, ok, tc.min, tc.max, tc.ok)
			}
		})
	}
	steady := Estimate(office(26, 0), day(25))
	busy := Estimate(office(26, 4), day(25))
	t.Logf("steady: rate %.2f high %.2f days low %.1f; busy: rate %.2f high %.2f days low %.1f",
		steady.Rate, steady.RateHigh, steady.DaysLow, busy.Rate, busy.RateHigh, busy.DaysLow)
	// Eight points a weekday now: the high rate is at least that.
	if busy.RateHigh < 6.5 {
		t.Errorf("busy high rate %.2f, want at least 6.5 (8 points a weekday)", busy.RateHigh)
	}
}
