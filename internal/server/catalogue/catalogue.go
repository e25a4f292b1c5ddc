// Package catalogue is what arsd offers before anyone enrolls: the terms an
// owner agrees to, the eligible printer models (with the names printers
// report for them) and the reasons an owner can give when cancelling.
//
// Everything has a default (Canon's US list of eligible PIXMA models) and
// can be replaced from arsd's configuration file.
package catalogue

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/arsctl/arsctl/internal/server/reorder"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Config overrides the defaults; a zero field keeps the default. It is the
// "catalogue" section of arsd's configuration file.
type Config struct {
	Terms         *TermsConfig          `json:"terms,omitempty"`
	Models        []arsapi.Model        `json:"models,omitempty"`
	CancelReasons []arsapi.CancelReason `json:"cancel_reasons,omitempty"`
	// DefaultThreshold is the supply level (percent) at or below which ink is
	// ordered when the printer does not report its own low level.
	DefaultThreshold int `json:"default_threshold,omitempty"`
}

// TermsConfig overrides the terms. AboutURL may be relative ("/about"); it
// is resolved against the public base URL.
type TermsConfig struct {
	Version  string `json:"version"`
	Title    string `json:"title"`
	Text     string `json:"text"`
	AboutURL string `json:"about_url,omitempty"`
}

// Catalogue is the immutable catalogue a server runs with.
type Catalogue struct {
	terms     arsapi.Terms
	models    []arsapi.Model
	reasons   []arsapi.CancelReason
	threshold int
}

// DefaultTermsVersion is the version of the built-in terms.
const DefaultTermsVersion = "2026-01"

// DefaultThreshold is the built-in ordering threshold in percent.
const DefaultThreshold = 15

// defaultTermsText says, in our own words, what the owner agrees to.
const defaultTermsText = `The Auto Replenishment Service watches the ink levels your printer reports and orders new ink automatically when a supply runs low, so that you do not run out in the middle of a print job.

You choose who fulfils the orders: Canon, through this service, or Amazon Dash Replenishment, through your Amazon account. Orders are charged and shipped by the provider you choose, at its prices and on its terms.

To do this, the service keeps your printer's model, serial number and the supply levels it reports, and the orders placed for it. It uses them only to run the service.

One order is placed per supply when the supply is expected to run out before new ink could arrive, and at the latest when the printer reports it low; no further order for that supply is placed until a new cartridge has been fitted. A new order may first be scheduled for a while (shown in your account), during which you can skip it or have it shipped at once.

You can cancel at any time from your account or with arsctl cancel. Cancelling stops all further orders at once: orders still scheduled are skipped, and orders already handed to the provider are not affected.`

// defaultModels is Canon's US list of PIXMA models eligible for the
// service (each also sold as a regional "a" variant, e.g. TS8320a), with
// the series name each reports for itself. Canon printers never report the
// regional model number: IPP printer-make-and-model, the IEEE 1284 MDL:
// and the mDNS ty all say "Canon TS8300 series". The series names are
// those of Canon's own drivers and of captures from the devices; each one's
// evidence is in testdata/canon-series/README.md. The TS9521C is the
// TS9520 sold with crafting accessories: both report "TS9500 series", so an
// owner of either says which one it is.
var defaultModels = []struct{ name, series string }{
	{"PRO-200", "PRO-200 series"},
	{"TR150", "TR150 series"},
	{"TR4520", "TR4500 series"},
	{"TR8620", "TR8600 series"},
	{"TS3320", "TS3300 series"},
	{"TS5320", "TS5300 series"},
	{"TS6220", "TS6200 series"},
	{"TS6320", "TS6300 series"},
	{"TS702", "TS700 series"},
	{"TS8220", "TS8200 series"},
	{"TS8320", "TS8300 series"},
	{"TS9520", "TS9500 series"},
	{"TS9521C", "TS9500 series"},
}

var defaultReasons = []arsapi.CancelReason{
	{ID: "too-expensive", Label: "The ink costs too much"},
	{ID: "prefer-buying-myself", Label: "I prefer to buy ink myself"},
	{ID: "printing-less", Label: "I print less than before"},
	{ID: "replacing-printer", Label: "I am replacing or no longer use this printer"},
	{ID: "delivery-problems", Label: "Deliveries were late or wrong"},
	{ID: "other", Label: "Other", TakesComment: true},
}

// DefaultModels returns the built-in eligible models with their aliases
// and series.
func DefaultModels() []arsapi.Model {
	out := make([]arsapi.Model, 0, len(defaultModels))
	for _, m := range defaultModels {
		out = append(out, arsapi.Model{Name: m.name, Make: "Canon", Aliases: []string{m.name + "a"}, Series: []string{m.series}})
	}
	return out
}

// DefaultCancelReasons returns the built-in cancel reasons.
func DefaultCancelReasons() []arsapi.CancelReason { return slices.Clone(defaultReasons) }

var reasonID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// New builds a catalogue from cfg over the defaults. publicURL is the
// server's public base URL, used to resolve a relative about URL; the
// default about URL is publicURL + "/about".
func New(cfg Config, publicURL string) (*Catalogue, error) {
	publicURL = strings.TrimRight(publicURL, "/")
	c := &Catalogue{
		terms: arsapi.Terms{
			Version:  DefaultTermsVersion,
			Title:    "Auto Replenishment Service: terms of the plan",
			Text:     defaultTermsText,
			AboutURL: publicURL + "/about",
		},
		models:    DefaultModels(),
		reasons:   DefaultCancelReasons(),
		threshold: DefaultThreshold,
	}
	if t := cfg.Terms; t != nil {
		if t.Version == "" || t.Title == "" || t.Text == "" {
			return nil, errors.New("catalogue: terms need a version, a title and a text")
		}
		c.terms.Version, c.terms.Title, c.terms.Text = t.Version, t.Title, t.Text
		switch {
		case t.AboutURL == "":
		case strings.HasPrefix(t.AboutURL, "/"):
			c.terms.AboutURL = publicURL + t.AboutURL
		default:
			c.terms.AboutURL = t.AboutURL
		}
	}
	if len(cfg.Models) > 0 {
		c.models = slices.Clone(cfg.Models)
	}
	if len(cfg.CancelReasons) > 0 {
		c.reasons = slices.Clone(cfg.CancelReasons)
	}
	if cfg.DefaultThreshold != 0 {
		if err := reorder.CheckThreshold(cfg.DefaultThreshold); err != nil {
			return nil, fmt.Errorf("catalogue: default_threshold: %w", err)
		}
		c.threshold = cfg.DefaultThreshold
	}

	if err := arsapi.CheckModels(c.models); err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	seen := make(map[string]bool)
	comment := 0
	for _, r := range c.reasons {
		if !reasonID.MatchString(r.ID) {
			return nil, fmt.Errorf("catalogue: cancel reason ID %q must be lower-case letters, digits and dashes", r.ID)
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("catalogue: cancel reason %q listed twice", r.ID)
		}
		if r.Label == "" {
			return nil, fmt.Errorf("catalogue: cancel reason %q has no label", r.ID)
		}
		seen[r.ID] = true
		if r.TakesComment {
			comment++
		}
	}
	if comment > 1 {
		return nil, errors.New("catalogue: only one cancel reason may take a comment")
	}
	return c, nil
}

// Terms returns the current terms.
func (c *Catalogue) Terms() arsapi.Terms { return c.terms }

// Models returns the eligible models.
func (c *Catalogue) Models() []arsapi.Model { return slices.Clone(c.models) }

// ModelNames returns the canonical names of the eligible models.
func (c *Catalogue) ModelNames() []string {
	out := make([]string, len(c.models))
	for i, m := range c.models {
		out[i] = m.Name
	}
	return out
}

// CancelReasons returns the cancel reasons.
func (c *Catalogue) CancelReasons() []arsapi.CancelReason { return slices.Clone(c.reasons) }

// ReasonIDs returns the IDs of the cancel reasons.
func (c *Catalogue) ReasonIDs() []string {
	out := make([]string, len(c.reasons))
	for i, r := range c.reasons {
		out[i] = r.ID
	}
	return out
}

// Reason returns the cancel reason with the given ID.
func (c *Catalogue) Reason(id string) (arsapi.CancelReason, bool) {
	for _, r := range c.reasons {
		if r.ID == id {
			return r, true
		}
	}
	return arsapi.CancelReason{}, false
}

// DefaultThreshold returns the ordering threshold used when a printer does
// not report its own low level.
func (c *Catalogue) DefaultThreshold() int { return c.threshold }

// Match applies arsapi.MatchModel, the matching rule arsctl applies too,
// to a printer's reported name ("Canon TS8300 series", "TS8320a").
func (c *Catalogue) Match(reported string) arsapi.ModelMatch {
	return arsapi.MatchModel(c.models, "", reported)
}
