//go:build linux

package netns

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arsctl/arsctl/internal/privatebus"
)

const avahiConf = `[server]
host-name=%s
use-ipv4=yes
use-ipv6=yes
allow-interfaces=` + Iface + `
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
[reflector]
[rlimits]
`

// StartAvahi starts a private D-Bus system bus and avahi-daemon in the
// host, so that DNS-SD clients (ippeveprinter, avahi-publish, ippfind)
// run by Command/Start register and browse through it. avahi-daemon's
// runtime directory is a private tmpfs, so several can run at once.
func (h *Host) StartAvahi() {
	t := h.Lab.t
	t.Helper()
	Require(t, "avahi-daemon", "dbus-daemon")
	sock := filepath.Join(h.Dir, "bus")
	conf := filepath.Join(h.Dir, "dbus.conf")
	if err := os.WriteFile(conf, privatebus.Config(sock), 0o644); err != nil {
		t.Fatalf("%v", err)
	}
	bus := h.Start("dbus", nil, "dbus-daemon", "--nofork", "--nopidfile", "--config-file="+conf)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if exited, err := bus.Exited(); exited || time.Now().After(deadline) {
			t.Fatalf("dbus-daemon in %s did not start (%v):\n%s", h.Name, err, bus.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.dbus = "unix:path=" + sock
	aconf := filepath.Join(h.Dir, "avahi-daemon.conf")
	if err := os.WriteFile(aconf, fmt.Appendf(nil, avahiConf, h.Name), 0o644); err != nil {
		t.Fatalf("%v", err)
	}
	if err := os.MkdirAll("/run/avahi-daemon", 0o755); err != nil {
		t.Fatalf("%v", err)
	}
	// ip netns exec runs in its own mount namespace: the tmpfs is private.
	script := "mount -t tmpfs tmpfs /run/avahi-daemon && exec avahi-daemon --no-drop-root --no-chroot --no-rlimits -f " + aconf
	p := h.Start("avahi", nil, "sh", "-c", script)
	p.WaitLog(t, "Server startup complete", 10*time.Second)
}

// IPPEve describes a CUPS ippeveprinter.
type IPPEve struct {
	// Name is the printer's DNS-SD instance name and printer-info.
	Name string
	// Make and Model are printer-make-and-model's parts.
	Make, Model string
	// Port is the IPP port; 631 when zero.
	Port int
	// Attrs are lines of an ippeveprinter attributes file ("ATTR text
	// printer-device-id \"MFG:...\"") that replace its own answers, e.g.
	// a device ID with the serial in PSE or Canon's marker-* supplies.
	Attrs []string
}

// StartIPPEveprinter runs CUPS ippeveprinter in the host, advertised by
// the host's avahi-daemon (StartAvahi first), and waits until it accepts
// IPP connections.
func (h *Host) StartIPPEveprinter(e IPPEve) *Proc {
	t := h.Lab.t
	t.Helper()
	Require(t, "ippeveprinter")
	if h.dbus == "" {
		t.Fatalf("StartIPPEveprinter in %s: StartAvahi first", h.Name)
	}
	if e.Port == 0 {
		e.Port = 631
	}
	spool := filepath.Join(h.Dir, "spool")
	if err := os.MkdirAll(spool, 0o755); err != nil {
		t.Fatalf("%v", err)
	}
	args := []string{"-p", strconv.Itoa(e.Port), "-d", spool, "-k"}
	if len(e.Attrs) > 0 {
		// ippeveprinter takes -a or -M/-m, not both: the make and model
		// go in the file.
		lines := append([]string{"ATTR text printer-make-and-model " + strconv.Quote(e.Make+" "+e.Model)}, e.Attrs...)
		conf := filepath.Join(h.Dir, "ippeveprinter.conf")
		if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatalf("%v", err)
		}
		args = append(args, "-a", conf)
	} else {
		args = append(args, "-M", e.Make, "-m", e.Model)
	}
	p := h.Start("ippeveprinter", nil, "ippeveprinter", append(args, e.Name)...)
	h.WaitTCP(h.IP4+":"+strconv.Itoa(e.Port), 10*time.Second)
	return p
}

// SNMPSupply is one row of the Printer-MIB supplies table served by
// StartSNMPD.
type SNMPSupply struct {
	Description string
	Colorant    string // e.g. "cyan"
	Type        int    // PrtMarkerSuppliesTypeTC, e.g. 6 (inkCartridge)
	// Class is prtMarkerSuppliesClass: 3 supplyThatIsConsumed, 4
	// receptacleThatIsFilled (whose Level is the space left); not served
	// when zero.
	Class      int
	Level, Max int
}

// SNMPAgent describes what StartSNMPD serves.
type SNMPAgent struct {
	SysDescr    string
	DeviceDescr string
	Serial      string
	// DeviceID is served as ppmPrinterIEEE1284DeviceId.1 (PWG Printer
	// Port Monitor MIB), as Canon's agents do.
	DeviceID string
	Supplies []SNMPSupply
	// NotPrinter serves no printer row in hrDeviceTable (a router's or a
	// server's agent); DeviceDescr, Serial and Supplies should be empty.
	NotPrinter bool
	// NoCommunity turns SNMP v2c off: only V3User is answered.
	NoCommunity bool
	// V3User, when set, is an SNMPv3 user (authPriv, SHA and AES) whose
	// authentication and privacy password is V3Password.
	V3User, V3Password string
}

// StartSNMPD runs net-snmp's snmpd in the host with a private
// configuration, answering community "public" on the host's address with
// the Printer-MIB serial, hrDeviceDescr and supplies of a.
func (h *Host) StartSNMPD(a SNMPAgent) *Proc {
	t := h.Lab.t
	t.Helper()
	Require(t, "snmpd")
	var b strings.Builder
	fmt.Fprintf(&b, "agentaddress udp:%s:161\n", h.IP4)
	if !a.NoCommunity {
		b.WriteString("rocommunity public default\n")
	}
	if a.V3User != "" {
		fmt.Fprintf(&b, "createUser %s SHA %q AES %q\nrouser %s priv\n", a.V3User, a.V3Password, a.V3Password, a.V3User)
	}
	if a.SysDescr != "" {
		fmt.Fprintf(&b, "sysDescr %s\n", a.SysDescr)
	}
	ov := func(oid, typ, val string) { fmt.Fprintf(&b, "override %s %s %s\n", oid, typ, val) }
	q := strconv.Quote
	if !a.NotPrinter {
		// Device 1 is the printer (hrDeviceType hrDevicePrinter), as on
		// printers' own agents.
		ov("1.3.6.1.2.1.25.3.2.1.2.1", "object_id", ".1.3.6.1.2.1.25.3.1.5")
	}
	if a.DeviceDescr != "" {
		ov("1.3.6.1.2.1.25.3.2.1.3.1", "octet_str", q(a.DeviceDescr))
	}
	if a.Serial != "" {
		ov("1.3.6.1.2.1.43.5.1.1.17.1", "octet_str", q(a.Serial))
	}
	if a.DeviceID != "" {
		ov("1.3.6.1.4.1.2699.1.2.1.2.1.1.3.1", "octet_str", q(a.DeviceID))
	}
	for i, s := range a.Supplies {
		idx := strconv.Itoa(i + 1)
		ov("1.3.6.1.2.1.43.11.1.1.3.1."+idx, "integer", idx)
		if s.Class != 0 {
			ov("1.3.6.1.2.1.43.11.1.1.4.1."+idx, "integer", strconv.Itoa(s.Class))
		}
		ov("1.3.6.1.2.1.43.11.1.1.5.1."+idx, "integer", strconv.Itoa(s.Type))
		ov("1.3.6.1.2.1.43.11.1.1.6.1."+idx, "octet_str", q(s.Description))
		ov("1.3.6.1.2.1.43.11.1.1.8.1."+idx, "integer", strconv.Itoa(s.Max))
		ov("1.3.6.1.2.1.43.11.1.1.9.1."+idx, "integer", strconv.Itoa(s.Level))
		if s.Colorant != "" {
			ov("1.3.6.1.2.1.43.12.1.1.4.1."+idx, "octet_str", q(s.Colorant))
		}
	}
	conf := filepath.Join(h.Dir, "snmpd.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatalf("%v", err)
	}
	state := filepath.Join(h.Dir, "snmp-state")
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatalf("%v", err)
	}
	p := h.Start("snmpd", []string{"SNMP_PERSISTENT_DIR=" + state, "MIBS="},
		"snmpd", "-f", "-Lo", "-C", "-c", conf, "-p", filepath.Join(h.Dir, "snmpd.pid"))
	p.WaitLog(t, "NET-SNMP version", 10*time.Second)
	return p
}

// Sim describes one printer simulator (cmd/printersim) in a host.
type Sim struct {
	// Args are extra printersim flags (--model, --serial, --levels,
	// --delay, --no-ipp ...).
	Args []string
	// NoMDNS leaves the simulator unadvertised.
	NoMDNS bool
	// Port is the IPP port; 631 when zero.
	Port int
}

// StartSim runs the printer simulator binary bin in the host, listening
// on the host's address and advertising itself over mDNS on eth0 only, and
// waits until it is ready.
func (h *Host) StartSim(bin string, s Sim) *Proc {
	t := h.Lab.t
	t.Helper()
	if s.Port == 0 {
		s.Port = 631
	}
	args := []string{"--listen", h.IP4 + ":" + strconv.Itoa(s.Port)}
	if !s.NoMDNS {
		args = append(args, "--mdns-iface", Iface, "--mdns-host", h.Name)
	}
	args = append(args, s.Args...)
	p := h.Start("printersim", nil, bin, args...)
	// printersim prints "ready ipp://..." (or ipps://) on stdout, which
	// goes to the log, once it listens and advertises.
	p.WaitLog(t, "ready ipp", 10*time.Second)
	return p
}

var (
	buildMu    sync.Mutex
	buildCache = map[string]string{}
	buildDirs  []string
)

// RemoveBuilds deletes the binaries Build made; call it from TestMain.
func RemoveBuilds() {
	buildMu.Lock()
	defer buildMu.Unlock()
	for _, d := range buildDirs {
		_ = os.RemoveAll(d)
	}
	buildDirs = nil
	buildCache = map[string]string{}
}

// Build compiles a command of this module (e.g. "./cmd/arsctl") once per
// process and returns the binary's path.
func Build(t TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := buildCache[pkg]; ok {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("%v", err)
	}
	dir, err := os.MkdirTemp("", "arsctl-netns-bin-")
	if err != nil {
		t.Fatalf("%v", err)
	}
	buildDirs = append(buildDirs, dir)
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(context.Background(), "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	buildCache[pkg] = out
	return out
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/arsctl/arsctl") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errNoModule
		}
		dir = parent
	}
}

// DBusAddress is the host's private D-Bus system bus address once
// StartAvahi ran; DNS-SD clients need it in DBUS_SYSTEM_BUS_ADDRESS.
func (h *Host) DBusAddress() string { return h.dbus }

// DropMDNS makes the host drop one in every n mDNS packets it receives
// (UDP from port 5353), at random, with an nftables rule in its namespace:
// a lossy network for testing re-queries.
func (h *Host) DropMDNS(n int) {
	t := h.Lab.t
	t.Helper()
	Require(t, "nft")
	ruleset := fmt.Sprintf(`table inet arsloss {
	chain in {
		type filter hook input priority 0; policy accept;
		udp sport 5353 numgen random mod %d == 0 drop
	}
}
`, n)
	path := filepath.Join(h.Dir, "loss.nft")
	if err := os.WriteFile(path, []byte(ruleset), 0o644); err != nil {
		t.Fatalf("%v", err)
	}
	if out, err := h.Command(context.Background(), "nft", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("nft in %s: %v\n%s", h.Name, err, out)
	}
}
