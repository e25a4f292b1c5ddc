package discovery

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/internal/printersim/simtest"
	"github.com/arsctl/arsctl/pkg/ipp"
	"github.com/arsctl/arsctl/pkg/printer"
)

// fleetPackets returns the mDNS answers of n printers, each split over
// several packets the way real responders send them.
func fleetPackets(n int, port func(i int) int) [][]byte {
	var out [][]byte
	for i := range n {
		name := fmt.Sprintf(`Canon\ TS8320\ series\ %02d`, i)
		host := fmt.Sprintf("p%02d.local.", i)
		txt := []string{"ty=Canon TS8320 series", "rp=ipp/print", fmt.Sprintf("UUID=00000000-0000-0000-0000-%012d", i)}
		for _, m := range []*dns.Msg{
			resp(ptrRR(ServiceIPP, name), srvRR(ServiceIPP, name, host, port(i))),
			resp(ptrRR(ServiceIPPS, name), srvRR(ServiceIPPS, name, host, port(i)), txtRR(ServiceIPPS, name, txt...)),
			resp(txtRR(ServiceIPP, name, txt...), aRR(host, fmt.Sprintf("fe80::%x", i+1))),
			resp(aRR(host, "127.0.0.1")),
		} {
			b, err := m.Pack()
			if err != nil {
				panic(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// BenchmarkMerge measures parsing and merging the answers of 20 printers
// (80 packets) into complete instances.
func BenchmarkMerge(b *testing.B) {
	pkts := fleetPackets(20, func(int) int { return 631 })
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		c := newCache([]string{ServiceIPP, ServiceIPPS}, "local")
		for _, p := range pkts {
			msg, err := parsePacket(p)
			if err != nil {
				b.Fatal(err)
			}
			c.add(msg, "eth0", now)
		}
		for _, in := range c.instances {
			if !c.complete(in) {
				b.Fatalf("%s incomplete", in.key)
			}
		}
	}
}

// BenchmarkEnrichFanOut measures enriching 20 printers concurrently over
// IPP: simulated printers on loopback, the real IPP client.
func BenchmarkEnrichFanOut(b *testing.B) {
	const n = 20
	sims := make([]*printersim.Printer, n)
	for i := range n {
		sims[i] = simtest.Start(b, printersim.Config{Serial: fmt.Sprintf("KNMA%05d", i)})
	}
	client := &ipp.Client{}
	opts := Options{Enrich: true, IPP: client}
	opts.defaults()
	b.ResetTimer()
	for b.Loop() {
		var wg sync.WaitGroup
		res := make([]printer.Printer, n)
		for i, s := range sims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[i] = enrich(context.Background(), opts, printer.Printer{URI: s.URL(), Addrs: []string{"127.0.0.1"}})
			}()
		}
		wg.Wait()
		for _, p := range res {
			if p.Serial == "" {
				b.Fatalf("not enriched: %+v", p)
			}
		}
	}
}

// BenchmarkDiscoveryLoop drives the whole loop (merge, follow-ups,
// enrichment, early completion) for 20 printers on loopback, with time
// simulated, and reports how long enrichment took in real time.
func BenchmarkDiscoveryLoop(b *testing.B) {
	const n = 20
	sims := make([]*printersim.Printer, n)
	for i := range n {
		sims[i] = simtest.Start(b, printersim.Config{Serial: fmt.Sprintf("KNMA%05d", i)})
	}
	pkts := fleetPackets(n, func(i int) int { return sims[i].Port() })
	client := &ipp.Client{}
	b.ResetTimer()
	for b.Loop() {
		d := newDrive(b, Options{Enrich: true, IPP: client})
		for i, p := range pkts {
			msg, _ := parsePacket(p)
			d.r.handle(msg, "eth0", d.at(i/8))
		}
		if d.run(0, 3000) < 0 {
			b.Fatal("never done")
		}
		if got := len(d.r.printers()); got != n {
			b.Fatalf("%d printers", got)
		}
	}
}
