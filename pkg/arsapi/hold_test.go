package arsapi

import "testing"

func TestParseHold(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "none": 0, "24h": 1440, "90m": 90, "1h30m": 90, "2d": 2880, "14d": MaxHoldMinutes} {
		got, err := ParseHold(in)
		if err != nil || got != want {
			t.Errorf("ParseHold(%q) = %d, %v; want %d", in, got, err, want)
		}
		if back, err := ParseHold(HoldText(got)); err != nil || back != got {
			t.Errorf("ParseHold(HoldText(%d)) = %d, %v", got, back, err)
		}
	}
	for _, in := range []string{"", "-1h", "15d", "30s", "soon", "xd"} {
		if _, err := ParseHold(in); err == nil {
			t.Errorf("ParseHold(%q) accepted", in)
		}
	}
	for m, want := range map[int]string{0: "none", 1440: "24h", 90: "1h30m", 45: "45m", 120: "2h"} {
		if got := HoldText(m); got != want {
			t.Errorf("HoldText(%d) = %q, want %q", m, got, want)
		}
	}
}
