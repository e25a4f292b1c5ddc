package discovery

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grandcat/zeroconf"
	"github.com/miekg/dns"

	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/internal/printersim/simtest"
	"github.com/arsctl/arsctl/internal/testport"
	"github.com/arsctl/arsctl/pkg/ipp"
	"github.com/arsctl/arsctl/pkg/printer"
)

// recorder keeps the queries a run sends.
type recorder struct{ msgs []*dns.Msg }

func (r *recorder) send(m *dns.Msg) error {
	r.msgs = append(r.msgs, m.Copy())
	return nil
}

// questions returns "TYPE name" for every question sent.
func (r *recorder) questions() []string {
	var qs []string
	for _, m := range r.msgs {
		for _, q := range m.Question {
			qs = append(qs, dns.TypeToString[q.Qtype]+" "+q.Name)
		}
	}
	return qs
}

func hdr(name string, t uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}

func ptrRR(svc, inst string) dns.RR {
	return &dns.PTR{Hdr: hdr(svc+".local.", dns.TypePTR, 4500), Ptr: inst + "." + svc + ".local."}
}

func srvRR(svc, inst, host string, port int) dns.RR {
	return &dns.SRV{Hdr: hdr(inst+"."+svc+".local.", dns.TypeSRV, 120), Target: host, Port: uint16(port)}
}

func txtRR(svc, inst string, txt ...string) dns.RR {
	return &dns.TXT{Hdr: hdr(inst+"."+svc+".local.", dns.TypeTXT, 4500), Txt: txt}
}

func aRR(host, ip string) dns.RR {
	a := netip.MustParseAddr(ip)
	if a.Is4() {
		return &dns.A{Hdr: hdr(host, dns.TypeA, 120), A: net.IP(a.AsSlice())}
	}
	return &dns.AAAA{Hdr: hdr(host, dns.TypeAAAA, 120), AAAA: net.IP(a.AsSlice())}
}

func resp(rrs ...dns.RR) *dns.Msg {
	m := new(dns.Msg)
	m.Response = true
	m.Answer = rrs
	return m
}

const inst = `Canon\ TS8320\ series`

func TestCacheMergesSplitPackets(t *testing.T) {
	c := newCache([]string{ServiceIPP, ServiceIPPS}, "local")
	now := time.Now()
	steps := []struct {
		msg     *dns.Msg
		missing []string
	}{
		{resp(ptrRR(ServiceIPP, inst)), []string{"SRV", "TXT"}},
		{resp(srvRR(ServiceIPP, inst, "pixma.local.", 631)), []string{"TXT", "address"}},
		{resp(aRR("pixma.local.", "fe80::1")), []string{"TXT"}},
		{resp(txtRR(ServiceIPP, inst, "ty=Canon TS8320 series", "rp=ipp/print")), nil},
	}
	for i, s := range steps {
		changed := c.add(s.msg, "eth0", now)
		if len(changed) != 1 {
			t.Fatalf("step %d: changed %q, want one instance", i, changed)
		}
		in := c.instances[changed[0]]
		if got := c.missing(in); !slices.Equal(got, s.missing) {
			t.Errorf("step %d: missing %q, want %q", i, got, s.missing)
		}
		if c.complete(in) {
			t.Errorf("step %d: complete without an IPv4 address", i)
		}
	}
	c.add(resp(aRR("PIXMA.local.", "10.0.0.7")), "eth0", now)
	in := c.instances[strings.ToLower(inst+"._ipp._tcp.local.")]
	if !c.complete(in) {
		t.Fatalf("not complete after A (names are case-insensitive)")
	}
	got := c.hostAddrs(in)
	want := []netip.Addr{netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("fe80::1%eth0")}
	if !slices.Equal(got, want) {
		t.Errorf("addresses %v, want %v", got, want)
	}
	// The same packet again changes nothing.
	if ch := c.add(resp(aRR("pixma.local.", "10.0.0.7")), "eth0", now); len(ch) != 0 {
		t.Errorf("repeated record changed %q", ch)
	}
	// A zoneless copy of a link-local address is the same address.
	if ch := c.add(resp(aRR("pixma.local.", "fe80::1")), "", now); len(ch) != 0 || len(c.hostAddrs(in)) != 2 {
		t.Errorf("zoneless duplicate changed %q: %v", ch, c.hostAddrs(in))
	}
}

func TestCacheGoodbyeAndForeignRecords(t *testing.T) {
	c := newCache([]string{ServiceIPP}, "local")
	now := time.Now()
	c.add(resp(ptrRR(ServiceIPP, inst), srvRR(ServiceIPP, inst, "p.local.", 631), aRR("p.local.", "10.0.0.2"),
		ptrRR("_http._tcp", "Web"), srvRR("_http._tcp", "Web", "p.local.", 80)), "", now)
	if len(c.instances) != 1 {
		t.Fatalf("instances %d, want 1 (only _ipp._tcp is browsed)", len(c.instances))
	}
	bye := ptrRR(ServiceIPP, inst)
	bye.Header().Ttl = 0
	c.add(resp(bye), "", now)
	for _, in := range c.instances {
		if !in.removed {
			t.Errorf("goodbye did not remove %s", in.key)
		}
	}
	gone := aRR("p.local.", "10.0.0.2")
	gone.Header().Ttl = 0
	c.add(resp(gone), "", now)
	if len(c.addrs["p.local."]) != 0 {
		t.Errorf("address not removed: %v", c.addrs["p.local."])
	}
	// Queries (not responses) and nil messages are ignored.
	q := resp(ptrRR(ServiceIPP, "Other"))
	q.Response = false
	if ch := c.add(q, "", now); len(ch) != 0 {
		t.Errorf("query changed %q", ch)
	}
	if ch := c.add(nil, "", now); len(ch) != 0 {
		t.Errorf("nil changed %q", ch)
	}
}

// drive runs a discovery loop by hand: packets at given offsets, steps
// every 10ms, enrichment results as they come, until done or limit.
type drive struct {
	t      testing.TB
	r      *run
	rec    *recorder
	events []Event
	start  time.Time
}

func newDrive(t testing.TB, opts Options) *drive {
	t.Helper()
	opts.defaults()
	d := &drive{t: t, rec: &recorder{}, start: time.Now()}
	d.r = newRun(context.Background(), opts, d.rec, func(e Event) { d.events = append(d.events, e) }, d.start)
	return d
}

func (d *drive) at(ms int) time.Time { return d.start.Add(time.Duration(ms) * time.Millisecond) }

func (d *drive) packet(ms int, rrs ...dns.RR) { d.r.handle(resp(rrs...), "eth0", d.at(ms)) }

// run steps from..to milliseconds, waiting for enrichments to finish
// before each step; it returns the time done() first held, or -1.
func (d *drive) run(from, to int) int {
	for ms := from; ms <= to; ms += 10 {
		for d.r.pending > 0 {
			d.r.enrichDone(<-d.r.results)
		}
		if d.r.step(d.at(ms)) {
			return ms
		}
	}
	return -1
}

func (d *drive) kinds() []string {
	var k []string
	for _, e := range d.events {
		k = append(k, fmt.Sprintf("%s %d", e.Kind, e.ID))
	}
	return k
}

func simTXT(p *printersim.Printer, uuid string) []string {
	return []string{"ty=Canon TS8300 series", "rp=ipp/print", "UUID=" + uuid, "usb_MFG=Canon", "usb_MDL=TS8300 series"}
}

func TestRunMergesServicesAndFamilies(t *testing.T) {
	sim := simtest.Start(t, printersim.Config{Serial: "KNMA00042", Levels: map[string]int{"C": 15}})
	uuid := sim.Config().UUID
	d := newDrive(t, Options{Enrich: true, IPP: &ipp.Client{}})
	port := sim.Port()
	// _ipps first with IPv6 only, _ipp in pieces, IPv4 last.
	d.packet(0, ptrRR(ServiceIPPS, inst), srvRR(ServiceIPPS, inst, "pixma.local.", port),
		txtRR(ServiceIPPS, inst, simTXT(sim, uuid)...), aRR("pixma.local.", "fe80::1"))
	d.packet(1, ptrRR(ServiceIPP, inst), srvRR(ServiceIPP, inst, "pixma.local.", port))
	if done := d.run(0, 30); done >= 0 {
		t.Fatalf("done at %dms with nothing complete", done)
	}
	if len(d.events) != 0 {
		t.Fatalf("events before any instance is complete: %q", d.kinds())
	}
	// The TXT of _ipp and the IPv4 address were asked for.
	qs := d.rec.questions()
	for _, want := range []string{"TXT " + inst + "._ipp._tcp.local.", "A pixma.local."} {
		if !slices.Contains(qs, want) {
			t.Errorf("no follow-up %q in %q", want, qs)
		}
	}
	d.packet(40, txtRR(ServiceIPP, inst, simTXT(sim, uuid)...))
	d.packet(41, aRR("pixma.local.", "127.0.0.1"))
	done := d.run(40, 2000)
	if done < 0 {
		t.Fatal("never done")
	}
	if done < 400 {
		t.Errorf("done at %dms, before MinWait", done)
	}
	if got, want := d.kinds(), []string{"found 1", "ready 1"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	ps := d.r.printers()
	if len(ps) != 1 {
		t.Fatalf("printers %d, want 1: %+v", len(ps), ps)
	}
	p := ps[0]
	if p.Name != "Canon TS8320 series" || p.Serial != "KNMA00042" || p.Model != "TS8300 series" || p.UUID != uuid {
		t.Errorf("printer %+v", p)
	}
	if want := fmt.Sprintf("ipp://127.0.0.1:%d/ipp/print", port); p.URI != want {
		t.Errorf("URI %q, want %q (plain IPP preferred)", p.URI, want)
	}
	if want := []string{"127.0.0.1", "fe80::1%eth0"}; !slices.Equal(p.Addrs, want) {
		t.Errorf("addresses %q, want %q", p.Addrs, want)
	}
	if !slices.ContainsFunc(p.Supplies, func(s printer.Supply) bool { return s.Name == "C" && s.Level == 15 }) {
		t.Errorf("supplies %+v lack C at 15%%", p.Supplies)
	}
	if len(p.Problems) != 0 {
		t.Errorf("problems %q", p.Problems)
	}
}

func TestRunDedupe(t *testing.T) {
	tests := []struct {
		name string
		// two instances: host and UUID of each
		host1, uuid1, host2, uuid2 string
		want                       int
	}{
		{"same UUID on two hosts (Wi-Fi and Ethernet)", "a.local.", "00000000-0000-0000-0000-000000000001", "b.local.", "00000000-0000-0000-0000-000000000001", 1},
		{"print server: one host, two UUIDs", "cups.local.", "00000000-0000-0000-0000-000000000001", "cups.local.", "00000000-0000-0000-0000-000000000002", 2},
		{"no UUID, same host", "a.local.", "", "a.local.", "", 1},
		{"no UUID, two hosts", "a.local.", "", "b.local.", "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDrive(t, Options{})
			d.packet(0, ptrRR(ServiceIPP, "One"), srvRR(ServiceIPP, "One", tt.host1, 631),
				txtRR(ServiceIPP, "One", "UUID="+tt.uuid1), aRR(tt.host1, "10.0.0.1"))
			d.packet(0, ptrRR(ServiceIPP, "Two"), srvRR(ServiceIPP, "Two", tt.host2, 631),
				txtRR(ServiceIPP, "Two", "UUID="+tt.uuid2), aRR(tt.host2, "10.0.0.2"))
			if d.run(0, 3000) < 0 {
				t.Fatal("never done")
			}
			if got := len(d.r.printers()); got != tt.want {
				t.Errorf("printers %d, want %d: %+v", got, tt.want, d.r.printers())
			}
		})
	}
}

func TestRunListsIncompletePrinters(t *testing.T) {
	d := newDrive(t, Options{Enrich: true, IPP: &ipp.Client{}})
	// SRV and TXT but no address, ever.
	d.packet(0, ptrRR(ServiceIPP, "Asleep"), srvRR(ServiceIPP, "Asleep", "asleep.local.", 631),
		txtRR(ServiceIPP, "Asleep", "ty=Canon TS3100 series"))
	done := d.run(0, 5000)
	if done < 0 {
		t.Fatal("never done")
	}
	ps := d.r.printers()
	if len(ps) != 1 {
		t.Fatalf("printers %+v", ps)
	}
	p := ps[0]
	if p.Name != "Asleep" || p.Model != "TS3100 series" || p.Make != "Canon" {
		t.Errorf("printer %+v", p)
	}
	if !slices.ContainsFunc(p.Problems, func(s string) bool { return strings.Contains(s, "no address record") }) ||
		!slices.ContainsFunc(p.Problems, func(s string) bool { return strings.Contains(s, "address is unknown") }) {
		t.Errorf("problems %q", p.Problems)
	}
	// A/AAAA were asked for a few times, not forever.
	n := 0
	for _, q := range d.rec.questions() {
		if q == "A asleep.local." {
			n++
		}
	}
	if n == 0 || n > len(followUpDelay) {
		t.Errorf("asked for the address %d times", n)
	}
}

func TestRunIPPFailureIsAProblem(t *testing.T) {
	// Nothing listens on the port: IPP is refused, the printer is still
	// listed with what mDNS told.
	// (A port below the ephemeral range: no port-0 listener of a parallel
	// test can take it.)
	port, err := testport.Free()
	if err != nil {
		t.Fatal(err)
	}
	// SNMP goes to 127.0.0.1:161 too, where nothing answers.
	d := newDrive(t, Options{Enrich: true, IPP: &ipp.Client{}, IPPTimeout: time.Second})
	d.packet(0, ptrRR(ServiceIPP, "Off"), srvRR(ServiceIPP, "Off", "off.local.", port),
		txtRR(ServiceIPP, "Off", "usb_MFG=Canon", "usb_MDL=TS5100 series"), aRR("off.local.", "127.0.0.1"))
	if d.run(0, 3000) < 0 {
		t.Fatal("never done")
	}
	p := d.r.printers()[0]
	if p.Model != "TS5100 series" || !slices.ContainsFunc(p.Problems, func(s string) bool { return strings.HasPrefix(s, "IPP: ") }) ||
		!slices.ContainsFunc(p.Problems, func(s string) bool { return strings.HasPrefix(s, "SNMP: ") }) {
		t.Errorf("printer %+v", p)
	}
}

func TestRunEmptyWaitsEmptyWait(t *testing.T) {
	d := newDrive(t, Options{EmptyWait: 700 * time.Millisecond})
	if done := d.run(0, 5000); done != 700 {
		t.Errorf("done at %dms, want 700", done)
	}
}

func TestEntryMsg(t *testing.T) {
	e := zeroconf.NewServiceEntry(inst, "_ipp._tcp", "local.")
	e.HostName = "pixma.local."
	e.Port = 631
	e.Text = []string{"ty=Canon TS8320 series"}
	e.TTL = 120
	e.AddrIPv4 = []net.IP{net.IPv4(10, 0, 0, 9)}
	c := newCache([]string{ServiceIPP}, "local")
	c.add(entryMsg(e), "", time.Now())
	if len(c.instances) != 1 {
		t.Fatalf("instances %v", c.instances)
	}
	for _, in := range c.instances {
		if !c.complete(in) || in.label != inst {
			t.Errorf("instance %+v complete=%v", in, c.complete(in))
		}
	}
	if m := entryMsg(nil); len(m.Answer) != 0 {
		t.Errorf("nil entry gave %v", m.Answer)
	}
}

func TestServiceURI(t *testing.T) {
	tests := []struct {
		svc, addr, rp string
		port          int
		want          string
	}{
		{ServiceIPP, "10.0.0.7", "ipp/print", 631, "ipp://10.0.0.7:631/ipp/print"},
		{ServiceIPPS, "10.0.0.7", "/ipp/print", 443, "ipps://10.0.0.7:443/ipp/print"},
		{ServiceIPP, "fd00::7", "", 631, "ipp://[fd00::7]:631/"},
		{ServiceIPP, "fe80::1%eth0", "ipp/print", 631, "ipp://[fe80::1%25eth0]:631/ipp/print"},
	}
	for _, tt := range tests {
		if got := serviceURI(tt.svc, netip.MustParseAddr(tt.addr), tt.port, tt.rp); got != tt.want {
			t.Errorf("serviceURI(%s, %s) = %s, want %s", tt.svc, tt.addr, got, tt.want)
		}
	}
}

func TestUnescapeTXT(t *testing.T) {
	// github.com/miekg/dns unpacks TXT strings in presentation format.
	got := unescapeTXT([]string{`ty=Caf\195\169`, `note=a\"b`, "plain"})
	want := []string{"ty=Café", `note=a"b`, "plain"}
	if !slices.Equal(got, want) {
		t.Errorf("unescapeTXT = %q, want %q", got, want)
	}
}

func TestRunMergesByIdentityAfterEnrichment(t *testing.T) {
	// One printer reached over two hosts (e.g. Wi-Fi and Ethernet) whose
	// TXT records carry no UUID: IPP shows it is one printer.
	a := simtest.Start(t, printersim.Config{Serial: "KNMA07777"})
	b := simtest.Start(t, printersim.Config{Serial: "KNMA07777"})
	d := newDrive(t, Options{Enrich: true, IPP: &ipp.Client{}})
	d.packet(0, ptrRR(ServiceIPP, "Wired"), srvRR(ServiceIPP, "Wired", "wired.local.", a.Port()),
		txtRR(ServiceIPP, "Wired", "rp=ipp/print"), aRR("wired.local.", "127.0.0.1"))
	if d.run(0, 100) >= 0 {
		t.Fatal("done too early")
	}
	d.packet(110, ptrRR(ServiceIPP, "Wireless"), srvRR(ServiceIPP, "Wireless", "wireless.local.", b.Port()),
		txtRR(ServiceIPP, "Wireless", "rp=ipp/print"), aRR("wireless.local.", "127.0.0.1"))
	if d.run(110, 3000) < 0 {
		t.Fatal("never done")
	}
	ps := d.r.printers()
	if len(ps) != 1 || ps[0].Serial != "KNMA07777" || ps[0].Name != "Wired" {
		t.Fatalf("printers %+v, want one", ps)
	}
	// The second device is folded into the first, never reported ready.
	if got := d.kinds(); len(got) < 3 || !slices.Equal(got[:3], []string{"found 1", "ready 1", "found 2"}) || slices.Contains(got, "ready 2") {
		t.Errorf("events %q", got)
	}
}

func TestCacheBounds(t *testing.T) {
	c := newCache([]string{ServiceIPP}, "local")
	now := time.Now()
	for i := range maxInstances + 10 {
		c.add(resp(ptrRR(ServiceIPP, fmt.Sprintf("P%d", i))), "", now)
	}
	for i := range maxHosts + 10 {
		c.add(resp(aRR(fmt.Sprintf("h%d.local.", i), "10.0.0.1")), "", now)
	}
	if len(c.instances) != maxInstances || len(c.addrs) != maxHosts {
		t.Errorf("kept %d instances and %d hosts", len(c.instances), len(c.addrs))
	}
}
