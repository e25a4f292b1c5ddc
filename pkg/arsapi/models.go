package arsapi

import (
	"fmt"
	"slices"
	"strings"

	"github.com/arsctl/arsctl/pkg/printer"
)

// MatchKind says how a reported printer name relates to the eligible
// models.
type MatchKind int

// The kinds of match, from no match to a series.
const (
	// MatchNone: a printer of a make the service serves (or of an unknown
	// make) whose name is no eligible model or series.
	MatchNone MatchKind = iota
	// MatchOtherMake: the printer is of a make none of the eligible models
	// is (ModelMatch.Make names it).
	MatchOtherMake
	// MatchName: the name, or an alias, of one eligible model.
	MatchName
	// MatchSeries: a series name; ModelMatch.Models are the eligible models
	// it covers, one or more.
	MatchSeries
)

// ModelMatch is the answer of MatchModel.
type ModelMatch struct {
	Kind MatchKind
	// Models are the eligible models the name stands for, in catalogue
	// order: one for MatchName, one or more for MatchSeries.
	Models []Model
	// Series is the matched series as the catalogue spells it (MatchSeries).
	Series string
	// Make is the printer's make (MatchOtherMake).
	Make string
}

// Eligible reports whether the name stands for at least one eligible model.
func (m ModelMatch) Eligible() bool { return len(m.Models) > 0 }

// Unique returns the one eligible model the name stands for; false when
// there is none or the owner must choose among several.
func (m ModelMatch) Unique() (Model, bool) {
	if len(m.Models) != 1 {
		return Model{}, false
	}
	return m.Models[0], true
}

// Names returns the canonical names of m.Models.
func (m ModelMatch) Names() []string { return ModelNames(m.Models) }

// Covers returns the canonical name of the model among m.Models that name
// (a model name or alias) stands for, or false.
func (m ModelMatch) Covers(name string) (string, bool) {
	k := ModelKey(name)
	if k == "" {
		return "", false
	}
	for _, mo := range m.Models {
		for _, n := range append([]string{mo.Name}, mo.Aliases...) {
			if ModelKey(n) == k {
				return mo.Name, true
			}
		}
	}
	return "", false
}

// ModelNames returns the canonical names of models, in order.
func ModelNames(models []Model) []string {
	out := make([]string, len(models))
	for i, m := range models {
		out[i] = m.Name
	}
	return out
}

// MatchModel is the one rule, used by arsd and arsctl alike, that says
// which eligible models a printer is: reported is the name the printer
// gives (IPP printer-make-and-model, 1284 MDL:, mDNS ty, with or without
// the make), mk its make when known apart ("" otherwise). Names are
// compared by ModelKey. In order:
//
//  1. a make (mk, or the known make reported starts with) that none of the
//     models has is MatchOtherMake — when the models say their make;
//  2. a model's name or alias is MatchName: "TS8320", "Canon TS8320a",
//     "TS8320 series";
//  3. a series is MatchSeries with every model it covers: "Canon TS8300
//     series" is the TS8320, "TS9500 series" the TS9520 or the TS9521C;
//  4. anything else is MatchNone.
func MatchModel(models []Model, mk, reported string) ModelMatch {
	if made := reportedMake(mk, reported); made != "" && !servesMake(models, made) {
		return ModelMatch{Kind: MatchOtherMake, Make: made}
	}
	k := ModelKey(reported)
	if k == "" {
		return ModelMatch{}
	}
	for _, m := range models {
		for _, n := range append([]string{m.Name}, m.Aliases...) {
			if ModelKey(n) == k {
				return ModelMatch{Kind: MatchName, Models: []Model{m}}
			}
		}
	}
	var out ModelMatch
	for _, m := range models {
		for _, s := range m.Series {
			if ModelKey(s) == k {
				if out.Series == "" {
					out.Series = s
				}
				out.Models = append(out.Models, m)
				break
			}
		}
	}
	if len(out.Models) > 0 {
		out.Kind = MatchSeries
	}
	return out
}

// reportedMake is the printer's make: mk when given, else the known
// manufacturer reported starts with.
func reportedMake(mk, reported string) string {
	if mk = strings.TrimSpace(mk); mk != "" {
		return printer.NormalizeMake(mk)
	}
	return printer.KnownMake(reported)
}

// servesMake reports whether a model is of make mk; models that do not say
// their make serve every make.
func servesMake(models []Model, mk string) bool {
	for _, m := range models {
		if m.Make == "" || strings.EqualFold(printer.NormalizeMake(m.Make), mk) {
			return true
		}
	}
	return len(models) == 0
}

// Makes returns the makes of models, once each, in order.
func Makes(models []Model) []string {
	var out []string
	for _, m := range models {
		if m.Make != "" && !slices.Contains(out, m.Make) {
			out = append(out, m.Make)
		}
	}
	return out
}

// CheckModels reports the first way models cannot be matched without
// doubt: a model without a name, an empty alias or series, a name or alias
// that stands for two models, or a series that is also the name of a model
// it does not cover.
func CheckModels(models []Model) error {
	byKey := map[string]string{}
	for _, m := range models {
		if strings.TrimSpace(m.Name) == "" {
			return fmt.Errorf("a model has no name")
		}
		for _, n := range append([]string{m.Name}, m.Aliases...) {
			k := ModelKey(n)
			if k == "" {
				return fmt.Errorf("model %q has an empty alias", m.Name)
			}
			if prev, ok := byKey[k]; ok && prev != m.Name {
				return fmt.Errorf("%q names both %s and %s", n, prev, m.Name)
			}
			byKey[k] = m.Name
		}
	}
	for _, m := range models {
		for _, s := range m.Series {
			k := ModelKey(s)
			if k == "" {
				return fmt.Errorf("model %q has an empty series", m.Name)
			}
			if other, ok := byKey[k]; ok && other != m.Name {
				return fmt.Errorf("series %q of %s is the name of %s", s, m.Name, other)
			}
		}
	}
	return nil
}

// Why says, for people, why the printer named reported is not eligible:
// of another make ("this service does not serve EPSON printers; it serves
// Canon printers"), or a model of the right make that is not on the list
// ("the Canon MX490 series is not an eligible model"). It is "" for an
// eligible match.
func (m ModelMatch) Why(models []Model, reported string) string {
	switch {
	case m.Eligible():
		return ""
	case m.Kind == MatchOtherMake:
		s := "this service does not serve " + m.Make + " printers"
		if makes := Makes(models); len(makes) > 0 {
			s += "; it serves " + strings.Join(makes, " and ") + " printers"
		}
		return s
	}
	return "the " + strings.TrimSpace(reported) + " is not an eligible model"
}
