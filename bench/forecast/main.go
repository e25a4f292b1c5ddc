// Command forecast simulates a year of ink use for a fleet of printers and
// replays it under the order policies of pkg/forecast, to show how often a
// supply runs dry and how much ink is left when the new cartridge arrives.
//
// Every printer gets its own trace from a seeded random source, so a run is
// deterministic and both policies see exactly the same pages, refills and
// reports. The model:
//
//   - use: 0-50 pages a day on average (skewed towards light use), an
//     office (busy weekdays, quiet weekends) or home (busier weekends)
//     weekly rhythm, day-to-day noise, two weeks of summer holiday and a
//     week at the turn of the year at a twentieth of the use, an idle week
//     for half the printers, and one heavy month at twice the use;
//   - cartridges: 400-1200 pages, twice that for printers above 25 pages a
//     day (high-yield cartridges); the owner swaps in a cartridge from
//     elsewhere once or twice a year at a random time;
//   - reports: once a day at the printer's own hour, missed on 10 % of days;
//     70 % of printers report whole percents with a point of noise, 20 %
//     only steps of 10 (rounded up), 10 % only "some remaining" until the
//     printer's low mark;
//   - orders: at most one per cartridge, delivered 5 days after it is
//     placed; the owner installs the new cartridge when the old one is
//     empty. An order still on its way when the owner swaps in a cartridge
//     from elsewhere is skipped.
//
// A printer-day is empty when the supply was empty with no cartridge on
// hand at any time that day.
//
// Usage: go run ./bench/forecast [-printers 200] [-days 365] [-seed 1] [-seeds 5]
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"time"

	"github.com/arsctl/arsctl/pkg/forecast"
	"github.com/arsctl/arsctl/pkg/printer"
)

// config is one simulation's size.
type config struct {
	printers int
	days     int
	seed     uint64
	lead     time.Duration
}

// result is one policy's outcome over the fleet.
type result struct {
	name          string
	emptyDays     int
	printersEmpty int
	printers      int
	leftOnArrival []float64
	placed        int
	skipped       int
}

func (r result) medianLeft() float64 {
	if len(r.leftOnArrival) == 0 {
		return math.NaN()
	}
	xs := append([]float64(nil), r.leftOnArrival...)
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

func (r result) dryFreeShare() float64 {
	return 100 * float64(r.printers-r.printersEmpty) / float64(r.printers)
}

// reporting is how a printer reports levels.
type reporting int

const (
	fine reporting = iota
	steps
	okLow
)

// trace is one printer's year, fixed before any policy runs.
type trace struct {
	pages    []float64 // pages printed per day
	yield    float64   // pages per cartridge
	report   []bool    // whether the printer reports that day
	hour     float64   // fraction of the day at which it reports
	noise    []float64 // reading noise per day, in percent
	swaps    map[int]bool
	kind     reporting
	low      int
	coverage []float64 // per-day ink per page factor
	heavy    int
}

func newTrace(rng *rand.Rand, days int) trace {
	t := trace{
		pages:    make([]float64, days),
		report:   make([]bool, days),
		noise:    make([]float64, days),
		coverage: make([]float64, days),
		swaps:    map[int]bool{},
		hour:     0.3 + 0.5*rng.Float64(),
		low:      []int{10, 15, 15, 20}[rng.IntN(4)],
	}
	u := rng.Float64()
	base := 50 * u * u
	t.yield = 400 + 800*rng.Float64()
	if base > 25 {
		t.yield *= 2
	}
	switch k := rng.Float64(); {
	case k < 0.7:
		t.kind = fine
	case k < 0.9:
		t.kind = steps
	default:
		t.kind = okLow
	}
	office := rng.Float64() < 0.6
	heavy := rng.IntN(12)
	t.heavy = heavy
	idle := -1
	if rng.Float64() < 0.5 {
		idle = rng.IntN(max(days-7, 1))
	}
	for n := rng.IntN(2) + 1; n > 0; n-- {
		t.swaps[rng.IntN(days)] = true
	}
	for d := 0; d < days; d++ {
		m := base
		wd := d % 7 // day 0 is a Monday
		switch {
		case office && wd >= 5:
			m *= 0.1
		case office:
			m *= 1.36
		case wd >= 5:
			m *= 1.5
		default:
			m *= 0.8
		}
		doy := d % 365
		if (doy >= 210 && doy < 224) || doy >= 359 || doy < 2 || (idle >= 0 && d >= idle && d < idle+7) {
			m *= 0.05
		}
		if (d%365)/31 == heavy {
			m *= 2
		}
		p := m + math.Sqrt(m)*rng.NormFloat64()
		t.pages[d] = math.Max(p, 0)
		t.report[d] = rng.Float64() >= 0.1
		t.noise[d] = rng.NormFloat64()
		t.coverage[d] = 0.7 + 0.6*rng.Float64()
	}
	return t
}

// read is what the printer reports for a true level.
func (t trace) read(level float64, d int) int {
	switch t.kind {
	case steps:
		return int(math.Ceil(level/10-1e-9)) * 10
	case okLow:
		switch {
		case level <= 0:
			return 0
		case level <= float64(t.low):
			return t.low
		default:
			return printer.LevelSomeRemaining
		}
	default:
		v := int(math.Round(level + t.noise[d]))
		if level <= 0 {
			v = 0
		}
		return min(max(v, 0), 100)
	}
}

// simulate runs one printer's trace under one policy.
func simulate(t trace, pol forecast.Policy, lead time.Duration, start time.Time, r *result) {
	simulateHook(t, pol, lead, start, r, func(int) {})
}

func simulateHook(t trace, pol forecast.Policy, lead time.Duration, start time.Time, r *result, onDry func(int)) {
	level := 100.0
	spare := false
	armed := true
	ordered := false
	var arrive time.Time
	var readings []forecast.Reading
	empty := 0
	days := len(t.pages)
	install := func() {
		level, spare, armed = 100, false, true
	}
	// use consumes pages, installing the spare when the cartridge runs
	// dry; it reports whether the supply was empty with nothing on hand.
	use := func(pages float64, d int) bool {
		need := pages * t.coverage[d] * 100 / t.yield
		for need > 0 {
			if level > need {
				level -= need
				return false
			}
			need -= level
			level = 0
			if !spare {
				return need > 0 || pages > 0
			}
			install()
		}
		return false
	}
	for d := 0; d < days; d++ {
		dry := level <= 0 && !spare
		if t.swaps[d] {
			if ordered {
				ordered = false
				r.skipped++
			}
			level, armed = 100, !spare
			dry = false
		}
		at := start.Add(time.Duration(float64(d)+t.hour) * 24 * time.Hour)
		if use(t.pages[d]*t.hour, d) {
			dry = true
		}
		if ordered && !at.Before(arrive) {
			ordered = false
			r.leftOnArrival = append(r.leftOnArrival, level)
			if level <= 0 {
				install()
			} else {
				spare = true
			}
		}
		if t.report[d] {
			readings = append(readings, forecast.Reading{At: at, Level: t.read(level, d)})
			if armed && !ordered && !spare {
				f := forecast.Estimate(readings, at)
				if pol(f, lead, t.low).Order {
					ordered, armed = true, false
					arrive = at.Add(lead)
					r.placed++
				}
			}
		}
		if use(t.pages[d]*(1-t.hour), d) {
			dry = true
		}
		if level <= 0 && !spare {
			dry = true
		}
		if dry {
			onDry(d)
			empty++
		}
	}
	r.emptyDays += empty
	r.printers++
	if empty > 0 {
		r.printersEmpty++
	}
}

// run simulates the fleet under every named policy on the same traces.
func run(cfg config, names []string) []result {
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC) // a Monday
	out := make([]result, len(names))
	for i, n := range names {
		out[i].name = n
	}
	for p := 0; p < cfg.printers; p++ {
		rng := rand.New(rand.NewPCG(cfg.seed, uint64(p)))
		t := newTrace(rng, cfg.days)
		for i, n := range names {
			simulate(t, forecast.Policies[n], cfg.lead, start, &out[i])
		}
	}
	return out
}

func printTable(w io.Writer, cfg config, seeds int, rs [][]result) {
	fmt.Fprintf(w, "%d printers, %d days, delivery in %s\n\n", cfg.printers, cfg.days, cfg.lead)
	fmt.Fprintf(w, "%-5s %-10s %11s %19s %22s %7s %8s\n", "seed", "policy", "empty days", "printers never dry", "median ink on arrival", "orders", "skipped")
	for i := 0; i < seeds; i++ {
		for _, r := range rs[i] {
			fmt.Fprintf(w, "%-5d %-10s %11d %18.1f%% %21.1f%% %7d %8d\n", cfg.seed+uint64(i), r.name, r.emptyDays, r.dryFreeShare(), r.medianLeft(), r.placed, r.skipped)
		}
	}
}

func main() {
	cfg := config{lead: forecast.DefaultLeadTime}
	flag.IntVar(&cfg.printers, "printers", 200, "number of printers")
	flag.IntVar(&cfg.days, "days", 365, "days simulated")
	flag.Uint64Var(&cfg.seed, "seed", 1, "random seed (the first one with -seeds)")
	seeds := flag.Int("seeds", 1, "number of seeds to run, from -seed on, each a row pair of the table")
	flag.DurationVar(&cfg.lead, "lead", forecast.DefaultLeadTime, "delivery time of an order")
	flag.Parse()
	if *seeds < 1 {
		fmt.Fprintln(os.Stderr, "-seeds must be at least 1")
		os.Exit(2)
	}
	rs := make([][]result, *seeds)
	for i := range rs {
		c := cfg
		c.seed += uint64(i)
		rs[i] = run(c, []string{"forecast", "threshold"})
	}
	printTable(os.Stdout, cfg, *seeds, rs)
}
