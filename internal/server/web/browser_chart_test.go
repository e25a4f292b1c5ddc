package web_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arsctl/arsctl/internal/server/web"
	"github.com/arsctl/arsctl/internal/server/web/webtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// TestBrowserChart opens View Printer Details of a printer with two months
// of readings in a real browser: each supply that is ordered has a level
// chart drawn as inline SVG with its text alternative, legible at 375 px,
// and the page takes its screenshots.
func TestBrowserChart(t *testing.T) {
	webtest.Chromium(t)
	e := newServerEnv(t, filepath.Join(t.TempDir(), "arsd.db"))
	ctx := context.Background()
	const email, password = "lee@example.com", "correct horse battery"
	a, en := e.enrolledOwner(t, email, password, "Lee", arsapi.Printer{Model: "TS8320", Serial: "KMBA04321", Label: "Studio"})
	// 60 days, a report a day: black slow, cyan steady, magenta idle, the
	// yellow cartridge swapped on day 35; a waste tank that fills.
	now := time.Now().UTC()
	for d := 0; d <= 60; d++ {
		y := 60 - d*2
		if d >= 35 {
			y = 100 - (d-35)*3
		}
		rep := arsapi.LevelReport{ReadAt: now.Add(time.Duration(d-60) * 24 * time.Hour), Supplies: []printer.Supply{
			{Name: "BK", Type: "inkCartridge", Colors: []string{"#000000"}, ColorName: "black", Level: 90 - d/2},
			{Name: "C", Type: "inkCartridge", Colors: []string{"#00FFFF"}, ColorName: "cyan", Level: 95 - d*4/3},
			{Name: "M", Type: "inkCartridge", Colors: []string{"#FF00FF"}, ColorName: "magenta", Level: 70},
			{Name: "Y", Type: "inkCartridge", Colors: []string{"#FFFF00"}, ColorName: "yellow", Level: max(y, 2), Low: 10},
			{Name: "Waste", Type: "wasteInk", Class: "receptacleThatIsFilled", Level: 20 + d/3},
		}}
		if _, err := e.st.ReportLevels(ctx, a.ID, en.ID, rep); err != nil {
			t.Fatal(err)
		}
	}

	br := e.signedIn(t, email, password)
	if st := br.open(web.PrinterPath(en.ID)); st != 200 {
		t.Fatalf("View Printer Details: HTTP %d", st)
	}
	br.expectPage("TS8320 “Studio”")
	if n := evalJS[int](br, `document.querySelectorAll('figure.chart svg.levelchart[role=img]').length`); n != 4 {
		t.Fatalf("%d level charts, want 4 (the waste tank has none)", n)
	}
	if n := evalJS[int](br, `document.querySelectorAll('script').length`); n != 0 {
		t.Errorf("the page has %d scripts", n)
	}
	caps := evalJS[[]string](br, `[...document.querySelectorAll('figure.chart figcaption')].map(e => e.textContent)`)
	for i, want := range []string{"BK (black): 60 % now", "C (cyan): 15 % now; about", "M (magenta): 70 % now; not enough readings", "Y (yellow): 25 % now; about"} {
		if i >= len(caps) || !strings.HasPrefix(caps[i], want) {
			t.Errorf("caption %d = %q, want it to start %q", i, caps, want)
		}
	}
	// The chart's accessible name and description come from its title and desc.
	if got := evalJS[string](br, `document.getElementById(document.querySelector('svg.levelchart').getAttribute('aria-labelledby').split(' ')[0]).textContent`); got != "BK (black): level history and forecast" {
		t.Errorf("chart title %q", got)
	}
	strokes := evalJS[[]string](br, `[...document.querySelectorAll('svg.levelchart polyline.history')].map(e => e.getAttribute('stroke'))`)
	if strings.Join(strokes, " ") != "#000000 #00ffff #ff00ff #ffff00" {
		t.Errorf("history colours %v", strokes)
	}
	br.do("scroll to the charts", chromedp.Evaluate[chromedp.Void](`document.getElementById('charts-heading').scrollIntoView()`))
	br.shoot("printer-chart")
	// At 375 px the charts' 12-unit text is still at least 10 px.
	br.do("phone width", chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	if w := evalJS[float64](br, `document.querySelector('svg.levelchart').getBoundingClientRect().width`); w*12/360 < 10 || w > 375 {
		t.Errorf("a chart is %.0f px wide at 375 px: text %.1f px", w, w*12/360)
	}
}
