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
	// 275219977228197 days are 32 minutes more than a multiple of 2^64
	// nanoseconds: they were taken for a 32-minute hold.
	for _, in := range []string{"", "-1h", "15d", "30s", "soon", "xd", "275219977228197d", "-275219977228197d",
		"9223372036854775807d", "106752d", "-1d"} {
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

// FuzzParseHold: whatever is typed, a hold that parses is within 0 to 14
// days and reads back the same.
func FuzzParseHold(f *testing.F) {
	for _, s := range []string{"24h", "2d", "275219977228197d", "1h30m", "0", "none", "-1d", "9223372036854775807ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseHold(s)
		if err != nil {
			return
		}
		if m < 0 || m > MaxHoldMinutes {
			t.Fatalf("ParseHold(%q) = %d minutes", s, m)
		}
		if back, err := ParseHold(HoldText(m)); err != nil || back != m {
			t.Fatalf("ParseHold(HoldText(%d)) = %d, %v", m, back, err)
		}
	})
}
