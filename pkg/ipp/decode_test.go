package ipp

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/arsctl/arsctl/pkg/printer"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeCapturedResponses(t *testing.T) {
	tests := []struct {
		file                   string
		mk, model, serial, uid string
		name, state            string
		supplies               []printer.Supply
	}{
		{
			// CUPS 2.4.2 ippeveprinter -M Canon -m "TS8320 series": no
			// marker-*, only printer-supply.
			file: "ippeveprinter-2.4.2.ipp", mk: "Canon", model: "TS8320 series",
			uid: "a3ae6766-1650-377d-75b4-c8a2abd368ba", name: "Test Printer", state: "idle",
			supplies: []printer.Supply{
				{Name: "Toner Waste Tank", Type: "wasteToner", Class: printer.ClassReceptacle, Level: 25},
				{Name: "Black Toner", Type: "toner", Class: printer.ClassConsumed, ColorName: "black", Colors: []string{"#000000"}, Level: 75},
			},
		},
		{
			file: "ippeveprinter-2.4.2-all.ipp", mk: "Canon", model: "TS8320 series",
			uid: "a3ae6766-1650-377d-75b4-c8a2abd368ba", name: "Test Printer", state: "idle",
			supplies: []printer.Supply{
				{Name: "Toner Waste Tank", Type: "wasteToner", Class: printer.ClassReceptacle, Level: 25},
				{Name: "Black Toner", Type: "toner", Class: printer.ClassConsumed, ColorName: "black", Colors: []string{"#000000"}, Level: 75},
			},
		},
		{
			file: "printersim-canon-ts8320.ipp", mk: "Canon", model: "TS8320 series", serial: "KNMA01234",
			name: "Canon TS8320 series", state: "idle",
			supplies: []printer.Supply{
				{Name: "PGBK", Type: "inkCartridge", Class: printer.ClassConsumed, ColorName: "black", Colors: []string{"#000000"}, Level: 80, Low: 15, High: 100},
				{Name: "BK", Type: "inkCartridge", Class: printer.ClassConsumed, ColorName: "black", Colors: []string{"#000000"}, Level: 70, Low: 15, High: 100},
				{Name: "C", Type: "inkCartridge", Class: printer.ClassConsumed, ColorName: "cyan", Colors: []string{"#00FFFF"}, Level: 12, Low: 15, High: 100},
				{Name: "M", Type: "inkCartridge", Class: printer.ClassConsumed, ColorName: "magenta", Colors: []string{"#FF00FF"}, Level: 50, Low: 15, High: 100},
				{Name: "Y", Type: "inkCartridge", Class: printer.ClassConsumed, ColorName: "yellow", Colors: []string{"#FFFF00"}, Level: 3, Low: 15, High: 100},
				{Name: "PB", Type: "inkCartridge", Class: printer.ClassConsumed, ColorName: "blue", Colors: []string{"#0080FF"}, Level: 30, Low: 15, High: 100},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p, err := DecodeResponse(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if p.Make != tt.mk || p.Model != tt.model || p.Serial != tt.serial || p.Name != tt.name || p.State != tt.state {
				t.Errorf("got %q %q %q %q %q", p.Make, p.Model, p.Serial, p.Name, p.State)
			}
			if tt.uid != "" && p.UUID != tt.uid {
				t.Errorf("UUID = %q", p.UUID)
			}
			if !reflect.DeepEqual(p.Supplies, tt.supplies) {
				t.Errorf("supplies\n got %+v\nwant %+v", p.Supplies, tt.supplies)
			}
		})
	}
}

func encode(t testing.TB, m *goipp.Message) []byte {
	t.Helper()
	b, err := m.EncodeBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func response(status goipp.Status, attrs ...goipp.Attribute) *goipp.Message {
	m := goipp.NewResponse(goipp.DefaultVersion, status, 1)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	for _, a := range attrs {
		m.Printer.Add(a)
	}
	return m
}

func TestDecodeResponse(t *testing.T) {
	s := func(v string) goipp.Value { return goipp.String(v) }
	i := func(v int) goipp.Value { return goipp.Integer(v) }

	t.Run("tri-colour cartridge and text device id", func(t *testing.T) {
		m := response(goipp.StatusOk,
			goipp.MakeAttribute("printer-make-and-model", goipp.TagText, s("Canon MG3600 series")),
			goipp.MakeAttribute("printer-device-id", goipp.TagTextLang, goipp.TextWithLang{Lang: "en", Text: "MFG:Canon;MDL:MG3600 series;PSE:KMRW04321;"}),
			goipp.MakeAttribute("printer-uuid", goipp.TagURI, s("urn:uuid:00000000-0000-1000-8000-00000000ABCD")),
			goipp.MakeAttribute("printer-name", goipp.TagName, s("MG3600")),
			goipp.MakeAttribute("printer-state", goipp.TagEnum, i(5)),
			goipp.MakeAttr("marker-names", goipp.TagName, s("Black"), s("Color")),
			goipp.MakeAttr("marker-colors", goipp.TagName, s("#000000"), s("#39D2E7#D945DD#DFD31D")),
			goipp.MakeAttr("marker-types", goipp.TagKeyword, s("inkCartridge"), s("inkCartridge")),
			goipp.MakeAttr("marker-levels", goipp.TagInteger, i(10), i(-3)),
			goipp.MakeAttr("marker-low-levels", goipp.TagInteger, i(15), i(15)),
			goipp.MakeAttr("marker-high-levels", goipp.TagInteger, i(100), i(100)),
		)
		p, err := DecodeResponse(encode(t, m))
		if err != nil {
			t.Fatal(err)
		}
		want := &printer.Printer{
			Name: "MG3600", Make: "Canon", Model: "MG3600 series", Serial: "KMRW04321",
			UUID: "00000000-0000-1000-8000-00000000abcd", State: "stopped", Sources: []string{"ipp"},
			Supplies: []printer.Supply{
				{Name: "Black", Type: "inkCartridge", Colors: []string{"#000000"}, Level: 10, Low: 15, High: 100},
				{Name: "Color", Type: "inkCartridge", Colors: []string{"#39D2E7", "#D945DD", "#DFD31D"}, Level: printer.LevelSomeRemaining, Low: 15, High: 100},
			},
		}
		if p.LevelsReadAt == nil {
			t.Error("LevelsReadAt nil")
		}
		p.LevelsReadAt = nil
		if !reflect.DeepEqual(p, want) {
			t.Errorf("got  %+v\nwant %+v", p, want)
		}
	})

	// A mono laser that says only "some remaining" tells that its toner
	// is low through printer-state-reasons; with two such inks the
	// printer does not say which one.
	t.Run("low said in printer-state-reasons", func(t *testing.T) {
		for _, tt := range []struct {
			names, types []goipp.Value
			levels       []goipp.Value
			reason       string
			states       []string
			problem      string
		}{
			{
				names: []goipp.Value{s("Black Toner"), s("Waste Toner Box")}, types: []goipp.Value{s("toner"), s("waste-toner")},
				levels: []goipp.Value{i(-3), i(-3)}, reason: "toner-low-warning", states: []string{printer.StateLow, ""},
			},
			{
				names: []goipp.Value{s("Black"), s("Color")}, types: []goipp.Value{s("inkCartridge"), s("inkCartridge")},
				levels: []goipp.Value{i(-3), i(-3)}, reason: "marker-supply-low-warning", states: []string{"", ""},
				problem: "IPP: the printer says an ink or toner is low (marker-supply-low), but not which",
			},
		} {
			m := response(goipp.StatusOk,
				goipp.MakeAttribute("printer-make-and-model", goipp.TagText, s("Example Laser 1")),
				goipp.MakeAttribute("printer-state-reasons", goipp.TagKeyword, s(tt.reason)),
				goipp.MakeAttr("marker-names", goipp.TagName, tt.names[0], tt.names[1:]...),
				goipp.MakeAttr("marker-types", goipp.TagKeyword, tt.types[0], tt.types[1:]...),
				goipp.MakeAttr("marker-levels", goipp.TagInteger, tt.levels[0], tt.levels[1:]...),
			)
			p, err := DecodeResponse(encode(t, m))
			if err != nil {
				t.Fatal(err)
			}
			var states []string
			for _, sp := range p.Supplies {
				states = append(states, sp.State)
			}
			if !reflect.DeepEqual(states, tt.states) {
				t.Errorf("%s: states %q, want %q", tt.reason, states, tt.states)
			}
			if got := strings.Join(p.Problems, "; "); got != tt.problem {
				t.Errorf("%s: problems %q, want %q", tt.reason, got, tt.problem)
			}
		}
	})

	t.Run("wrong value types", func(t *testing.T) {
		m := response(goipp.StatusOk,
			goipp.MakeAttribute("printer-make-and-model", goipp.TagInteger, i(7)),
			goipp.MakeAttr("marker-names", goipp.TagName, s("A"), s("B")),
			goipp.MakeAttr("marker-levels", goipp.TagText, s("50"), s("x")),
			goipp.MakeAttribute("printer-state", goipp.TagText, s("idle")),
		)
		p, err := DecodeResponse(encode(t, m))
		if err != nil {
			t.Fatal(err)
		}
		if p.Make != "" || p.Model != "" || p.State != "" || len(p.Supplies) != 2 || p.Supplies[0].Level != printer.LevelUnknown {
			t.Errorf("got %+v", p)
		}
	})

	t.Run("make-and-model only", func(t *testing.T) {
		m := response(goipp.StatusOk, goipp.MakeAttribute("printer-make-and-model", goipp.TagText, s("HP OfficeJet Pro 9010 series")))
		p, err := DecodeResponse(encode(t, m))
		if err != nil {
			t.Fatal(err)
		}
		if p.Make != "HP" || p.Model != "OfficeJet Pro 9010 series" || p.LevelsReadAt != nil {
			t.Errorf("got %+v", p)
		}
	})

	t.Run("error status", func(t *testing.T) {
		m := response(goipp.StatusErrorNotFound)
		m.Operation.Add(goipp.MakeAttribute("status-message", goipp.TagText, s("The printer-uri \"ipp://x/\" is not valid.")))
		_, err := DecodeResponse(encode(t, m))
		var se *StatusError
		if !errors.As(err, &se) || se.Status != goipp.StatusErrorNotFound {
			t.Fatalf("err = %v", err)
		}
		if !strings.Contains(err.Error(), "client-error-not-found") || !strings.Contains(err.Error(), "not valid") {
			t.Errorf("message %q", err)
		}
	})

	t.Run("no printer group", func(t *testing.T) {
		_, err := DecodeResponse(encode(t, response(goipp.StatusOk)))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("err = %v", err)
		}
	})

	ts := readTestdata(t, "printersim-canon-ts8320.ipp")
	for name, body := range map[string][]byte{
		"empty":     nil,
		"html":      []byte("<html><body>Canon Remote UI</body></html>"),
		"truncated": ts[:len(ts)/2],
		"header":    ts[:8],
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeResponse(body)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

// The raw device ID never reaches the Printer or its text.
func TestDecodeDoesNotKeepDeviceID(t *testing.T) {
	p, err := DecodeResponse(readTestdata(t, "printersim-canon-ts8320.ipp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{p.Name, p.Model, p.Make, p.AdminURL, strings.Join(p.Problems, " ")} {
		if strings.Contains(s, "PSE") || strings.Contains(s, "MFG:") {
			t.Errorf("raw device ID leaked: %q", s)
		}
	}
}

func FuzzDecodeResponse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.ipp"))
	real, _ := filepath.Glob(filepath.Join(realCaptures, "*.ipp"))
	files = append(files, real...)
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/3])
	}
	f.Add([]byte{})
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 1, 3})
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := DecodeResponse(body)
		if err != nil {
			if p != nil {
				t.Error("printer and error")
			}
			return
		}
		if len(p.Supplies) > 64 {
			t.Errorf("%d supplies", len(p.Supplies))
		}
		for _, s := range p.Supplies {
			if s.Name == "" {
				t.Error("supply without name")
			}
		}
	})
}

func BenchmarkDecodeResponse(b *testing.B) {
	body := readTestdata(b, "printersim-canon-ts8320.ipp")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeResponse(body); err != nil {
			b.Fatal(err)
		}
	}
}
