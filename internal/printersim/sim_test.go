package printersim_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/internal/printersim/simtest"
	"github.com/arsctl/arsctl/pkg/ipp"
	"github.com/arsctl/arsctl/pkg/printer"
)

// post sends an IPP request and decodes the answer.
func post(t *testing.T, url string, req *goipp.Message) *goipp.Message {
	t.Helper()
	body, err := req.EncodeBytes()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, goipp.ContentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	var m goipp.Message
	if err := m.Decode(resp.Body); err != nil {
		t.Fatal(err)
	}
	return &m
}

func request(op goipp.Op, uri string, requested ...string) *goipp.Message {
	m := goipp.NewRequest(goipp.DefaultVersion, op, 7)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(uri)))
	if len(requested) > 0 {
		a := goipp.Attribute{Name: "requested-attributes"}
		for _, r := range requested {
			a.Values.Add(goipp.TagKeyword, goipp.String(r))
		}
		m.Operation.Add(a)
	}
	return m
}

func attr(m *goipp.Message, name string) []string {
	for _, a := range m.Printer {
		if a.Name == name {
			var out []string
			for _, v := range a.Values {
				if b, ok := v.V.(goipp.Binary); ok {
					out = append(out, string(b))
				} else {
					out = append(out, v.V.String())
				}
			}
			return out
		}
	}
	return nil
}

func TestCanonAttributes(t *testing.T) {
	p := simtest.Start(t, printersim.Config{Serial: "KNMA00042", UUID: "8e4b1a2c-0000-4000-8000-000000000042", Levels: map[string]int{"pb": 5}})
	httpURL := "http://" + p.Addr() + "/ipp/print"
	m := post(t, httpURL, request(goipp.OpGetPrinterAttributes, p.URL()))
	if goipp.Status(m.Code) != goipp.StatusOk || m.RequestID != 7 {
		t.Fatalf("status %v id %d", goipp.Status(m.Code), m.RequestID)
	}
	checks := map[string]string{
		"printer-make-and-model": "Canon TS8300 series",
		"printer-uuid":           "urn:uuid:8e4b1a2c-0000-4000-8000-000000000042",
		"printer-info":           "Canon TS8300 series",
		"printer-state":          "3",
		"marker-names":           "PGBK,BK,C,M,Y,PB",
		"marker-types":           "inkCartridge,inkCartridge,inkCartridge,inkCartridge,inkCartridge,inkCartridge",
		"marker-levels":          "80,70,60,50,40,5",
		"marker-low-levels":      "15,15,15,15,15,15",
		"marker-high-levels":     "100,100,100,100,100,100",
		"marker-colors":          "#000000,#000000,#00FFFF,#FF00FF,#FFFF00,#0080FF",
	}
	for name, want := range checks {
		if got := strings.Join(attr(m, name), ","); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	did := strings.Join(attr(m, "printer-device-id"), "")
	for _, want := range []string{"MFG:Canon;", "MDL:TS8300 series;", "CLS:PRINTER;", "DES:Canon TS8300 series;", "PSE:KNMA00042;", "CMD:"} {
		if !strings.Contains(did, want) {
			t.Errorf("device id %q lacks %q", did, want)
		}
	}
	supply := attr(m, "printer-supply")
	if len(supply) != 6 || !strings.Contains(supply[2], "colorantname=cyan;") || !strings.Contains(supply[5], "level=5;") {
		t.Errorf("printer-supply = %q", supply)
	}

	// requested-attributes is honoured.
	m = post(t, httpURL, request(goipp.OpGetPrinterAttributes, p.URL(), "printer-uuid"))
	if len(m.Printer) != 1 || m.Printer[0].Name != "printer-uuid" {
		t.Errorf("filtered attributes = %v", m.Printer)
	}
}

func TestOtherOperationsNotSupported(t *testing.T) {
	p := simtest.Start(t, printersim.Config{})
	for _, op := range []goipp.Op{goipp.OpPrintJob, goipp.OpGetJobs, goipp.OpCancelJob} {
		m := post(t, "http://"+p.Addr()+"/ipp/print", request(op, p.URL()))
		if goipp.Status(m.Code) != goipp.StatusErrorOperationNotSupported {
			t.Errorf("%v: status %v", op, goipp.Status(m.Code))
		}
	}
}

func TestBadRequest(t *testing.T) {
	p := simtest.Start(t, printersim.Config{})
	m := goipp.NewRequest(goipp.MakeVersion(1, 1), goipp.OpGetPrinterAttributes, 3)
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(p.URL())))
	got := post(t, "http://"+p.Addr()+"/ipp/print", m)
	if goipp.Status(got.Code) != goipp.StatusErrorBadRequest || got.Version != goipp.MakeVersion(1, 1) {
		t.Errorf("status %v version %v", goipp.Status(got.Code), got.Version)
	}
}

func TestHTTPErrors(t *testing.T) {
	p := simtest.Start(t, printersim.Config{})
	base := "http://" + p.Addr()
	for _, tt := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/ipp/print", "", 405},
		{"POST", "/other", "", 404},
		{"POST", "/ipp/print", "garbage", 400},
		{"GET", "/", "", 200},
	} {
		req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: HTTP %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
		}
	}
}

func TestSetLevelConcurrent(t *testing.T) {
	p := simtest.Start(t, printersim.Config{})
	var c ipp.Client
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 50 {
				if err := p.SetLevel("C", (i*50+j)%101); err != nil {
					t.Error(err)
					return
				}
			}
		})
		wg.Go(func() {
			for range 10 {
				got, err := c.GetPrinterAttributes(context.Background(), p.URL())
				if err != nil {
					t.Error(err)
					return
				}
				if l := got.Supplies[2].Level; l < 0 || l > 100 {
					t.Errorf("level %d", l)
				}
			}
		})
	}
	wg.Wait()
	if err := p.SetLevel("C", 9); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetPrinterAttributes(t.Context(), p.URL())
	if err != nil {
		t.Fatal(err)
	}
	if got.Supplies[2].Level != 9 || p.Levels()["C"] != 9 {
		t.Errorf("level after SetLevel = %d", got.Supplies[2].Level)
	}
	if err := p.SetLevel("nope", 1); err == nil {
		t.Error("SetLevel on unknown supply: no error")
	}
}

// TestSays: a supply reported as "some remaining" that the printer says
// is low reaches the client as low; one whose percentage is low is said
// low by the printer too (marker-supply-low-warning), and its level shows
// it.
func TestSays(t *testing.T) {
	p := simtest.Start(t, printersim.Config{Levels: map[string]int{"PGBK": printer.LevelSomeRemaining}})
	var c ipp.Client
	states := func() string {
		got, err := c.GetPrinterAttributes(t.Context(), p.URL())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range got.Supplies {
			out = append(out, s.Name+":"+s.State)
		}
		return strings.Join(out, " ") + " " + strings.Join(got.Problems, "; ")
	}
	if got, want := states(), "PGBK: BK: C: M: Y: PB: "; got != want {
		t.Errorf("before: %q, want %q", got, want)
	}
	if err := p.SetSays("pgbk", printer.StateLow); err != nil {
		t.Fatal(err)
	}
	if got, want := states(), "PGBK:low BK: C: M: Y: PB: "; got != want {
		t.Errorf("said low: %q, want %q", got, want)
	}
	if err := p.SetLevel("C", 5); err != nil {
		t.Fatal(err)
	}
	if got, want := states(), "PGBK: BK: C: M: Y: PB: "; got != want {
		t.Errorf("cyan at 5%% too: %q, want %q (the printer's reason is cyan's, as far as anyone can tell)", got, want)
	}
	if err := p.SetSays("nope", printer.StateLow); err == nil {
		t.Error("SetSays on unknown supply: no error")
	}
}

func TestModes(t *testing.T) {
	p := simtest.Start(t, printersim.Config{})
	var c ipp.Client
	p.SetMode(printersim.ModeClose)
	if _, err := c.GetPrinterAttributes(t.Context(), p.URL()); err == nil {
		t.Error("ModeClose: no error")
	}
	p.SetMode(printersim.ModeNormal)
	c.CloseIdleConnections()
	if _, err := c.GetPrinterAttributes(t.Context(), p.URL()); err != nil {
		t.Errorf("back to normal: %v", err)
	}
}

func TestCustomSupplies(t *testing.T) {
	p := simtest.Start(t, printersim.Config{
		Model: "MG3600 series",
		Supplies: []printersim.Supply{
			{Name: "Black", Color: "#000000", Colorant: "black", Type: "inkCartridge", Level: 20},
			{Name: "Color", Color: "#39D2E7#D945DD#DFD31D", Type: "inkCartridge", Level: -3},
		},
	})
	var c ipp.Client
	got, err := c.GetPrinterAttributes(t.Context(), p.URL())
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != "MG3600 series" || len(got.Supplies) != 2 || len(got.Supplies[1].Colors) != 3 || got.Supplies[1].Level != -3 {
		t.Errorf("got %+v", got)
	}
}

// TestSeriesSupplies: a TS5300 series has a black and a tri-colour
// cartridge, a G600 series six bottles and a maintenance cartridge that
// printer-supply reports as a receptacle; with SerialOverSNMPOnly the
// device ID holds no serial.
func TestSeriesSupplies(t *testing.T) {
	var c ipp.Client
	ts := simtest.Start(t, printersim.Config{Model: "TS5300 series", Serial: "KMAB00007", SerialOverSNMPOnly: true})
	got, err := c.GetPrinterAttributes(t.Context(), ts.URL())
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != "TS5300 series" || got.Serial != "" || len(got.Supplies) != 2 {
		t.Fatalf("TS5300 series: %+v", got)
	}
	if col := got.Supplies[1]; col.Name != "Color" || len(col.Colors) != 3 || !col.Reorderable() || col.ColorKey() != "#00FFFF#FF00FF#FFFF00" {
		t.Errorf("tri-colour cartridge = %+v", col)
	}
	g := simtest.Start(t, printersim.Config{Model: "G600 series", Name: "Canon PIXMA G620"})
	got, err = c.GetPrinterAttributes(t.Context(), g.URL())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Supplies) != 7 || got.Serial != "KNMA01234" {
		t.Fatalf("G600 series: %+v", got)
	}
	mc := got.Supplies[6]
	if mc.Class != "receptacleThatIsFilled" || mc.Kind() != "waste" || mc.Reorderable() || mc.LevelText() != "34% full" {
		t.Errorf("maintenance cartridge = %+v", mc)
	}
	for _, s := range got.Supplies[:6] {
		if !s.Reorderable() || s.Class != "supplyThatIsConsumed" {
			t.Errorf("bottle %+v", s)
		}
	}
}

// TestCapture serves each real printer's captured attributes: a client
// reads the same identity and supplies as from the capture itself, with
// this simulator's URI and the levels it is told.
func TestCapture(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "ipp", "*.ipp"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	var c ipp.Client
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ipp.DecodeResponse(b)
			if err != nil {
				t.Fatal(err)
			}
			p := simtest.Start(t, printersim.Config{Capture: b})
			got, err := c.GetPrinterAttributes(t.Context(), p.URL())
			if err != nil {
				t.Fatal(err)
			}
			if got.Make != want.Make || got.Model != want.Model || got.Serial != want.Serial || got.UUID != want.UUID || len(got.Supplies) != len(want.Supplies) {
				t.Fatalf("served %+v\nwant %+v", got, want)
			}
			for i := range got.Supplies {
				g, w := got.Supplies[i], want.Supplies[i]
				if g.Name != w.Name || g.Kind() != w.Kind() || g.Level != w.Level || len(g.Colors) != len(w.Colors) {
					t.Errorf("supply %d = %+v, want %+v", i, g, w)
				}
			}
			last := want.Supplies[len(want.Supplies)-1].Name
			if err := p.SetLevel(last, 3); err != nil {
				t.Fatal(err)
			}
			got, err = c.GetPrinterAttributes(t.Context(), p.URL())
			if err != nil || got.Supplies[len(got.Supplies)-1].Level != 3 {
				t.Errorf("after SetLevel(%q, 3): %v %+v", last, err, got)
			}
		})
	}
	bad := printersim.New(printersim.Config{Capture: []byte("not IPP")})
	if err := bad.Start(t.Context(), "127.0.0.1:0"); err == nil {
		bad.Close()
		t.Error("a capture that is not IPP started")
	}
}

// TestNamedInks plays a TS6300 series with the names Canon gives its
// inks: arsctl keeps the two blacks apart by their codes.
func TestNamedInks(t *testing.T) {
	p := simtest.Start(t, printersim.Config{Model: "TS6300 series", Levels: map[string]int{"Black(BK)": 9}})
	var c ipp.Client
	got, err := c.GetPrinterAttributes(t.Context(), p.URL())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got.Supplies {
		names = append(names, cmdutil.ShortName(s)+"="+strconv.Itoa(s.Level))
	}
	if strings.Join(names, " ") != "PGBK=80 BK=9 Cyan=60 Magenta=50 Yellow=40" {
		t.Errorf("supplies %v", names)
	}
}

// TestCaptureWithoutIdentity plays a real Canon from the marker lines its
// owner published (ipptool's text, no identity): the supplies are the
// printer's own, the identity the simulator's.
func TestCaptureWithoutIdentity(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ipp", "canon-g4080-series.txt"))
	if err != nil {
		t.Fatal(err)
	}
	p := simtest.Start(t, printersim.Config{Capture: b, Model: "G4080 series", Serial: "KLMN00001"})
	if err := p.SetLevel("Black(PGBK)", 8); err != nil {
		t.Fatal(err)
	}
	var c ipp.Client
	got, err := c.GetPrinterAttributes(t.Context(), p.URL())
	if err != nil {
		t.Fatal(err)
	}
	if got.Make != "Canon" || got.Model != "G4080 series" || got.Serial != "KLMN00001" || got.UUID == "" {
		t.Errorf("identity %q %q %q %q", got.Make, got.Model, got.Serial, got.UUID)
	}
	var names []string
	for _, s := range got.Supplies {
		names = append(names, fmt.Sprintf("%s=%d", s.Name, s.Level))
	}
	if strings.Join(names, " ") != "Black(PGBK)=8 Cyan=90 Magenta=90 Yellow=88 MC=10" {
		t.Errorf("supplies %v", names)
	}
}

func TestFleet(t *testing.T) {
	f, err := printersim.StartFleet(t.Context(), printersim.FleetConfig{Count: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var c ipp.Client
	seen := map[string]bool{}
	for _, p := range f.Printers {
		got, err := c.GetPrinterAttributes(t.Context(), p.URL())
		if err != nil {
			t.Fatal(err)
		}
		if seen[got.Serial] || seen[got.UUID] {
			t.Errorf("duplicate serial or UUID %q %q", got.Serial, got.UUID)
		}
		seen[got.Serial], seen[got.UUID] = true, true
	}
	if len(seen) != 40 {
		t.Errorf("%d distinct serials+UUIDs, want 40", len(seen))
	}
}

func TestFleetConsecutivePorts(t *testing.T) {
	// Find a free block by trying a few bases.
	var f *printersim.Fleet
	var err error
	for base := 41000; base < 60000; base += 997 {
		f, err = printersim.StartFleet(t.Context(), printersim.FleetConfig{Count: 5, BasePort: base})
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Skipf("no free block of 5 ports: %v", err)
	}
	defer f.Close()
	for i, p := range f.Printers {
		if p.Port() != f.Printers[0].Port()+i {
			t.Errorf("printer %d on port %d", i, p.Port())
		}
	}
	if _, err := printersim.StartFleet(t.Context(), printersim.FleetConfig{Count: 0}); err == nil {
		t.Error("count 0: no error")
	}
	if _, err := printersim.StartFleet(t.Context(), printersim.FleetConfig{Count: 3, BasePort: 65534}); err == nil {
		t.Error("ports past 65535: no error")
	}
}

func TestStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	p := printersim.New(printersim.Config{})
	if err := p.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	cancel()
	p.Close() // idempotent, waits for shutdown
	var c ipp.Client
	if _, err := c.GetPrinterAttributes(t.Context(), p.URL()); err == nil {
		t.Error("printer still answers after its context ended")
	}
	if err := p.Start(t.Context(), "127.0.0.1:0"); err == nil {
		t.Error("second Start: no error")
	}
}

func TestAdvertiseRefusesAllInterfaces(t *testing.T) {
	p := simtest.Start(t, printersim.Config{})
	err := p.Advertise(printersim.MDNSConfig{})
	if err == nil || !strings.Contains(err.Error(), "explicit interfaces") {
		t.Errorf("err = %v", err)
	}
	if err := printersim.New(printersim.Config{}).Advertise(printersim.MDNSConfig{Interfaces: []string{"lo"}}); err == nil {
		t.Error("Advertise before Start: no error")
	}
}

func TestTXT(t *testing.T) {
	p := simtest.Start(t, printersim.Config{UUID: "8e4b1a2c-0000-4000-8000-000000000042"})
	txt := strings.Join(p.TXT(true), "\n")
	for _, want := range []string{"txtvers=1", "qtotal=1", "rp=ipp/print", "ty=Canon TS8300 series",
		"product=(Canon TS8300 series)", "usb_MFG=Canon", "usb_MDL=TS8300 series", "UUID=8e4b1a2c-0000-4000-8000-000000000042",
		"adminurl=http://", "Color=T", "Duplex=T", "TLS=1.2", "mopria-certified=", "kind=", "pdl="} {
		if !strings.Contains(txt, want) {
			t.Errorf("TXT lacks %q:\n%s", want, txt)
		}
	}
	if strings.Contains(strings.Join(p.TXT(false), "\n"), "TLS=") {
		t.Error("_ipp._tcp TXT has TLS key")
	}
}

func ExampleNew() {
	p := printersim.New(printersim.Config{Serial: "KNMA00001", Levels: map[string]int{"C": 10}})
	if err := p.Start(context.Background(), "127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer p.Close()
	var c ipp.Client
	got, err := c.GetPrinterAttributes(context.Background(), p.URL())
	if err != nil {
		panic(err)
	}
	fmt.Println(got.Make, got.Model, got.Serial, got.Supplies[2].Name, got.Supplies[2].Level)
	// Output: Canon TS8300 series KNMA00001 C 10
}
