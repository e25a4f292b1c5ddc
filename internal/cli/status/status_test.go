package status

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/cli/clitest"
	"github.com/arsctl/arsctl/internal/cli/resolve"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/internal/tableprinter"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/forecast"
	"github.com/arsctl/arsctl/pkg/printer"
)

func TestNewCmdStatusFlags(t *testing.T) {
	for _, tt := range []struct {
		args    string
		want    func(*StatusOptions) bool
		wantErr string
	}{
		{"", func(o *StatusOptions) bool { return !o.All && o.Printer == "" && o.Orders == 5 }, ""},
		{"TS8320 --all --orders 2", func(o *StatusOptions) bool { return o.All && o.Printer == "TS8320" && o.Orders == 2 }, ""},
		{"-a", func(o *StatusOptions) bool { return o.All }, ""},
		{"--orders -1", nil, "--orders must not be negative"},
		{"a b", nil, "accepts at most 1 arg"},
	} {
		ios, _, _, _ := iostreams.Test()
		f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}, Getenv: func(string) string { return "" },
			Config: func() (*config.Config, error) { return &config.Config{}, nil }}
		var got *StatusOptions
		cmd := NewCmdStatus(f, func(o *StatusOptions) error { got = o; return nil })
		cmd.SetArgs(strings.Fields(tt.args))
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: err = %v", tt.args, err)
			}
			continue
		}
		if err != nil || !tt.want(got) {
			t.Errorf("%q: %+v, %v", tt.args, got, err)
		}
	}
}

func TestStatus(t *testing.T) {
	ctx := context.Background()
	api := clitest.StartAPI(t)
	tok := api.Account(t, "owner@example.com")
	c := api.Client(tok)
	ios, _, out, _ := iostreams.Test()
	opts := &StatusOptions{
		IO: ios, Output: &cmdutil.OutputOptions{}, Orders: 5,
		Client: func(context.Context) (*arsapi.Client, error) { return c, nil },
		Now:    time.Now,
	}
	// Nothing enrolled: an empty list, exit 0 ([] with --json).
	if err := statusRun(ctx, opts); err != nil || out.Len() != 0 {
		t.Fatalf("no enrollments: err = %v, stdout %q", err, out)
	}
	opts.Output.JSON = true
	if err := statusRun(ctx, opts); err != nil || strings.TrimSpace(out.String()) != "[]" {
		t.Fatalf("no enrollments --json: err = %v, stdout %q, want []", err, out)
	}
	opts.Output.JSON = false
	out.Reset()

	mk := func(serial string, prov arsapi.Provider) arsapi.Enrollment {
		e, err := c.CreateEnrollment(ctx, arsapi.CreateEnrollmentRequest{Provider: prov, Printer: arsapi.Printer{Model: "TS8320", Serial: serial, Label: "n-" + serial}, TermsVersion: "2026-01"}, "")
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	a := mk(clitest.Serial(1), arsapi.ProviderCanon)
	b := mk(clitest.Serial(2), arsapi.ProviderAmazon)
	gone := mk(clitest.Serial(3), arsapi.ProviderCanon)
	if _, err := c.CancelEnrollment(ctx, gone.ID, arsapi.CancelRequest{Reasons: []string{"printing-less"}}, ""); err != nil {
		t.Fatal(err)
	}
	read := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	res, err := c.ReportLevels(ctx, a.ID, arsapi.LevelReport{ReadAt: read, Supplies: []printer.Supply{
		{Name: "PGBK", Level: 80, Type: "inkCartridge"}, {Name: "C", Level: 5, Type: "inkCartridge"},
	}})
	if err != nil || len(res.Orders) != 1 {
		t.Fatalf("ReportLevels = %+v, %v", res, err)
	}

	// Piped: tab-separated, live enrollments only.
	if err := statusRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("TSV:\n%s", out)
	}
	var rowA []string
	for _, l := range lines {
		if strings.HasPrefix(l, a.ID+"\t") {
			rowA = strings.Split(l, "\t")
		}
	}
	if len(rowA) != 8 || rowA[3] != "canon" || rowA[4] != "active" || rowA[5] != "PGBK 80% C 5%" || rowA[6] != read.Format(time.RFC3339) || rowA[7] != "C placed" || strings.Contains(rowA[2], clitest.Serial(1)) {
		t.Fatalf("row = %q", rowA)
	}

	// --json --all: every enrollment with its orders.
	out.Reset()
	opts.All, opts.Output.JSON = true, true
	if err := statusRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	var items []Item
	if err := json.Unmarshal(out.Bytes(), &items); err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 {
		t.Fatalf("items = %+v", items)
	}
	byID := map[string]Item{}
	for _, it := range items {
		byID[it.ID] = it
	}
	if it := byID[a.ID]; len(it.Orders) != 1 || it.Orders[0].Supply != "C" || it.LevelsReadAt == nil {
		t.Errorf("a = %+v", it)
	}
	if it := byID[b.ID]; it.State != arsapi.StatePending || it.Orders == nil {
		t.Errorf("b = %+v", it)
	}
	if it := byID[gone.ID]; it.State != arsapi.StateCancelled || it.Cancellation == nil {
		t.Errorf("gone = %+v", it)
	}

	// One printer by serial, --jq.
	out.Reset()
	opts.All, opts.Printer, opts.Output.JSON, opts.Output.JQ = false, clitest.Serial(2), false, ".[].provider"
	if err := statusRun(ctx, opts); err != nil || strings.TrimSpace(out.String()) != "amazon" {
		t.Fatalf("jq: %q, %v", out, err)
	}

	// A cancelled printer is shown by name even without --all.
	out.Reset()
	opts.Printer, opts.Output.JQ = "n-"+clitest.Serial(3), ".[].state"
	if err := statusRun(ctx, opts); err != nil || strings.TrimSpace(out.String()) != "cancelled" {
		t.Fatalf("cancelled: %q, %v", out, err)
	}

	opts.Printer = "nothing-like-this"
	if err := statusRun(ctx, opts); cmdutil.ExitCode(err) != cmdutil.ExitNotFound {
		t.Fatalf("unknown printer: %v", err)
	}

	// On a terminal, one printer is shown in detail.
	out.Reset()
	ios.SetTTY(true)
	ios.SetTerminalWidth(200) // wide enough for every line whole
	opts.Printer, opts.Output.JQ = a.ID, ""
	if err := statusRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"enrollment  " + a.ID, "provider    canon", "PGBK", "80%", "min ago", "placed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("detail lacks %q:\n%s", want, out)
		}
	}

	// An order no fulfiller took says so, and how to close it.
	if err := api.Store.RecordDispatch(ctx, res.Orders[0].ID, arsapi.FulfilmentInbox,
		fulfil.Result{State: string(arsapi.OrderUnfulfilled)}, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := statusRun(ctx, opts); err != nil || !strings.Contains(out.String(), "unfulfilled") ||
		!strings.Contains(out.String(), "no one ships this order: buy the ink, then `arsctl orders bought "+res.Orders[0].ID+"`") {
		t.Fatalf("unfulfilled order: %v\n%s", err, out)
	}

	// No levels yet: the detail says what reports them.
	out.Reset()
	opts.Printer = b.ID
	if err := statusRun(ctx, opts); err != nil || !strings.Contains(out.String(), "levels      none reported yet: run `arsctl monitor`") {
		t.Fatalf("no levels: %v\n%s", err, out)
	}

	// The table at 80 columns: each enrollment ID by its start that tells
	// the account's enrollments apart, not its 36 characters, and that
	// start names the printer.
	out.Reset()
	ios.SetTerminalWidth(80)
	opts.Printer, opts.All = "", true
	if err := statusRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	n := resolve.ShortIDLen([]string{a.ID, b.ID, gone.ID})
	if n >= len(a.ID) {
		t.Fatalf("ShortIDLen = %d", n)
	}
	for _, e := range []arsapi.Enrollment{a, b, gone} {
		if strings.Contains(out.String(), e.ID) || !strings.Contains(out.String(), "\n"+resolve.ShortID(e.ID, n)+"  ") {
			t.Errorf("table lacks the short ID %s of %s:\n%s", resolve.ShortID(e.ID, n), e.ID, out)
		}
	}
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if w := tableprinter.Width(l); w > 80 {
			t.Errorf("line of %d columns: %q", w, l)
		}
	}
	out.Reset()
	opts.Printer = resolve.ShortID(a.ID, n)
	if err := statusRun(ctx, opts); err != nil || !strings.Contains(out.String(), "enrollment  "+a.ID) {
		t.Fatalf("status %s: %v\n%s", opts.Printer, err, out)
	}
}

// TestStatusCancelReasonLabels: one printer's status names the reasons of
// a cancelled plan by their labels, as the cancel prompt showed them, not
// by their IDs.
func TestStatusCancelReasonLabels(t *testing.T) {
	ctx := context.Background()
	api := clitest.StartAPI(t)
	c := api.Client(api.Account(t, "owner@example.com"))
	e, err := c.CreateEnrollment(ctx, arsapi.CreateEnrollmentRequest{Provider: "canon",
		Printer: arsapi.Printer{Model: "TS8320", Serial: clitest.Serial(7)}, TermsVersion: "2026-01"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CancelEnrollment(ctx, e.ID, arsapi.CancelRequest{Reasons: []string{"printing-less", "other"}, Comment: "moving abroad"}, ""); err != nil {
		t.Fatal(err)
	}
	reasons, err := c.CancelReasons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	label := map[string]string{}
	for _, r := range reasons {
		label[r.ID] = r.Label
	}
	ios, _, out, _ := iostreams.Test()
	ios.SetTTY(true)
	ios.SetTerminalWidth(200) // wide enough for every line whole
	opts := &StatusOptions{IO: ios, Output: &cmdutil.OutputOptions{}, Orders: 5, Printer: e.ID, Now: time.Now,
		Client: func(context.Context) (*arsapi.Client, error) { return c, nil }}
	if err := statusRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	want := "(" + label["printing-less"] + "; " + label["other"] + "; “moving abroad”)"
	if label["printing-less"] == "" || label["printing-less"] == "printing-less" || !strings.Contains(out.String(), want) {
		t.Errorf("want %q in:\n%s", want, out)
	}
}

func TestWrapDetail(t *testing.T) {
	in := "TS8320 \"Kitchen\", serial ****1234\n" +
		"  cancelled   2026-12-04 21:17 (I print less than before; Other; “moving abroad”)\n" +
		"    PGBK     80%  no rate yet: the level has not moved since the cartridge was put in\n" +
		"    C        9%   empty in 3.0 days (2.1-4.4), 3.0 % a day and more words\n" +
		"  orders      none"
	want := "TS8320 \"Kitchen\", serial ****1234\n" +
		"  cancelled   2026-12-04 21:17 (I print less than before; Other;\n" +
		"              “moving abroad”)\n" +
		"    PGBK     80%  no rate yet: the level has not moved since the\n" +
		"                  cartridge was put in\n" +
		"    C        9%   empty in 3.0 days (2.1-4.4), 3.0 % a day and more\n" +
		"                  words\n" +
		"  orders      none"
	if got := wrapDetail(in, 70); got != want {
		t.Errorf("wrapDetail:\n%s\nwant:\n%s", got, want)
	}
	if got := wrapDetail(in, 200); got != in {
		t.Errorf("wide terminal changed the text:\n%s", got)
	}
}

// TestDetailForecastsInOneColumn: the demo's status showed "Black    80%  no
// rate yet…" above "Color    9%  empty in…", the forecasts one column apart.
func TestDetailForecastsInOneColumn(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	it := Item{Enrollment: arsapi.Enrollment{ID: "e1", CreatedAt: now}}
	it.Supplies = []printer.Supply{{Name: "Black", Level: 80}, {Name: "Color", Level: 9}}
	it.Forecasts = map[string]forecast.Forecast{
		"Black": forecast.Estimate([]forecast.Reading{{At: now, Level: 80}}, now),
		"Color": forecast.Estimate([]forecast.Reading{{At: now, Level: 60}, {At: now.Add(time.Second), Level: 9}}, now.Add(time.Minute)),
	}
	var b bytes.Buffer
	if err := printDetail(&b, []Item{it}, nil, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"    Black    80%  no rate yet", "    Color    9%   no rate yet: readings span less than a day"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("want %q in:\n%s", want, b.String())
		}
	}
}

// TestDetailLongSupplyNames: a TS6300 series names its inks Black(PGBK)
// and Black(BK); the detail showed "Black(PGBK) 80%" above "Cyan     60%",
// levels and history out of column. Every name now starts one column.
func TestDetailLongSupplyNames(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	it := Item{Enrollment: arsapi.Enrollment{ID: "e1", CreatedAt: now, LevelsReadAt: &now}}
	it.Supplies = []printer.Supply{{Name: "Black(PGBK)", Level: 80}, {Name: "Cyan", Level: 60}}
	it.History = []arsapi.SupplyHistory{{Name: "Black(PGBK)", Readings: []forecast.Reading{{At: now, Level: 80}}},
		{Name: "Cyan", Readings: []forecast.Reading{{At: now, Level: 60}}}}
	it.Orders = []arsapi.Order{{ID: "o1", Supply: "Cyan", State: arsapi.OrderUnfulfilled, CreatedAt: now}}
	var b bytes.Buffer
	if err := printDetail(&b, []Item{it}, nil, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"    Black(PGBK) 80%", "    Cyan        60%", "    Black(PGBK) 01-05", "    Cyan        01-05",
		"    Cyan        unfulfilled", "\n                no one ships this order"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("want %q in:\n%s", want, b.String())
		}
	}
}
