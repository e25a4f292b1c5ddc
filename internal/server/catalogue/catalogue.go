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
	byKey     map[string]string // normalized name or alias -> canonical name
}

// DefaultTermsVersion is the version of the built-in terms.
const DefaultTermsVersion = "2026-01"

// DefaultThreshold is the built-in ordering threshold in percent.
const DefaultThreshold = 15

// defaultTermsText says, in our own words, what the owner agrees to.
const defaultTermsText = `The Auto Replenishment Service watches the ink levels your printer reports and orders new ink automatically when a supply runs low, so that you do not run out in the middle of a print job.

You choose who fulfils the orders: Canon, through this service, or Amazon Dash Replenishment, through your Amazon account. Orders are charged and shipped by the provider you choose, at its prices and on its terms.

To do this, the service keeps your printer's model, serial number and the supply levels it reports, and the orders placed for it. It uses them only to run the service.

One order is placed per supply when it reaches its low level; no further order for that supply is placed until a new cartridge has been fitted.

You can cancel at any time from your account or with arsctl cancel. Cancelling stops all further orders at once; orders already placed are not affected.`

// defaultModels is Canon's US list of PIXMA models eligible for the
// service, with the regional "a" variants.
var defaultModels = []string{
	"PRO-200", "TR150", "TR4520", "TR8620", "TS3320", "TS5320", "TS6220",
	"TS6320", "TS702", "TS8220", "TS8320", "TS9520", "TS9521C",
}

var defaultReasons = []arsapi.CancelReason{
	{ID: "too-expensive", Label: "The ink costs too much"},
	{ID: "prefer-buying-myself", Label: "I prefer to buy ink myself"},
	{ID: "printing-less", Label: "I print less than before"},
	{ID: "replacing-printer", Label: "I am replacing or no longer use this printer"},
	{ID: "delivery-problems", Label: "Deliveries were late or wrong"},
	{ID: "other", Label: "Other", TakesComment: true},
}

// DefaultModels returns the built-in eligible models with their aliases.
func DefaultModels() []arsapi.Model {
	out := make([]arsapi.Model, 0, len(defaultModels))
	for _, name := range defaultModels {
		out = append(out, arsapi.Model{Name: name, Aliases: []string{name + "a"}})
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
		if cfg.DefaultThreshold < 1 || cfg.DefaultThreshold > 99 {
			return nil, fmt.Errorf("catalogue: default_threshold %d is not between 1 and 99", cfg.DefaultThreshold)
		}
		c.threshold = cfg.DefaultThreshold
	}

	c.byKey = make(map[string]string)
	for _, m := range c.models {
		if strings.TrimSpace(m.Name) == "" {
			return nil, errors.New("catalogue: a model has no name")
		}
		for _, n := range append([]string{m.Name}, m.Aliases...) {
			k := arsapi.ModelKey(n)
			if k == "" {
				return nil, fmt.Errorf("catalogue: model %q has an empty alias", m.Name)
			}
			if prev, ok := c.byKey[k]; ok && prev != m.Name {
				return nil, fmt.Errorf("catalogue: %q names both %s and %s", n, prev, m.Name)
			}
			c.byKey[k] = m.Name
		}
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

// Match returns the canonical name of the eligible model a printer's
// reported model names, e.g. "TS8320 series", "Canon TS8320 series" or
// "canon pixma ts8320a", ignoring case and spacing.
func (c *Catalogue) Match(reported string) (string, bool) {
	k := arsapi.ModelKey(reported)
	if k == "" {
		return "", false
	}
	if name, ok := c.byKey[k]; ok {
		return name, true
	}
	return "", false
}
