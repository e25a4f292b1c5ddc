package printer

import (
	"slices"
	"testing"
)

func TestApplyStateReasons(t *testing.T) {
	toner := func(name string, level, low int) Supply {
		return Supply{Name: name, Type: "toner", Level: level, Low: low}
	}
	ink := func(name string, level, low int) Supply {
		return Supply{Name: name, Type: "inkCartridge", Level: level, Low: low}
	}
	wasteBox := Supply{Name: "Waste Toner Box", Type: "wasteToner", Level: 0, High: 95}
	tests := []struct {
		name      string
		supplies  []Supply
		reasons   []string
		want      []string // State of each supply
		unsaidLen int
	}{
		{
			name:     "Brother MFC-J5320DW: the levels already show it",
			supplies: []Supply{ink("M", 11, 18), ink("C", 9, 18), ink("Y", 45, 18), ink("BK", 11, 18)},
			reasons:  []string{"marker-supply-low-warning"},
			want:     []string{"", "", "", ""},
		},
		{
			name:     "HP M175nw: toner at 0 shows toner-low",
			supplies: []Supply{toner("Cyan", 0, 1), toner("Black", 0, 1), {Name: "Imaging Drum", Type: "opc", Level: 0}},
			reasons:  []string{"toner-low-warning"},
			want:     []string{"", "", ""},
		},
		{
			name:     "mono laser saying only some remaining",
			supplies: []Supply{toner("Black Toner", LevelSomeRemaining, 0), wasteBox},
			reasons:  []string{"toner-low-warning"},
			want:     []string{StateLow, ""},
		},
		{
			name:     "one toner whose coarse level lags what the printer says",
			supplies: []Supply{toner("Black Toner", 100, 0)},
			reasons:  []string{"toner-low-report"},
			want:     []string{StateLow},
		},
		{
			name:      "four toners at 100 and toner low: which one is not said",
			supplies:  []Supply{toner("C", 100, 0), toner("M", 100, 0), toner("Y", 100, 0), toner("K", 100, 0)},
			reasons:   []string{"toner-low-warning"},
			want:      []string{"", "", "", ""},
			unsaidLen: 1,
		},
		{
			name:     "the one ink without a percentage",
			supplies: []Supply{ink("Color", 60, 15), ink("Black", LevelSomeRemaining, 0)},
			reasons:  []string{"marker-supply-low-warning"},
			want:     []string{"", StateLow},
		},
		{
			name:      "two inks without a percentage",
			supplies:  []Supply{ink("Color", LevelSomeRemaining, 0), ink("Black", LevelSomeRemaining, 0)},
			reasons:   []string{"marker-ink-almost-empty-warning"},
			want:      []string{"", ""},
			unsaidLen: 1,
		},
		{
			name:     "empty wins over low, in either order",
			supplies: []Supply{toner("K", LevelSomeRemaining, 0)},
			reasons:  []string{"toner-empty-error", "marker-supply-low-warning"},
			want:     []string{StateEmpty},
		},
		{
			name:     "keywords in odd case and spacing",
			supplies: []Supply{toner("K", LevelUnknown, 0)},
			reasons:  []string{" Marker-Supply-Empty-Error "},
			want:     []string{StateEmpty},
		},
		{
			name:     "a toner reason says nothing of ink",
			supplies: []Supply{ink("K", LevelSomeRemaining, 0)},
			reasons:  []string{"toner-low-warning", "none", "media-empty-error", "marker-waste-almost-full-warning"},
			want:     []string{""},
		},
		{
			name:     "an empty reason on a supply at 0 is shown by its level",
			supplies: []Supply{ink("C", 0, 15), ink("K", LevelSomeRemaining, 0)},
			reasons:  []string{"marker-supply-empty-error"},
			want:     []string{"", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.supplies)
			out, unsaid := ApplyStateReasons(tt.supplies, tt.reasons)
			var got []string
			for _, s := range out {
				got = append(got, s.State)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("states = %q, want %q", got, tt.want)
			}
			if len(unsaid) != tt.unsaidLen {
				t.Errorf("unattributed = %q, want %d", unsaid, tt.unsaidLen)
			}
			if !slices.EqualFunc(in, tt.supplies, func(a, b Supply) bool { return a.State == b.State && a.Level == b.Level }) {
				t.Error("the supplies passed in were changed")
			}
		})
	}
}

func TestLevelTextOfState(t *testing.T) {
	for _, tt := range []struct {
		s    Supply
		want string
	}{
		{Supply{Name: "K", Type: "toner", Level: LevelSomeRemaining, State: StateLow}, "low"},
		{Supply{Name: "K", Type: "toner", Level: LevelUnknown, State: StateEmpty}, "empty"},
		{Supply{Name: "K", Type: "toner", Level: 40, State: StateLow}, "40%"},
		{Supply{Name: "K", Type: "toner", Level: LevelSomeRemaining}, "some left"},
	} {
		if got := tt.s.LevelText(); got != tt.want {
			t.Errorf("LevelText(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

// FuzzApplyStateReasons feeds any reasons, as a printer may send, to
// supplies of every kind of level: it never panics, sets only the two
// states, only on inks and toners, and leaves its input alone.
func FuzzApplyStateReasons(f *testing.F) {
	f.Add("marker-supply-low-warning", "toner-empty-error", int8(-3), int8(40))
	f.Add("TONER-LOW", "", int8(100), int8(-2))
	f.Add("marker-ink-almost-empty-report", "marker-supply-empty", int8(0), int8(-1))
	f.Add("\x00\xff-warning", "-error-error", int8(-128), int8(127))
	f.Fuzz(func(t *testing.T, r1, r2 string, l1, l2 int8) {
		in := []Supply{
			{Name: "K", Type: "toner", Level: int(l1), Low: 10},
			{Name: "C", Type: "inkCartridge", Level: int(l2)},
			{Name: "Waste", Type: "wasteInk", Level: int(l1)},
			{Name: "Drum", Type: "opc", Level: int(l2)},
		}
		orig := slices.Clone(in)
		out, unsaid := ApplyStateReasons(in, []string{r1, r2})
		if len(out) != len(in) || len(unsaid) > 2 {
			t.Fatalf("%d supplies out of %d, %d unattributed of 2", len(out), len(in), len(unsaid))
		}
		for i, s := range out {
			switch {
			case s.State != "" && s.State != StateLow && s.State != StateEmpty:
				t.Fatalf("state %q", s.State)
			case s.State != "" && !s.Reorderable():
				t.Fatalf("%s (not ink or toner) got state %q", s.Name, s.State)
			case in[i].State != orig[i].State || in[i].Level != orig[i].Level:
				t.Fatal("input changed")
			}
		}
	})
}
