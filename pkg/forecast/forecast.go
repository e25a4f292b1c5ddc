// Package forecast estimates, from a supply's level history, how fast the
// supply is used and when it will be empty, and decides when to order a
// replacement.
//
// # Method
//
// Levels come from printers that differ a lot: some report whole percents
// with a point or two of noise, some only steps of 10, some only "some
// remaining" (printer.LevelSomeRemaining). Use is bursty: idle weeks,
// holidays, a heavy month. A least-squares line is pulled far off by one
// bad reading or one burst, so Estimate uses a Theil–Sen estimator instead:
// the slope is a weighted median of the slopes between every pair of
// points, which ignores up to about 29 % of wild points and needs no
// distribution assumption. The points are the change points of the current
// cycle only: the first reading of each new level after the last refill (a
// rise of more than the reporting step is a new cartridge, so older
// readings say nothing of this one). Change points and not every reading,
// because a printer that reports in steps of 10 keeps repeating a level that
// is only a bound, while the moment a level first appears is when the true
// level crossed the step. A pair's weight is its time span (a slope over
// ten days is ten times less disturbed by a reading's rounding than one over
// a day) times how recent its later point is (half-weight at 14 days), so
// the rate follows a change of habit within weeks without being thrown by
// one busy day.
//
// The uncertainty range comes from the same pairs: the weighted 10th and
// 90th percentiles of the pair slopes give a low and a high rate, and the
// current level is widened by the reporting step. Use comes in bursts
// (busy weekdays, a busy month) that long pairs average away, while an
// order must last out the next few days, so the high rate is raised to the
// 90th percentile of the pairs spanning 3 to 7 days and to the rate of the
// last week when those are higher, and to the rate times the surge of the
// last four days when they used more than 1.5 times what the cycle's own
// weekly rhythm predicts (see surge). DaysLow (the soonest the
// supply can be expected to be empty) is the low level at the high rate,
// DaysHigh the high level at the low rate.
//
// A printer that says only "some remaining" until the supply is low gives
// no slope; its rate comes from the length of its past cycles (see
// fromPastCycles). A supply used so little that its level has not changed
// since the last refill, or one with no complete past cycle, has no rate:
// Known is false and only the printer's own low level can trigger an order.
package forecast

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/arsctl/arsctl/pkg/printer"
)

// Reading is one level of one supply as a printer reported it.
type Reading struct {
	// At is when the printer was read.
	At time.Time `json:"at"`
	// Level is the level in percent (0-100) or one of the printer package's
	// special values (printer.LevelOther, printer.LevelUnknown,
	// printer.LevelSomeRemaining).
	Level int `json:"level"`
}

// Forecast is what Estimate says of one supply at one moment.
type Forecast struct {
	// AsOf is the moment the forecast is for.
	AsOf time.Time `json:"as_of"`
	// Level is the last level the printer reported, with the printer
	// package's special values; printer.LevelUnknown with no reading.
	Level int `json:"level"`
	// Known reports whether a consumption rate could be estimated; when it
	// is false the rate and day fields are zero.
	Known bool `json:"known"`
	// NoRate says, when Known is false, what the estimate lacks, e.g.
	// "readings span less than a day".
	NoRate string `json:"no_rate,omitempty"`
	// Step is the granularity of the levels of the current cycle in
	// percent: 10 for a printer that reports only multiples of 10, else 1.
	Step int `json:"step"`
	// CycleStart is the first reading of the current cartridge.
	CycleStart time.Time `json:"cycle_start,omitzero"`
	// Points is the number of change points the rate rests on.
	Points int `json:"points"`
	// Estimated is the estimated level at AsOf, in percent.
	Estimated float64 `json:"estimated,omitempty"`
	// Rate is the consumption in percent per day; RateLow and RateHigh
	// bound it (10th and 90th weighted percentiles).
	Rate     float64 `json:"rate,omitempty"`
	RateLow  float64 `json:"rate_low,omitempty"`
	RateHigh float64 `json:"rate_high,omitempty"`
	// DaysToEmpty is the expected number of days from AsOf until the supply
	// is empty; DaysLow and DaysHigh bound it. A supply not being used has
	// +Inf days, which JSON carries as null.
	DaysToEmpty float64 `json:"days_to_empty,omitempty"`
	DaysLow     float64 `json:"days_low,omitempty"`
	DaysHigh    float64 `json:"days_high,omitempty"`
	// Prior, when set, is where the rate comes from: the supply's own
	// readings give none yet, and EstimateWith was given other printers'
	// rates.
	Prior *Prior `json:"prior,omitempty"`
}

// What a forecast without a rate lacks (Forecast.NoRate), besides "the
// level has not moved in N days of readings".
const (
	NoRateNoReading    = "no level reported yet"
	NoRateNoPercentage = "the printer reports no percentage"
	NoRateShortSpan    = "readings span less than a day"
	NoRateNoCycle      = "the printer reports only \"some remaining\" until low, and no cartridge has been seen from new to low yet"
)

// minSpan is the least time the change points of a cycle must span for
// a rate to be estimated.
const minSpan = 24 * time.Hour

// recencyHalfLife is the age at which a pair of points weighs half.
const recencyHalfLife = 14 * 24 * time.Hour

// Estimate forecasts a supply from its readings (in any order) as of now.
// Readings after now are ignored.
func Estimate(readings []Reading, now time.Time) Forecast {
	return EstimateWith(readings, now, nil)
}

// EstimateWith is Estimate that, when the readings give no rate yet but
// the level is known (readings spanning less than a day, or the first
// cartridge of a printer that reports only "some remaining"), takes the
// rate from prior, other printers' rates of the same supply (see Prior).
// A nil prior is Estimate.
func EstimateWith(readings []Reading, now time.Time, prior *Prior) Forecast {
	rs, f := own(readings, now)
	return withPrior(f, rs, now, prior)
}

// own is Estimate from the supply's own readings, with the readings up to
// now in time order.
func own(readings []Reading, now time.Time) ([]Reading, Forecast) {
	f := Forecast{AsOf: now, Level: printer.LevelUnknown, Step: 1}
	rs := make([]Reading, 0, len(readings))
	for _, r := range readings {
		if !r.At.After(now) {
			rs = append(rs, r)
		}
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].At.Before(rs[j].At) })
	if len(rs) == 0 {
		f.NoRate = NoRateNoReading
		return rs, f
	}
	f.Level = rs[len(rs)-1].Level
	if f.Level == printer.LevelSomeRemaining {
		return rs, fromPastCycles(f, rs, now)
	}
	cycle := currentCycle(rs)
	if len(cycle) == 0 || !(f.Level >= 0 && f.Level <= 100) {
		// The last reading is not a percentage: nothing to extrapolate from.
		f.NoRate = NoRateNoPercentage
		return rs, f
	}
	f.CycleStart = cycle[0].At
	f.Step = step(cycle)
	pts := changePoints(cycle)
	f.Points = len(pts)
	last := cycle[len(cycle)-1]
	switch read := last.At.Sub(cycle[0].At); {
	case read < minSpan:
		// Readings minutes apart say nothing of a rate per day.
		f.NoRate = NoRateShortSpan
		return rs, f
	case len(pts) < 2:
		f.NoRate = fmt.Sprintf("the level has not moved in %s days of readings", DaysText(days(read)))
		return rs, f
	case pts[len(pts)-1].At.Sub(pts[0].At) < minSpan:
		f.NoRate = fmt.Sprintf("the level moved only within its first day of readings, not in the %s days since",
			DaysText(days(last.At.Sub(pts[len(pts)-1].At))))
		return rs, f
	}
	slopes := pairSlopes(pts, now)
	rate := -weightedQuantile(slopes, 0.5)
	// A higher slope percentile is a slower consumption.
	rateLow := -weightedQuantile(slopes, 0.9)
	rateHigh := -weightedQuantile(slopes, 0.1)
	// Bursts that long pairs average away (see the package comment).
	if short := spanning(slopes); len(short) >= 3 {
		rateHigh = math.Max(rateHigh, -weightedQuantile(short, 0.1))
	}
	// A change of habit (a busy month starting) shows first in the last
	// week: its rate, by the same estimator, also bounds the high rate.
	if week := since(pts, now.Add(-shortMax*24*time.Hour)); len(week) >= 3 {
		if ws := pairSlopes(week, now); len(ws) > 0 {
			rateHigh = math.Max(rateHigh, -weightedQuantile(ws, 0.5))
		}
	}
	// A surge over the last few days, beyond the weekly rhythm, raises it
	// before the pairs follow.
	if r, ok := surge(cycle, now); ok && r > surgeRatio {
		rateHigh = math.Max(rateHigh, r*rate)
	}
	rate, rateLow, rateHigh = math.Max(rate, 0), math.Max(rateLow, 0), math.Max(rateHigh, 0)

	// The line through the change points with the median slope passes
	// through the median of their intercepts (Theil–Sen).
	ints := make([]float64, len(pts))
	for i, p := range pts {
		ints[i] = float64(p.Level) - rate*days(now.Sub(p.At))
	}
	sort.Float64s(ints)
	est := ints[len(ints)/2]
	// The printer says the level is the last value it reported, give or take
	// its step: the line may not stray further.
	lastV := float64(last.Level)
	s := float64(f.Step)
	est = math.Min(math.Max(est, lastV-s), lastV+s)
	est = math.Max(est, 0)
	lo, hi := math.Max(est-s, 0), math.Min(est+s, 100)
	if lastV == 0 {
		est, lo, hi = 0, 0, 0
	}

	f.Known = true
	f.Estimated, f.Rate, f.RateLow, f.RateHigh = est, rate, rateLow, rateHigh
	f.DaysToEmpty = daysAt(est, rate)
	f.DaysLow = daysAt(lo, rateHigh)
	f.DaysHigh = daysAt(hi, rateLow)
	return rs, f
}

// fromPastCycles forecasts a supply whose printer says only "some
// remaining" until the supply is low. Such a cycle starts with the first
// "some remaining" after a percentage (the low or empty level the printer
// reported before the new cartridge) and its rate is known only once it
// ends: (100 - the first percentage reported) over the cycle's length up to
// that report (at least minSpan). The rate of the current cycle is taken as the median of the
// last three complete cycles', bounded by their least and greatest and by
// at least a quarter either way (pastCycleSpread); the level is extrapolated
// from 100 at the cycle's start, but never below the level that ended the
// last cycle, which the printer has not reported yet.
func fromPastCycles(f Forecast, rs []Reading, now time.Time) Forecast {
	type cycle struct {
		start, low time.Time
		lowLevel   int
	}
	var cycles []cycle
	inCycle := false
	for i, r := range rs {
		switch {
		case r.Level == printer.LevelSomeRemaining && !inCycle && i > 0 && rs[i-1].Level >= 0 && rs[i-1].Level <= 100:
			cycles = append(cycles, cycle{start: r.At})
			inCycle = true
		case r.Level >= 0 && r.Level <= 100 && inCycle:
			cycles[len(cycles)-1].low = r.At
			cycles[len(cycles)-1].lowLevel = r.Level
			inCycle = false
		}
	}
	if len(cycles) < 1 || !inCycle {
		f.NoRate = NoRateNoCycle
		return f
	}
	cur := cycles[len(cycles)-1]
	past := cycles[:len(cycles)-1]
	if len(past) > 3 {
		past = past[len(past)-3:]
	}
	var rates []float64
	lowLevel := 0
	for _, c := range past {
		if span := c.low.Sub(c.start); span >= minSpan && c.lowLevel < 100 {
			rates = append(rates, float64(100-c.lowLevel)/days(span))
			lowLevel = c.lowLevel
		}
	}
	tail := false
	if len(rates) == 0 {
		// No complete cycle yet (the first cartridge seen from its
		// start is the current one): the ends of earlier cartridges,
		// from the low level to empty or to the next cartridge, give a
		// rate too, over a few days only.
		rates, lowLevel = tailRates(rs)
		tail = true
	}
	if len(rates) == 0 {
		f.NoRate = NoRateNoCycle
		return f
	}
	sort.Float64s(rates)
	rate, rateLow, rateHigh := rates[len(rates)/2], rates[0], rates[len(rates)-1]
	switch {
	case tail:
		// A few days' use at day resolution: a wide range.
		rateLow, rateHigh = rateLow*0.67, rateHigh*1.5
	default:
		// Cycles that took the same time say little of the days ahead,
		// which may be busier: the level is an extrapolation over the
		// whole cycle.
		rateLow = math.Min(rateLow, rate*(1-pastCycleSpread))
		rateHigh = math.Max(rateHigh, rate*(1+pastCycleSpread))
	}
	elapsed := days(now.Sub(cur.start))
	est := math.Max(100-rate*elapsed, float64(lowLevel))
	f.Known, f.CycleStart, f.Points = true, cur.start, len(rates)
	f.Estimated, f.Rate, f.RateLow, f.RateHigh = est, rate, rateLow, rateHigh
	f.DaysToEmpty = daysAt(est, rate)
	f.DaysLow = daysAt(math.Max(100-rateHigh*elapsed, float64(lowLevel)), rateHigh)
	f.DaysHigh = daysAt(math.Max(100-rateLow*elapsed, float64(lowLevel)), rateLow)
	return f
}

// pastCycleSpread is the least the range of a "some remaining" printer's
// rate spreads either way around the median of its past cycles' rates.
// With one past cycle it is the whole range; with three that agree,
// bench/forecast found the range too narrow: a busy week at the end of a
// cycle emptied the supply before the order arrived ("some remaining"
// printers' empty days outside the heavy month: 94 over five seeds with
// the past cycles' range, 41 with this spread, 35 with 0.4, which put the
// median ink on arrival over 10 % on one seed).
const pastCycleSpread = 0.25

// tailRates returns the rates of the last (up to three) cartridge ends of
// a printer that reports percentages only when low: the first percentage
// after "some remaining" (its low level), over the time until the supply
// was reported empty or "some remaining" again (a new cartridge, put in
// when the old one ran out), if that took at least half a day, and the
// last such low level.
func tailRates(rs []Reading) ([]float64, int) {
	var rates []float64
	lowLevel := 0
	for i, r := range rs {
		// The first percentage after "some remaining": the printer's low
		// level.
		if r.Level <= 0 || r.Level > 100 || i == 0 || rs[i-1].Level != printer.LevelSomeRemaining {
			continue
		}
		for _, e := range rs[i+1:] {
			if e.Level == 0 || e.Level == printer.LevelSomeRemaining {
				if span := e.At.Sub(r.At); span >= minSpan/2 {
					rates = append(rates, float64(r.Level)/days(span))
					lowLevel = r.Level
				}
				break
			}
		}
	}
	if len(rates) > 3 {
		rates = rates[len(rates)-3:]
	}
	return rates, lowLevel
}

// daysAt is how long level lasts at rate, +Inf at rate 0.
func daysAt(level, rate float64) float64 {
	if level <= 0 {
		return 0
	}
	if rate <= 0 {
		return math.Inf(1)
	}
	return level / rate
}

func days(d time.Duration) float64 { return d.Hours() / 24 }

// currentCycle returns the readings with a percentage level since the last
// refill: a rise of more than the reporting step (and more than the few
// points of noise a printer shows) above both of the two readings before it
// starts a new cycle.
func currentCycle(rs []Reading) []Reading {
	known := make([]Reading, 0, len(rs))
	for _, r := range rs {
		if r.Level >= 0 && r.Level <= 100 {
			known = append(known, r)
		}
	}
	if len(known) == 0 {
		return nil
	}
	tol := refillRise(step(known))
	start := 0
	for i := 1; i < len(known); i++ {
		prev := known[i-1].Level
		if i-2 >= start {
			// One wild low reading followed by the true level is no refill.
			prev = max(prev, known[i-2].Level)
		}
		if known[i].Level-prev > tol {
			start = i
		}
	}
	return known[start:]
}

// Refilled reports whether a supply's level going from before to after
// (percentages) means a new cartridge: a rise of more than a reporting
// step of 10 when both are multiples of 10, of more than 5 points else.
// A rise of noise never counts, so an order placed at some level is not
// taken as replaced when the next reading is a point higher.
func Refilled(before, after int) bool {
	s := 1
	if before%10 == 0 && after%10 == 0 {
		s = 10
	}
	return after-before > refillRise(s)
}

// refillRise is the rise above the cycle's lowest level that means a new
// cartridge: more than a step of a coarse printer, more than 5 points of a
// noisy one.
func refillRise(step int) int { return max(step, 5) }

// step is 10 when every level is a multiple of 10 and there are at least
// two distinct levels, else 1.
func step(rs []Reading) int {
	distinct := map[int]bool{}
	for _, r := range rs {
		if r.Level%10 != 0 {
			return 1
		}
		distinct[r.Level] = true
	}
	if len(distinct) < 2 {
		return 1
	}
	return 10
}

// changePoints returns the first reading of each new level, the last
// MaxPoints of them. A reading that goes back up a little (noise) is a new
// level too: the robust slope absorbs it.
func changePoints(rs []Reading) []Reading {
	var pts []Reading
	for i, r := range rs {
		if i == 0 || r.Level != rs[i-1].Level {
			pts = append(pts, r)
		}
	}
	if len(pts) > MaxPoints {
		pts = pts[len(pts)-MaxPoints:]
	}
	return pts
}

// MaxPoints is the most change points of a cycle that Estimate weighs, the
// latest: the rate is estimated from every pair of them, so their number
// bounds its time and memory (a cartridge emptied by one percent at a time
// has about 100; readings that go up and down at every report could have
// any number).
const MaxPoints = 200

type weighted struct{ v, w, span float64 }

// Short pairs are those spanning shortMin to shortMax days.
const shortMin, shortMax = 3, 7

// since returns the points at or after t.
func since(pts []Reading, t time.Time) []Reading {
	i := sort.Search(len(pts), func(i int) bool { return !pts[i].At.Before(t) })
	return pts[i:]
}

// spanning returns the slopes of the pairs that span shortMin to shortMax
// days.
func spanning(xs []weighted) []weighted {
	var out []weighted
	for _, x := range xs {
		if x.span >= shortMin && x.span <= shortMax {
			out = append(out, x)
		}
	}
	return out
}

// pairSlopes is the slope (percent per day) of every pair of points with
// its weight: the pair's time span times the recency of its later point.
func pairSlopes(pts []Reading, now time.Time) []weighted {
	var out []weighted
	for j := 1; j < len(pts); j++ {
		rec := math.Exp2(-float64(now.Sub(pts[j].At)) / float64(recencyHalfLife))
		for i := 0; i < j; i++ {
			dt := days(pts[j].At.Sub(pts[i].At))
			if dt <= 0 {
				continue
			}
			out = append(out, weighted{float64(pts[j].Level-pts[i].Level) / dt, dt * rec, dt})
		}
	}
	return out
}

// weightedQuantile returns the q-quantile of the values by weight.
func weightedQuantile(xs []weighted, q float64) float64 {
	sort.Slice(xs, func(i, j int) bool { return xs[i].v < xs[j].v })
	var total float64
	for _, x := range xs {
		total += x.w
	}
	target := q * total
	var acc float64
	for _, x := range xs {
		acc += x.w
		if acc >= target {
			return x.v
		}
	}
	return xs[len(xs)-1].v
}

// A change of habit (a busy month starting, the end of a holiday) shows
// in the last few days well before the rates of pairs follow it, but so
// does every busy weekday of an office printer. surge tells them apart by
// the cycle's own weekly rhythm; when the last surgeDays days used more
// than surgeRatio times what the rhythm predicts for them, the high rate
// is raised to the rate times that ratio. bench/forecast measured the
// pair on five seeds (see docs/forecast.md).
const (
	surgeDays  = 4
	surgeRatio = 1.5
)

// surge returns how many times the use of the last surgeDays days (from
// the cycle's readings, a printer reporting whole percents) exceeds what
// the cycle's weekly rhythm predicts for those days, and false without
// two of each weekday before them to learn the rhythm from. The use
// between two readings a day to three apart is spread evenly over its
// days and counted on the weekday (UTC) of each day's middle; the
// prediction for a day is the mean use of its weekday before the last
// surgeDays days, at least a quarter of a mean day (a quiet weekend must
// not make a few pages a surge).
func surge(cycle []Reading, now time.Time) (float64, bool) {
	if step(cycle) != 1 {
		return 0, false
	}
	cut := now.Add(-surgeDays * 24 * time.Hour)
	var sum, n [7]float64
	var recent []time.Time
	var used float64
	for i := 1; i < len(cycle); i++ {
		a, b := cycle[i-1], cycle[i]
		k := math.Round(days(b.At.Sub(a.At)))
		if k < 1 || k > 3 {
			continue
		}
		per := float64(a.Level-b.Level) / k
		for j := 0.0; j < k; j++ {
			mid := a.At.Add(time.Duration((j + 0.5) * float64(24*time.Hour)))
			if b.At.After(cut) {
				recent = append(recent, mid)
				used += per
				continue
			}
			sum[mid.Weekday()] += per
			n[mid.Weekday()]++
		}
	}
	var week float64
	for d := range sum {
		if n[d] < 2 {
			return 0, false
		}
		week += sum[d] / n[d]
	}
	if week <= 0 || len(recent) < 2 {
		return 0, false
	}
	var want float64
	for _, t := range recent {
		d := t.Weekday()
		want += math.Max(sum[d]/n[d], week/7/4)
	}
	return used / want, true
}
