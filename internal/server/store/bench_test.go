package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// BenchmarkReportLevels measures ReportLevels as arsd sees it: many
// printers each reporting four supplies that drain and get replaced, so
// that about one report in 25 places an order. It reports throughput and
// the p50/p99 latency of one call.
//
//	go test ./internal/server/store -run '^$' -bench ReportLevels -benchtime 5s
func BenchmarkReportLevels(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			for _, mode := range []string{"serial", "parallel", "rate500"} {
				b.Run(mode, func(b *testing.B) {
					var d *db.DB
					if dialect == db.Postgres {
						d = dbtest.Postgres(b)
					} else {
						d = dbtest.SQLite(b)
					}
					benchReports(b, New(d), mode)
				})
			}
		})
	}
}

// benchReports runs b.N reports: one after another (serial), from
// 8 × GOMAXPROCS goroutines (parallel), or each started on its own at a
// fixed 500 reports/s (rate500, the latency target's load).
func benchReports(b *testing.B, s *Store, mode string) {
	ctx := context.Background()
	const printers = 500
	ids := make([]string, printers)
	for i := range ids {
		e, err := s.CreateEnrollment(ctx, "bench", arsapi.CreateEnrollmentRequest{
			Provider: arsapi.ProviderCanon, Printer: arsapi.Printer{Model: "TS8320", Serial: fmt.Sprintf("BENCH%05d", i)}, TermsVersion: "1",
		}, 15)
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = e.ID
	}
	var (
		seq    atomic.Int64
		mu     sync.Mutex
		lat    []time.Duration
		orders atomic.Int64
	)
	report := func() time.Duration {
		k := int(seq.Add(1))
		round := k / printers // each printer's k-th report
		lv := 100 - (round*10)%110
		r := arsapi.LevelReport{ReadAt: time.Unix(1_700_000_000+int64(k), 0), Supplies: []printer.Supply{
			{Name: "PGBK", Type: "inkCartridge", ColorName: "black", Colors: []string{"#000000"}, Level: lv},
			{Name: "C", Type: "inkCartridge", ColorName: "cyan", Colors: []string{"#00FFFF"}, Level: min(100, lv+30)},
			{Name: "M", Type: "inkCartridge", ColorName: "magenta", Colors: []string{"#FF00FF"}, Level: min(100, lv+60)},
			{Name: "Y", Type: "inkCartridge", ColorName: "yellow", Colors: []string{"#FFFF00"}, Level: -3},
		}}
		start := time.Now()
		res, err := s.ReportLevels(ctx, "bench", ids[k%printers], r)
		if err != nil {
			b.Error(err)
		}
		orders.Add(int64(len(res.Orders)))
		return time.Since(start)
	}
	b.ResetTimer()
	switch mode {
	case "rate500":
		var wg sync.WaitGroup
		tick := time.NewTicker(2 * time.Millisecond)
		for i := 0; i < b.N; i++ {
			<-tick.C
			wg.Go(func() {
				d := report()
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			})
		}
		wg.Wait()
		tick.Stop()
	case "parallel":
		b.SetParallelism(8) // 8 × GOMAXPROCS concurrent reports
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			for pb.Next() {
				mine = append(mine, report())
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	default:
		for b.Loop() {
			lat = append(lat, report())
		}
	}
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "reports/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(orders.Load())/float64(len(lat)), "orders/report")
}
