package printersim_test

import (
	"context"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/pkg/ipp"
)

// BenchmarkFleet1000 starts 1,000 simulated printers on loopback and reads
// every one of them once, 64 at a time: the printer side of the
// 1,000-printer enrollment benchmark.
func BenchmarkFleet1000(b *testing.B) {
	for b.Loop() {
		f, err := printersim.StartFleet(context.Background(), printersim.FleetConfig{Count: 1000})
		if err != nil {
			b.Fatal(err)
		}
		var c ipp.Client
		var g errgroup.Group
		g.SetLimit(64)
		for _, p := range f.Printers {
			g.Go(func() error {
				_, err := c.GetPrinterAttributes(context.Background(), p.URL())
				return err
			})
		}
		err = g.Wait()
		c.CloseIdleConnections()
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}
