package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/web"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// TestPrinterPagesBounded: View Printer Details reads the printer's level
// history and a forecast per supply (megabytes for 64 supplies); accounts
// opening it together are built HistoryReads at a time, the others get a
// Busy page (503, Retry-After) instead of growing arsd's memory.
func TestPrinterPagesBounded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, web.Options{HistoryReads: 1, HistoryWait: time.Millisecond})
		ctx := context.Background()
		type owner struct {
			c    *client
			page string
		}
		var owners []owner
		for i := range 4 {
			email := fmt.Sprintf("busy%d@example.com", i)
			c := e.client()
			c.register(email, pw)
			en, err := e.st.CreateEnrollment(ctx, mustAccountPW(t, e, email, pw), arsapi.CreateEnrollmentRequest{
				Provider: arsapi.ProviderCanon, TermsVersion: e.cat.Terms().Version,
				Printer: arsapi.Printer{Model: "TS8320", Serial: fmt.Sprintf("BUSYP%d", i)}}, 15)
			if err != nil {
				t.Fatal(err)
			}
			sup := make([]printer.Supply, 64)
			for j := range sup {
				sup[j] = printer.Supply{Name: fmt.Sprintf("S%02d", j), Type: "inkCartridge", Level: 50}
			}
			now := time.Now().UTC()
			if _, err := e.st.ReportLevels(ctx, mustAccountPW(t, e, email, pw), en.ID, arsapi.LevelReport{ReadAt: now.Add(-time.Minute), Supplies: sup}); err != nil {
				t.Fatal(err)
			}
			dbtest.FillLevelHistory(t, d, en.ID, sup, 200, now.Add(-time.Minute))
			owners = append(owners, owner{c, web.PrinterPath(en.ID)})
		}
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			codes = map[int]int{}
		)
		start := make(chan struct{})
		for _, o := range owners {
			for range 3 {
				wg.Go(func() {
					<-start
					r := o.c.get(o.page)
					mu.Lock()
					defer mu.Unlock()
					codes[r.status]++
					if r.status == http.StatusServiceUnavailable && (r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Reload this page")) {
						t.Errorf("busy page: %q %.200s", r.header.Get("Retry-After"), r.body)
					}
				})
			}
		}
		close(start)
		wg.Wait()
		if codes[503] == 0 || codes[200] == 0 || codes[200]+codes[503] != 12 {
			t.Errorf("12 printer pages opened at once by 4 accounts: %v; want some 200 and the rest 503", codes)
		}
		for _, o := range owners {
			if r := o.c.get(o.page); r.status != http.StatusOK {
				t.Errorf("printer page alone: HTTP %d", r.status)
			}
		}
	})
}
