//go:build linux

package netns_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/netns"
	"github.com/arsctl/arsctl/pkg/printer"
)

// TestDiscoverAcrossRouter puts printers on a subnet behind a router
// (two veth links, forwarding on, no multicast routing) and looks for
// them from a client on the other side: mDNS finds nothing across the
// router, while `discover --subnet` (SNMP and IPP sweep, SNMPv3) and
// `discover --domain` (unicast DNS-SD from a DNS server in a namespace)
// find every printer with model, serial and levels. Every sweep targets
// only the subnet this test created.
func TestDiscoverAcrossRouter(t *testing.T) {
	netns.Require(t, "avahi-daemon", "dbus-daemon", "ippeveprinter", "snmpd")
	arsctl := netns.Build(t, "./cmd/arsctl")
	zoneserve := netns.Build(t, "./internal/netns/cmd/zoneserve")
	lab := netns.NewLab(t)
	client := lab.AddHost("client")
	sub := lab.AddSubnet("printers", "10.67.1.0/24")
	const v3User, v3Pass = "arsmon", "v3-pass-phrase"

	// CUPS ippeveprinter, advertised over mDNS on the subnet by avahi;
	// snmpd serves the serial (IPP has none) to v2c and SNMPv3 alike.
	type eve struct {
		host                *netns.Host
		name, model, serial string
	}
	var eves []eve
	for i, model := range []string{"TS5300 series", "TS8300 series", "G3270 series"} {
		h := sub.AddHost(fmt.Sprintf("eve%d", i))
		e := eve{host: h, name: fmt.Sprintf("Floor %d", i+1), model: model, serial: fmt.Sprintf("EVE%06d", i+1)}
		h.StartAvahi()
		h.StartIPPEveprinter(netns.IPPEve{Name: e.name, Make: "Canon", Model: model})
		h.StartSNMPD(netns.SNMPAgent{DeviceDescr: "Canon " + model, Serial: e.serial, V3User: v3User, V3Password: v3Pass})
		eves = append(eves, e)
	}
	// A printer with IPP switched off whose agent answers SNMPv3 only.
	v3only := sub.AddHost("v3only")
	v3only.StartSNMPD(netns.SNMPAgent{
		DeviceDescr: "Canon MF740C Series", Serial: "V3ONLY001", NoCommunity: true, V3User: v3User, V3Password: v3Pass,
		Supplies: []netns.SNMPSupply{{Description: "Black Toner", Colorant: "black", Type: 3, Level: 60, Max: 100}},
	})
	// A printer known only by its hrDeviceTable row (type hrDevicePrinter):
	// no IPP, no serial, no supplies.
	typeOnly := sub.AddHost("typeonly")
	typeOnly.StartSNMPD(netns.SNMPAgent{DeviceDescr: "HP LaserJet 4250", V3User: v3User, V3Password: v3Pass})
	// An SNMP agent that is not a printer's (a server): never listed.
	server := sub.AddHost("server")
	server.StartSNMPD(netns.SNMPAgent{SysDescr: "Linux fileserver", NotPrinter: true, V3User: v3User, V3Password: v3Pass})

	// Control: on the printers' own link, mDNS sees them.
	peer := sub.AddHost("peer")
	ps, stderr, err := discoverJSON(t, peer, arsctl, "--timeout", "10s")
	if err != nil || len(ps) != len(eves) {
		t.Fatalf("mDNS on the printers' subnet: %d printers (%v), want %d\n%s", len(ps), err, len(eves), stderr)
	}

	// Across the router mDNS finds nothing (exit 3, empty list).
	ps, stderr, err = discoverJSON(t, client, arsctl, "--timeout", "3s")
	if err == nil || len(ps) != 0 {
		t.Fatalf("mDNS across the router found %d printers (err %v), want none\n%s", len(ps), err, stderr)
	}
	// ...but unicast crosses it.
	client.WaitTCP(eves[0].host.IP4+":631", 10*time.Second)

	checkEves := func(what string, ps []printer.Printer) map[string]printer.Printer {
		t.Helper()
		bySerial := map[string]printer.Printer{}
		for _, p := range ps {
			if _, dup := bySerial[p.Serial]; dup {
				t.Errorf("%s: serial %s listed twice", what, p.Serial)
			}
			bySerial[p.Serial] = p
		}
		for _, e := range eves {
			p, ok := bySerial[e.serial]
			if !ok {
				t.Errorf("%s: %s (%s) not found: %+v", what, e.name, e.serial, ps)
				continue
			}
			if p.Make != "Canon" || p.Model != e.model || !slices.Contains(p.Addrs, e.host.IP4) ||
				p.URI != "ipp://"+e.host.IP4+":631/ipp/print" || !slices.ContainsFunc(p.Supplies, printer.Supply.Known) {
				t.Errorf("%s: %s = %+v", what, e.name, p)
			}
		}
		return bySerial
	}

	// --subnet with SNMPv3: every printer, the SNMP-only one included,
	// and not the server. The password comes from the environment.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sweep := func(extra ...string) ([]printer.Printer, string) {
		t.Helper()
		args := append([]string{"ARS_SNMP_AUTH_PASSWORD=" + v3Pass, "ARS_SNMP_PRIV_PASSWORD=" + v3Pass, arsctl,
			"discover", "--json", "--timeout", "3s", "--subnet", sub.Prefix.String()}, extra...)
		out, errOut, err := client.Run(ctx, "env", args...)
		var ps []printer.Printer
		if jerr := json.Unmarshal([]byte(out), &ps); jerr != nil || err != nil {
			t.Fatalf("discover %v: %v / %v\nstdout:\n%s\nstderr:\n%s", extra, err, jerr, out, errOut)
		}
		if strings.Contains(out+errOut, v3Pass) {
			t.Fatalf("the SNMPv3 password is shown:\n%s\n%s", out, errOut)
		}
		return ps, errOut
	}
	ps, errOut := sweep("--snmp-user", v3User, "--snmp-auth", "SHA", "--snmp-priv", "AES")
	got := checkEves("--subnet (SNMPv3)", ps)
	if p, ok := got["V3ONLY001"]; !ok || p.Model != "MF740C Series" || p.Addrs[0] != v3only.IP4 || !strings.Contains(levels(p.Supplies), "Black Toner=60") {
		t.Errorf("SNMPv3-only printer: %+v\n%s", p, errOut)
	}
	if len(ps) != len(eves)+2 {
		t.Errorf("--subnet found %d printers, want %d (the server is no printer): %+v", len(ps), len(eves)+2, ps)
	}
	if !slices.ContainsFunc(ps, func(p printer.Printer) bool {
		return p.Make == "HP" && p.Model == "LaserJet 4250" && slices.Equal(p.Addrs, []string{typeOnly.IP4})
	}) {
		t.Errorf("the printer known by its hrDeviceType only is missing: %+v", ps)
	}

	// With v2c only, the SNMPv3-only printer stays silent.
	ps, _ = sweep()
	checkEves("--subnet (v2c)", ps)
	if len(ps) != len(eves)+1 {
		t.Errorf("--subnet with v2c found %d printers, want %d: %+v", len(ps), len(eves)+1, ps)
	}

	// Unicast DNS-SD: a DNS server in a namespace on the lan publishes
	// the printers in corp.example.
	dnsHost := lab.AddHost("dns")
	var zone strings.Builder
	zone.WriteString("$ORIGIN corp.example.\n$TTL 60\n")
	for i, e := range eves {
		label := strings.ReplaceAll(e.name, " ", `\032`)
		fmt.Fprintf(&zone, "_ipp._tcp PTR %s._ipp._tcp\n", label)
		fmt.Fprintf(&zone, "%s._ipp._tcp SRV 0 0 631 eve%d\n", label, i)
		fmt.Fprintf(&zone, "%s._ipp._tcp TXT \"txtvers=1\" \"rp=ipp/print\" \"ty=Canon %s\"\n", label, e.model)
		fmt.Fprintf(&zone, "eve%d A %s\n", i, e.host.IP4)
	}
	zoneFile := filepath.Join(dnsHost.Dir, "corp.zone")
	if err := os.WriteFile(zoneFile, []byte(zone.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	dns := dnsHost.Start("zoneserve", nil, zoneserve, "--listen", dnsHost.IP4+":53", "--zone", zoneFile, "--origin", "corp.example")
	dns.WaitLog(t, "ready", 10*time.Second)
	ps, stderr, err = discoverJSON(t, client, arsctl, "--timeout", "15s", "--domain", "corp.example", "--dns-server", dnsHost.IP4)
	if err != nil {
		t.Fatalf("discover --domain: %v\n%s", err, stderr)
	}
	got = checkEves("--domain", ps)
	if len(ps) != len(eves) {
		t.Errorf("--domain found %d printers, want %d: %+v", len(ps), len(eves), ps)
	}
	for _, e := range eves {
		if p := got[e.serial]; p.Name != e.name || !slices.Contains(p.Sources, "dns-sd") {
			t.Errorf("--domain: %s = %+v", e.name, p)
		}
	}

	// The same through the system's resolver (the client's resolv.conf).
	client.SetResolver(dnsHost.IP4)
	ps, stderr, err = discoverJSON(t, client, arsctl, "--timeout", "15s", "--domain", "corp.example")
	if err != nil {
		t.Fatalf("discover --domain with the system resolver: %v\n%s", err, stderr)
	}
	if checkEves("--domain (system resolver)", ps); len(ps) != len(eves) {
		t.Errorf("--domain with the system resolver found %d printers, want %d: %+v", len(ps), len(eves), ps)
	}
}
