// Command loadgen drives supply-level reports at an arsd and measures it.
//
// It signs up an account, signs in through the real OAuth device
// authorization flow (the token arsctl would hold), enrolls -printers
// printers and then runs two phases:
//
//   - open loop: reports sent at a fixed -rate for -duration regardless of
//     how fast answers come, latency measured from each report's intended
//     send time (no coordinated omission): p50, p99, max;
//   - closed loop: -concurrency workers sending reports back to back for
//     -duration: the sustained reports per second.
//
// Each printer's levels fall report by report, so every supply crosses its
// threshold once; a share of reports (-dup) is sent twice at the same
// time. At the end it lists every enrollment's orders and counts
// duplicates: more than one order for a supply that was never refilled.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/errgroup"

	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

type options struct {
	server      string
	printers    int
	rate        float64
	openFor     time.Duration
	closedFor   time.Duration
	concurrency int
	dup         float64
	label       string
}

func main() {
	var o options
	flag.StringVar(&o.server, "server", arsapi.DefaultServer, "arsd base URL")
	flag.IntVar(&o.printers, "printers", 300, "printers to enroll")
	flag.Float64Var(&o.rate, "rate", 500, "open-loop rate, reports per second")
	flag.DurationVar(&o.openFor, "open", 20*time.Second, "open-loop phase length (0 skips it)")
	flag.DurationVar(&o.closedFor, "closed", 20*time.Second, "closed-loop phase length (0 skips it)")
	flag.IntVar(&o.concurrency, "concurrency", 32, "closed-loop workers")
	flag.Float64Var(&o.dup, "dup", 0.05, "share of reports sent twice concurrently")
	flag.StringVar(&o.label, "label", "", "label printed with the results (e.g. sqlite)")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// fleet is the enrolled printers and how far each one's levels have fallen.
type fleet struct {
	ids   []string
	count []atomic.Int64
	start time.Time
}

// next returns the next report of printer i: read one second after the
// previous one, every level one point lower (never below 0).
func (f *fleet) next(i int) arsapi.LevelReport {
	n := f.count[i].Add(1)
	level := func(off int64) int { return int(max(0, 100-off-n)) }
	return arsapi.LevelReport{
		ReadAt: f.start.Add(time.Duration(n) * time.Second),
		Supplies: []printer.Supply{
			{Name: "PGBK", Type: "inkCartridge", ColorName: "black", Colors: []string{"#000000"}, Level: level(0), Low: 10},
			{Name: "C", Type: "inkCartridge", ColorName: "cyan", Colors: []string{"#00FFFF"}, Level: level(5), Low: 10},
			{Name: "M", Type: "inkCartridge", ColorName: "magenta", Colors: []string{"#FF00FF"}, Level: level(10), Low: 10},
			{Name: "Y", Type: "inkCartridge", ColorName: "yellow", Colors: []string{"#FFFF00"}, Level: level(15)},
		},
	}
}

func run(ctx context.Context, o options) error {
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}
	plain := &http.Client{Transport: tr}
	pub := arsapi.New(o.server, arsapi.WithHTTPClient(plain))

	email := fmt.Sprintf("bench-%d@example.com", time.Now().UnixNano())
	const password = "bench password, long enough"
	if _, err := pub.CreateAccount(ctx, arsapi.CreateAccountRequest{Email: email, Password: password, Name: "bench"}); err != nil {
		return fmt.Errorf("sign-up: %w", err)
	}
	tok, err := oauthtest.DeviceLogin(ctx, plain, o.server, email, password)
	if err != nil {
		return fmt.Errorf("sign-in: %w", err)
	}
	hc := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(tok), Base: tr}}
	c := arsapi.New(o.server, arsapi.WithHTTPClient(hc))
	terms, err := c.Terms(ctx)
	if err != nil {
		return err
	}

	models := []string{"TS8320 series", "Canon TS6320a series", "TR4520", "PRO-200", "TS702a"}
	f := &fleet{ids: make([]string, o.printers), count: make([]atomic.Int64, o.printers), start: time.Now().UTC().Add(-24 * time.Hour)}
	enrollStart := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range o.printers {
		g.Go(func() error {
			serial := fmt.Sprintf("BENCH%08d%04d", time.Now().UnixNano()%1e8, i)
			e, err := c.CreateEnrollment(gctx, arsapi.CreateEnrollmentRequest{
				Provider: arsapi.ProviderCanon, Printer: arsapi.Printer{Model: models[i%len(models)], Serial: serial}, TermsVersion: terms.Version,
			}, "bench-"+serial)
			if err != nil {
				return fmt.Errorf("enroll %s: %w", serial, err)
			}
			f.ids[i] = e.ID
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	label := o.label
	if label != "" {
		label = "[" + label + "] "
	}
	fmt.Printf("%senrolled %d printers in %s\n", label, o.printers, time.Since(enrollStart).Round(time.Millisecond))

	var placed atomic.Int64
	// send sends one report (or, for a share o.dup, the same report twice
	// at once) and returns how many reports it sent.
	send := func(ctx context.Context, rng *rand.Rand) (int, error) {
		i := rng.IntN(len(f.ids))
		rep := f.next(i)
		if rng.Float64() < o.dup {
			var wg sync.WaitGroup
			var errs [2]error
			for k := range 2 {
				wg.Go(func() {
					res, err := c.ReportLevels(ctx, f.ids[i], rep)
					errs[k] = err
					placed.Add(int64(len(res.Orders)))
				})
			}
			wg.Wait()
			return 2, errors.Join(errs[:]...)
		}
		res, err := c.ReportLevels(ctx, f.ids[i], rep)
		placed.Add(int64(len(res.Orders)))
		return 1, err
	}

	if o.openFor > 0 {
		lat, errs, achieved := openLoop(ctx, o, send)
		fmt.Printf("%sopen loop: %.0f reports/s offered for %s (%.0f/s with duplicates), %d errors; latency p50 %s p99 %s max %s\n",
			label, o.rate, o.openFor, achieved, errs, pct(lat, 50), pct(lat, 99), pct(lat, 100))
	}
	if o.closedFor > 0 {
		n, errs, elapsed := closedLoop(ctx, o, send)
		fmt.Printf("%sclosed loop: %d workers, %d reports in %s: %.0f reports/s sustained, %d errors\n",
			label, o.concurrency, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), errs)
	}

	// Duplicate check: no supply was ever refilled, so each has at most one order.
	dups, total := 0, 0
	for _, id := range f.ids {
		orders, err := c.ListOrders(ctx, id)
		if err != nil {
			return fmt.Errorf("list orders: %w", err)
		}
		per := map[string]int{}
		for _, o := range orders {
			per[o.Supply]++
			total++
		}
		for _, n := range per {
			if n > 1 {
				dups += n - 1
			}
		}
	}
	fmt.Printf("%sorders: %d placed (reported by level answers: %d), duplicate orders: %d\n", label, total, placed.Load(), dups)
	if dups != 0 || int64(total) != placed.Load() {
		return fmt.Errorf("%d duplicate orders; %d orders listed, %d reported placed", dups, total, placed.Load())
	}
	return nil
}

// openLoop sends reports at o.rate for o.openFor. Each report's latency is
// measured from when it should have been sent.
func openLoop(ctx context.Context, o options, send func(context.Context, *rand.Rand) (int, error)) ([]time.Duration, int, float64) {
	total := int(o.rate * o.openFor.Seconds())
	interval := time.Duration(float64(time.Second) / o.rate)
	lat := make([]time.Duration, total)
	var errs, sent atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2048)
	start := time.Now()
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			k, err := send(ctx, rng)
			lat[i] = time.Since(due)
			sent.Add(int64(k))
			if err != nil {
				if errs.Add(1) <= 3 {
					fmt.Fprintln(os.Stderr, "report:", err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	return lat, int(errs.Load()), float64(sent.Load()) / elapsed.Seconds()
}

// closedLoop runs o.concurrency workers sending reports back to back.
func closedLoop(ctx context.Context, o options, send func(context.Context, *rand.Rand) (int, error)) (int, int, time.Duration) {
	var n, errs atomic.Int64
	deadline := time.Now().Add(o.closedFor)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range o.concurrency {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for time.Now().Before(deadline) {
				k, err := send(ctx, rng)
				if err != nil {
					if errs.Add(1) <= 3 {
						fmt.Fprintln(os.Stderr, "report:", err)
					}
					continue
				}
				n.Add(int64(k))
			}
		})
	}
	wg.Wait()
	return int(n.Load()), int(errs.Load()), time.Since(start)
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i].Round(10 * time.Microsecond)
}
