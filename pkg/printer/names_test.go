package printer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUniqueNames: the supplies of an OKI colour laser behind CUPS, as
// its owner listed them in google/cloud-print-connector#101 (every toner
// "Toner Cartridge OKI DATA CORP", every drum "Image Drum Unit OKI DATA
// CORP"), with the colours such a printer sends: the toners and drums
// are told apart by colour; supplies of one colour by their place.
func TestUniqueNames(t *testing.T) {
	const toner, drum = "Toner Cartridge OKI DATA CORP", "Image Drum Unit OKI DATA CORP"
	hex := []string{"#00FFFF", "#FF00FF", "#FFFF00", "#000000"}
	var ss []Supply
	for _, c := range hex {
		ss = append(ss, Supply{Name: toner, Type: "toner", Colors: []string{c}, Level: 50})
	}
	for range hex {
		ss = append(ss, Supply{Name: drum + " ", Type: "opc", Level: 80})
	}
	ss = append(ss, Supply{Name: "Belt Unit OKI DATA CORP", Level: 60}, Supply{Name: "Fuser Unit OKI DATA CORP", Level: 70},
		Supply{Name: "Waste Toner box OKI DATA CORP", Type: "wasteToner", Level: 10})
	got := UniqueNames(ss)
	want := []string{toner + " (cyan)", toner + " (magenta)", toner + " (yellow)", toner + " (black)",
		drum + " (1)", drum + " (2)", drum + " (3)", drum + " (4)",
		"Belt Unit OKI DATA CORP", "Fuser Unit OKI DATA CORP", "Waste Toner box OKI DATA CORP"}
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
	}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("names\n%q\nwant\n%q", names, want)
	}
	if ss[0].Name != toner {
		t.Error("the supplies passed in were changed")
	}

	// Names already unique are kept as they are, the same slice.
	uniq := []Supply{{Name: "C"}, {Name: "M"}}
	if got := UniqueNames(uniq); &got[0] != &uniq[0] {
		t.Error("unique names: a copy was made")
	}

	// A made-up name that another supply already has is not reused.
	ss = []Supply{{Name: "K", ColorName: "black"}, {Name: "K", ColorName: "black"}, {Name: "K (1)"}}
	names = nil
	for _, s := range UniqueNames(ss) {
		names = append(names, s.Name)
	}
	if fmt.Sprint(names) != fmt.Sprint([]string{"K (1.2)", "K (2)", "K (1)"}) {
		t.Errorf("names %q", names)
	}
}

// FuzzUniqueNames: whatever names and colours a printer sends, the names
// come out unique and as many.
func FuzzUniqueNames(f *testing.F) {
	f.Add("K", "K", "K (1)", "#000000", "")
	f.Add(" a", "a ", "a (2)", "", "#00ffff")
	f.Fuzz(func(t *testing.T, a, b, c, ca, cb string) {
		ss := []Supply{{Name: a, Colors: []string{ca}}, {Name: b, ColorName: cb}, {Name: c}, {Name: a}}
		out := UniqueNames(ss)
		if len(out) != len(ss) {
			t.Fatalf("%d supplies out of %d", len(out), len(ss))
		}
		seen := map[string]bool{}
		for _, s := range out {
			k := strings.TrimSpace(s.Name)
			if seen[k] {
				t.Fatalf("name %q twice in %+v", k, out)
			}
			seen[k] = true
		}
	})
}

// TestUniqueNamesOKI reads the marker-names of the OKI as its owner
// published them (testdata/names): without colours, the four toners and
// the four drums are told apart by their place, and a report of them is
// one arsd takes (no name twice).
func TestUniqueNamesOKI(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "names", "oki-marker-names.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			names = append(names, l)
		}
	}
	ss := FromMarkers(names, nil, nil, nil, nil, nil)
	if len(ss) != 11 {
		t.Fatalf("%d supplies", len(ss))
	}
	got := UniqueNames(ss)
	seen := map[string]bool{}
	for _, s := range got {
		if seen[s.Name] {
			t.Errorf("%q twice", s.Name)
		}
		seen[s.Name] = true
	}
	for _, n := range []string{"Toner Cartridge OKI DATA CORP (1)", "Toner Cartridge OKI DATA CORP (4)",
		"Image Drum Unit OKI DATA CORP (2)", "Waste Toner box OKI DATA CORP"} {
		if !seen[n] {
			t.Errorf("no supply %q in %v", n, seen)
		}
	}
}
