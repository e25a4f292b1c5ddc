package cmdutil

import (
	"testing"

	"github.com/arsctl/arsctl/pkg/printer"
)

func TestShortName(t *testing.T) {
	tests := []struct {
		s    printer.Supply
		want string
	}{
		{printer.Supply{Name: "PGBK"}, "PGBK"},
		{printer.Supply{Name: "Black Toner", ColorName: "black"}, "BK"},
		{printer.Supply{Name: "Cyan Cartridge", Colors: []string{"#00ffff"}}, "C"},
		{printer.Supply{Name: "Colour ink", Colors: []string{"#00FFFF", "#FF00FF"}}, "CL"},
		{printer.Supply{Name: "Color", Colors: []string{"#00FFFF", "#FF00FF"}}, "Color"},
		{printer.Supply{Name: "Toner Waste Tank", Type: "wasteToner"}, "waste"},
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
	if got, want := Levels(ss), "PGBK 80% C 5% CL ok Waste ?"; got != want {
		t.Errorf("Levels = %q, want %q", got, want)
	}
	if got := Levels(nil); got != "" {
		t.Errorf("Levels(nil) = %q, want empty", got)
	}
}
