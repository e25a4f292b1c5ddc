package orders

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/cli/clitest"
	"github.com/arsctl/arsctl/internal/cli/resolve"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/internal/tableprinter"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// TestInbox replays an owner's day with a server that ships no canon
// orders: `orders list` shows the unfulfilled order, `orders bought ID`
// marks it, and the inbox is then empty ([] with --json, exit 0).
func TestInbox(t *testing.T) {
	ctx := context.Background()
	api, c, e := studyPrinter(t)
	res, err := c.ReportLevels(ctx, e.ID, arsapi.LevelReport{Supplies: []printer.Supply{{Name: "PGBK", Level: 3, Type: "inkCartridge"}}})
	if err != nil || len(res.Orders) != 1 {
		t.Fatalf("ReportLevels = %+v, %v", res, err)
	}
	id := res.Orders[0].ID
	if err := api.Store.RecordDispatch(ctx, id, arsapi.FulfilmentInbox,
		fulfil.Result{State: string(arsapi.OrderUnfulfilled)}, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}

	run := func(json bool, f func(*Options) error, mutate func(*Options)) (string, string, error) {
		ios, _, out, errOut := iostreams.Test()
		o := &Options{IO: ios, Output: &cmdutil.OutputOptions{JSON: json}, Now: time.Now,
			Client: func(context.Context) (Client, error) { return c, nil }}
		if mutate != nil {
			mutate(o)
		}
		err := f(o)
		return out.String(), errOut.String(), err
	}
	list := func(o *Options) error { return listRun(ctx, o) }
	bought := func(o *Options) error { return boughtRun(ctx, o) }

	out, _, err := run(false, list, nil)
	if err != nil || !strings.HasPrefix(out, id+"\t") || !strings.Contains(out, "study") || !strings.Contains(out, "\tPGBK\t3%\tunfulfilled\t") {
		t.Fatalf("orders list: %q, %v", out, err)
	}
	_, errOut, err := run(false, bought, func(o *Options) { o.IDs = []string{id} })
	if err != nil || !strings.Contains(errOut, "marked bought") {
		t.Fatalf("orders bought: %q, %v", errOut, err)
	}
	out, _, err = run(true, list, nil)
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Fatalf("inbox after bought: %q, %v", out, err)
	}
	out, _, err = run(true, list, func(o *Options) { o.States = []string{"bought"} })
	var got []arsapi.Order
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || len(got) != 1 || got[0].State != arsapi.OrderBought {
		t.Fatalf("--state bought: %q, %v", out, err)
	}

	// An unknown order exits 3; an order not in the inbox exits 1.
	if _, _, err := run(false, bought, func(o *Options) { o.IDs = []string{"no-such-order"} }); cmdutil.ExitCode(err) != cmdutil.ExitNotFound {
		t.Errorf("unknown order: %v (exit %d)", err, cmdutil.ExitCode(err))
	}
	res, _ = c.ReportLevels(ctx, e.ID, arsapi.LevelReport{Supplies: []printer.Supply{{Name: "C", Level: 3, Type: "inkCartridge"}}})
	placed := res.Orders[0].ID
	if _, _, err := run(false, bought, func(o *Options) { o.IDs = []string{placed} }); cmdutil.ExitCode(err) != cmdutil.ExitFailure ||
		err.Error() != "order "+placed+" is placed, not waiting in the order inbox" {
		t.Errorf("placed order: %v", err)
	}
}

func TestNewCmdOrdersFlags(t *testing.T) {
	for args, wantErr := range map[string]string{
		"list --state lost":         "--state: \"lost\" is not one of",
		"list --all --state bought": "cannot be used together",
		"bought":                    "give the ID of each order to mark bought: `arsctl orders list` shows them",
		"skip":                      "give the ID of each order to skip:",
		"ship":                      "give the ID of each order to ship now:",
		"list --state bought":       "",
	} {
		ios, _, _, _ := iostreams.Test()
		f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}}
		cmd := NewCmdOrders(f, func(*Options) error { return nil })
		cmd.SetArgs(strings.Fields(args))
		cmd.SetOut(&strings.Builder{})
		cmd.SetErr(&strings.Builder{})
		err := cmd.Execute()
		if (wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), wantErr)) {
			t.Errorf("%q: err = %v, want %q", args, err, wantErr)
		}
		var ee *cmdutil.ExitError
		if err != nil && (!errors.As(err, &ee) || ee.Code != cmdutil.ExitUsage) {
			t.Errorf("%q: err = %v, want exit %d", args, err, cmdutil.ExitUsage)
		}
	}
}

// TestOrderIDsThatAreNoPath: an empty ID, "." or ".." is a usage error,
// not a request to the route the resolved URL would name.
func TestOrderIDsThatAreNoPath(t *testing.T) {
	for _, verb := range []string{"skip", "ship", "bought"} {
		for _, id := range []string{"", ".", ".."} {
			ios, _, _, _ := iostreams.Test()
			f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}}
			ran := false
			cmd := NewCmdOrders(f, func(*Options) error { ran = true; return nil })
			cmd.SetArgs([]string{verb, "0193a5c2-e1f0-7d4e-9b2a-5c81f0e3d7a4", id})
			cmd.SetOut(&strings.Builder{})
			cmd.SetErr(&strings.Builder{})
			err := cmd.Execute()
			var ee *cmdutil.ExitError
			if ran || !errors.As(err, &ee) || ee.Code != cmdutil.ExitUsage || !strings.Contains(err.Error(), "is not an order ID") {
				t.Errorf("orders %s %q: ran %v, err %v", verb, id, ran, err)
			}
		}
	}
}

// TestShortOrderIDs: on an 80-column terminal `orders list` shows each
// order ID by the start that tells the account's orders apart, its hints
// break between words, and `orders bought` takes that start for the ID;
// the start of two IDs is a usage error naming both.
func TestShortOrderIDs(t *testing.T) {
	ctx := context.Background()
	_, c, e := studyPrinter(t)
	// Held for a day: the orders are scheduled.
	day := 24 * 60
	if _, err := c.SetOrderSettings(ctx, "", arsapi.OrderSettings{HoldMinutes: &day}); err != nil {
		t.Fatal(err)
	}
	res, err := c.ReportLevels(ctx, e.ID, arsapi.LevelReport{Supplies: []printer.Supply{
		{Name: "PGBK", Level: 3, Type: "inkCartridge"}, {Name: "C", Level: 2, Type: "inkCartridge"}}})
	if err != nil || len(res.Orders) != 2 {
		t.Fatalf("ReportLevels = %+v, %v", res, err)
	}
	var ids []string
	for _, o := range res.Orders {
		ids = append(ids, o.ID)
	}
	ios, _, out, errOut := iostreams.Test()
	ios.SetTTY(true)
	ios.SetTerminalWidth(80)
	opts := &Options{IO: ios, Output: &cmdutil.OutputOptions{}, Now: time.Now,
		Client: func(context.Context) (Client, error) { return c, nil }}
	if err := listRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	n := resolve.ShortIDLen(ids)
	for _, id := range ids {
		if strings.Contains(out.String(), id) || !strings.Contains(out.String(), "\n"+resolve.ShortID(id, n)+"  ") {
			t.Errorf("list lacks the short ID %s of %s:\n%s", resolve.ShortID(id, n), id, out)
		}
	}
	if !strings.Contains(out.String(), `TS8320 "study"`) {
		t.Errorf("the printer is cut out of the table:\n%s", out)
	}
	for _, l := range strings.Split(strings.TrimRight(out.String()+errOut.String(), "\n"), "\n") {
		if w := tableprinter.Width(l); w > 80 {
			t.Errorf("line of %d columns: %q", w, l)
		}
	}
	if !strings.Contains(errOut.String(), "`arsctl orders skip ID`") || !strings.Contains(errOut.String(), "`arsctl orders ship ID`") {
		t.Errorf("hint broken inside a word:\n%s", errOut)
	}

	// Orders made together start alike: their common start names both.
	k := 0
	for k < len(ids[0]) && ids[0][k] == ids[1][k] {
		k++
	}
	out.Reset()
	errOut.Reset()
	opts.IDs = []string{ids[0][:k]}
	err = skipRun(ctx, opts)
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "is the start of several order IDs") ||
		!strings.Contains(err.Error(), "PGBK scheduled") || !strings.Contains(err.Error(), "C scheduled") {
		t.Fatalf("ambiguous %q: %v (exit %d)", opts.IDs[0], err, cmdutil.ExitCode(err))
	}
	opts.IDs = []string{strings.ToUpper(resolve.ShortID(ids[1], n))}
	if err := skipRun(ctx, opts); err != nil || !strings.Contains(errOut.String(), "Order "+ids[1]) {
		t.Fatalf("skip %s: %v\n%s", opts.IDs[0], err, errOut)
	}
	if got, _ := c.AccountOrders(ctx, arsapi.OrderSkipped); len(got) != 1 || got[0].ID != ids[1] {
		t.Fatalf("skipped: %+v", got)
	}
	opts.IDs = []string{"ffffffff"}
	if err := boughtRun(ctx, opts); cmdutil.ExitCode(err) != cmdutil.ExitNotFound || !strings.Contains(err.Error(), `no order of your account starts with "ffffffff"`) {
		t.Fatalf("no such start: %v", err)
	}
}

// studyPrinter starts an API with an account that has enrolled one
// TS8320, labelled "study", with Canon.
func studyPrinter(t *testing.T) (*clitest.API, *arsapi.Client, arsapi.Enrollment) {
	t.Helper()
	api := clitest.StartAPI(t)
	c := api.Client(api.Account(t, "owner@example.com"))
	e, err := c.CreateEnrollment(context.Background(), arsapi.CreateEnrollmentRequest{Provider: arsapi.ProviderCanon,
		Printer: arsapi.Printer{Model: "TS8320", Serial: clitest.Serial(1), Label: "study"}, TermsVersion: "2026-01"}, "")
	if err != nil {
		t.Fatal(err)
	}
	return api, c, e
}
