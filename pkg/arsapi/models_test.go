package arsapi

import (
	"strings"
	"testing"
)

// canon is a catalogue shaped like arsd's default: one series per model,
// one series (TS9500) covering two models.
var canon = []Model{
	{Name: "PRO-200", Make: "Canon", Aliases: []string{"PRO-200a"}, Series: []string{"PRO-200 series"}},
	{Name: "TS5320", Make: "Canon", Aliases: []string{"TS5320a"}, Series: []string{"TS5300 series"}},
	{Name: "TS8320", Make: "Canon", Aliases: []string{"TS8320a"}, Series: []string{"TS8300 series"}},
	{Name: "TS9520", Make: "Canon", Aliases: []string{"TS9520a"}, Series: []string{"TS9500 series"}},
	{Name: "TS9521C", Make: "Canon", Aliases: []string{"TS9521Ca"}, Series: []string{"TS9500 series"}},
}

func TestMatchModel(t *testing.T) {
	tests := []struct {
		name, mk, reported string
		kind               MatchKind
		models             string // space-separated names
		series, make       string
	}{
		{name: "series", reported: "TS5300 series", kind: MatchSeries, models: "TS5320", series: "TS5300 series"},
		{name: "series with make", reported: "Canon TS8300 series", kind: MatchSeries, models: "TS8320", series: "TS8300 series"},
		{name: "series make apart", mk: "Canon", reported: "TS8300 series", kind: MatchSeries, models: "TS8320", series: "TS8300 series"},
		{name: "series case and spacing", reported: "canon  ts8300   SERIES", kind: MatchSeries, models: "TS8320", series: "TS8300 series"},
		{name: "series of two", reported: "Canon TS9500 series", kind: MatchSeries, models: "TS9520 TS9521C", series: "TS9500 series"},
		{name: "model", reported: "TS8320", kind: MatchName, models: "TS8320"},
		{name: "model with series word", reported: "Canon TS8320 series", kind: MatchName, models: "TS8320"},
		{name: "alias", reported: "PIXMA TS8320a", kind: MatchName, models: "TS8320"},
		{name: "dash and space", reported: "PRO 200", kind: MatchName, models: "PRO-200"},
		{name: "series equal to its model", reported: "PRO-200 series", kind: MatchName, models: "PRO-200"},
		{name: "model of one of two", reported: "TS9521C", kind: MatchName, models: "TS9521C"},
		{name: "another make in the name", reported: "EPSON ET-2850 Series", kind: MatchOtherMake, make: "EPSON"},
		{name: "another make apart", mk: "Brother", reported: "HL-L2350DW series", kind: MatchOtherMake, make: "Brother"},
		{name: "hewlett-packard", mk: "Hewlett-Packard", reported: "HP LaserJet M404", kind: MatchOtherMake, make: "HP"},
		{name: "same make, not eligible", reported: "Canon MX490 series", kind: MatchNone},
		{name: "same make apart, not eligible", mk: "CANON", reported: "G3010 series", kind: MatchNone},
		{name: "unknown make", reported: "Frobnitz 9000", kind: MatchNone},
		{name: "near miss", reported: "TS832", kind: MatchNone},
		{name: "empty", reported: "", kind: MatchNone},
		{name: "only words", reported: "Canon series", kind: MatchNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := MatchModel(canon, tt.mk, tt.reported)
			if m.Kind != tt.kind || strings.Join(m.Names(), " ") != tt.models || m.Series != tt.series || m.Make != tt.make {
				t.Errorf("MatchModel(%q, %q) = %+v", tt.mk, tt.reported, m)
			}
			if m.Eligible() != (tt.models != "") {
				t.Errorf("Eligible() = %v", m.Eligible())
			}
			_, unique := m.Unique()
			if unique != (len(m.Models) == 1) {
				t.Errorf("Unique() = %v with %d models", unique, len(m.Models))
			}
		})
	}
}

func TestMatchModelWhy(t *testing.T) {
	epson := MatchModel(canon, "", "EPSON ET-2850 Series")
	why := epson.Why(canon, "EPSON ET-2850 Series")
	if why != "this service does not serve EPSON printers; it serves Canon printers" {
		t.Errorf("Why = %q", why)
	}
	if strings.Contains(why, "TS8320") {
		t.Error("another make is handed the model list")
	}
	if why := MatchModel(canon, "", "Canon MX490 series").Why(canon, "Canon MX490 series"); why != "the Canon MX490 series is not an eligible model" {
		t.Errorf("Why = %q", why)
	}
	if why := MatchModel(canon, "", "TS5300 series").Why(canon, "TS5300 series"); why != "" {
		t.Errorf("eligible Why = %q", why)
	}
}

func TestMatchModelWithoutMakes(t *testing.T) {
	// Models that do not say their make serve every make: no printer is
	// turned away for its make alone.
	models := []Model{{Name: "X100", Series: []string{"X1 series"}}}
	if m := MatchModel(models, "EPSON", "X1 series"); m.Kind != MatchSeries {
		t.Errorf("got %+v", m)
	}
	if m := MatchModel(models, "EPSON", "ET-2850"); m.Kind != MatchNone {
		t.Errorf("got %+v", m)
	}
}

func TestCovers(t *testing.T) {
	m := MatchModel(canon, "", "TS9500 series")
	for in, want := range map[string]string{"TS9520": "TS9520", "ts9521ca": "TS9521C", "TS8320": "", "": ""} {
		got, ok := m.Covers(in)
		if got != want || ok != (want != "") {
			t.Errorf("Covers(%q) = %q, %v", in, got, ok)
		}
	}
}

func TestCheckModels(t *testing.T) {
	if err := CheckModels(canon); err != nil {
		t.Fatal(err)
	}
	for name, models := range map[string][]Model{
		"no name":           {{Name: " "}},
		"empty alias":       {{Name: "A1", Aliases: []string{"-"}}},
		"alias clash":       {{Name: "A1"}, {Name: "B1", Aliases: []string{"a1"}}},
		"series is a model": {{Name: "A1"}, {Name: "B1", Series: []string{"A1 series"}}},
		"empty series":      {{Name: "A1", Series: []string{""}}},
	} {
		if err := CheckModels(models); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzMatchModel(f *testing.F) {
	for _, s := range []string{"Canon TS8300 series", "EPSON ET-2850 Series", "TS9500 series", "", "\x00\xff", "canon canon"} {
		f.Add("", s)
	}
	f.Fuzz(func(t *testing.T, mk, s string) {
		m := MatchModel(canon, mk, s)
		if m.Eligible() && m.Kind != MatchName && m.Kind != MatchSeries {
			t.Fatalf("eligible match of kind %d", m.Kind)
		}
		if m.Kind == MatchName && len(m.Models) != 1 {
			t.Fatalf("name match with %d models", len(m.Models))
		}
	})
}
