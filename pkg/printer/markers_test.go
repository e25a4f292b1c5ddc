package printer

import (
	"reflect"
	"testing"
)

func TestFromMarkers(t *testing.T) {
	tests := []struct {
		name                 string
		names, colors, types []string
		levels, low, high    []int
		want                 []Supply
	}{
		{
			name:   "Canon PIXMA TS8320",
			names:  []string{"PGBK", "BK", "C", "M", "Y", "PB"},
			colors: []string{"#000000", "#000000", "#00FFFF", "#FF00FF", "#FFFF00", "#0080FF"},
			types:  []string{"inkCartridge", "inkCartridge", "inkCartridge", "inkCartridge", "inkCartridge", "inkCartridge"},
			levels: []int{80, 70, 60, 50, 40, 30},
			low:    []int{15, 15, 15, 15, 15, 15},
			high:   []int{100, 100, 100, 100, 100, 100},
			want: []Supply{
				{Name: "PGBK", Type: "inkCartridge", Colors: []string{"#000000"}, Level: 80, Low: 15, High: 100},
				{Name: "BK", Type: "inkCartridge", Colors: []string{"#000000"}, Level: 70, Low: 15, High: 100},
				{Name: "C", Type: "inkCartridge", Colors: []string{"#00FFFF"}, Level: 60, Low: 15, High: 100},
				{Name: "M", Type: "inkCartridge", Colors: []string{"#FF00FF"}, Level: 50, Low: 15, High: 100},
				{Name: "Y", Type: "inkCartridge", Colors: []string{"#FFFF00"}, Level: 40, Low: 15, High: 100},
				{Name: "PB", Type: "inkCartridge", Colors: []string{"#0080FF"}, Level: 30, Low: 15, High: 100},
			},
		},
		{
			name:   "Canon PIXMA with tri-colour cartridge",
			names:  []string{"Black", "Color"},
			colors: []string{"#000000", "#39D2E7#D945DD#DFD31D"},
			types:  []string{"inkCartridge", "inkCartridge"},
			levels: []int{20, -3},
			low:    []int{15, 15},
			high:   []int{100, 100},
			want: []Supply{
				{Name: "Black", Type: "inkCartridge", Colors: []string{"#000000"}, Level: 20, Low: 15, High: 100},
				{Name: "Color", Type: "inkCartridge", Colors: []string{"#39D2E7", "#D945DD", "#DFD31D"}, Level: LevelSomeRemaining, Low: 15, High: 100},
			},
		},
		{
			name:   "CUPS ippeveprinter style types and none colour",
			names:  []string{"Black Toner", "Waste"},
			colors: []string{"#000000", "none"},
			types:  []string{"toner", "waste-toner"},
			levels: []int{100, 0},
			want: []Supply{
				{Name: "Black Toner", Type: "toner", Colors: []string{"#000000"}, Level: 100},
				{Name: "Waste", Type: "wasteToner", Level: 0},
			},
		},
		{
			name:   "unequal lengths",
			names:  []string{"A", "B", "C"},
			colors: []string{"#ff0000"},
			levels: []int{10, 20},
			low:    []int{15, 15, 15, 15},
			want: []Supply{
				{Name: "A", Colors: []string{"#FF0000"}, Level: 10, Low: 15},
				{Name: "B", Level: 20, Low: 15},
				{Name: "C", Level: LevelUnknown, Low: 15},
			},
		},
		{
			name:   "no names",
			levels: []int{5, 200},
			want: []Supply{
				{Name: "marker-1", Level: 5},
				{Name: "marker-2", Level: LevelUnknown},
			},
		},
		{
			name:   "special and out-of-range levels",
			names:  []string{"a", "b", "c", "d", "e", "f"},
			levels: []int{-1, -2, -3, -4, 101, 100},
			low:    []int{-1, 101, 0, 0, 0, 0},
			want: []Supply{
				{Name: "a", Level: LevelOther},
				{Name: "b", Level: LevelUnknown},
				{Name: "c", Level: LevelSomeRemaining},
				{Name: "d", Level: LevelUnknown},
				{Name: "e", Level: LevelUnknown},
				{Name: "f", Level: 100},
			},
		},
		{name: "nothing", want: nil},
		{
			name:  "control characters in names",
			names: []string{" Cyan\x00 ink\n", ""},
			want: []Supply{
				{Name: "Cyan ink", Level: LevelUnknown},
				{Name: "marker-2", Level: LevelUnknown},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromMarkers(tt.names, tt.colors, tt.types, tt.levels, tt.low, tt.high)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestFromMarkersBounded(t *testing.T) {
	names := make([]string, 10000)
	if got := len(FromMarkers(names, nil, nil, nil, nil, nil)); got != maxSupplies {
		t.Errorf("len = %d, want %d", got, maxSupplies)
	}
}

func TestParseColors(t *testing.T) {
	tests := map[string][]string{
		"#39D2E7#D945DD#DFD31D": {"#39D2E7", "#D945DD", "#DFD31D"},
		"#00ffff":               {"#00FFFF"},
		"#0ff":                  {"#00FFFF"},
		"none":                  nil,
		"NONE":                  nil,
		"":                      nil,
		"#":                     nil,
		"#zzzzzz#000000":        {"#000000"},
		"#12345":                nil,
		"cyan":                  {"cyan"},
		"\x00\xff":              nil,
	}
	for in, want := range tests {
		if got := ParseColors(in); !reflect.DeepEqual(got, want) {
			t.Errorf("ParseColors(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeSupplyType(t *testing.T) {
	tests := map[string]string{
		"inkCartridge":       "inkCartridge",
		"InkCartridge":       "inkCartridge",
		"ink-cartridge":      "inkCartridge",
		"INK_CARTRIDGE":      "inkCartridge",
		"ink cartridge":      "inkCartridge",
		"toner":              "toner",
		"TONER":              "toner",
		"waste-ink":          "wasteInk",
		"none":               "",
		"":                   "",
		"other":              "other",
		"\xff\xfe":           "",
		"ink-cartridge\x00!": "inkCartridge",
	}
	for in, want := range tests {
		if got := NormalizeSupplyType(in); got != want {
			t.Errorf("NormalizeSupplyType(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzFromMarkers(f *testing.F) {
	f.Add("PGBK,BK,C", "#000000,#39D2E7#D945DD#DFD31D,none", "inkCartridge,ink-cartridge,toner", 80, -3, 15, 100)
	f.Add("", "", "", -2, -1, 0, 0)
	f.Fuzz(func(t *testing.T, names, colors, types string, l1, l2, low, high int) {
		got := FromMarkers(split(names), split(colors), split(types), []int{l1, l2}, []int{low}, []int{high})
		for _, s := range got {
			if s.Name == "" {
				t.Errorf("empty name in %+v", s)
			}
			if !(s.Known() || s.Level == LevelOther || s.Level == LevelUnknown || s.Level == LevelSomeRemaining) {
				t.Errorf("level %d out of range", s.Level)
			}
			if s.Low < 0 || s.Low > 100 || s.High < 0 || s.High > 100 {
				t.Errorf("low/high %d/%d out of range", s.Low, s.High)
			}
		}
	})
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
