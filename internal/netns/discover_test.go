//go:build linux

package netns_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/netns"
	"github.com/arsctl/arsctl/pkg/printer"
)

func TestMain(m *testing.M) {
	code := m.Run()
	netns.RemoveBuilds()
	os.Exit(code)
}

// binaries builds arsctl and the printer simulator.
func binaries(t *testing.T) (arsctl, sim string) {
	t.Helper()
	return netns.Build(t, "./cmd/arsctl"), netns.Build(t, "./cmd/printersim")
}

// discoverJSON runs `arsctl discover --json` in the client and decodes
// its output.
func discoverJSON(t *testing.T, client *netns.Host, arsctl string, args ...string) ([]printer.Printer, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stdout, stderr, err := client.Run(ctx, arsctl, append([]string{"discover", "--json"}, args...)...)
	var ps []printer.Printer
	if jerr := json.Unmarshal([]byte(stdout), &ps); jerr != nil {
		t.Fatalf("arsctl discover --json printed no JSON array (%v, err %v):\nstdout:\n%s\nstderr:\n%s", jerr, err, stdout, stderr)
	}
	return ps, stderr, err
}

func byName(ps []printer.Printer) map[string]printer.Printer {
	m := map[string]printer.Printer{}
	for _, p := range ps {
		m[p.Name] = p
	}
	return m
}

func names(ps []printer.Printer) []string {
	var n []string
	for _, p := range ps {
		n = append(n, p.Name)
	}
	slices.Sort(n)
	return n
}

func levels(ss []printer.Supply) string {
	var parts []string
	for _, s := range ss {
		parts = append(parts, fmt.Sprintf("%s=%d", s.Name, s.Level))
	}
	return strings.Join(parts, ",")
}

func hasProblem(p printer.Printer, substr string) bool {
	return slices.ContainsFunc(p.Problems, func(s string) bool { return strings.Contains(s, substr) })
}

// TestDiscoverRealPrinters runs arsctl discover in a client namespace
// against CUPS ippeveprinter (advertised by avahi, serial from snmpd), the
// printer simulator in several states, and a service whose TXT record is
// malformed.
func TestDiscoverRealPrinters(t *testing.T) {
	netns.Require(t, "avahi-daemon", "dbus-daemon", "ippeveprinter", "snmpd", "avahi-publish")
	arsctl, sim := binaries(t)
	lab := netns.NewLab(t)

	// CUPS ippeveprinter advertised by avahi; its IPP answer has no
	// serial, so the serial comes from snmpd (Printer-MIB).
	eve := lab.AddHost("eve")
	eve.StartAvahi()
	eve.StartIPPEveprinter(netns.IPPEve{Name: "Office Eve", Make: "Canon", Model: "TS5300 series"})
	eve.StartSNMPD(netns.SNMPAgent{
		SysDescr: "Canon TS5300 series", DeviceDescr: "Canon TS5300 series", Serial: "EVE000123",
		Supplies: []netns.SNMPSupply{{Description: "Black", Colorant: "black", Type: 6, Level: 40, Max: 100}},
	})

	// The simulator: a Canon PIXMA with its own mDNS advert.
	one := lab.AddHost("one")
	one.StartSim(sim, netns.Sim{Args: []string{"--name", "Canon Sim One", "--serial", "KNMA00001", "--levels", "C=10,Y=5"}})

	// Advertised as both _ipp._tcp and _ipps._tcp: one printer.
	tlsHost := lab.AddHost("tls")
	tlsHost.StartSim(sim, netns.Sim{Args: []string{"--name", "TLS Sim", "--serial", "KNMA00002", "--tls"}})

	// Answers mDNS but closes IPP connections; SNMP still answers.
	noipp := lab.AddHost("noipp")
	noipp.StartSim(sim, netns.Sim{Args: []string{"--name", "No IPP Sim", "--model", "TS6350 series", "--serial", "X", "--no-ipp", "close"}})
	noipp.StartSNMPD(netns.SNMPAgent{
		DeviceDescr: "Canon TS6350 series", Serial: "NOIPP0001",
		Supplies: []netns.SNMPSupply{
			{Description: "Black", Colorant: "black", Type: 6, Level: 30, Max: 100},
			{Description: "Color", Colorant: "cyan", Type: 6, Level: 2, Max: 4},
		},
	})

	// A real Canon G4080's supplies, as its owner published them
	// (testdata/ipp), played by the simulator with its own identity.
	capture, err := filepath.Abs(filepath.Join("..", "..", "testdata", "ipp", "canon-g4080-series.txt"))
	if err != nil {
		t.Fatal(err)
	}
	g4080 := lab.AddHost("g4080")
	g4080.StartSim(sim, netns.Sim{Args: []string{"--name", "Canon G4080 series", "--capture", capture,
		"--model", "G4080 series", "--serial", "KLMN00001"}})

	// A Canon that does not speak IPP (port 631 closed, no mDNS), like
	// the GM2080 series: its agent serves only the device ID, as the one
	// CUPS's snmp backend printed for it (testdata/canon-series).
	gm := lab.AddHost("gm2080")
	gm.StartSNMPD(netns.SNMPAgent{
		DeviceID: "MFG:Canon;CMD:BJRaster3,NCCe,IVEC;SOJ:CHMP,CHMPu;MDL:GM2080 series;CLS:PRINTER;DES:Canon GM2080 series;VER:1.050;STA:10;PSE:KAAD00004;CID:CA_IVEC1TYPE2_IJP;",
	})

	// Asleep: accepts IPP connections, never answers.
	sleepy := lab.AddHost("sleepy")
	sleepy.StartSim(sim, netns.Sim{Args: []string{"--name", "Sleeping Sim", "--model", "TS3350 series", "--serial", "SLEEP0001", "--no-ipp", "hang"}})

	// Answers IPP only after a delay.
	slow := lab.AddHost("slow")
	slow.StartSim(sim, netns.Sim{Args: []string{"--name", "Slow Sim", "--serial", "SLOW00001", "--delay", "1500ms"}})

	// Malformed TXT record, published through avahi, for a simulator
	// that does not advertise itself.
	bad := lab.AddHost("badtxt")
	bad.StartAvahi()
	bad.StartSim(sim, netns.Sim{NoMDNS: true, Args: []string{"--name", "Broken TXT", "--serial", "BADTXT001", "--model", "TS8350 series"}})
	pub := bad.Start("avahi-publish", nil, "avahi-publish", "-s", "Broken TXT", "_ipp._tcp", "631",
		"ty", "=orphan", "UUID=not-a-uuid", "rp=ipp/print", "usb_MDL=\xff\xfe\x01bad", "ty=second wins not", strings.Repeat("k", 200)+"=v")
	pub.WaitLog(t, "Established under name", 10*time.Second)

	client := lab.AddHost("client")
	client.StartAvahi() // a desktop usually runs avahi-daemon: share port 5353 with it

	ps, stderr, err := discoverJSON(t, client, arsctl, "--timeout", "15s")
	if err != nil {
		t.Fatalf("arsctl discover: %v\n%s", err, stderr)
	}
	if b, err := json.MarshalIndent(ps, "", "  "); err == nil {
		t.Logf("arsctl discover --json:\n%s", b)
	}
	want := []string{"Broken TXT", "Canon G4080 series", "Canon Sim One", "No IPP Sim", "Office Eve", "Sleeping Sim", "Slow Sim", "TLS Sim"}
	if got := names(ps); !slices.Equal(got, want) {
		t.Fatalf("printers = %q, want %q\n%s", got, want, stderr)
	}
	m := byName(ps)

	check := func(name, mk, model, serial, lv string) {
		t.Helper()
		p := m[name]
		if p.Make != mk || p.Model != model || p.Serial != serial {
			t.Errorf("%s: make/model/serial = %q/%q/%q, want %q/%q/%q (problems %q)", name, p.Make, p.Model, p.Serial, mk, model, serial, p.Problems)
		}
		if lv != "" {
			if got := levels(p.Supplies); got != lv {
				t.Errorf("%s: levels = %s, want %s", name, got, lv)
			}
		}
	}
	check("Office Eve", "Canon", "TS5300 series", "EVE000123", "Toner Waste Tank=25,Black Toner=75")
	check("Canon Sim One", "Canon", "TS8300 series", "KNMA00001", "PGBK=80,BK=70,C=10,M=50,Y=5,PB=30")
	check("TLS Sim", "Canon", "TS8300 series", "KNMA00002", "PGBK=80,BK=70,C=60,M=50,Y=40,PB=30")
	check("Slow Sim", "Canon", "TS8300 series", "SLOW00001", "PGBK=80,BK=70,C=60,M=50,Y=40,PB=30")
	check("Broken TXT", "Canon", "TS8350 series", "BADTXT001", "PGBK=80,BK=70,C=60,M=50,Y=40,PB=30")
	check("No IPP Sim", "Canon", "TS6350 series", "NOIPP0001", "Black=30,Color=50")
	check("Sleeping Sim", "Canon", "TS3350 series", "", "")
	check("Canon G4080 series", "Canon", "G4080 series", "KLMN00001", "Black(PGBK)=90,Cyan=90,Magenta=90,Yellow=88,MC=10")

	if p := m["Office Eve"]; !slices.Contains(p.Sources, "snmp") || !slices.Contains(p.Sources, "ipp") {
		t.Errorf("Office Eve: sources %q, want ipp and snmp", p.Sources)
	}
	if p := m["Office Eve"]; len(p.Addrs) == 0 || p.Addrs[0] != eve.IP4 || p.URI != "ipp://"+eve.IP4+":631/ipp/print" {
		t.Errorf("Office Eve: addrs %q uri %q", p.Addrs, p.URI)
	}
	if p := m["No IPP Sim"]; !hasProblem(p, "IPP:") {
		t.Errorf("No IPP Sim: problems %q, want an IPP problem", p.Problems)
	}
	if p := m["Sleeping Sim"]; !hasProblem(p, "IPP: no answer") || len(p.Supplies) != 0 {
		t.Errorf("Sleeping Sim: problems %q supplies %v, want no IPP answer and no levels", p.Problems, p.Supplies)
	}
	if p := m["TLS Sim"]; p.UUID == "" {
		t.Errorf("TLS Sim: no UUID")
	}

	// --host asks one printer directly: IPP, then SNMP for the serial.
	ctx := context.Background()
	out, errOut, err := client.Run(ctx, arsctl, "discover", "--host", eve.IP4, "--json")
	if err != nil {
		t.Fatalf("discover --host %s: %v\n%s", eve.IP4, err, errOut)
	}
	var hp []printer.Printer
	if err := json.Unmarshal([]byte(out), &hp); err != nil || len(hp) != 1 || hp[0].Serial != "EVE000123" || hp[0].Model != "TS5300 series" {
		t.Errorf("discover --host %s = %s (%v)", eve.IP4, out, err)
	}
	// With IPP refused, SNMP alone identifies the printer.
	out, errOut, err = client.Run(ctx, arsctl, "discover", "--host", noipp.IP4, "--json")
	if err != nil {
		t.Fatalf("discover --host %s: %v\n%s", noipp.IP4, err, errOut)
	}
	if err := json.Unmarshal([]byte(out), &hp); err != nil || len(hp) != 1 || hp[0].Serial != "NOIPP0001" || !hasProblem(hp[0], "IPP:") {
		t.Errorf("discover --host %s = %s (%v)", noipp.IP4, out, err)
	}

	// No IPP at all: the device ID over SNMP tells make, series and serial.
	out, errOut, err = client.Run(ctx, arsctl, "discover", "--host", gm.IP4, "--json")
	if err != nil {
		t.Fatalf("discover --host %s: %v\n%s", gm.IP4, err, errOut)
	}
	if err := json.Unmarshal([]byte(out), &hp); err != nil || len(hp) != 1 || hp[0].Make != "Canon" ||
		hp[0].Model != "GM2080 series" || hp[0].Serial != "KAAD00004" || hp[0].Name != "Canon GM2080 series" {
		t.Errorf("discover --host %s = %s (%v)", gm.IP4, out, err)
	}
	if strings.Contains(errOut, "KAAD00004") {
		t.Errorf("discover --host %s showed the serial on stderr: %s", gm.IP4, errOut)
	}

	// Pipe output: one tab-separated line per printer.
	out, errOut, err = client.Run(ctx, arsctl, "discover", "--timeout", "15s")
	if err != nil {
		t.Fatalf("discover (pipe): %v\n%s", err, errOut)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(want) {
		t.Errorf("pipe output has %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for _, l := range lines {
		// name, addresses, make and model, serial, URI, levels, eligibility
		if f := strings.Split(l, "\t"); len(f) != 7 {
			t.Errorf("line %q has %d fields, want 7", l, len(f))
		}
	}
	if !strings.Contains(out, "Canon Sim One\t"+one.IP4) || !strings.Contains(out, "C 10%") {
		t.Errorf("pipe output lacks Canon Sim One's row:\n%s", out)
	}

	// NDJSON with --stream: one object per line.
	out, errOut, err = client.Run(ctx, arsctl, "discover", "--json", "--stream", "--timeout", "15s")
	if err != nil {
		t.Fatalf("discover --stream: %v\n%s", err, errOut)
	}
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(want) {
		t.Errorf("--stream printed %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for _, l := range lines {
		var p printer.Printer
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Errorf("--stream line %q: %v", l, err)
		}
	}
}

// TestDiscoverNothing checks the exit code and advice when no printer
// answers.
func TestDiscoverNothing(t *testing.T) {
	netns.Require(t)
	arsctl := netns.Build(t, "./cmd/arsctl")
	lab := netns.NewLab(t)
	client := lab.AddHost("client")
	ps, stderr, err := discoverJSON(t, client, arsctl, "--timeout", "1500ms")
	if code := exitCode(err); code != 3 {
		t.Fatalf("exit code %d (%v), want 3\n%s", code, err, stderr)
	}
	if len(ps) != 0 {
		t.Errorf("printers = %v, want none", ps)
	}
	for _, want := range []string{"5353/udp", "631/tcp", "161/udp", "security", "arsctl doctor"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// TestDiscoverManyPrinters proves the merge and re-query logic: 20
// simulated printers, each in its own namespace, all found complete in
// back-to-back runs, also when half of the mDNS answers are lost.
func TestDiscoverManyPrinters(t *testing.T) {
	netns.Require(t)
	arsctl, sim := binaries(t)
	lab := netns.NewLab(t)
	const n = 20
	for i := range n {
		h := lab.AddHost(fmt.Sprintf("p%02d", i))
		h.StartSim(sim, netns.Sim{Args: []string{"--name", fmt.Sprintf("Fleet %02d", i), "--serial", fmt.Sprintf("FLEET%04d", i), "--tls"}})
	}
	client := lab.AddHost("client")
	for run := range 6 {
		if run == 3 {
			// From now on half of all mDNS answers are lost: only the
			// merging of the copies that do arrive, the follow-up
			// queries and the re-queries complete every printer.
			client.DropMDNS(2)
		}
		ps, stderr, err := discoverJSON(t, client, arsctl, "--timeout", "10s")
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, stderr)
		}
		if len(ps) != n {
			t.Fatalf("run %d: %d printers, want %d: %q", run, len(ps), n, names(ps))
		}
		for _, p := range ps {
			known := slices.ContainsFunc(p.Supplies, printer.Supply.Known)
			if p.Model != "TS8300 series" || !strings.HasPrefix(p.Serial, "FLEET") || !known || len(p.Problems) > 0 {
				t.Errorf("run %d: incomplete printer %+v", run, p)
			}
		}
	}
}

// TestDoctor runs arsctl doctor in a namespace (it joins multicast groups
// and probes ports, which must never happen on the machine's network).
func TestDoctor(t *testing.T) {
	netns.Require(t, "avahi-daemon", "dbus-daemon", "snmpd")
	arsctl, sim := binaries(t)
	lab := netns.NewLab(t)
	p := lab.AddHost("printer")
	p.StartSim(sim, netns.Sim{Args: []string{"--name", "Doctor Sim"}})
	p.StartSNMPD(netns.SNMPAgent{DeviceDescr: "Canon TS8300 series", Serial: "KNMA01234"})
	bare := lab.AddHost("bare")
	bare.StartSim(sim, netns.Sim{NoMDNS: true})
	asleep := lab.AddHost("asleep")
	asleep.StartSim(sim, netns.Sim{NoMDNS: true, Args: []string{"--no-ipp", "close"}})
	client := lab.AddHost("client")
	client.StartAvahi()
	ctx := context.Background()

	type report struct {
		OK     bool
		Checks []struct {
			Name     string
			OK       bool
			Optional bool
			Detail   string
			Hint     string
		}
	}
	run := func(host string) (report, error) {
		out, errOut, err := client.Run(ctx, arsctl, "doctor", "--json", "--host", host)
		var r report
		if jerr := json.Unmarshal([]byte(out), &r); jerr != nil {
			t.Fatalf("doctor --json: %v\n%s\n%s", jerr, out, errOut)
		}
		return r, err
	}
	r, err := run(p.IP4)
	if err != nil || !r.OK || len(r.Checks) != 6 {
		t.Fatalf("doctor --host %s: %v %+v", p.IP4, err, r)
	}
	if d := r.Checks[0].Detail; !strings.Contains(d, "avahi-daemon") {
		t.Errorf("mDNS socket check does not name avahi-daemon: %q", d)
	}
	if d := r.Checks[2].Detail; !strings.Contains(d, "Doctor Sim") {
		t.Errorf("mDNS answers check: %q", d)
	}
	// No SNMP agent there, but IPP gave the serial: the SNMP check fails
	// with a hint, marked optional, and the report passes (exit 0).
	r, err = run(bare.IP4)
	if exitCode(err) != 0 || !r.OK {
		t.Fatalf("doctor --host %s: exit %d, ok %v, want exit 0 (SNMP optional)", bare.IP4, exitCode(err), r.OK)
	}
	for _, c := range r.Checks {
		if strings.HasPrefix(c.Name, "SNMP") {
			if c.OK || !c.Optional || c.Hint == "" {
				t.Errorf("SNMP check %+v, want failed, optional, with hint", c)
			}
		} else if !c.OK {
			t.Errorf("check %+v failed", c)
		}
	}
	// Human output: the optional SNMP check that did not pass is marked
	// "–" with a tip, never "✗" or "fix:", and the IPP checks pass.
	out, _, _ := client.Run(ctx, arsctl, "doctor", "--host", bare.IP4)
	if !strings.Contains(out, "– SNMP") || !strings.Contains(out, "tip:") || !strings.Contains(out, "✓ IPP port") ||
		strings.Contains(out, "✗") || strings.Contains(out, "fix:") {
		t.Errorf("doctor output:\n%s", out)
	}
	// A printer refusing IPP with no SNMP agent: IPP and SNMP both fail,
	// neither is optional; exit 1.
	r, err = run(asleep.IP4)
	if exitCode(err) != 1 || r.OK {
		t.Fatalf("doctor --host %s: exit %d, ok %v, want exit 1", asleep.IP4, exitCode(err), r.OK)
	}
	for _, c := range r.Checks {
		if (strings.HasPrefix(c.Name, "SNMP") || strings.HasPrefix(c.Name, "IPP Get")) && (c.OK || c.Optional) {
			t.Errorf("check %+v, want failed and not optional", c)
		}
	}
}
