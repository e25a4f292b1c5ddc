package status

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/cli/clitest"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// TestStatusForecastAndHistory reports ten days of a falling black level
// and checks that status shows the forecast in its detail and JSON, and
// the level changes with --history.
func TestStatusForecastAndHistory(t *testing.T) {
	ctx := context.Background()
	api := clitest.StartAPI(t)
	c := api.Client(api.Account(t, "owner@example.com"))
	e, err := c.CreateEnrollment(ctx, arsapi.CreateEnrollmentRequest{Provider: arsapi.ProviderCanon,
		Printer: arsapi.Printer{Model: "TS8320", Serial: clitest.Serial(7)}, TermsVersion: "2026-01"}, "")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Add(-10 * 24 * time.Hour).Truncate(time.Second)
	for d := range 10 {
		if _, err := c.ReportLevels(ctx, e.ID, arsapi.LevelReport{ReadAt: start.Add(time.Duration(d) * 24 * time.Hour), Supplies: []printer.Supply{
			{Name: "PGBK", Type: "inkCartridge", Level: 95 - 2*d},
			{Name: "C", Type: "inkCartridge", Level: 60},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	ios, _, out, _ := iostreams.Test()
	ios.SetTTY(true)
	ios.SetTerminalWidth(200) // wide enough for every line whole
	opts := &StatusOptions{IO: ios, Output: &cmdutil.OutputOptions{}, Orders: 5, Printer: e.ID,
		Client: func(context.Context) (*arsapi.Client, error) { return c, nil }, Now: time.Now}
	if err := statusRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PGBK     77%  empty in ", "% a day", "C        60%  no rate yet"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("detail lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out.String(), "history") {
		t.Errorf("history without --history:\n%s", out)
	}
	out.Reset()
	opts.History = true
	if err := statusRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "history     level changes of the last 30 days") ||
		!strings.Contains(out.String(), " 95%, ") || !strings.Contains(out.String(), " 77%") {
		t.Errorf("--history:\n%s", out)
	}
	// Piped, --history printed the table row, without the history.
	out.Reset()
	ios.SetTTY(false)
	if err := statusRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "history     level changes of the last 30 days") || strings.Contains(out.String(), "\t") {
		t.Errorf("--history piped:\n%s", out)
	}
	ios.SetTTY(true)
	out.Reset()
	opts.Output.JSON = true
	if err := statusRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	var items []Item
	if err := json.Unmarshal(out.Bytes(), &items); err != nil || len(items) != 1 {
		t.Fatalf("json: %v %s", err, out)
	}
	it := items[0]
	if f := it.Forecasts["PGBK"]; !f.Known || f.Rate < 1.9 || f.Rate > 2.1 || f.DaysLow <= 0 || f.DaysLow > f.DaysToEmpty {
		t.Errorf("PGBK forecast %+v", f)
	}
	if len(it.History) != 2 || len(it.History[0].Readings) != 10 || it.History[0].Readings[0].Level != 95 {
		t.Errorf("history %+v", it.History)
	}
	if !strings.Contains(out.String(), `"days_to_empty":`) {
		t.Errorf("json lacks days_to_empty: %s", out)
	}
}
