package discovery

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/internal/printersim/simtest"
	"github.com/arsctl/arsctl/internal/zoneserver"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/snmp"
)

// printerZone publishes one printer at 127.0.0.1:port as _ipp._tcp and
// _ipps._tcp in corp.example, plus an instance whose SRV is missing.
func printerZone(port int) string {
	return fmt.Sprintf(`$ORIGIN corp.example.
$TTL 0
_ipp._tcp    PTR  Front\032Desk._ipp._tcp
_ipp._tcp    PTR  Broken._ipp._tcp
_ipps._tcp   PTR  Front\032Desk._ipps._tcp
Front\032Desk._ipp._tcp   SRV 0 0 %[1]d frontdesk
Front\032Desk._ipp._tcp   TXT "txtvers=1" "rp=ipp/print" "ty=Canon TS8320 series" "UUID=6a1c2c9e-0000-4000-8000-000000000001"
Front\032Desk._ipps._tcp  SRV 0 0 %[1]d frontdesk
Front\032Desk._ipps._tcp  TXT "txtvers=1" "rp=ipp/print" "UUID=6a1c2c9e-0000-4000-8000-000000000001"
Broken._ipp._tcp          TXT "txtvers=1" "ty=Canon MG2500 series"
frontdesk    A    127.0.0.1
`, port)
}

// TestBrowseDomain browses a DNS domain served by a DNS server on the
// loopback interface: the printer advertised over two services is
// reported once and completed over IPP; the instance with no SRV record
// is reported with the problem.
func TestBrowseDomain(t *testing.T) {
	sim := simtest.Start(t, printersim.Config{Serial: "KNMA06666", UUID: "6a1c2c9e-0000-4000-8000-000000000001"})
	srv, err := zoneserver.Start("127.0.0.1:0", printerZone(sim.Port()), "corp.example")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var streamed int
	ps, err := BrowseDomain(context.Background(), "corp.example", Options{
		DNSServer: srv.Addr(), Enrich: true, Timeout: 20 * time.Second,
		SNMP: noSNMP,
	}, func(printer.Printer) { streamed++ })
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || streamed != 2 {
		t.Fatalf("got %d printers (%d streamed), want 2: %+v", len(ps), streamed, ps)
	}
	byName := map[string]printer.Printer{}
	for _, p := range ps {
		byName[p.Name] = p
	}
	fd := byName["Front Desk"]
	if fd.Serial != "KNMA06666" || fd.Host != "frontdesk.corp.example" || fd.URI != fmt.Sprintf("ipp://127.0.0.1:%d/ipp/print", sim.Port()) ||
		len(fd.Supplies) == 0 || !strings.Contains(strings.Join(fd.Sources, ","), "dns-sd") {
		t.Fatalf("Front Desk: %+v", fd)
	}
	if b := byName["Broken"]; b.Model != "MG2500 series" || !hasProblemText(b, "no SRV") {
		t.Fatalf("Broken: %+v", b)
	}
}

func hasProblemText(p printer.Printer, s string) bool {
	return strings.Contains(strings.Join(p.Problems, "\n"), s)
}

func TestBrowseDomainErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(empty, []byte("search example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := BrowseDomain(ctx, "corp.example", Options{ResolvConf: empty}, nil); err == nil || !strings.Contains(err.Error(), "--dns-server") {
		t.Fatalf("no server: %v", err)
	}
	if _, err := BrowseDomain(ctx, "bad..domain", Options{DNSServer: "127.0.0.1"}, nil); err == nil {
		t.Fatal("invalid domain: no error")
	}
	// A server that does not answer: an error naming it, within Timeout.
	if _, err := BrowseDomain(ctx, "corp.example", Options{DNSServer: "127.0.0.1:" + fmt.Sprint(closedUDPPort(t)), Timeout: 2 * time.Second}, nil); err == nil || !strings.Contains(err.Error(), "no DNS server answered") {
		t.Fatalf("dead server: %v", err)
	}
	for _, tc := range []struct{ in, want string }{
		{"10.0.0.53", "10.0.0.53:53"}, {"10.0.0.53:5353", "10.0.0.53:5353"}, {"fd00::53", "[fd00::53]:53"}, {"[fd00::53]:54", "[fd00::53]:54"},
	} {
		got, err := dnsServers(Options{DNSServer: tc.in})
		if err != nil || len(got) != 1 || got[0] != tc.want {
			t.Errorf("dnsServers(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	conf := filepath.Join(dir, "resolv2.conf")
	if err := os.WriteFile(conf, []byte("nameserver 10.9.9.9\nnameserver fd00::9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := dnsServers(Options{ResolvConf: conf}); err != nil || strings.Join(got, " ") != "10.9.9.9:53 [fd00::9]:53" {
		t.Errorf("resolv.conf servers: %v, %v", got, err)
	}
}

// FuzzDomainAnswer feeds DNS answers from the network to the unicast
// DNS-SD browse's record handling: no input may crash it, and what it
// builds stays within the cache's bounds.
func FuzzDomainAnswer(f *testing.F) {
	recs, err := zoneRecords(printerZone(631))
	if err != nil {
		f.Fatal(err)
	}
	for _, rrs := range [][]dns.RR{recs, recs[:3], recs[3:]} {
		m := new(dns.Msg)
		m.Response = true
		m.Answer = rrs
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msg := new(dns.Msg)
		if msg.Unpack(b) != nil {
			return
		}
		c := newCache([]string{ServiceIPP, ServiceIPPS}, "corp.example")
		c.add(unicastAnswer(msg), "", time.Now())
		ps := domainPrinters(c)
		if len(ps) > maxInstances {
			t.Fatalf("%d printers", len(ps))
		}
		u := &unicastBrowser{domain: "corp.example", cache: c}
		for _, q := range u.missing() {
			if _, ok := dns.IsDomainName(q.Name); !ok {
				t.Fatalf("query for invalid name %q", q.Name)
			}
		}
	})
}

func zoneRecords(zone string) ([]dns.RR, error) {
	var out []dns.RR
	zp := dns.NewZoneParser(strings.NewReader(zone), "corp.example.", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		out = append(out, rr)
	}
	return out, zp.Err()
}

// noSNMP answers no SNMP request: tests on the loopback interface send
// none.
func noSNMP(ctx context.Context, host string) (*snmp.Info, error) {
	return nil, fmt.Errorf("%w: SNMP is off in this test", snmp.ErrNoAnswer)
}
