package printer

import "testing"

func TestKind(t *testing.T) {
	tests := []struct {
		s           Supply
		kind        Kind
		reorderable bool
		label       string
	}{
		{Supply{Name: "PGBK", Type: "inkCartridge"}, KindInk, true, ""},
		{Supply{Name: "Color", Type: "inkCartridge", Colors: []string{"#00FFFF", "#FF00FF", "#FFFF00"}}, KindInk, true, ""},
		{Supply{Name: "Black TK-1170", Type: "toner"}, KindToner, true, ""},
		{Supply{Name: "Black", Type: "tonerCartridge"}, KindToner, true, ""},
		{Supply{Name: "C"}, KindUnknown, true, ""},
		{Supply{Name: "Cyan ink"}, KindInk, true, ""},
		{Supply{Name: "Waste Toner Box", Type: "wasteToner"}, KindWaste, false, "waste toner box"},
		{Supply{Name: "Waste", Type: "wasteInk"}, KindWaste, false, "waste tank"},
		{Supply{Name: "Ink absorber"}, KindWaste, false, "waste tank"},
		{Supply{Name: "Maintenance Box", Type: "wasteInk"}, KindWaste, false, "maintenance box"},
		{Supply{Name: "Maintenance Cartridge"}, KindWaste, false, "maintenance cartridge"},
		// A Canon MegaTank's maintenance cartridge (testdata/ipp/canon-g4080-series.txt),
		// also when a printer sends no type.
		{Supply{Name: "MC", Type: "wasteInk"}, KindWaste, false, "maintenance cartridge"},
		{Supply{Name: "MC"}, KindWaste, false, "maintenance cartridge"},
		{Supply{Name: "Black(PGBK)", Type: "inkCartridge"}, KindInk, true, ""},
		{Supply{Name: "Box 1", Class: ClassReceptacle}, KindWaste, false, "waste tank"},
		// The class wins over a type that says otherwise.
		{Supply{Name: "Tank", Type: "inkCartridge", Class: ClassReceptacle}, KindWaste, false, "waste tank"},
		{Supply{Name: "Imaging Drum HP CE314A", Type: "opc"}, KindDrum, false, "drum"},
		{Supply{Name: "Drum Unit", Type: "other"}, KindDrum, false, "drum"},
		{Supply{Name: "Fuser Kit", Type: "fuser"}, KindPart, false, "part"},
		{Supply{Name: "Maintenance Kit"}, KindPart, false, "part"},
		{Supply{Name: "Staples", Type: "staples"}, KindOther, false, "supply"},
		{Supply{Name: "Thing", Type: "somethingNew"}, KindOther, false, "supply"},
	}
	for _, tt := range tests {
		if got := tt.s.Kind(); got != tt.kind {
			t.Errorf("%+v: Kind = %q, want %q", tt.s, got, tt.kind)
		}
		if got := tt.s.Reorderable(); got != tt.reorderable {
			t.Errorf("%+v: Reorderable = %v, want %v", tt.s, got, tt.reorderable)
		}
		if got := tt.s.KindLabel(); got != tt.label {
			t.Errorf("%+v: KindLabel = %q, want %q", tt.s, got, tt.label)
		}
	}
}

func TestLevelText(t *testing.T) {
	tests := []struct {
		s    Supply
		want string
	}{
		{Supply{Name: "BK", Level: 40}, "40%"},
		{Supply{Name: "Waste", Type: "wasteInk", Level: 34}, "34% full"},
		{Supply{Name: "Waste", Type: "wasteInk", Level: LevelSomeRemaining}, "not full"},
		{Supply{Name: "BK", Level: LevelSomeRemaining}, "some left"},
		{Supply{Name: "BK", Level: LevelUnknown}, "unknown"},
		{Supply{Name: "BK", Level: LevelOther}, "unknown"},
	}
	for _, tt := range tests {
		if got := tt.s.LevelText(); got != tt.want {
			t.Errorf("%+v: LevelText = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestColorKey(t *testing.T) {
	tests := []struct {
		s    Supply
		want string
	}{
		{Supply{ColorName: "cyan", Colors: []string{"#00FFFF"}}, "cyan"},
		{Supply{Colors: []string{"#000000"}}, "#000000"},
		{Supply{Colors: []string{"#00FFFF", "#FF00FF", "#FFFF00"}}, "#00FFFF#FF00FF#FFFF00"},
		{Supply{}, ""},
	}
	for _, tt := range tests {
		if got := tt.s.ColorKey(); got != tt.want {
			t.Errorf("%+v: ColorKey = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestCode(t *testing.T) {
	for name, want := range map[string]string{
		"Black(PGBK)": "PGBK", "Black(BK)": "BK", " Black (BK) ": "BK", "Photo Blue(PB)": "PB",
		"Cyan": "", "PGBK": "", "(BK)": "", "Black()": "", "Black(BK": "", "Ink (very long name)": "",
		"Black(P-BK)": "", "Black(GY)x": "",
	} {
		if got := (Supply{Name: name}).Code(); got != want {
			t.Errorf("Code(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestAnyLevel(t *testing.T) {
	asleep := []Supply{{Name: "Black(PGBK)", Level: LevelUnknown}, {Name: "Cyan", Level: LevelUnknown}, {Name: "MC", Level: LevelOther}}
	if AnyLevel(asleep) || AnyLevel(nil) {
		t.Error("AnyLevel true with every level unknown")
	}
	if !AnyLevel(append(asleep, Supply{Name: "Color", Level: LevelSomeRemaining})) || !AnyLevel([]Supply{{Level: 0}}) {
		t.Error("AnyLevel false with a level")
	}
}
