package orders

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/cli/clitest"
	"github.com/arsctl/arsctl/internal/cli/resolve"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

func TestNewCmdSettingsFlags(t *testing.T) {
	hold := func(m int) *int { return &m }
	for _, tc := range []struct {
		args    string
		wantErr string
		want    Options
	}{
		{args: "settings", want: Options{}},
		{args: "settings study --policy threshold", want: Options{Target: "study", Policy: "threshold"}},
		{args: "settings --hold 0", want: Options{Hold: hold(0)}},
		{args: "settings --hold 2d --policy inherit", want: Options{Policy: Inherit, Hold: hold(2880)}},
		{args: "settings --hold inherit", want: Options{Hold: hold(-1)}},
		{args: "settings --policy sometimes", wantErr: `--policy: "sometimes" is not one of forecast, threshold or inherit`},
		{args: "settings --hold soon", wantErr: `want a duration such as 24h`},
		{args: "settings --hold 30d", wantErr: `up to 14 days`},
		{args: "settings a b", wantErr: "accepts at most 1 arg"},
	} {
		ios, _, _, _ := iostreams.Test()
		f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}}
		var got *Options
		cmd := NewCmdOrders(f, func(o *Options) error { got = o; return nil })
		cmd.SetArgs(strings.Fields(tc.args))
		cmd.SetOut(&strings.Builder{})
		cmd.SetErr(&strings.Builder{})
		err := cmd.Execute()
		if tc.wantErr != "" {
			// cobra's argument errors become exit 2 at the root command.
			usage := strings.HasPrefix(tc.wantErr, "accepts") || cmdutil.ExitCode(err) == cmdutil.ExitUsage
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !usage {
				t.Errorf("%q: err = %v (exit %d), want %q (exit 2)", tc.args, err, cmdutil.ExitCode(err), tc.wantErr)
			}
			continue
		}
		if err != nil || got == nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if got.Target != tc.want.Target || got.Policy != tc.want.Policy || (got.Hold == nil) != (tc.want.Hold == nil) ||
			(got.Hold != nil && *got.Hold != *tc.want.Hold) {
			t.Errorf("%q: options target %q policy %q hold %v, want %+v", tc.args, got.Target, got.Policy, got.Hold, tc.want)
		}
	}
}

// TestSettings sets the account's settings, then a printer's own, and
// shows where each value comes from; inherit clears the printer's.
func TestSettings(t *testing.T) {
	ctx := context.Background()
	_, c, e := studyPrinter(t)
	run := func(json bool, mutate func(*Options)) (string, string, error) {
		ios, _, out, errOut := iostreams.Test()
		o := &Options{IO: ios, Output: &cmdutil.OutputOptions{JSON: json}, Now: time.Now,
			Client: func(context.Context) (Client, error) { return c, nil }}
		mutate(o)
		err := settingsRun(ctx, o)
		return out.String(), errOut.String(), err
	}
	hold := func(m int) *int { return &m }

	out, _, err := run(false, func(o *Options) {})
	if err != nil || out != "policy\tforecast\tdefault\nhold\tnone\tdefault\n" {
		t.Fatalf("account, nothing set: %q, %v", out, err)
	}
	_, errOut, err := run(false, func(o *Options) { o.Policy = "threshold"; o.Hold = hold(120) })
	if err != nil || !strings.Contains(errOut, "Order settings of your account saved") {
		t.Fatalf("set account: %q, %v", errOut, err)
	}
	out, _, err = run(false, func(o *Options) { o.Target = "study" })
	if err != nil || out != "policy\tthreshold\taccount\nhold\t2h\taccount\n" {
		t.Fatalf("printer inherits: %q, %v", out, err)
	}
	// Only the hold on the printer: the policy stays the account's.
	out, _, err = run(true, func(o *Options) { o.Target = "study"; o.Hold = hold(0) })
	var got arsapi.OrderSettings
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || got.Policy != "" || got.HoldMinutes == nil || *got.HoldMinutes != 0 ||
		got.Effective == nil || *got.Effective != (arsapi.EffectiveOrderSettings{Policy: "threshold", PolicyFrom: "account", HoldMinutes: 0, HoldFrom: "printer"}) {
		t.Fatalf("printer --hold 0 --json: %q, %v", out, err)
	}
	if set, _ := c.OrderSettings(ctx, e.ID); set.Policy != "" || set.HoldMinutes == nil || *set.HoldMinutes != 0 {
		t.Fatalf("server has %+v", set)
	}
	out, _, err = run(false, func(o *Options) { o.Target = e.ID; o.Policy = "forecast"; o.Hold = hold(-1) })
	if err != nil || out != "policy\tforecast\tprinter\nhold\t2h\taccount\n" {
		t.Fatalf("printer forecast, hold inherit: %q, %v", out, err)
	}
	if _, _, err := run(false, func(o *Options) { o.Target = "kitchen" }); cmdutil.ExitCode(err) != cmdutil.ExitNotFound {
		t.Fatalf("unknown printer: %v (exit %d)", err, cmdutil.ExitCode(err))
	}

	// On an 80-column terminal the heading breaks between words, not
	// inside the enrollment ID.
	ios, _, _, headErr := iostreams.Test()
	ios.SetTTY(true)
	ios.SetTerminalWidth(80)
	if err := settingsRun(ctx, &Options{IO: ios, Output: &cmdutil.OutputOptions{}, Now: time.Now, Target: "study",
		Client: func(context.Context) (Client, error) { return c, nil }}); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(headErr.String()), "\n") {
		if len(l) > 80 || !strings.Contains(headErr.String(), e.ID+"):\n") {
			t.Errorf("heading wider than the terminal, or broken inside the ID:\n%s", headErr)
		}
	}

	// The start of an enrollment ID names its printer; the start of two
	// is a usage error that names both.
	e2, err := c.CreateEnrollment(ctx, arsapi.CreateEnrollmentRequest{Provider: arsapi.ProviderCanon,
		Printer: arsapi.Printer{Model: "TS8320", Serial: clitest.Serial(2), Label: "hall"}, TermsVersion: "2026-01"}, "")
	if err != nil {
		t.Fatal(err)
	}
	n := resolve.ShortIDLen([]string{e.ID, e2.ID})
	out, _, err = run(false, func(o *Options) { o.Target = resolve.ShortID(e.ID, n) })
	if err != nil || out != "policy\tforecast\tprinter\nhold\t2h\taccount\n" {
		t.Fatalf("by short ID: %q, %v", out, err)
	}
	// UUIDv7 IDs made together start alike: their common start.
	k := 0
	for k < len(e.ID) && e.ID[k] == e2.ID[k] {
		k++
	}
	common := e.ID[:k]
	_, _, err = run(false, func(o *Options) { o.Target = common })
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "is the start of several enrollment IDs") ||
		!strings.Contains(err.Error(), `"study"`) || !strings.Contains(err.Error(), `"hall"`) {
		t.Fatalf("ambiguous %q: %v (exit %d)", common, err, cmdutil.ExitCode(err))
	}
}
