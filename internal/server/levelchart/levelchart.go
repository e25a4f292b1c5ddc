// Package levelchart draws a supply's level history and forecast as an
// inline SVG, on the server: no script, no external resource, a title and
// description for screen readers, and a viewBox small enough that its text
// stays readable on a 375 px wide phone.
//
// The chart shows the level (0–100 %) over time: the history as a step
// line (a level holds until the printer reports another), in the supply's
// colour over a dark edge so that yellow shows on white; then, from now,
// the forecast as a dashed line to the expected empty day with a shaded
// band from the soonest to the latest; the level at which ink is ordered as
// a dotted line; and a "now" mark.
package levelchart

import (
	"fmt"
	"html"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/arsctl/arsctl/pkg/forecast"
)

// Input is one supply's chart.
type Input struct {
	// ID makes the chart's element IDs unique on the page: letters,
	// digits and '-' only (others are dropped).
	ID string
	// Name is the supply's name as shown to people.
	Name string
	// Color is the supply's colour as #RRGGBB; anything else draws grey.
	Color string
	// Readings are the level changes, any order; levels outside 0–100
	// (the printer package's special values) are not drawn.
	Readings []forecast.Reading
	// Forecast is the supply's forecast as of Now.
	Forecast forecast.Forecast
	// Now is the right edge of the history; Since its left edge (zero:
	// the first reading).
	Now, Since time.Time
	// Low is the level at which ink is ordered, in percent; 0 draws no line.
	Low int
}

// Geometry of the viewBox: 360 × 200 user units, so that at 375 px the
// 12-unit text is about 11 px.
const (
	width, height  = 360.0, 200.0
	left, right    = 42.0, 10.0
	top, bottom    = 12.0, 26.0
	plotW, plotH   = width - left - right, height - top - bottom
	maxForecastDay = 120.0 // days after now the chart reaches at most
	fallbackColor  = "#6b7280"
)

var hexColor = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)

// Color returns c lowercased when it is #RRGGBB, else the grey the chart
// draws unknown colours in.
func Color(c string) string {
	if hexColor.MatchString(c) {
		return strings.ToLower(c)
	}
	return fallbackColor
}

func cleanID(id string) string {
	var b strings.Builder
	for _, r := range id {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 || !(b.String()[0] >= 'a' && b.String()[0] <= 'z' || b.String()[0] >= 'A' && b.String()[0] <= 'Z') {
		return "c" + b.String()
	}
	return b.String()
}

// known keeps the readings with a percentage, in time order, up to now.
func known(rs []forecast.Reading, now time.Time) []forecast.Reading {
	out := make([]forecast.Reading, 0, len(rs))
	for _, r := range rs {
		if r.Level >= 0 && r.Level <= 100 && !r.At.After(now) {
			out = append(out, r)
		}
	}
	for i := 1; i < len(out); i++ { // insertion sort: usually sorted already
		for j := i; j > 0 && out[j].At.Before(out[j-1].At); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Summary is the chart's text alternative, e.g. "Cyan: 42 % now; about
// 12 days left (9–16), at 3.1 % a day. 5 readings since 3 Jan."
func Summary(in Input) string {
	rs := known(in.Readings, in.Now)
	var b strings.Builder
	b.WriteString(in.Name)
	b.WriteString(": ")
	if len(rs) == 0 {
		b.WriteString("no level in percent reported yet.")
		return b.String()
	}
	fmt.Fprintf(&b, "%d %% now", rs[len(rs)-1].Level)
	f := in.Forecast
	switch {
	case !f.Known:
		b.WriteString("; not enough readings for a forecast yet")
	case !usable(f):
		b.WriteString("; not being used at the moment")
	default:
		fmt.Fprintf(&b, "; about %s days left (%s–%s), at %.1f %% a day", dayNum(f.DaysToEmpty), dayNum(f.DaysLow), dayNum(f.DaysHigh), f.Rate)
	}
	fmt.Fprintf(&b, ". %d %s since %s.", len(rs), plural(len(rs), "reading", "readings"), rs[0].At.UTC().Format("2 Jan 2006"))
	if in.Low > 0 {
		fmt.Fprintf(&b, " Ink is ordered at %d %%.", in.Low)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func dayNum(d float64) string {
	if math.IsInf(d, 0) || math.IsNaN(d) || d > 9999 {
		return "∞"
	}
	return fmt.Sprintf("%.0f", math.Max(0, d))
}

// SVG returns the chart's markup, to be placed inline in an HTML page.
// Every text from the input is escaped; colours are only #RRGGBB.
func SVG(in Input) string {
	id := cleanID(in.ID)
	col := Color(in.Color)
	rs := known(in.Readings, in.Now)
	now := in.Now
	start := in.Since
	if start.IsZero() && len(rs) > 0 {
		start = rs[0].At
	}
	if !start.Before(now) {
		start = now.Add(-24 * time.Hour)
	}
	// The forecast's reach: to the latest empty day, at most maxForecastDay
	// days, at least a fifth of the history's span so "now" is not at the
	// right edge.
	f := in.Forecast
	hasForecast := usable(f) && len(rs) > 0
	histDays := now.Sub(start).Hours() / 24
	ahead := math.Max(histDays/4, 1)
	if hasForecast {
		ahead = math.Max(ahead, math.Min(finite(f.DaysHigh, maxForecastDay)*1.05, maxForecastDay))
	}
	end := now.Add(time.Duration(ahead * 24 * float64(time.Hour)))
	span := end.Sub(start).Seconds()
	x := func(t time.Time) float64 {
		v := left + plotW*t.Sub(start).Seconds()/span
		return math.Min(math.Max(v, left), left+plotW)
	}
	xDays := func(d float64) float64 {
		return x(now.Add(time.Duration(math.Min(d, maxForecastDay+1) * 24 * float64(time.Hour))))
	}
	y := func(level float64) float64 { return top + plotH*(1-math.Min(math.Max(level, 0), 100)/100) }

	var b strings.Builder
	title := text(in.Name + ": level history and forecast")
	fmt.Fprintf(&b, `<svg class="levelchart" viewBox="0 0 %g %g" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`, width, height, id, id)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, title, id, text(Summary(in)))
	// Grid and axis labels.
	b.WriteString(`<g class="grid" stroke="#d4d4d4" stroke-width="1">`)
	for _, lv := range []float64{0, 25, 50, 75, 100} {
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, n(left), n(y(lv)), n(left+plotW), n(y(lv)))
	}
	b.WriteString(`</g><g class="axis" font-size="12" fill="#4a4a4a" font-family="system-ui, sans-serif">`)
	for _, lv := range []float64{0, 50, 100} {
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end">%g%%</text>`, n(left-4), n(y(lv)+4), lv)
	}
	// Dates at both ends, unless the "now" label would touch them.
	if x(now)-left >= 55 {
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="start">%s</text>`, n(left), n(height-8), start.UTC().Format("2 Jan"))
	}
	if left+plotW-x(now) >= 60 {
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end">%s</text>`, n(left+plotW), n(height-8), end.UTC().Format("2 Jan"))
	}
	b.WriteString(`</g>`)
	// The level at which ink is ordered.
	if in.Low > 0 && in.Low < 100 {
		fmt.Fprintf(&b, `<line class="low" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#a3001b" stroke-width="1" stroke-dasharray="2 3"/>`,
			n(left), n(y(float64(in.Low))), n(left+plotW), n(y(float64(in.Low))))
	}
	// Forecast band and line.
	if hasForecast {
		lv := float64(rs[len(rs)-1].Level)
		if f.Estimated > 0 {
			lv = math.Min(f.Estimated, 100)
		}
		lo, hi := finite(f.DaysLow, f.DaysToEmpty), finite(f.DaysHigh, maxForecastDay+1)
		fmt.Fprintf(&b, `<polygon class="band" points="%s,%s %s,%s %s,%s" fill="%s" fill-opacity="0.18"/>`,
			n(x(now)), n(y(lv)), n(xDays(lo)), n(y(0)), n(xDays(hi)), n(y(0)), col)
		fmt.Fprintf(&b, `<line class="forecast" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#1a1a1a" stroke-width="1.5" stroke-dasharray="5 4"/>`,
			n(x(now)), n(y(lv)), n(xDays(f.DaysToEmpty)), n(y(0)))
	}
	// History: a step line, a dark edge under the colour.
	if len(rs) > 0 {
		var pts []string
		pt := func(t time.Time, level int) { pts = append(pts, n(x(t))+","+n(y(float64(level)))) }
		for i, r := range rs {
			if i > 0 {
				pt(r.At, rs[i-1].Level)
			}
			pt(r.At, r.Level)
		}
		pt(now, rs[len(rs)-1].Level)
		p := strings.Join(pts, " ")
		fmt.Fprintf(&b, `<polyline class="edge" points="%s" fill="none" stroke="#1a1a1a" stroke-width="4.5" stroke-linejoin="round"/>`, p)
		fmt.Fprintf(&b, `<polyline class="history" points="%s" fill="none" stroke="%s" stroke-width="2.5" stroke-linejoin="round"/>`, p, col)
	} else {
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" font-size="12" fill="#4a4a4a" font-family="system-ui, sans-serif">No level in percent reported yet</text>`,
			n(left+plotW/2), n(top+plotH/2))
	}
	// Now.
	fmt.Fprintf(&b, `<line class="now" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#4a4a4a" stroke-width="1"/>`, n(x(now)), n(top), n(x(now)), n(top+plotH))
	fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" font-size="12" fill="#1a1a1a" font-family="system-ui, sans-serif">now</text>`, n(x(now)), n(height-8))
	b.WriteString(`</svg>`)
	return b.String()
}

// text escapes s for XML character data, replacing bytes that are not
// UTF-8 and dropping the control characters XML cannot carry.
func text(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' || r == 0x7f || r == 0xfffe || r == 0xffff || r >= 0xd800 && r <= 0xdfff {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return html.EscapeString(s)
}

// usable reports whether a forecast has a rate and an empty day to draw.
func usable(f forecast.Forecast) bool {
	ok := func(v float64) bool { return !math.IsInf(v, 0) && !math.IsNaN(v) }
	return f.Known && ok(f.Rate) && f.Rate > 0 && ok(f.DaysToEmpty) && f.DaysToEmpty >= 0
}

func finite(v, def float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) || v <= 0 {
		return def
	}
	return v
}

// n formats a coordinate with one decimal, without a trailing ".0".
func n(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	return strings.TrimSuffix(s, ".0")
}
