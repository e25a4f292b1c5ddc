package web_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/arsctl/arsctl/internal/server/web"
	"github.com/arsctl/arsctl/internal/server/web/webtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// TestBrowserOrderSettings sets a printer's own order policy and hold in a
// real browser on View Printer Details, as a person would: choose, type,
// save; the page then says they are the printer's own, the store has
// them, and the page fits a phone.
func TestBrowserOrderSettings(t *testing.T) {
	webtest.Chromium(t)
	e := newServerEnv(t, filepath.Join(t.TempDir(), "arsd.db"))
	ctx := context.Background()
	const email, password = "kim@example.com", "correct horse battery"
	a, en := e.enrolledOwner(t, email, password, "Kim", arsapi.Printer{Model: "TS8320", Serial: "KMBS04321", Label: "Den"})
	br := e.signedIn(t, email, password)
	if st := br.open(web.PrinterPath(en.ID)); st != 200 {
		t.Fatalf("View Printer Details: HTTP %d", st)
	}
	if got := evalJS[string](br, `document.getElementById('policy').selectedOptions[0].textContent`); !strings.HasPrefix(got, "As the account (forecast)") {
		t.Fatalf("policy shows %q, want as the account", got)
	}
	br.do("fill the order settings", chromedp.SetValue(chromedp.ID("policy"), "threshold"), chromedp.SendKeys(chromedp.ID("hold"), "90m"))
	if st := br.load("save", chromedp.Click(chromedp.ID("save-order-settings"))); st != 200 {
		t.Fatalf("save: HTTP %d", st)
	}
	if got := br.text("#order-settings-now"); got != "Now: threshold policy (set for this printer); new orders are held for 1h30m (set for this printer)." {
		t.Fatalf("after save: %q", got)
	}
	set, err := e.st.OrderSettings(ctx, a.ID, en.ID)
	if err != nil || set.Policy != "threshold" || set.HoldMinutes == nil || *set.HoldMinutes != 90 {
		t.Fatalf("stored %+v, %v", set, err)
	}
	br.do("scroll to the settings", chromedp.Evaluate[chromedp.Void](`document.getElementById('order-settings').scrollIntoView()`))
	br.shoot("printer-order-settings")
}
