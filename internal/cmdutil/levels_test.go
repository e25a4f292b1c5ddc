package cmdutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/arsctl/arsctl/pkg/ipp"
	"github.com/arsctl/arsctl/pkg/printer"
)

func TestShortName(t *testing.T) {
	tests := []struct {
		s    printer.Supply
		want string
	}{
		{printer.Supply{Name: "PGBK"}, "PGBK"},
		// Canon's names: its two blacks keep apart by their codes.
		{printer.Supply{Name: "Black(PGBK)", Type: "inkCartridge", Colors: []string{"#000000"}}, "PGBK"},
		{printer.Supply{Name: "Black(BK)", Type: "inkCartridge", Colors: []string{"#000000"}}, "BK"},
		{printer.Supply{Name: "Magenta", Type: "inkCartridge", ColorName: "magenta"}, "Magenta"},
		{printer.Supply{Name: "Black Toner", ColorName: "black"}, "BK"},
		{printer.Supply{Name: "Cyan Cartridge", Colors: []string{"#00ffff"}}, "C"},
		{printer.Supply{Name: "Colour ink", Colors: []string{"#00FFFF", "#FF00FF"}}, "CL"},
		{printer.Supply{Name: "Color", Colors: []string{"#00FFFF", "#FF00FF"}}, "Color"},
		{printer.Supply{Name: "Toner Waste Tank", Type: "wasteToner"}, "waste toner box"},
		{printer.Supply{Name: "Imaging Drum HP CE314A", Type: "opc"}, "drum"},
		{printer.Supply{Name: "Photo Blue ink"}, "PhotoBlueink"},
		{printer.Supply{}, "?"},
	}
	for _, tt := range tests {
		if got := ShortName(tt.s); got != tt.want {
			t.Errorf("ShortName(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestLevels(t *testing.T) {
	ss := []printer.Supply{{Name: "PGBK", Level: 80}, {Name: "Cyan ink", ColorName: "cyan", Level: 5},
		{Name: "Tri-colour", Colors: []string{"#00FFFF", "#FF00FF"}, Level: printer.LevelSomeRemaining},
		{Name: "Waste", Type: "wasteInk", Level: printer.LevelUnknown}}
	if got, want := Levels(ss), "PGBK 80% C 5% CL ok; waste tank ?"; got != want {
		t.Errorf("Levels = %q, want %q", got, want)
	}
	// A waste tank is not listed among the inks, and says how full it is.
	ss = []printer.Supply{{Name: "Waste", Type: "wasteInk", Level: 34}, {Name: "BK", Type: "inkCartridge", Level: 80},
		{Name: "Imaging Drum", Type: "opc", Level: 60}, {Name: "Y", Level: 20}}
	if got, want := Levels(ss), "BK 80% Y 20%; waste tank 34% full; drum 60%"; got != want {
		t.Errorf("Levels = %q, want %q", got, want)
	}
	ss = []printer.Supply{{Name: "Maintenance Box", Class: printer.ClassReceptacle, Level: printer.LevelSomeRemaining}}
	if got, want := Levels(ss), "maintenance box not full"; got != want {
		t.Errorf("Levels = %q, want %q", got, want)
	}
	// What the printer says in words: instead of "ok", or after a
	// percentage that says otherwise.
	ss = []printer.Supply{{Name: "K", Type: "toner", Level: printer.LevelSomeRemaining, State: printer.StateLow},
		{Name: "C", Type: "toner", Level: 100, State: printer.StateEmpty}, {Name: "M", Type: "toner", Level: printer.LevelSomeRemaining}}
	if got, want := Levels(ss), "K low C 100% (empty) M ok"; got != want {
		t.Errorf("Levels = %q, want %q", got, want)
	}
	if got := Levels(nil); got != "" {
		t.Errorf("Levels(nil) = %q, want empty", got)
	}
}

// TestLevelsRealCanon shows the supplies of a real Canon G4080 (its marker
// lines, testdata/ipp) as discover, status and monitor do.
func TestLevelsRealCanon(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ipp", "canon-g4080-series.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err = ipp.CaptureResponse(b); err != nil {
		t.Fatal(err)
	}
	p, err := ipp.DecodeResponse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Levels(p.Supplies), "PGBK 90% Cyan 90% Magenta 90% Yellow 88%; maintenance cartridge 10% full"; got != want {
		t.Errorf("Levels = %q, want %q", got, want)
	}
}
