package monitor

import (
	"time"

	"github.com/arsctl/arsctl/pkg/forecast"
	"github.com/arsctl/arsctl/pkg/printer"
)

const (
	// maxHistory bounds the level changes kept per supply: enough for the
	// current cartridge's trend and, for printers that say only "some
	// remaining", several past cycles, while a fleet's state file stays small.
	maxHistory = 64
	// maxHistorySupplies bounds the supplies of one printer with a history.
	maxHistorySupplies = 16
)

// recordHistory adds the levels read at `at` that differ from the last
// kept level of their supply. Supplies that are no longer reported (or are
// not ink or toner) lose their history.
func (ps *PrinterState) recordHistory(supplies []printer.Supply, at time.Time) {
	if ps.History == nil {
		ps.History = map[string][]forecast.Reading{}
	}
	seen := map[string]bool{}
	for _, s := range supplies {
		if !s.Reorderable() || len(seen) >= maxHistorySupplies || seen[s.Name] {
			continue
		}
		seen[s.Name] = true
		h := ps.History[s.Name]
		if n := len(h); n > 0 && (h[n-1].Level == s.Level || !at.After(h[n-1].At)) {
			continue
		}
		h = append(h, forecast.Reading{At: at, Level: s.Level})
		if len(h) > maxHistory {
			h = append([]forecast.Reading(nil), h[len(h)-maxHistory:]...)
		}
		ps.History[s.Name] = h
	}
	for name := range ps.History {
		if !seen[name] {
			delete(ps.History, name)
		}
	}
}

// forecasts estimates every supply with a history as of now. The history
// keeps only changes of level, so the last reading (the current level at
// LevelsReadAt) is added: a level unchanged for days was read for days,
// which the forecast's reason for having no rate says.
func (ps *PrinterState) forecasts(now time.Time) map[string]forecast.Forecast {
	if len(ps.History) == 0 {
		return nil
	}
	out := make(map[string]forecast.Forecast, len(ps.History))
	for name, h := range ps.History {
		if ps.LevelsReadAt != nil && len(h) > 0 && ps.LevelsReadAt.After(h[len(h)-1].At) {
			for _, s := range ps.Supplies {
				if s.Name == name {
					h = append(h[:len(h):len(h)], forecast.Reading{At: *ps.LevelsReadAt, Level: s.Level})
					break
				}
			}
		}
		out[name] = forecast.Estimate(h, now)
	}
	return out
}
