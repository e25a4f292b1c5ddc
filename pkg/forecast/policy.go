package forecast

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// DefaultLeadTime is how long ink ordered now takes to arrive when the
// provider does not say.
const DefaultLeadTime = 5 * 24 * time.Hour

// Decision is a policy's answer for one supply at one report.
type Decision struct {
	// Order reports whether to order the supply now.
	Order bool `json:"order"`
	// Reason says why, in a few words, e.g. "empty in 4.2 days (3.1-6.0),
	// delivery in 5 days".
	Reason string `json:"reason"`
}

// Policy decides from a forecast whether to order a supply now. lead is how
// long an order takes to arrive; low is the level at or below which the
// printer reports the supply as low (or the enrollment's threshold when the
// printer does not say), in percent. Both policies of this package have
// this signature so that the order engine can use either.
type Policy func(f Forecast, lead time.Duration, low int) Decision

// Threshold orders when the last reported level is a percentage at or
// below low: the fixed rule most replenishment services use.
func Threshold(f Forecast, _ time.Duration, low int) Decision {
	if f.Level >= 0 && f.Level <= 100 && f.Level <= low {
		return Decision{true, fmt.Sprintf("level %d%% at or below %d%%", f.Level, low)}
	}
	return Decision{false, fmt.Sprintf("level above %d%%", low)}
}

// Forecasted orders when the supply may run out before ink ordered now
// would arrive, and never later than Threshold would.
//
// "May run out" uses the soonest end of the forecast's range (DaysLow, the
// level's low bound at the high rate): that is the margin the forecast's
// uncertainty calls for, wide for an erratic user and narrow for a steady
// one. The next report may come only a day or so later, and the order must
// not wait for it, so the lead time is lengthened by one reporting
// interval (a day), and scaled by horizonMargin. A supply without a
// known rate is ordered at low; one whose rate is the fleet's
// (Forecast.Prior) says so in the reason.
func Forecasted(f Forecast, lead time.Duration, low int) Decision {
	if d := Threshold(f, lead, low); d.Order {
		return d
	}
	if !f.Known {
		return Decision{false, fmt.Sprintf("no rate yet; ordered at %d%%", low)}
	}
	horizon := (days(lead) + 1) * horizonMargin
	if f.DaysLow <= horizon {
		reason := fmt.Sprintf("may be empty in %.1f days (expected %s), delivery in %s days",
			f.DaysLow, DaysText(f.DaysToEmpty), DaysText(days(lead)))
		if f.Prior != nil {
			reason += ", at the " + f.Prior.Text()
		}
		return Decision{true, reason}
	}
	return Decision{false, fmt.Sprintf("empty in %s days (%s-%s)",
		DaysText(f.DaysToEmpty), DaysText(f.DaysLow), DaysText(f.DaysHigh))}
}

// horizonMargin scales the horizon beyond what the forecast's range
// already covers (the range's soonest end is the low level at the high
// rate). It sets the trade-off between empty days and ink left when the
// new cartridge arrives; bench/forecast measured it on five seeded years of
// 200 printers (empty printer-days by seed, then the median ink left on
// arrival): 1.05 gives 150 150 128 104 75 but 9.4-10.5 %, 1.0 gives
// 167 167 144 120 87 and 8.7-10.1 %, 0.99 gives 172 178 158 130 99 and
// 8.3-9.6 %, 0.97 gives 179 196 169 144 110 and 8.0-9.2 % (before the
// surge; with it 0.99 gives 158 165 141 120 94 and 8.5-9.8 %, and with
// the "some remaining" printers' wider range 138 148 127 110 90 and
// 8.8-10.0 %). 0.99 is the largest that keeps the median at most 10 % on
// every seed (see docs/forecast.md, which also has the oracle that bounds
// what any margin can buy).
const horizonMargin = 0.99

// Policies maps a policy's name to the policy.
var Policies = map[string]Policy{"forecast": Forecasted, "threshold": Threshold}

// DaysText says a number of days for people: "4.2", "12", "never" for +Inf.
func DaysText(d float64) string {
	switch {
	case math.IsInf(d, 1):
		return "never"
	case d < 10:
		return fmt.Sprintf("%.1f", d)
	default:
		return fmt.Sprintf("%.0f", d)
	}
}

// MarshalJSON encodes f with a day count of +Inf (a supply not in use) as
// null, which JSON numbers cannot hold, and the day counts of a forecast
// without a rate as null too.
func (f Forecast) MarshalJSON() ([]byte, error) {
	type plain Forecast
	num := func(v float64) *float64 {
		if !f.Known || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		plain
		DaysToEmpty *float64 `json:"days_to_empty"`
		DaysLow     *float64 `json:"days_low"`
		DaysHigh    *float64 `json:"days_high"`
	}{plain(f), num(f.DaysToEmpty), num(f.DaysLow), num(f.DaysHigh)})
}

// Text says the forecast for people in a few words: "empty in 24 days
// (19-30), 3.0 % a day", "not in use", or why there is no rate yet.
func (f Forecast) Text() string {
	switch {
	case !f.Known && f.NoRate == NoRateNoPercentage:
		return "no rate: " + f.NoRate
	case !f.Known && f.NoRate != "":
		return "no rate yet: " + f.NoRate
	case !f.Known:
		return "no rate yet"
	case f.Estimated <= 0:
		return "empty"
	case math.IsInf(f.DaysToEmpty, 1):
		return "not in use"
	}
	s := fmt.Sprintf("empty in %s days (%s-%s), %.1f %% a day",
		DaysText(f.DaysToEmpty), DaysText(f.DaysLow), DaysText(f.DaysHigh), f.Rate)
	if f.Prior != nil {
		s += " (" + f.Prior.Text() + ")"
	}
	return s
}
