package discovery

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/internal/printersim/simtest"
	"github.com/arsctl/arsctl/internal/zoneserver"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/snmp"
)

// TestDiscoverSweepAndDomain finds one printer both by sweeping its
// address and through unicast DNS-SD, and another by the sweep alone:
// each is reported once, the first with what both ways told.
func TestDiscoverSweepAndDomain(t *testing.T) {
	a := simtest.Start(t, printersim.Config{Serial: "KNMA06666", UUID: "6a1c2c9e-0000-4000-8000-000000000001"})
	srv, err := zoneserver.Start("127.0.0.1:0", printerZone(a.Port()), "corp.example")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r, _ := ParseRange("127.0.0.1")
	var events []Event
	ps, err := Discover(context.Background(), Options{
		NoMDNS: true, Enrich: true, Timeout: 20 * time.Second, SNMP: noSNMP,
		Domains: []string{"corp.example"}, DNSServer: srv.Addr(),
		Sweep: SweepOptions{Ranges: []Range{r}, IPPPort: a.Port(), SNMP: snmp.Options{Port: closedUDPPort(t)}},
	}, func(e Event) { events = append(events, e) })
	if err != nil {
		t.Fatal(err)
	}
	var fd *printer.Printer
	for i := range ps {
		if ps[i].Serial == "KNMA06666" {
			if fd != nil {
				t.Fatalf("printer reported twice: %+v", ps)
			}
			fd = &ps[i]
		}
	}
	if len(ps) != 2 || fd == nil {
		t.Fatalf("printers: %+v", ps)
	}
	// The DNS-SD instance name wins over the sweep's make and model.
	if fd.Name != "Front Desk" || fd.Host != "frontdesk.corp.example" || len(fd.Supplies) == 0 {
		t.Fatalf("merged printer: %+v", *fd)
	}
	ready := map[int]int{}
	for _, e := range events {
		if e.Kind == Ready {
			ready[e.ID]++
		}
	}
	if len(ready) != 2 {
		t.Fatalf("Ready events per printer: %v (events %+v)", ready, events)
	}
}

func TestMergerFoldsBySerialAndUUID(t *testing.T) {
	var events []Event
	m := &merger{fn: func(e Event) { events = append(events, e) }}
	// mDNS sees a printer with only its UUID first.
	m.add("mdns:1", false, printer.Printer{Name: "Office", UUID: "U1", Addrs: []string{"10.0.0.5"}})
	// The sweep finds a printer by serial at another address (its IPv6
	// one, say): a new printer for now.
	m.add("sweep:10.0.0.9", true, printer.Printer{Name: "Canon TS8300", Serial: "S1", Addrs: []string{"10.0.0.9"}})
	if len(m.printed) != 2 {
		t.Fatalf("%d printers", len(m.printed))
	}
	// mDNS enrichment learns the serial: both are one printer.
	m.add("mdns:1", true, printer.Printer{Name: "Office", UUID: "U1", Serial: "S1", Addrs: []string{"10.0.0.5"}})
	ps := m.printers()
	if len(ps) != 1 || ps[0].Name != "Office" || strings.Join(ps[0].Addrs, ",") != "10.0.0.5,10.0.0.9" {
		t.Fatalf("printers: %+v", ps)
	}
	// A printer with another UUID but the same serial is another printer
	// only when UUIDs differ.
	m.add("dns-sd:x:1", true, printer.Printer{Name: "Other", UUID: "U2", Serial: "S1"})
	if len(m.printers()) != 2 {
		t.Fatalf("different UUIDs merged: %+v", m.printers())
	}
	if events[0].Kind != Found || events[len(events)-1].Kind != Ready {
		t.Fatalf("events: %+v", events)
	}
}
