package levelchart

import (
	"encoding/xml"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/pkg/forecast"
	"github.com/arsctl/arsctl/pkg/printer"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func day(d float64) time.Time { return now.Add(time.Duration(d * 24 * float64(time.Hour))) }

// cases are the golden charts.
var cases = map[string]Input{
	"steady": {ID: "s-0", Name: "Cyan", Color: "#00FFFF", Now: now, Since: day(-60), Low: 15,
		Readings: []forecast.Reading{{At: day(-60), Level: 100}, {At: day(-45), Level: 80}, {At: day(-30), Level: 61}, {At: day(-14), Level: 40}, {At: day(-2), Level: 24}},
		Forecast: forecast.Forecast{AsOf: now, Level: 24, Known: true, Estimated: 22, Rate: 1.4, RateLow: 1.1, RateHigh: 1.9, DaysToEmpty: 15.7, DaysLow: 11, DaysHigh: 21}},
	"refill": {ID: "s-1", Name: "Yellow", Color: "#ffff00", Now: now, Since: day(-40), Low: 10,
		Readings: []forecast.Reading{{At: day(-40), Level: 30}, {At: day(-25), Level: 8}, {At: day(-24), Level: 100}, {At: day(-5), Level: 70}},
		Forecast: forecast.Forecast{AsOf: now, Level: 70, Known: true, Estimated: 68, Rate: 1.6, RateLow: 1, RateHigh: 2.5, DaysToEmpty: 42, DaysLow: 27, DaysHigh: 68}},
	"no forecast": {ID: "s-2", Name: "Photo black", Color: "#000000", Now: now,
		Readings: []forecast.Reading{{At: day(-3), Level: 55}},
		Forecast: forecast.Forecast{AsOf: now, Level: 55}},
	"idle": {ID: "s-3", Name: "Magenta", Color: "#FF00FF", Now: now, Since: day(-30),
		Readings: []forecast.Reading{{At: day(-30), Level: 65}},
		Forecast: forecast.Forecast{AsOf: now, Level: 65, Known: true, Estimated: 65, DaysToEmpty: math.Inf(1), DaysLow: math.Inf(1), DaysHigh: math.Inf(1)}},
	"no percent": {ID: "s-4", Name: "BK", Color: "black", Now: now,
		Readings: []forecast.Reading{{At: day(-3), Level: printer.LevelSomeRemaining}}},
	"hostile name": {ID: "\"><script>", Name: `</title><script>alert(1)</script>&`, Color: `#000000" onload="x`, Now: now,
		Readings: []forecast.Reading{{At: day(-3), Level: 50}, {At: day(-1), Level: 45}}},
}

func TestGolden(t *testing.T) {
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			got := SVG(in)
			wellFormed(t, got)
			path := filepath.Join("testdata", strings.ReplaceAll(name, " ", "-")+".svg")
			if *update {
				if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if got+"\n" != string(want) {
				t.Errorf("SVG differs from %s (run with -update after checking it):\n%s", path, got)
			}
		})
	}
}

func TestContent(t *testing.T) {
	s := SVG(cases["steady"])
	for _, want := range []string{`role="img"`, `aria-labelledby="s-0-t s-0-d"`, `stroke="#00ffff"`, `class="forecast"`, `class="band"`, `class="low"`,
		"Cyan: 24 % now; about 16 days left (11–21), at 1.4 % a day. 5 readings since 31 Dec 2025. Ink is ordered at 15 %."} {
		if !strings.Contains(s, want) {
			t.Errorf("steady chart lacks %q", want)
		}
	}
	if s := SVG(cases["no forecast"]); strings.Contains(s, `class="forecast"`) || !strings.Contains(s, "not enough readings for a forecast yet") {
		t.Errorf("a supply without a forecast: %s", s)
	}
	if s := SVG(cases["no percent"]); strings.Contains(s, "polyline") || !strings.Contains(s, "No level in percent reported yet") || !strings.Contains(s, `stroke="#6b7280"`) && strings.Contains(s, "black") {
		t.Errorf("a supply without percentages: %s", s)
	}
	h := SVG(cases["hostile name"])
	if strings.Contains(h, "<script") || strings.Contains(h, "onload") || !strings.Contains(h, "&lt;/title&gt;&lt;script&gt;") {
		t.Errorf("hostile input reached the markup: %s", h)
	}
}

// wellFormed parses s as XML: one svg element, no script, no event
// handler, no reference to another resource.
func wellFormed(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, s)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if e.Name.Local != "svg" {
					t.Fatalf("root element %s", e.Name.Local)
				}
			}
			depth++
			switch e.Name.Local {
			case "script", "foreignObject", "image", "use", "a":
				t.Fatalf("element %s in the chart", e.Name.Local)
			}
			for _, a := range e.Attr {
				if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") || a.Name.Local == "href" || a.Name.Local == "style" {
					t.Fatalf("attribute %s=%q in the chart", a.Name.Local, a.Value)
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 || depth != 0 {
		t.Fatalf("%d root elements, depth %d at the end", roots, depth)
	}
}

// FuzzSVG draws charts of arbitrary names, colours, levels and times: the
// markup is always one well-formed svg element with no active content.
func FuzzSVG(f *testing.F) {
	f.Add("Cyan", "#00FFFF", "s-0", int64(0), 100, int64(86400), 40, 1.5, 10.0, 5.0, 20.0, true, 15)
	f.Add("</svg><script>", `#fff" onload="`, `"><`, int64(-1<<40), -3, int64(1<<50), 101, math.Inf(1), math.NaN(), -1.0, math.Inf(-1), true, 200)
	f.Add("", "", "", int64(0), 0, int64(0), 0, 0.0, 0.0, 0.0, 0.0, false, 0)
	f.Fuzz(func(t *testing.T, name, color, id string, at1 int64, lv1 int, at2 int64, lv2 int, rate, days, lo, hi float64, known bool, low int) {
		in := Input{ID: id, Name: name, Color: color, Now: now, Low: low,
			Readings: []forecast.Reading{{At: now.Add(time.Duration(at1)), Level: lv1}, {At: now.Add(-time.Duration(at2)), Level: lv2}},
			Forecast: forecast.Forecast{Known: known, Rate: rate, DaysToEmpty: days, DaysLow: lo, DaysHigh: hi}}
		s := SVG(in)
		if !strings.HasPrefix(s, "<svg ") || strings.Contains(s, "NaN") || strings.Contains(s, "Inf") && !strings.Contains(name, "Inf") {
			t.Fatalf("bad chart: %s", s)
		}
		wellFormed(t, s)
	})
}
