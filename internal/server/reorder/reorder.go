// Package reorder is arsd's order decision: for one supply of a level
// report, given what is stored about it, whether the reading is news,
// whether an order is placed now, and what to store. It is pure (no
// database, no clock): the store runs it inside the report's transaction
// and places the orders it asks for, and the pages use its threshold to
// show a supply as low.
//
// A Policy decides. ForecastPolicy, the default, orders when the supply is
// forecast to run out before ink ordered now would arrive (pkg/forecast),
// and never later than ThresholdPolicy, the fixed rule arsd applied
// before, which stays available by name.
package reorder

import (
	"fmt"
	"sort"
	"time"

	"github.com/arsctl/arsctl/pkg/forecast"
	"github.com/arsctl/arsctl/pkg/printer"
)

// Guard is the stored order state of one supply: its last reading and
// whether the next fall to the threshold orders.
type Guard struct {
	// ReadAt is when the stored level was read (nanoseconds since 1970).
	ReadAt int64
	// Level is the stored level.
	Level int
	// Armed: the next reading at or below the threshold places an order.
	Armed bool
	// Cycle numbers the supply's order cycles: at most one order each
	// (the database's unique key enforces it too).
	Cycle int64
	// Ordered says OrderLevel holds the level of the cycle's order.
	Ordered    bool
	OrderLevel int
	// LowOnly: the cycle's order was skipped by the owner; the supply
	// orders again at its threshold only (not by forecast) until it is
	// seen replaced.
	LowOnly bool
	// State is the stored reading's printer.Supply.State: what the
	// printer said of the supply in words (low, empty) besides Level.
	State string
}

// New is the guard of a supply seen for the first time: armed, cycle 0.
func New() Guard { return Guard{Armed: true} }

// Input is one supply of a level report with what is stored about it.
type Input struct {
	Supply printer.Supply
	// ReadAt is the report's reading time (nanoseconds since 1970).
	ReadAt int64
	// Stored is the supply's stored guard; Known says there is one.
	Stored Guard
	Known  bool
	// EnrollmentThreshold is the enrollment's threshold in percent.
	EnrollmentThreshold int
	// Active: the enrollment is active (not pending, paused or
	// cancelled); only an active one orders.
	Active bool
	// History is the supply's kept level changes before this reading,
	// oldest first, and Lead how long ink ordered now takes to reach
	// the owner (delivery plus the hold window): what the forecast
	// policy rests on.
	History []forecast.Reading
	Lead    time.Duration
	// Prior is the fleet's rate of the supply (other printers of its
	// model), which the forecast policy uses while the supply's own
	// readings give no rate (forecast.EstimateWith); nil for none.
	Prior *forecast.Prior
	// OtherLow: another ink or toner of the same report shows by its
	// level that it is low (printer.Supply.ShowsLow). A printer's low
	// reason names no supply, and arsctl attributes none while a level
	// could explain it (printer.ApplyStateReasons), so a supply said low
	// before keeps that state meanwhile: its silence is not a new
	// cartridge.
	OtherLow bool
}

// Decision is a policy's answer for one supply.
type Decision struct {
	// Newer: the reading is newer than the stored one. When false the
	// report changes nothing about the supply (a duplicate or a late,
	// out-of-order report) and the other fields are zero.
	Newer bool
	// Guard is the state to store.
	Guard Guard
	// Order asks for the order of Guard.Cycle to be placed. Placing it
	// twice in one cycle is a no-op for the store, so the guard is
	// disarmed either way.
	Order bool
	// Threshold is the threshold the supply was compared with.
	Threshold int
	// Reason says why the order is placed, e.g. "may be empty in 5.8
	// days (expected 9.1), delivery in 5.0 days".
	Reason string
}

// Policy decides one supply of a report.
type Policy func(Input) Decision

// Default is the name of the policy of an enrollment that names none.
const Default = "forecast"

// Policies are the order policies by name.
var Policies = map[string]Policy{
	"threshold": ThresholdPolicy,
	"forecast":  ForecastPolicy,
}

// Lookup returns the policy called name ("" is Default).
func Lookup(name string) (Policy, error) {
	if name == "" {
		name = Default
	}
	p, ok := Policies[name]
	if !ok {
		return nil, fmt.Errorf("order policy %q is not one of %v", name, Names())
	}
	return p, nil
}

// Names lists the policies' names, sorted.
func Names() []string {
	out := make([]string, 0, len(Policies))
	for n := range Policies {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// The thresholds an enrollment may have, in percent: at 0 nothing
// would be ordered before it is empty, at 100 everything at once.
const (
	MinThreshold = 1
	MaxThreshold = 99
)

// CheckThreshold returns an error saying why percent cannot be an
// enrollment's threshold, or nil.
func CheckThreshold(percent int) error {
	if percent < MinThreshold || percent > MaxThreshold {
		return fmt.Errorf("threshold %d is not a whole number from %d to %d", percent, MinThreshold, MaxThreshold)
	}
	return nil
}

// Threshold is the level at or below which a supply is ordered: the
// printer's own low mark when it reports one (1-100), else the
// enrollment's threshold.
func Threshold(sp printer.Supply, enrollment int) int {
	if sp.Low > 0 && sp.Low <= 100 {
		return sp.Low
	}
	return enrollment
}

// Low reports whether a supply that is ordered at all (ink or toner with a
// known level, or one the printer says is low or empty) is at or below
// its threshold.
func Low(sp printer.Supply, enrollment int) bool {
	th := Threshold(sp, enrollment)
	l := SaidLevel(sp.Level, sp.State, th)
	return pct(l) && sp.Reorderable() && l <= th
}

// SaidLevel is the level a reading stands for in the order decision: the
// level, unless the printer says in words (printer.Supply.State) that
// the supply is empty (0) or low (the threshold th, or the level when it
// is a lower percentage). A printer that reports only "some remaining"
// says so when its ink runs low; one whose levels move in large steps
// may say so while its level still reads higher.
func SaidLevel(level int, state string, th int) int {
	switch state {
	case printer.StateEmpty:
		return 0
	case printer.StateLow:
		if pct(level) && level < th {
			return level
		}
		return th
	}
	return level
}

func pct(l int) bool { return l >= 0 && l <= 100 }

// ThresholdPolicy orders a supply when a newer reading shows it at or
// below its threshold (Threshold) while it is armed, and disarms it.
// Only ink and toner with a known level are ordered
// (printer.Supply.Reorderable: a waste tank's level rises as it fills,
// and drums and other parts are not sold here), and only on an active
// enrollment. A disarmed supply is re-armed, in a new cycle, when it is
// seen replaced (see Replaced): above the threshold and risen beyond
// noise from the level it was ordered at, or "some remaining" again after
// a low level.
func ThresholdPolicy(in Input) Decision { return decide(in, false) }

// ForecastPolicy is ThresholdPolicy that also orders an armed supply
// when it is forecast to run out before ink ordered now would arrive
// (forecast.Forecasted, from Input.History and the reading, with
// Input.Lead): never later than the threshold, usually days earlier. A
// printer that reports only "some remaining" until low orders by the
// forecast of its past cartridges. A supply whose order was skipped
// (Guard.LowOnly) orders at its threshold only.
func ForecastPolicy(in Input) Decision { return decide(in, true) }

// decide is the order decision of both policies.
func decide(in Input, byForecast bool) Decision {
	g := in.Stored
	if in.Known && g.ReadAt >= in.ReadAt {
		return Decision{}
	}
	if !in.Known {
		g = New()
	}
	sp := in.Supply
	if in.Known && in.OtherLow && sp.State == "" && g.State != "" && !pct(sp.Level) {
		sp.State = g.State
	}
	d := Decision{Newer: true, Threshold: Threshold(sp, in.EnrollmentThreshold)}
	// Decisions compare the levels readings stand for, so that a printer
	// saying "low" and then "some remaining" again is seen replaced.
	prev, level := SaidLevel(g.Level, g.State, d.Threshold), SaidLevel(sp.Level, sp.State, d.Threshold)
	g.ReadAt, g.Level, g.State = in.ReadAt, sp.Level, sp.State
	// "Some remaining" after a percentage is a new cartridge for either
	// policy; otherwise only the forecast has a use for it.
	some := level == printer.LevelSomeRemaining
	if sp.Reorderable() && (pct(level) || (some && (byForecast || pct(prev)))) {
		if in.Known && Replaced(prev, level) {
			g.LowOnly = false
		}
		if !g.Armed && rearmed(g, prev, level, d.Threshold) {
			g.Armed, g.Cycle, g.Ordered, g.OrderLevel, g.LowOnly = true, g.Cycle+1, false, 0, false
		}
		if g.Armed && in.Active {
			var fd forecast.Decision
			if byForecast && !g.LowOnly {
				at := time.Unix(0, in.ReadAt).UTC()
				rs := append(append(make([]forecast.Reading, 0, len(in.History)+1), in.History...), forecast.Reading{At: at, Level: level})
				fd = forecast.Forecasted(forecast.EstimateWith(rs, at, in.Prior), in.Lead, d.Threshold)
			} else {
				fd = forecast.Threshold(forecast.Forecast{Level: level}, in.Lead, d.Threshold)
			}
			if fd.Order {
				d.Order, d.Reason = true, fd.Reason
				if level != sp.Level {
					d.Reason = "the printer says the supply is " + sp.State
				}
				g.Armed, g.Ordered, g.OrderLevel = false, true, level
			}
		}
	}
	d.Guard = g
	return d
}

// Replaced reports whether a supply's level going from prev to level
// means a new cartridge: a rise beyond noise and reporting steps
// (forecast.Refilled), or "some remaining" after a percentage from a
// printer that reports percentages only when low.
func Replaced(prev, level int) bool {
	switch {
	case pct(prev) && pct(level):
		return forecast.Refilled(prev, level)
	case pct(prev) && level == printer.LevelSomeRemaining:
		return true
	}
	return false
}

// rearmed reports whether a disarmed supply is seen replaced: above its
// threshold and risen beyond noise from the level it was ordered at (or
// from the last level), or "some remaining" again after a percentage.
func rearmed(g Guard, prev, level, th int) bool {
	if level == printer.LevelSomeRemaining {
		return Replaced(prev, level)
	}
	if level <= th {
		return false
	}
	if !g.Ordered {
		return true
	}
	return Replaced(g.OrderLevel, level) || Replaced(prev, level)
}
