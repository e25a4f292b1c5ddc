package forecast

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/arsctl/arsctl/pkg/printer"
)

// Prior is a consumption rate learned from other printers, for a supply
// whose own readings give none yet: the first cartridge of a printer that
// reports only "some remaining" until low, or a printer enrolled less than
// a day ago. Its rates are quantiles of the rates of other printers' same
// supply (see Priors), so a supply forecast from a prior is ordered as if
// it were used as fast as most of them (RateHigh), which is early for a
// light user and in time for a heavy one.
type Prior struct {
	// RateLow, Rate and RateHigh are the 25th, 50th and PriorQuantile-th
	// percentiles of the rates, in percent per day.
	RateLow  float64 `json:"rate_low"`
	Rate     float64 `json:"rate"`
	RateHigh float64 `json:"rate_high"`
	// Supplies is the number of supplies the rates come from.
	Supplies int `json:"supplies"`
	// SameModel reports whether they are all of printers of the same model
	// (else of every model).
	SameModel bool `json:"same_model"`
}

// PriorQuantile is the quantile of other printers' rates that a supply
// with no rate of its own is assumed to be used at when deciding to order.
const PriorQuantile = 0.9

// MinPriorSupplies is the least number of rates a prior rests on.
const MinPriorSupplies = 5

// NewPrior returns the prior of rates (percent per day, of supplies with a
// rate of their own), and false when there are fewer than
// MinPriorSupplies of them.
func NewPrior(rates []float64, sameModel bool) (Prior, bool) {
	return newPrior(rates, nil, sameModel)
}

// newPrior is NewPrior with a weight per rate (nil: all alike): a quantile
// is the first rate, in order, at which the rates' weight passes that
// share of the total.
func newPrior(rates, weights []float64, sameModel bool) (Prior, bool) {
	type rate struct{ r, w float64 }
	xs := make([]rate, 0, len(rates))
	total := 0.0
	for i, r := range rates {
		if r > 0 && !math.IsInf(r, 0) && !math.IsNaN(r) {
			w := 1.0
			if weights != nil {
				w = weights[i]
			}
			xs = append(xs, rate{r, w})
			total += w
		}
	}
	if len(xs) < MinPriorSupplies {
		return Prior{}, false
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].r < xs[j].r })
	q := func(p float64) float64 {
		cum := 0.0
		for _, x := range xs {
			if cum += x.w; cum > p*total {
				return x.r
			}
		}
		return xs[len(xs)-1].r
	}
	return Prior{RateLow: q(0.25), Rate: q(0.5), RateHigh: q(PriorQuantile), Supplies: len(xs), SameModel: sameModel}, true
}

// Text says where the prior's rate comes from, e.g. "rate of 12 printers
// of the same model".
func (p Prior) Text() string {
	if p.SameModel {
		return fmt.Sprintf("rate of %d printers of the same model", p.Supplies)
	}
	return fmt.Sprintf("rate of %d printers of all models", p.Supplies)
}

// PriorSample is one supply's own rate, from which Priors are built.
type PriorSample struct {
	Model, Supply string
	// Owner, when set, is who reported the supply (an account): all the
	// samples of one owner weigh, in a prior's quantiles, as much as one
	// sample of an owner that has a single one, so that one owner of
	// many printers cannot move the rates other owners' printers are
	// forecast with. "" weighs each sample alone.
	Owner string
	// Rate is the supply's consumption in percent per day, from its own
	// readings (Forecast.Rate of a forecast with Known and no Prior).
	Rate float64
}

// Priors are the priors of a fleet: per model and supply name, and of
// every supply of every model for a model or supply too rare to have one.
type Priors struct {
	byKey map[[2]string]Prior
	all   Prior
	any   bool
}

// NewPriors builds the priors of a fleet from its supplies' own rates.
func NewPriors(samples []PriorSample) Priors {
	type ownerKey struct {
		owner string
		key   [2]string
	}
	perKey, perOwner := map[ownerKey]int{}, map[string]int{}
	for _, s := range samples {
		if s.Owner != "" {
			perKey[ownerKey{s.Owner, [2]string{s.Model, s.Supply}}]++
			perOwner[s.Owner]++
		}
	}
	type rates struct{ rs, ws []float64 }
	byKey := map[[2]string]*rates{}
	var all rates
	for _, s := range samples {
		k := [2]string{s.Model, s.Supply}
		wk, wa := 1.0, 1.0
		if s.Owner != "" {
			wk, wa = 1/float64(perKey[ownerKey{s.Owner, k}]), 1/float64(perOwner[s.Owner])
		}
		r := byKey[k]
		if r == nil {
			r = &rates{}
			byKey[k] = r
		}
		r.rs, r.ws = append(r.rs, s.Rate), append(r.ws, wk)
		all.rs, all.ws = append(all.rs, s.Rate), append(all.ws, wa)
	}
	p := Priors{byKey: map[[2]string]Prior{}}
	for k, r := range byKey {
		if pr, ok := newPrior(r.rs, r.ws, true); ok {
			p.byKey[k] = pr
		}
	}
	p.all, p.any = newPrior(all.rs, all.ws, false)
	return p
}

// For returns the prior of a model's supply: the same model's and
// supply's when enough of them have a rate, else every supply's; nil when
// the fleet has too few rates.
func (p Priors) For(model, supply string) *Prior {
	if pr, ok := p.byKey[[2]string{model, supply}]; ok {
		return &pr
	}
	if p.any {
		pr := p.all
		return &pr
	}
	return nil
}

// withPrior completes a forecast that has no rate of its own from a prior,
// when what it lacks is one the prior can stand in for: readings spanning
// less than a day (the level is known, the rate is not), or a printer
// that reports only "some remaining" whose first cartridge has not been
// seen from new to low. Such a cartridge is taken as new when its cycle
// began (when the printer went back to "some remaining" after a
// percentage) or, for the cartridge in the printer at enrollment, when it
// was first read: the soonest it can have been new, so a cartridge
// enrolled half used is ordered late by up to its age, and never later
// than at the printer's own low mark (Forecasted orders at Threshold
// first).
func withPrior(f Forecast, rs []Reading, now time.Time, p *Prior) Forecast {
	if p == nil || f.Known || p.RateHigh <= 0 {
		return f
	}
	var est float64
	switch {
	case f.NoRate == NoRateShortSpan && f.Level >= 0 && f.Level <= 100:
		est = float64(f.Level)
		f.DaysLow, f.DaysHigh = daysAt(est, p.RateHigh), daysAt(est, p.RateLow)
	case f.NoRate == NoRateNoCycle && f.Level == printer.LevelSomeRemaining:
		start := rs[0].At
		for i := 1; i < len(rs); i++ {
			if rs[i].Level == printer.LevelSomeRemaining && rs[i-1].Level >= 0 && rs[i-1].Level <= 100 {
				start = rs[i].At
			}
		}
		f.CycleStart = start
		elapsed := days(now.Sub(start))
		// "Some remaining": not empty, whatever the prior says.
		est = math.Max(100-p.Rate*elapsed, 1)
		f.DaysLow = daysAt(math.Max(100-p.RateHigh*elapsed, 0), p.RateHigh)
		f.DaysHigh = daysAt(math.Max(100-p.RateLow*elapsed, 1), p.RateLow)
	default:
		return f
	}
	f.Known, f.NoRate, f.Prior = true, "", p
	f.Estimated, f.Rate, f.RateLow, f.RateHigh = est, p.Rate, p.RateLow, p.RateHigh
	f.DaysToEmpty = daysAt(est, p.Rate)
	return f
}
