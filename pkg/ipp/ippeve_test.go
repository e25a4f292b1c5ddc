package ipp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/privatebus"
	"github.com/arsctl/arsctl/internal/testport"
	"github.com/arsctl/arsctl/pkg/ipp"
	"github.com/arsctl/arsctl/pkg/printer"
)

// ippeve is a CUPS ippeveprinter started for one test on 127.0.0.1.
type ippeve struct {
	addr string
	stop func()
}

// needIppeve skips the test when ippeveprinter (Debian cups-ipp-utils) or
// dbus-daemon is not installed.
func needIppeve(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"ippeveprinter", "dbus-daemon"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (install cups-ipp-utils and dbus: scripts/install-deps.sh); skipping test against real CUPS", bin)
		}
	}
}

// freePort returns a TCP port for ippeveprinter (see internal/testport:
// one below the ephemeral range, so no port-0 listener can take it first).
func freePort(t *testing.T) int {
	t.Helper()
	port, err := testport.Free()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// startIppeve runs ippeveprinter on port with DNS-SD registration off
// ("-r off"). ippeveprinter still connects to a D-Bus system bus for
// Avahi, so it gets a private dbus-daemon with no Avahi on it: nothing is
// advertised anywhere. keyDir holds its TLS credentials (created on first
// use). It returns once the printer answers IPP.
func startIppeve(t *testing.T, port int, keyDir string, args ...string) *ippeve {
	t.Helper()
	needIppeve(t)
	dir, err := os.MkdirTemp("", "ippeve")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bus, stopBus, err := privatebus.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopBus)

	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	argv := append([]string{"-p", strconv.Itoa(port), "-r", "off", "-n", "localhost", "-K", keyDir, "-d", spool}, args...)
	argv = append(argv, "Test Printer")
	log := &strings.Builder{}
	cmd := exec.Command("ippeveprinter", argv...)
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+bus)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Kill()
			<-exited
		})
	}
	t.Cleanup(stop)

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var c ipp.Client
	for {
		select {
		case <-exited:
			t.Fatalf("ippeveprinter %q exited: %v\n%s", argv, waitErr, log)
		default:
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		_, err := c.GetPrinterAttributes(ctx, "ipp://"+addr+"/ipp/print")
		cancel()
		if err == nil {
			break
		}
		if t.Context().Err() != nil {
			stop()
			t.Fatalf("ippeveprinter never answered: %v\n%s", err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &ippeve{addr: addr, stop: stop}
}

func TestIppevePrinterSupply(t *testing.T) {
	e := startIppeve(t, freePort(t), t.TempDir(), "-M", "Canon", "-m", "TS8320 series")
	var c ipp.Client
	p, err := c.GetPrinterAttributes(t.Context(), "ipp://"+e.addr+"/ipp/print")
	if err != nil {
		t.Fatal(err)
	}
	if p.Make != "Canon" || p.Model != "TS8320 series" || p.Name != "Test Printer" || p.State != "idle" {
		t.Errorf("got %q %q %q %q", p.Make, p.Model, p.Name, p.State)
	}
	if p.UUID == "" || p.Serial != "" {
		t.Errorf("UUID %q, serial %q", p.UUID, p.Serial)
	}
	// ippeveprinter reports its supplies only through printer-supply.
	want := []printer.Supply{
		{Name: "Toner Waste Tank", Type: "wasteToner", Level: 25},
		{Name: "Black Toner", Type: "toner", ColorName: "black", Colors: []string{"#000000"}, Level: 75},
	}
	if !equalSupplies(p.Supplies, want) {
		t.Errorf("supplies %+v", p.Supplies)
	}

	// Probe with the address only finds the same printer.
	pp, err := c.Probe(t.Context(), e.addr)
	if err != nil {
		t.Fatal(err)
	}
	if pp.UUID != p.UUID || pp.URI != "ipp://"+e.addr+"/ipp/print" {
		t.Errorf("Probe: %q %q", pp.UUID, pp.URI)
	}
}

func TestIppeveCanonAttributes(t *testing.T) {
	conf, err := filepath.Abs("testdata/ippeveprinter-canon.conf")
	if err != nil {
		t.Fatal(err)
	}
	e := startIppeve(t, freePort(t), t.TempDir(), "-a", conf)
	var c ipp.Client
	for _, scheme := range []string{"ipp", "ipps"} {
		p, err := c.GetPrinterAttributes(t.Context(), scheme+"://"+e.addr+"/ipp/print")
		if err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		if p.Make != "Canon" || p.Model != "TS8320 series" || p.Serial != "KNMA77777" {
			t.Errorf("%s: identity %q %q %q", scheme, p.Make, p.Model, p.Serial)
		}
		if len(p.Supplies) != 6 || p.Supplies[2].Name != "C" || p.Supplies[2].Level != 60 ||
			p.Supplies[2].Low != 15 || p.Supplies[2].Type != "inkCartridge" || p.Supplies[2].Colors[0] != "#00FFFF" {
			t.Errorf("%s: supplies %+v", scheme, p.Supplies)
		}
		if (scheme == "ipps") != (p.TLSFingerprint != "") {
			t.Errorf("%s: TLSFingerprint %q", scheme, p.TLSFingerprint)
		}
	}
}

func TestIppeveTLSPinning(t *testing.T) {
	port := freePort(t)
	pins := ipp.NewFilePinStore(filepath.Join(t.TempDir(), "pins.json"))
	uri := fmt.Sprintf("ipps://127.0.0.1:%d/ipp/print", port)

	first := t.TempDir()
	e := startIppeve(t, port, first, "-M", "Canon", "-m", "TS8320 series")
	c := &ipp.Client{Pins: pins}
	p, err := c.GetPrinterAttributes(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	pinned, ok, err := pins.Lookup(e.addr)
	if err != nil || !ok || pinned != p.TLSFingerprint || !strings.HasPrefix(pinned, "SHA256:") {
		t.Fatalf("pin %q %v %v; printer fingerprint %q", pinned, ok, err, p.TLSFingerprint)
	}
	info, err := os.Stat(pins.Path())
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("pin file mode %o, want 600", perm)
	}
	// A second client, same certificate: accepted.
	if _, err := (&ipp.Client{Pins: pins}).GetPrinterAttributes(t.Context(), uri); err != nil {
		t.Fatalf("same certificate refused: %v", err)
	}

	// Same address, new credentials (as after a factory reset).
	e.stop()
	startIppeve(t, port, t.TempDir(), "-M", "Canon", "-m", "TS8320 series")
	_, err = (&ipp.Client{Pins: pins}).GetPrinterAttributes(t.Context(), uri)
	var ce *ipp.CertChangedError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want CertChangedError", err)
	}
	if ce.Pinned != pinned || ce.Got == pinned || !strings.Contains(err.Error(), ce.Got) {
		t.Errorf("CertChangedError %+v: %v", ce, err)
	}
}
