package orders

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/cli/complete"
	"github.com/arsctl/arsctl/internal/cli/resolve"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/tableprinter"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Inherit, as --policy or --hold, clears a setting: a printer then takes
// its account's, an account the server's default.
const Inherit = "inherit"

func newCmdSettings(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := newOptions(f)
	var hold string
	cmd := &cobra.Command{
		Use:   "settings [PRINTER] [--policy forecast|threshold|inherit] [--hold DURATION|0|inherit]",
		Short: "Show or set the order policy and hold of the account or a printer",
		Long: `Show or set when ink is ordered and how long a new order waits for you.

--policy forecast (the default) orders when a supply is forecast to run out
before ink ordered now would arrive, and never later than the printer's own
low level; --policy threshold orders at the low level.
--hold is how long a new order stays scheduled, so that you can skip it or
ship it now (` + "`arsctl orders skip|ship`" + `), before it is handed over: a
duration such as 24h (the default), 90m or 2d, up to 14d; 0 is no hold.
inherit clears a setting: a printer then does as the account does, and the
account as the server's default.

Without PRINTER the settings are the account's, which every printer
inherits; PRINTER (serial, label, model, or enrollment ID or its first
characters, as in ` + "`arsctl status`" + `) sets a printer's own. Without
--policy or --hold the settings that apply are shown, each with where it
comes from: printer, account or default. Exits 3 when no printer matches.`,
		Example: `  arsctl orders settings
  arsctl orders settings --policy threshold --hold 0
  arsctl orders settings study --hold 2d
  arsctl orders settings study --policy inherit --hold inherit
  arsctl orders settings TS8320 --json | jq -r .effective.policy`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Target = args[0]
			}
			if opts.Policy != "" && opts.Policy != Inherit && !slices.Contains(arsapi.OrderPolicies, opts.Policy) {
				return cmdutil.FlagErrorf("--policy: %q is not one of %s or %s", opts.Policy, strings.Join(arsapi.OrderPolicies, ", "), Inherit)
			}
			if cmd.Flags().Changed("hold") {
				m := -1
				if hold != Inherit {
					var err error
					if m, err = arsapi.ParseHold(hold); err != nil {
						return cmdutil.FlagErrorf("--%v", err)
					}
				}
				opts.Hold = &m
			}
			if runF != nil {
				return runF(opts)
			}
			return settingsRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Policy, "policy", "", "Order `policy`: forecast, threshold or inherit")
	cmd.Flags().StringVar(&hold, "hold", "", "Hold window of new orders: a `duration` (24h, 90m, 2d), 0 for none, or inherit")
	_ = cmd.RegisterFlagCompletionFunc("policy", complete.Values(
		arsapi.OrderPolicyForecast, "order before the forecast runs out (default)",
		arsapi.OrderPolicyThreshold, "order at the printer's low level",
		Inherit, "as the account (printer) or the server's default (account)"))
	_ = cmd.RegisterFlagCompletionFunc("hold", complete.Values("24h", "a day", "0", "no hold", "2d", "two days", Inherit, "as the account (printer) or the server's default (account)"))
	cmd.ValidArgsFunction = complete.Enrollments(f, true)
	return cmd
}

func settingsRun(ctx context.Context, opts *Options) error {
	c, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	ios := opts.IO
	id, whose := "", "your account"
	if opts.Target != "" {
		e, err := settingsTarget(ctx, c, opts.Target)
		if err != nil {
			return err
		}
		id, whose = e.ID, resolve.EnrollmentLabel(e)+" (enrollment "+e.ID+")"
	}
	set, err := c.OrderSettings(ctx, id)
	if err != nil {
		return err
	}
	if opts.Policy != "" || opts.Hold != nil {
		put := arsapi.OrderSettings{Policy: set.Policy, HoldMinutes: set.HoldMinutes}
		switch opts.Policy {
		case "":
		case Inherit:
			put.Policy = ""
		default:
			put.Policy = opts.Policy
		}
		if opts.Hold != nil {
			put.HoldMinutes = opts.Hold
			if *opts.Hold < 0 {
				put.HoldMinutes = nil
			}
		}
		if set, err = c.SetOrderSettings(ctx, id, put); err != nil {
			return err
		}
		ios.Success("Order settings of %s saved", whose)
	} else if ios.IsStdoutTTY() && !opts.Output.Machine() {
		ios.Info("Order settings of %s:", whose)
	}
	return opts.Output.Print(ios, set, func(w io.Writer) error {
		eff := set.Effective
		if eff == nil {
			return fmt.Errorf("the server did not say which order settings apply; is it an older arsd?")
		}
		t := tableprinter.New(ios, "SETTING", "VALUE", "FROM")
		t.AddRow("policy", eff.Policy, eff.PolicyFrom)
		t.AddRow("hold", arsapi.HoldText(eff.HoldMinutes), eff.HoldFrom)
		return t.Render()
	})
}

// settingsTarget finds the enrollment that q names among the account's
// live ones (else any, for an enrollment ID).
func settingsTarget(ctx context.Context, c Client, q string) (arsapi.Enrollment, error) {
	all, err := c.ListEnrollments(ctx)
	if err != nil {
		return arsapi.Enrollment{}, err
	}
	m, err := resolve.MatchEnrollments(resolve.Live(all), q)
	if err == nil && len(m) == 0 {
		m, err = resolve.MatchEnrollments(all, q)
	}
	if err != nil {
		return arsapi.Enrollment{}, err
	}
	switch len(m) {
	case 0:
		return arsapi.Enrollment{}, cmdutil.NotFoundf("no printer or enrollment matches %q; run `arsctl status` to list them", q)
	case 1:
		return m[0], nil
	}
	s := make([]string, len(m))
	for i, e := range m {
		s[i] = e.ID + " (" + iostreams.Safe(resolve.EnrollmentLabel(e)) + ")"
	}
	return arsapi.Enrollment{}, cmdutil.FlagErrorf("%q matches several enrollments: %s; give an enrollment ID", q, strings.Join(s, ", "))
}
