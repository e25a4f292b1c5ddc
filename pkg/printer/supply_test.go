package printer

import (
	"reflect"
	"testing"
)

func TestParseSupplyEntry(t *testing.T) {
	tests := []struct {
		in      string
		want    Supply
		wantErr bool
	}{
		{
			in:   "index=1;class=supplyThatIsConsumed;type=inkCartridge;unit=percent;maxcapacity=100;level=40;colorantname=cyan;",
			want: Supply{Type: "inkCartridge", Class: ClassConsumed, ColorName: "cyan", Colors: []string{"#00FFFF"}, Level: 40},
		},
		{
			// ippeveprinter's waste tank: the level is how full it is.
			in:   "index=1;class=receptacleThatIsFilled;type=wasteToner;unit=percent;maxcapacity=100;level=25;colorantname=unknown;",
			want: Supply{Type: "wasteToner", Class: ClassReceptacle, Level: 25},
		},
		{
			in:   "class=receptacle-that-is-filled;type=other;level=10;unit=percent",
			want: Supply{Type: "other", Class: ClassReceptacle, Level: 10},
		},
		{
			in:   "class=bogus;type=toner;level=10;unit=percent",
			want: Supply{Type: "toner", Level: 10},
		},
		{
			in:   "type=inkCartridge;maxcapacity=100;level=40;colorantname=cyan;",
			want: Supply{Type: "inkCartridge", ColorName: "cyan", Colors: []string{"#00FFFF"}, Level: 40},
		},
		{
			// Scaled by maxcapacity: 150 of 600 is 25 %.
			in:   "type=toner;maxcapacity=600;level=150;colorantname=black;",
			want: Supply{Type: "toner", ColorName: "black", Colors: []string{"#000000"}, Level: 25},
		},
		{
			in:   "type=wasteInk;maxcapacity=-2;level=-3;",
			want: Supply{Type: "wasteInk", Level: LevelSomeRemaining},
		},
		{
			in:   "type=inkCartridge;maxcapacity=-2;level=50;",
			want: Supply{Type: "inkCartridge", Level: LevelSomeRemaining},
		},
		{
			in:   "type=inkCartridge;maxcapacity=0;level=0;",
			want: Supply{Type: "inkCartridge", Level: LevelUnknown},
		},
		{
			in:   "type=ink-cartridge;unit=percent;level=77;colorantname=photo-black",
			want: Supply{Type: "inkCartridge", ColorName: "photo-black", Colors: []string{"#000000"}, Level: 77},
		},
		{
			in:   "TYPE=Toner; MaxCapacity = 100 ; LEVEL = 101 ;",
			want: Supply{Type: "toner", Level: LevelUnknown},
		},
		{
			in:   "type=inkCartridge;maxcapacity=100;level=-1;colorantname=unknown;",
			want: Supply{Type: "inkCartridge", Level: LevelOther},
		},
		{
			in:   "level=abc;maxcapacity=100;level=10",
			want: Supply{Level: LevelUnknown},
		},
		{in: "", want: Supply{Level: LevelUnknown}, wantErr: true},
		{in: "garbage without pairs", want: Supply{Level: LevelUnknown}, wantErr: true},
		{in: ";;;=;", want: Supply{Level: LevelUnknown}, wantErr: true},
		{
			in:   "type=inkCartridge;maxcapacity=9223372036854775807;level=9223372036854775807",
			want: Supply{Type: "inkCartridge", Level: 100},
		},
	}
	for _, tt := range tests {
		got, err := ParseSupplyEntry(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseSupplyEntry(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSupplyEntry(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func TestFromPrinterSupply(t *testing.T) {
	values := []string{
		"index=1;class=supplyThatIsConsumed;type=inkCartridge;unit=percent;maxcapacity=100;level=80;colorantname=black;",
		"index=2;class=supplyThatIsConsumed;type=inkCartridge;unit=percent;maxcapacity=100;level=60;colorantname=cyan;",
		"\x00\x01garbage",
		"type=inkCartridge;maxcapacity=100;level=5;colorantname=magenta;",
	}
	desc := []string{"Black(PGBK)", "Cyan", "", ""}
	want := []Supply{
		{Name: "Black(PGBK)", Type: "inkCartridge", Class: ClassConsumed, ColorName: "black", Colors: []string{"#000000"}, Level: 80},
		{Name: "Cyan", Type: "inkCartridge", Class: ClassConsumed, ColorName: "cyan", Colors: []string{"#00FFFF"}, Level: 60},
		{Name: "supply-3", Level: LevelUnknown},
		{Name: "magenta", Type: "inkCartridge", ColorName: "magenta", Colors: []string{"#FF00FF"}, Level: 5},
	}
	if got := FromPrinterSupply(values, desc); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// More descriptions than values.
	got := FromPrinterSupply(nil, []string{"Yellow"})
	if len(got) != 1 || got[0].Name != "Yellow" || got[0].Level != LevelUnknown {
		t.Errorf("descriptions only: %+v", got)
	}
	if FromPrinterSupply(nil, nil) != nil {
		t.Error("empty input gave supplies")
	}
}

func TestMergeSupplies(t *testing.T) {
	markers := []Supply{{Name: "C", Level: 40, Low: 15}, {Name: "M", Level: LevelUnknown}}
	supply := []Supply{{Name: "Cyan", ColorName: "cyan", Type: "inkCartridge", Level: 40}, {Name: "Magenta", ColorName: "magenta", Level: 30}}
	got := MergeSupplies(markers, supply)
	want := []Supply{
		{Name: "C", ColorName: "cyan", Type: "inkCartridge", Level: 40, Low: 15},
		{Name: "M", ColorName: "magenta", Level: 30},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if got := MergeSupplies(nil, supply); !reflect.DeepEqual(got, supply) {
		t.Errorf("primary empty: %+v", got)
	}
	if got := MergeSupplies(markers, supply[:1]); !reflect.DeepEqual(got, markers) {
		t.Errorf("count mismatch: %+v", got)
	}
	// As many entries, but not the same supplies (ippeveprinter's own
	// printer-supply next to a Canon's marker-*): the ink does not become
	// a waste tank.
	inks := []Supply{{Name: "Black", Type: "inkCartridge", Level: 60}, {Name: "Color", Type: "inkCartridge", Level: 40}}
	other := []Supply{{Name: "Toner Waste Tank", Type: "wasteToner", Class: ClassReceptacle, Level: 25},
		{Name: "Black Toner", Type: "toner", Class: ClassConsumed, ColorName: "black", Level: 75}}
	got = MergeSupplies(inks, other)
	if got[0].Class != "" || got[0].Kind() != KindInk || got[1].ColorName != "" {
		t.Errorf("unrelated supplies merged: %+v", got)
	}
}

func FuzzParseSupplyEntry(f *testing.F) {
	addCorpus(f, "printer-supply")
	f.Add("index=1;class=supplyThatIsConsumed;type=inkCartridge;unit=percent;maxcapacity=100;level=40;colorantname=cyan;")
	f.Add("type=toner;maxcapacity=-2;level=-3;")
	f.Fuzz(func(t *testing.T, v string) {
		s, err := ParseSupplyEntry(v)
		if err == nil && !(s.Known() || s.Level == LevelOther || s.Level == LevelUnknown || s.Level == LevelSomeRemaining) {
			t.Errorf("ParseSupplyEntry(%q).Level = %d", v, s.Level)
		}
		for _, got := range FromPrinterSupply([]string{v, v}, []string{v}) {
			if got.Name == "" {
				t.Errorf("empty name for %q", v)
			}
		}
	})
}
