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
// The fleet moves a day at a time: each printer also has one of 8 models
// (drawn apart from its trace, so it says nothing of use or yield), and
// the forecast policy gives a supply whose own readings have no rate yet
// the fleet's prior (forecast.Priors), rebuilt every day from the rates
// the printers' own readings gave up to the day before, as arsd's
// periodic job does. -prior=false runs it without.
//
// -policies oracle runs, for reference, a rule no real policy can follow: it knows
// the supply's true level and the expected use of the coming days, but
// not the day's randomness nor a heavy month that has not begun (see
// oracle). It bounds what any policy can reach on these traces.
//
// Usage: go run ./bench/forecast [-printers 200] [-days 365] [-seed 1] [-seeds 5] [-prior=false] [-causes] [-policies forecast,threshold,oracle] [-oracle-buffer 0.28] [-oracle-extra 4]
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
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
	// oracle is the rule of the policy named "oracle".
	oracle oracle
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
	// emptyBy and driedBy are the empty days and the printers with any,
	// by cause (see cause).
	emptyBy, driedBy map[cause]int
}

// cause is what an empty printer-day is put down to: the printer's way of
// reporting and whether it falls in its heavy month or the week after.
type cause struct {
	kind  reporting
	heavy bool
}

func causeOf(t trace, d int) cause {
	return cause{t.kind, t.inHeavy(d) || ((d%365)/31 == t.heavy+1 && (d%365)%31 < 7)}
}

func (r *result) addEmpty(c cause, first bool) {
	if r.emptyBy == nil {
		r.emptyBy, r.driedBy = map[cause]int{}, map[cause]int{}
	}
	r.emptyBy[c]++
	if first {
		r.driedBy[c]++
	}
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
	// expect is the expected pages of each day: the use, weekly rhythm,
	// holidays and idle week, without the heavy month's factor and without
	// the day's randomness. Only the oracle reads it.
	expect []float64
}

func newTrace(rng *rand.Rand, days int) trace {
	t := trace{
		pages:    make([]float64, days),
		report:   make([]bool, days),
		noise:    make([]float64, days),
		coverage: make([]float64, days),
		expect:   make([]float64, days),
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
		t.expect[d] = m
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

// inHeavy reports whether day d is in the printer's heavy month.
func (t trace) inHeavy(d int) bool { return (d%365)/31 == t.heavy }

// oracle is an ordering rule that no real policy can follow, for
// reference: it knows the supply's true level and the expected use of
// the coming days (the printer's use, weekly rhythm, holidays, idle week,
// and its heavy month once that has begun, to its end), but neither the
// day's randomness nor a heavy month that has not begun. It orders when
// the level is at most the expected use until ink ordered now would
// arrive and the next report after that could order (lead time plus a
// day), times 1+buffer, plus extra points.
type oracle struct {
	buffer, extra float64
}

// orders reports whether the oracle orders at report time on day d of
// printer t, with the supply at level.
func (o oracle) orders(t trace, d int, level float64, lead time.Duration) bool {
	from := float64(d) + t.hour
	to := from + lead.Hours()/24 + 1
	use := 0.0
	for j := d; float64(j) < to && j < len(t.expect); j++ {
		share := math.Min(to, float64(j+1)) - math.Max(from, float64(j))
		pages := t.expect[j]
		if t.inHeavy(d) && t.inHeavy(j) {
			pages *= 2
		}
		use += share * pages * 100 / t.yield
	}
	return level <= use*(1+o.buffer)+o.extra
}

// printerSim is one printer's state under one policy, stepped a day at a
// time so that the whole fleet moves together and a policy can use what
// the other printers have shown up to yesterday (the fleet's prior).
type printerSim struct {
	t   trace
	pol forecast.Policy
	// oracle, when set, orders instead of pol (see oracle).
	oracle  *oracle
	lead    time.Duration
	start   time.Time
	r       *result
	onDry   func(int)
	level   float64
	spare   bool
	armed   bool
	ordered bool
	arrive  time.Time
	// readings are the printer's reports so far.
	readings []forecast.Reading
	// rate is the supply's last rate estimated from its own readings,
	// 0 while it has none: what the printer gives the fleet's prior.
	rate  float64
	empty int
	// dried are the causes of the printer's empty days so far.
	dried map[cause]bool
}

func newPrinterSim(t trace, pol forecast.Policy, lead time.Duration, start time.Time, r *result, onDry func(int)) *printerSim {
	return &printerSim{t: t, pol: pol, lead: lead, start: start, r: r, onDry: onDry, level: 100, armed: true}
}

func (s *printerSim) install() { s.level, s.spare, s.armed = 100, false, true }

// use consumes pages, installing the spare when the cartridge runs dry; it
// reports whether the supply was empty with nothing on hand.
func (s *printerSim) use(pages float64, d int) bool {
	need := pages * s.t.coverage[d] * 100 / s.t.yield
	for need > 0 {
		if s.level > need {
			s.level -= need
			return false
		}
		need -= s.level
		s.level = 0
		if !s.spare {
			return need > 0 || pages > 0
		}
		s.install()
	}
	return false
}

// day simulates day d; prior is the fleet's prior for the printer's model
// as of the day before (nil for none).
func (s *printerSim) day(d int, prior *forecast.Prior) {
	t := s.t
	dry := s.level <= 0 && !s.spare
	if t.swaps[d] {
		if s.ordered {
			s.ordered = false
			s.r.skipped++
		}
		s.level, s.armed = 100, !s.spare
		dry = false
	}
	at := s.start.Add(time.Duration(float64(d)+t.hour) * 24 * time.Hour)
	if s.use(t.pages[d]*t.hour, d) {
		dry = true
	}
	if s.ordered && !at.Before(s.arrive) {
		s.ordered = false
		s.r.leftOnArrival = append(s.r.leftOnArrival, s.level)
		if s.level <= 0 {
			s.install()
		} else {
			s.spare = true
		}
	}
	if t.report[d] {
		s.readings = append(s.readings, forecast.Reading{At: at, Level: t.read(s.level, d)})
		if s.armed && !s.ordered && !s.spare {
			var order bool
			if s.oracle != nil {
				order = s.oracle.orders(t, d, s.level, s.lead)
			} else {
				f := forecast.EstimateWith(s.readings, at, prior)
				if f.Known && f.Prior == nil {
					s.rate = f.Rate
				}
				order = s.pol(f, s.lead, t.low).Order
			}
			if order {
				s.ordered, s.armed = true, false
				s.arrive = at.Add(s.lead)
				s.r.placed++
			}
		}
	}
	if s.use(t.pages[d]*(1-t.hour), d) {
		dry = true
	}
	if s.level <= 0 && !s.spare {
		dry = true
	}
	if dry {
		s.onDry(d)
		s.empty++
		c := causeOf(t, d)
		s.r.addEmpty(c, !s.dried[c])
		if s.dried == nil {
			s.dried = map[cause]bool{}
		}
		s.dried[c] = true
	}
}

// finish adds the printer's year to its result.
func (s *printerSim) finish() {
	s.r.emptyDays += s.empty
	s.r.printers++
	if s.empty > 0 {
		s.r.printersEmpty++
	}
}

// models is the number of printer models in the fleet. A printer's model
// is drawn apart from its trace, so adding models left every trace as it
// was: in this simulation a model says nothing of use or yield, and its
// prior is no better than the fleet's (in a real fleet a model fixes the
// cartridge's yield, which makes it better).
const models = 8

// run simulates the fleet under every named policy on the same traces.
// The forecast policy takes a supply's rate, while its own readings give
// none, from the fleet's prior (forecast.Priors, rebuilt every day from
// the rates the printers' own readings gave up to the day before, as
// arsd's periodic job does); prior false runs it without.
func run(cfg config, names []string, prior bool) []result {
	return runHook(cfg, names, prior, func(int, int, trace, int) {})
}

// runHook is run calling onDry(policy index, printer, trace, day) for
// every empty printer-day.
func runHook(cfg config, names []string, prior bool, onDry func(int, int, trace, int)) []result {
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC) // a Monday
	out := make([]result, len(names))
	for i, n := range names {
		out[i].name = n
	}
	traces := make([]trace, cfg.printers)
	model := make([]string, cfg.printers)
	for p := range traces {
		traces[p] = newTrace(rand.New(rand.NewPCG(cfg.seed, uint64(p))), cfg.days)
		model[p] = fmt.Sprintf("model %d", rand.New(rand.NewPCG(cfg.seed^0x6d6f64656c, uint64(p))).IntN(models))
	}
	for i, n := range names {
		sims := make([]*printerSim, len(traces))
		for p, t := range traces {
			sims[p] = newPrinterSim(t, forecast.Policies[n], cfg.lead, start, &out[i], func(d int) { onDry(i, p, t, d) })
			if n == "oracle" {
				sims[p].oracle = &cfg.oracle
			}
		}
		usePrior := prior && n == "forecast"
		for d := 0; d < cfg.days; d++ {
			var priors forecast.Priors
			if usePrior {
				samples := make([]forecast.PriorSample, 0, len(sims))
				for p, s := range sims {
					if s.rate > 0 {
						samples = append(samples, forecast.PriorSample{Model: model[p], Supply: "black", Rate: s.rate})
					}
				}
				priors = forecast.NewPriors(samples)
			}
			for p, s := range sims {
				var pr *forecast.Prior
				if usePrior {
					pr = priors.For(model[p], "black")
				}
				s.day(d, pr)
			}
		}
		for _, s := range sims {
			s.finish()
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

// printCauses prints, per seed and policy, the empty days and the
// printers with any, by the printers' way of reporting, in or just after
// their heavy month and at other times.
func printCauses(w io.Writer, cfg config, seeds int, rs [][]result) {
	fmt.Fprintf(w, "\nempty days / printers with any, by reporting, in the heavy month (or the week after) and at other times\n\n")
	fmt.Fprintf(w, "%-5s %-10s %15s %15s %15s %15s %15s %15s\n", "seed", "policy", "whole % heavy", "whole % other", "steps heavy", "steps other", "some rem. heavy", "some rem. other")
	for i := 0; i < seeds; i++ {
		for _, r := range rs[i] {
			fmt.Fprintf(w, "%-5d %-10s", cfg.seed+uint64(i), r.name)
			for _, k := range []reporting{fine, steps, okLow} {
				for _, h := range []bool{true, false} {
					c := cause{k, h}
					fmt.Fprintf(w, " %15s", fmt.Sprintf("%d / %d", r.emptyBy[c], r.driedBy[c]))
				}
			}
			fmt.Fprintln(w)
		}
	}
}

func main() {
	cfg := config{lead: forecast.DefaultLeadTime}
	flag.IntVar(&cfg.printers, "printers", 200, "number of printers")
	flag.IntVar(&cfg.days, "days", 365, "days simulated")
	flag.Uint64Var(&cfg.seed, "seed", 1, "random seed (the first one with -seeds)")
	seeds := flag.Int("seeds", 1, "number of seeds to run, from -seed on, each a row per policy in the table")
	prior := flag.Bool("prior", true, "let the forecast policy use the fleet's prior rate for a supply with none of its own")
	causes := flag.Bool("causes", false, "also print the empty days by cause")
	flag.DurationVar(&cfg.lead, "lead", forecast.DefaultLeadTime, "delivery time of an order")
	policies := flag.String("policies", "forecast,threshold,oracle", "policies to run, comma-separated: forecast, threshold, and oracle, which knows the true level and the expected use ahead")
	flag.Float64Var(&cfg.oracle.buffer, "oracle-buffer", 0.28, "the oracle orders at its expected use until delivery times 1+this")
	flag.Float64Var(&cfg.oracle.extra, "oracle-extra", 4, "points of ink the oracle adds to that")
	flag.Parse()
	if *seeds < 1 {
		fmt.Fprintln(os.Stderr, "-seeds must be at least 1")
		os.Exit(2)
	}
	names := strings.Split(*policies, ",")
	for _, n := range names {
		if _, ok := forecast.Policies[n]; !ok && n != "oracle" {
			fmt.Fprintf(os.Stderr, "-policies: unknown policy %q (forecast, threshold, oracle)\n", n)
			os.Exit(2)
		}
	}
	rs := make([][]result, *seeds)
	for i := range rs {
		c := cfg
		c.seed += uint64(i)
		rs[i] = run(c, names, *prior)
	}
	printTable(os.Stdout, cfg, *seeds, rs)
	if *causes {
		printCauses(os.Stdout, cfg, *seeds, rs)
	}
}
