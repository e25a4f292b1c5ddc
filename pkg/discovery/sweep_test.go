package discovery

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/internal/printersim/simtest"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/snmp"
)

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		in       string
		from, to string
		size     uint64
		err      string
	}{
		{in: "10.1.2.0/24", from: "10.1.2.1", to: "10.1.2.254", size: 254},
		{in: "10.1.2.77/24", from: "10.1.2.1", to: "10.1.2.254", size: 254},
		{in: "10.1.2.4/31", from: "10.1.2.4", to: "10.1.2.5", size: 2},
		{in: "10.1.2.4/32", from: "10.1.2.4", to: "10.1.2.4", size: 1},
		{in: "10.0.0.0/16", from: "10.0.0.1", to: "10.0.255.254", size: 65534},
		{in: " 10.1.2.10 - 10.1.2.60 ", from: "10.1.2.10", to: "10.1.2.60", size: 51},
		{in: "10.1.2.9", from: "10.1.2.9", to: "10.1.2.9", size: 1},
		{in: "fd00::/120", from: "fd00::", to: "fd00::ff", size: 256},
		{in: "fd00::/64", from: "fd00::", to: "fd00::ffff:ffff:ffff:ffff", size: MaxLargeSweep + 1},
		{in: "10.1.2.60-10.1.2.10", err: "comes after"},
		{in: "10.1.2.1-fd00::1", err: "both ends"},
		{in: "10.1.2.0/33", err: "invalid subnet"},
		{in: "printers", err: "invalid subnet"},
		{in: "", err: "invalid subnet"},
		{in: "fe80::1%eth0", err: "invalid subnet"},
	} {
		r, err := ParseRange(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRange(%q) = %v, %v; want error with %q", tc.in, r, err, tc.err)
			}
			continue
		}
		if err != nil || r.From.String() != tc.from || r.To.String() != tc.to || r.Size() != tc.size {
			t.Errorf("ParseRange(%q) = %v (size %d), %v; want %s-%s (%d)", tc.in, r, r.Size(), err, tc.from, tc.to, tc.size)
		}
	}
}

func TestSweepRefusesLargeRanges(t *testing.T) {
	r1, _ := ParseRange("10.0.0.0/16")
	r2, _ := ParseRange("10.1.0.0/24")
	o := SweepOptions{Ranges: []Range{r1, r2}}
	// Nothing is probed: Validate fails before the first address.
	_, err := Sweep(context.Background(), o, func(printer.Printer) { t.Error("probed") })
	if !errors.Is(err, ErrRangeTooLarge) {
		t.Fatalf("err = %v, want ErrRangeTooLarge", err)
	}
	o.AllowLarge = true
	if err := o.Validate(); err != nil {
		t.Fatalf("AllowLarge: %v", err)
	}
	huge, _ := ParseRange("fd00::/64")
	if err := (&SweepOptions{Ranges: []Range{huge}, AllowLarge: true}).Validate(); !errors.Is(err, ErrRangeTooLarge) {
		t.Fatalf("a /64 with AllowLarge: %v", err)
	}
	if err := (&SweepOptions{}).Validate(); err == nil {
		t.Fatal("no ranges: no error")
	}
	o.SNMP.V3 = &snmp.V3{User: "u", AuthProtocol: "SHA", AuthPassword: "short"}
	if err := o.Validate(); err == nil || strings.Contains(err.Error(), "short") {
		t.Fatalf("bad v3 credentials: %v", err)
	}
}

// closedUDPPort returns a loopback UDP port nothing listens on, so SNMP
// requests there are refused at once.
func closedUDPPort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	return uint16(port)
}

// TestSweepLoopback sweeps three loopback addresses, one of which has a
// simulated printer: the printer is found once, complete, with its
// address; the others are not reported.
func TestSweepLoopback(t *testing.T) {
	sim := simtest.Start(t, printersim.Config{Serial: "KNMA05555", Levels: map[string]int{"C": 15}})
	r, err := ParseRange("127.0.0.1-127.0.0.3")
	if err != nil {
		t.Fatal(err)
	}
	var streamed []printer.Printer
	var progress []int
	ps, err := Sweep(context.Background(), SweepOptions{
		Ranges: []Range{r}, IPPPort: sim.Port(), ProbeTimeout: 500 * time.Millisecond,
		SNMP:     snmp.Options{Port: closedUDPPort(t)},
		Progress: func(done, total int) { progress = append(progress, done, total) },
	}, func(p printer.Printer) { streamed = append(streamed, p) })
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || len(streamed) != 1 {
		t.Fatalf("found %d, streamed %d; want 1: %+v", len(ps), len(streamed), ps)
	}
	p := ps[0]
	if p.Serial != "KNMA05555" || p.Model == "" || len(p.Addrs) != 1 || p.Addrs[0] != "127.0.0.1" ||
		!strings.Contains(p.URI, "127.0.0.1") || !strings.Contains(levelsOf(p), "15") {
		t.Fatalf("printer: %+v", p)
	}
	if len(progress) != 6 || progress[4] != 3 || progress[5] != 3 {
		t.Fatalf("progress calls %v, want done 1..3 of 3", progress)
	}
}

func levelsOf(p printer.Printer) string {
	var b strings.Builder
	for _, s := range p.Supplies {
		b.WriteString(s.Name + "=" + strconv.Itoa(s.Level) + " ")
	}
	return b.String()
}
