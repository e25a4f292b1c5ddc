package printer

import (
	"reflect"
	"testing"
	"time"
)

func TestSplitMakeModel(t *testing.T) {
	tests := []struct{ in, mk, model string }{
		{"Canon TS8320 series", "Canon", "TS8320 series"},
		{"CANON G3010 series", "Canon", "G3010 series"},
		{"HP OfficeJet Pro 9010 series", "HP", "OfficeJet Pro 9010 series"},
		{"Hewlett-Packard HP LaserJet M404", "HP", "HP LaserJet M404"},
		{"EPSON ET-2750 Series", "EPSON", "ET-2750 Series"},
		{"Konica Minolta bizhub C258", "Konica Minolta", "bizhub C258"},
		{"Acme Printer 9000", "Acme", "Printer 9000"},
		{"Canonical", "", "Canonical"},
		{"  ", "", ""},
		{"Printer", "", "Printer"},
	}
	for _, tt := range tests {
		mk, model := SplitMakeModel(tt.in)
		if mk != tt.mk || model != tt.model {
			t.Errorf("SplitMakeModel(%q) = %q, %q; want %q, %q", tt.in, mk, model, tt.mk, tt.model)
		}
	}
}

func TestNormalizeModel(t *testing.T) {
	tests := []struct{ mk, model, want string }{
		{"Canon", "Canon TS8320 series", "TS8320 series"},
		{"Canon", "TS8320 series", "TS8320 series"},
		{"CANON", "canon TS8320 series", "TS8320 series"},
		{"Lexmark International", "Lexmark MS610de", "MS610de"},
		{"HP", "Hewlett-Packard LaserJet", "LaserJet"},
		{"Hewlett-Packard", "HP LaserJet", "LaserJet"},
		{"Canon", "Canon", "Canon"},
		{"", "Canon TS8320 series", "Canon TS8320 series"},
		{"Canon", "", ""},
		{"Canon", "Canonical X", "Canonical X"},
	}
	for _, tt := range tests {
		if got := NormalizeModel(tt.mk, tt.model); got != tt.want {
			t.Errorf("NormalizeModel(%q, %q) = %q, want %q", tt.mk, tt.model, got, tt.want)
		}
	}
}

func TestNormalizeMake(t *testing.T) {
	tests := map[string]string{
		"Canon":                 "Canon",
		"CANON":                 "Canon",
		"Canon Inc.":            "Canon",
		"Hewlett-Packard":       "HP",
		"Lexmark International": "Lexmark",
		"EPSON":                 "EPSON",
		"Acme":                  "Acme",
		"Canonical":             "Canonical",
		" ":                     "",
	}
	for in, want := range tests {
		if got := NormalizeMake(in); got != want {
			t.Errorf("NormalizeMake(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskSerial(t *testing.T) {
	tests := map[string]string{
		"":          "",
		"AB":        "****",
		"ABCD":      "****",
		"KNMA01234": "****1234",
		"ÄÖÜ漢字かなカナ": "****かなカナ",
	}
	for in, want := range tests {
		if got := MaskSerial(in); got != want {
			t.Errorf("MaskSerial(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMerge(t *testing.T) {
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Minute)
	a := Printer{
		Name: "Canon TS8300 series", Host: "Canon-TS8300.local.", Addrs: []string{"fe80::1", "192.168.1.20"},
		Make: "Canon", UUID: "u1", Sources: []string{"mdns"}, Port: 631,
	}
	b := Printer{
		Name: "other name", Addrs: []string{"192.168.1.20", "192.168.1.3"}, Make: "Canon", Model: "TS8300 series",
		Serial: "KNMA01234", URI: "ipp://192.168.1.20:631/ipp/print", State: "idle",
		Supplies: []Supply{{Name: "C", Level: 40}}, LevelsReadAt: &t1, Sources: []string{"ipp"},
		Problems: []string{"SNMP: no answer"},
	}
	a.Merge(b)
	want := Printer{
		Name: "Canon TS8300 series", Host: "Canon-TS8300.local.", Addrs: []string{"192.168.1.3", "192.168.1.20", "fe80::1"},
		Port: 631, URI: "ipp://192.168.1.20:631/ipp/print", Make: "Canon", Model: "TS8300 series", Serial: "KNMA01234",
		UUID: "u1", State: "idle", Supplies: []Supply{{Name: "C", Level: 40}}, LevelsReadAt: &t1,
		Sources: []string{"mdns", "ipp"}, Problems: []string{"SNMP: no answer"},
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("got  %+v\nwant %+v", a, want)
	}
	// Newer levels replace older ones; older do not.
	a.Merge(Printer{Supplies: []Supply{{Name: "C", Level: 30}}, LevelsReadAt: &t2, Sources: []string{"ipp"}})
	if a.Supplies[0].Level != 30 || a.LevelsReadAt != &t2 {
		t.Errorf("newer levels not taken: %+v", a.Supplies)
	}
	a.Merge(Printer{Supplies: []Supply{{Name: "C", Level: 90}}, LevelsReadAt: &t1})
	if a.Supplies[0].Level != 30 {
		t.Errorf("older levels taken: %+v", a.Supplies)
	}
	if len(a.Sources) != 2 {
		t.Errorf("Sources = %q", a.Sources)
	}
}

func TestMergeDoesNotAlias(t *testing.T) {
	base := make([]string, 1, 4)
	base[0] = "10.0.0.1"
	a := Printer{Addrs: base}
	a.Merge(Printer{Addrs: []string{"10.0.0.2"}})
	if base[:2][1] == "10.0.0.2" {
		t.Error("Merge wrote into the caller's backing array")
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		p    Printer
		want string
	}{
		{Printer{UUID: "ABC", Serial: "S", Host: "h"}, "uuid:abc"},
		{Printer{Make: "Canon", Serial: "S1", Host: "h"}, "serial:canon/S1"},
		{Printer{Host: "Printer.local."}, "host:printer.local"},
		{Printer{Addrs: []string{"10.0.0.1"}}, "addr:10.0.0.1"},
		{Printer{}, ""},
	}
	for _, tt := range tests {
		if got := tt.p.Key(); got != tt.want {
			t.Errorf("Key(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestSortAddrs(t *testing.T) {
	got := SortAddrs([]string{"fe80::2", "x", "10.0.0.10", "::ffff:10.0.0.2", "10.0.0.9"})
	want := []string{"::ffff:10.0.0.2", "10.0.0.9", "10.0.0.10", "fe80::2", "x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
