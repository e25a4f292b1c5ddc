package ipp_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/internal/printersim/simtest"
	"github.com/arsctl/arsctl/pkg/ipp"
	"github.com/arsctl/arsctl/pkg/printer"
)

func TestGetPrinterAttributesSim(t *testing.T) {
	sim := simtest.Start(t, printersim.Config{Serial: "KNMA05678", Levels: map[string]int{"C": 12}})
	var c ipp.Client
	p, err := c.GetPrinterAttributes(t.Context(), sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	if p.Make != "Canon" || p.Model != "TS8300 series" || p.Serial != "KNMA05678" {
		t.Errorf("identity = %q %q %q", p.Make, p.Model, p.Serial)
	}
	if p.UUID != sim.Config().UUID || p.UUID == "" {
		t.Errorf("UUID = %q, want %q", p.UUID, sim.Config().UUID)
	}
	if p.Name != "Canon TS8300 series" || p.State != "idle" {
		t.Errorf("name/state = %q %q", p.Name, p.State)
	}
	if p.URI != sim.URL() || p.Port != sim.Port() || len(p.Addrs) != 1 || p.Addrs[0] != "127.0.0.1" {
		t.Errorf("where = %q %d %v", p.URI, p.Port, p.Addrs)
	}
	if p.TLSFingerprint != "" {
		t.Errorf("fingerprint over plain ipp: %q", p.TLSFingerprint)
	}
	want := []printer.Supply{
		{Name: "PGBK", Type: "inkCartridge", Colors: []string{"#000000"}, ColorName: "black", Level: 80, Low: 15, High: 100},
		{Name: "BK", Type: "inkCartridge", Colors: []string{"#000000"}, ColorName: "black", Level: 70, Low: 15, High: 100},
		{Name: "C", Type: "inkCartridge", Colors: []string{"#00FFFF"}, ColorName: "cyan", Level: 12, Low: 15, High: 100},
		{Name: "M", Type: "inkCartridge", Colors: []string{"#FF00FF"}, ColorName: "magenta", Level: 50, Low: 15, High: 100},
		{Name: "Y", Type: "inkCartridge", Colors: []string{"#FFFF00"}, ColorName: "yellow", Level: 40, Low: 15, High: 100},
		{Name: "PB", Type: "inkCartridge", Colors: []string{"#0080FF"}, ColorName: "blue", Level: 30, Low: 15, High: 100},
	}
	if !equalSupplies(p.Supplies, want) {
		t.Errorf("supplies =\n%+v\nwant\n%+v", p.Supplies, want)
	}
	if p.LevelsReadAt == nil {
		t.Error("LevelsReadAt not set")
	}

	// Levels change while the printer runs.
	if err := sim.SetLevel("Y", 3); err != nil {
		t.Fatal(err)
	}
	p, err = c.GetPrinterAttributes(t.Context(), sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Supplies[4].Level; got != 3 {
		t.Errorf("Y after SetLevel = %d, want 3", got)
	}
}

func equalSupplies(a, b []printer.Supply) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Name != y.Name || x.Type != y.Type || x.ColorName != y.ColorName || x.Level != y.Level ||
			x.Low != y.Low || x.High != y.High || strings.Join(x.Colors, ",") != strings.Join(y.Colors, ",") {
			return false
		}
	}
	return true
}

func TestProbeSim(t *testing.T) {
	for _, path := range []string{"/ipp/print", "/ipp/printer", "/"} {
		t.Run(path, func(t *testing.T) {
			sim := simtest.Start(t, printersim.Config{Path: path})
			var c ipp.Client
			p, err := c.Probe(t.Context(), sim.Addr())
			if err != nil {
				t.Fatal(err)
			}
			if want := "ipp://" + sim.Addr() + path; p.URI != want {
				t.Errorf("URI = %q, want %q", p.URI, want)
			}
			if p.Serial != "KNMA01234" {
				t.Errorf("Serial = %q", p.Serial)
			}
		})
	}
}

func TestProbeTLSOnly(t *testing.T) {
	// A printer that speaks only TLS on its port: plain HTTP fails, Probe
	// retries over ipps.
	sim := simtest.Start(t, printersim.Config{TLS: true, TLSOnly: true})
	var c ipp.Client
	p, err := c.Probe(t.Context(), sim.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if want := "ipps://" + sim.Addr() + "/ipp/print"; p.URI != want || p.TLSFingerprint != sim.Fingerprint() {
		t.Errorf("URI, fingerprint = %q %q, want %q %q", p.URI, p.TLSFingerprint, want, sim.Fingerprint())
	}
	if p.Serial != "KNMA01234" {
		t.Errorf("Serial = %q", p.Serial)
	}
}

func TestProbeNothingListening(t *testing.T) {
	sim := simtest.Start(t, printersim.Config{})
	addr := sim.Addr()
	sim.Close()
	var c ipp.Client
	_, err := c.Probe(t.Context(), addr)
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.HasPrefix(err.Error(), "ipp: "+addr+": ") {
		t.Errorf("error %q does not name the printer", err)
	}
}

func TestOperationNotSupportedStatus(t *testing.T) {
	sim := simtest.Start(t, printersim.Config{})
	var c ipp.Client
	// Wrong path: the printer answers 404, which is an HTTPStatusError.
	_, err := c.GetPrinterAttributes(t.Context(), "ipp://"+sim.Addr()+"/nope")
	var he *ipp.HTTPStatusError
	if !errors.As(err, &he) || he.StatusCode != 404 {
		t.Fatalf("err = %v, want HTTP 404", err)
	}
}

func TestTLSPinning(t *testing.T) {
	sim := simtest.Start(t, printersim.Config{TLS: true})
	pins := ipp.NewFilePinStore(filepath.Join(t.TempDir(), "state", "pins.json"))

	c1 := &ipp.Client{Pins: pins}
	p, err := c1.GetPrinterAttributes(t.Context(), sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	if p.TLSFingerprint != sim.Fingerprint() {
		t.Errorf("TLSFingerprint = %q, want %q", p.TLSFingerprint, sim.Fingerprint())
	}
	fp, ok, err := pins.Lookup(sim.Addr())
	if err != nil || !ok || fp != sim.Fingerprint() {
		t.Fatalf("pin = %q %v %v, want %q", fp, ok, err, sim.Fingerprint())
	}

	// Same certificate, new client sharing the pin file: accepted.
	c2 := &ipp.Client{Pins: ipp.NewFilePinStore(pins.Path())}
	if _, err := c2.GetPrinterAttributes(t.Context(), sim.URL()); err != nil {
		t.Fatalf("same certificate refused: %v", err)
	}

	// The printer gets a new certificate: refused, with both fingerprints.
	old := sim.Fingerprint()
	if err := sim.RotateCertificate(); err != nil {
		t.Fatal(err)
	}
	c3 := &ipp.Client{Pins: ipp.NewFilePinStore(pins.Path())}
	_, err = c3.GetPrinterAttributes(t.Context(), sim.URL())
	var ce *ipp.CertChangedError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want CertChangedError", err)
	}
	if ce.Pinned != old || ce.Got != sim.Fingerprint() {
		t.Errorf("CertChangedError = %+v", ce)
	}
	msg := err.Error()
	for _, want := range []string{"ipp: " + sim.Addr() + ": ", old, sim.Fingerprint(), pins.Path()} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}

	// Re-pin: remove the entry, the next connection pins the new one.
	if err := pins.Remove(sim.Addr()); err != nil {
		t.Fatal(err)
	}
	p, err = c3.GetPrinterAttributes(t.Context(), sim.URL())
	if err != nil {
		t.Fatalf("after re-pin: %v", err)
	}
	if p.TLSFingerprint != sim.Fingerprint() {
		t.Errorf("TLSFingerprint after re-pin = %q", p.TLSFingerprint)
	}
}

func TestDeadlineHangingPrinter(t *testing.T) {
	for _, mode := range []printersim.Mode{printersim.ModeHang, printersim.ModeClose} {
		sim := simtest.Start(t, printersim.Config{Mode: mode})
		var c ipp.Client
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		_, err := c.GetPrinterAttributes(ctx, sim.URL())
		cancel()
		if err == nil {
			t.Fatalf("mode %d: no error", mode)
		}
		if mode == printersim.ModeHang {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("hang: err = %v, want deadline exceeded", err)
			}
			if !strings.Contains(err.Error(), "no answer within") {
				t.Errorf("hang: err = %q lacks 'no answer within'", err)
			}
		}
	}
}

func TestDelayedPrinter(t *testing.T) {
	sim := simtest.Start(t, printersim.Config{Delay: 200 * time.Millisecond})
	var c ipp.Client
	if _, err := c.GetPrinterAttributes(t.Context(), sim.URL()); err != nil {
		t.Fatal(err)
	}
}

func TestIPv6(t *testing.T) {
	sim := printersim.New(printersim.Config{})
	if err := sim.Start(t.Context(), "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer sim.Close()
	var c ipp.Client
	p, err := c.Probe(t.Context(), sim.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if p.URI != "ipp://"+sim.Addr()+"/ipp/print" || len(p.Addrs) != 1 || p.Addrs[0] != "::1" {
		t.Errorf("URI %q, Addrs %q", p.URI, p.Addrs)
	}
	// A zone is kept in the address and escaped in the URI.
	lo := "lo"
	if _, err := c.Probe(t.Context(), "[::1%"+lo+"]:"+strconv.Itoa(sim.Port())); err != nil {
		t.Errorf("with zone: %v", err)
	}
	p, err = c.GetPrinterAttributes(t.Context(), "ipp://[::1%25"+lo+"]:"+strconv.Itoa(sim.Port())+"/ipp/print")
	if err != nil {
		t.Fatal(err)
	}
	if p.Addrs[0] != "::1%lo" || p.URI != "ipp://[::1%25lo]:"+strconv.Itoa(sim.Port())+"/ipp/print" {
		t.Errorf("zone: URI %q Addrs %q", p.URI, p.Addrs)
	}
}
