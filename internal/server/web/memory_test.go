package web_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/web"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// TestPrinterListsDoNotLoadSupplies: an account of many printers that
// report 64 long supply names each cannot make the pages that list its
// printers (My Subscriptions, See My Printers, the order inbox) read every
// supply: 2000 such printers made one page take 140 MB and eight at once
// 1.1 GB. The test allocates what one page view costs, with 60 printers.
func TestPrinterListsDoNotLoadSupplies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, web.Options{})
		c := e.client()
		c.register("fleet@example.com", "correct horse battery staple")
		ctx := context.Background()
		acct, err := e.st.CheckPassword(ctx, "fleet@example.com", "correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		rep := arsapi.LevelReport{ReadAt: time.Now().UTC().Add(-time.Minute)}
		for i := range 64 {
			rep.Supplies = append(rep.Supplies, printer.Supply{
				Name: fmt.Sprintf("%03d %s", i, strings.Repeat("n", 120)), Type: strings.Repeat("t", 64),
				ColorName: strings.Repeat("c", 64), Colors: []string{"#000000", "#FFFFFF", "#00FFFF", "#FF00FF", "#FFFF00", "#123456", "#654321", "#ABCDEF"},
				Level: 60,
			})
		}
		const printers = 60
		for i := range printers {
			en, err := e.st.CreateEnrollment(ctx, acct.ID, arsapi.CreateEnrollmentRequest{Provider: arsapi.ProviderCanon,
				Printer: arsapi.Printer{Model: "TS5320", Serial: fmt.Sprintf("MANY%04d", i), Label: "office"}, TermsVersion: e.cat.Terms().Version}, 15)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.ReportLevels(ctx, acct.ID, en.ID, rep); err != nil {
				t.Fatal(err)
			}
		}
		for _, path := range []string{web.SubscriptionsPath, web.PrintersPath, web.OrdersPath} {
			c.get(path) // warm up templates and connections
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r := c.get(path)
			runtime.ReadMemStats(&after)
			if r.status != http.StatusOK {
				t.Fatalf("%s: HTTP %d", path, r.status)
			}
			t.Logf("%s: %d KiB", path, (after.TotalAlloc-before.TotalAlloc)>>10)
			// The supplies alone are 60 × 64 × about 500 bytes; a page
			// that reads them allocates several times that.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1500<<10 {
				t.Errorf("%s with %d printers allocated %d KiB, want under 1500 KiB", path, printers, alloc>>10)
			}
		}
	})
}
