package arsapi

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseHold reads a hold window as people write it: "0" or "none" (no
// hold), a Go duration in whole minutes ("24h", "90m", "1h30m") or a
// number of days ("2d"), and returns it in minutes, from 0 to
// MaxHoldMinutes.
func ParseHold(s string) (int, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	var d time.Duration
	switch {
	case s == "0" || s == "none":
		return 0, nil
	case strings.HasSuffix(s, "d"):
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil {
			return 0, fmt.Errorf("hold %q: want a duration such as 24h, 90m or 2d, or 0 for none", s)
		}
		if n < 0 || n > MaxHoldMinutes/(24*60) {
			// Checked before multiplying: a huge count of days would wrap
			// around to a short hold.
			return 0, fmt.Errorf("hold %s: want 0 (none) up to 14 days", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	default:
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("hold %q: want a duration such as 24h, 90m or 2d, or 0 for none", s)
		}
	}
	if d < 0 || d > MaxHoldMinutes*time.Minute {
		return 0, fmt.Errorf("hold %s: want 0 (none) up to 14 days", s)
	}
	if d%time.Minute != 0 {
		return 0, fmt.Errorf("hold %s: want whole minutes", s)
	}
	return int(d / time.Minute), nil
}

// HoldText writes a hold window of minutes as ParseHold reads it back:
// "none", "24h", "1h30m", "45m".
func HoldText(minutes int) string {
	if minutes <= 0 {
		return "none"
	}
	h, m := minutes/60, minutes%60
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%dm", h, m)
}
