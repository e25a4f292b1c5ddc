// Package reorder is arsd's order decision: for one supply of a level
// report, given what is stored about it, whether the reading is news,
// whether an order is placed now, and what to store. It is pure (no
// database, no clock): the store runs it inside the report's transaction
// and places the orders it asks for, and the pages use its threshold to
// show a supply as low.
//
// A Policy decides; Threshold is the one arsd has always applied and the
// default. Further policies are added to Policies under their name.
package reorder

import (
	"fmt"
	"sort"

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
}

// Policy decides one supply of a report.
type Policy func(Input) Decision

// Default is the name of the policy of an enrollment that names none.
const Default = "threshold"

// Policies are the order policies by name.
var Policies = map[string]Policy{
	Default: ThresholdPolicy,
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
// known level) is at or below its threshold.
func Low(sp printer.Supply, enrollment int) bool {
	return sp.Known() && sp.Reorderable() && sp.Level <= Threshold(sp, enrollment)
}

// ThresholdPolicy orders a supply when a newer reading shows it at or
// below its threshold (Threshold) while it is armed, and disarms it.
// Only ink and toner with a known level are ordered
// (printer.Supply.Reorderable: a waste tank's level rises as it fills,
// and drums and other parts are not sold here), and only on an active
// enrollment. A disarmed supply is re-armed, in a new cycle, when a newer
// reading shows it above the threshold and above the level it was ordered
// at: it was replaced.
func ThresholdPolicy(in Input) Decision {
	g := in.Stored
	if in.Known && g.ReadAt >= in.ReadAt {
		return Decision{}
	}
	if !in.Known {
		g = New()
	}
	sp := in.Supply
	g.ReadAt, g.Level = in.ReadAt, sp.Level
	d := Decision{Newer: true, Threshold: Threshold(sp, in.EnrollmentThreshold)}
	if sp.Known() && sp.Reorderable() {
		if !g.Armed && sp.Level > d.Threshold && (!g.Ordered || sp.Level > g.OrderLevel) {
			g.Armed, g.Cycle, g.Ordered, g.OrderLevel = true, g.Cycle+1, false, 0
		}
		if g.Armed && sp.Level <= d.Threshold && in.Active {
			d.Order = true
			g.Armed, g.Ordered, g.OrderLevel = false, true, sp.Level
		}
	}
	d.Guard = g
	return d
}
