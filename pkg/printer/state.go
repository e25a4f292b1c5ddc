package printer

import (
	"slices"
	"strings"
)

// What a printer says of a supply in words rather than as a level
// (Supply.State).
const (
	// StateLow: the printer says the supply is low.
	StateLow = "low"
	// StateEmpty: the printer says the supply is empty.
	StateEmpty = "empty"
)

// supplyReason is what one printer-state-reasons keyword says of the
// supplies: low or empty, of which kinds (ink, toner, or any ink or
// toner when kinds is nil).
type supplyReason struct {
	state string
	kinds []Kind
}

// supplyReasons are the printer-state-reasons keywords (RFC 8011 and
// PWG 5100.9, without their -report, -warning or -error suffix) that say
// an ink or toner is low or empty. They name no supply: a printer says
// "marker-supply-low-warning" whichever of its inks is low.
var supplyReasons = map[string]supplyReason{
	"marker-supply-low":          {StateLow, nil},
	"marker-supply-almost-empty": {StateLow, nil},
	"marker-ink-almost-empty":    {StateLow, []Kind{KindInk}},
	"toner-low":                  {StateLow, []Kind{KindToner}},
	"marker-supply-empty":        {StateEmpty, nil},
	"marker-ink-empty":           {StateEmpty, []Kind{KindInk}},
	"toner-empty":                {StateEmpty, []Kind{KindToner}},
}

// describe says what the reason says, in words, with its keyword:
// "an ink or toner is low (marker-supply-low)".
func (r supplyReason) describe(keyword string) string {
	what := "an ink or toner"
	switch {
	case kindIn(KindInk, r.kinds):
		what = "an ink"
	case kindIn(KindToner, r.kinds):
		what = "a toner"
	}
	return what + " is " + r.state + " (" + keyword + ")"
}

// reasonKeyword is a printer-state-reasons value without its severity
// suffix, in lower case.
func reasonKeyword(v string) string {
	k := strings.ToLower(strings.TrimSpace(v))
	for _, sfx := range []string{"-report", "-warning", "-error"} {
		if strings.HasSuffix(k, sfx) {
			return strings.TrimSuffix(k, sfx)
		}
	}
	return k
}

// ApplyStateReasons reads the printer's printer-state-reasons for what
// they say of its inks and toners, and sets the State of the supply they
// can only mean. Such a reason ("marker-supply-low-warning",
// "toner-empty-error") names no supply, so it is attributed only when
// that is unambiguous:
//
//   - when a supply's percentage already shows it (at or below its low
//     mark for a low reason, at 0 for an empty one) nothing is set: the
//     level says it;
//   - else when the printer has one ink or toner the reason can be about
//     (a mono laser's toner), that one is low or empty, whatever its level
//     says (printers whose levels move in large steps say low first);
//   - else when exactly one of them has no percentage (a level of "some
//     remaining", "other" or "unknown"), that one is;
//   - else it is described in unattributed ("an ink or toner is low
//     (marker-supply-low-warning)"), so that the caller can say the
//     printer reports a low supply without saying which.
//
// Empty wins over low. Supplies are returned in a new slice; reasons
// that say nothing of inks and toners are ignored. It never panics,
// whatever the reasons hold.
func ApplyStateReasons(supplies []Supply, reasons []string) (out []Supply, unattributed []string) {
	out = append([]Supply(nil), supplies...)
	for _, raw := range reasons {
		r, ok := supplyReasons[reasonKeyword(raw)]
		if !ok {
			continue
		}
		var cands []int
		shown := false
		for i, s := range out {
			if !s.Reorderable() || (r.kinds != nil && !kindIn(s.Kind(), r.kinds)) {
				continue
			}
			cands = append(cands, i)
			if s.Level == 0 || (r.state == StateLow && s.ShowsLow()) {
				shown = true
			}
		}
		if shown || len(cands) == 0 {
			continue
		}
		target := -1
		if len(cands) == 1 {
			target = cands[0]
		} else if nop := withoutPercent(out, cands); len(nop) == 1 {
			target = nop[0]
		}
		if target < 0 {
			unattributed = append(unattributed, r.describe(reasonKeyword(raw)))
			continue
		}
		if out[target].State != StateEmpty {
			out[target].State = r.state
		}
	}
	return out, unattributed
}

// ShowsLow reports whether the supply's percentage shows it low: at 0, or
// at or below the printer's own low mark. A printer's low reason
// (ApplyStateReasons) may be about such a supply, so it is not
// attributed to another.
func (s Supply) ShowsLow() bool {
	return s.Known() && (s.Level == 0 || (s.Low > 0 && s.Level <= s.Low))
}

// withoutPercent returns the candidates whose level is not a percentage.
func withoutPercent(ss []Supply, cands []int) []int {
	var out []int
	for _, i := range cands {
		if !ss[i].Known() {
			out = append(out, i)
		}
	}
	return out
}

func kindIn(k Kind, ks []Kind) bool { return slices.Contains(ks, k) }
