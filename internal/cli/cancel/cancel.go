// Package cancel implements `arsctl cancel`: "Cancel Plan" of the account
// pages from the shell, with one or more reasons from the server.
package cancel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/cli/complete"
	"github.com/arsctl/arsctl/internal/cli/resolve"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/prompt"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/provider"
)

// CancelOptions are cancel's inputs.
type CancelOptions struct {
	IO       *iostreams.IOStreams
	Prompter prompt.Prompter
	Output   *cmdutil.OutputOptions
	Client   func(ctx context.Context) (*arsapi.Client, error)
	// Probe reads a printer given by address.
	Probe resolve.Prober

	Target  string
	Reasons []string
	Comment string
	Yes     bool
}

// NewCmdCancel returns the cancel command.
func NewCmdCancel(f *cmdutil.Factory, runF func(*CancelOptions) error) *cobra.Command {
	opts := &CancelOptions{
		IO:       f.IOStreams,
		Prompter: f.Prompter,
		Output:   f.Output,
		Client:   func(ctx context.Context) (*arsapi.Client, error) { return resolve.Client(ctx, f) },
		Probe:    resolve.NewProber(f.IPPClient(), 5*time.Second),
	}
	cmd := &cobra.Command{
		Use:   "cancel [PRINTER|ENROLLMENT]",
		Short: "Cancel a printer's replenishment plan",
		Long: `Cancel the Auto Replenishment plan of a printer (Manage Plan -> Cancel Plan
on the service's account pages). No further ink is ordered; orders still
scheduled are skipped, and orders already handed to the provider are not
affected. The printer can be enrolled again later.

PRINTER|ENROLLMENT is an enrollment ID or its first characters (as
` + "`arsctl status`" + ` shows them), or the printer's serial, UUID, label, model
or network address. On a terminal you
choose the printer, the reasons (one or more) and confirm. In scripts give
--reason (repeatable) and --yes; the reason "other" needs --comment.

The reason IDs come from the server; on the default server they are:
too-expensive, prefer-buying-myself, printing-less, replacing-printer,
delivery-problems, other. Giving none without a terminal lists them.

Cancelling a plan that is already cancelled is not an error. Exits 3 when
nothing matches PRINTER|ENROLLMENT.`,
		Example: `  arsctl cancel                                   # choose, with prompts
  arsctl cancel TS8320 --reason printing-less --yes
  arsctl cancel 0193f1c2-a4 --reason other --comment "moving abroad" --yes

  # cancel every plan in a loop over status output
  arsctl status --all --jq '.[] | select(.state != "cancelled") | .id' |
    xargs -n1 arsctl cancel --reason replacing-printer --yes`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Target = args[0]
			}
			if opts.Output.Machine() {
				opts.IO.SetNeverPrompt(true)
			}
			if runF != nil {
				return runF(opts)
			}
			return cancelRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVarP(&opts.Reasons, "reason", "r", nil, "Why you cancel: a reason `ID` from the server (repeatable)")
	_ = cmd.RegisterFlagCompletionFunc("reason", complete.CancelReasons(f))
	_ = cmd.RegisterFlagCompletionFunc("comment", cobra.NoFileCompletions)
	cmd.ValidArgsFunction = complete.Enrollments(f, true)
	cmd.Flags().StringVar(&opts.Comment, "comment", "", "Free `text` to go with the reasons (required with \"other\")")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "Cancel without asking for confirmation")
	return cmd
}

func cancelRun(ctx context.Context, opts *CancelOptions) error {
	ios := opts.IO
	c, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	reasons, err := c.CancelReasons(ctx)
	if err != nil {
		return err
	}
	ids := make([]string, len(reasons))
	for i, r := range reasons {
		ids[i] = r.ID
	}
	for _, r := range opts.Reasons {
		if !slices.Contains(ids, r) {
			return cmdutil.FlagErrorf("--reason %q is not a reason this server knows; valid reasons: %s", r, strings.Join(ids, ", "))
		}
	}

	e, err := target(ctx, opts, c)
	if err != nil {
		return err
	}
	if e.State == arsapi.StateCancelled {
		ios.Success("The plan for %s is already cancelled (enrollment %s)", resolve.EnrollmentLabel(e), e.ID)
		return printEnrollment(opts, e)
	}

	chosen := opts.Reasons
	if len(chosen) == 0 {
		if !ios.CanPrompt() {
			return cmdutil.FlagErrorf("at least one --reason is required when not running interactively; valid reasons: %s", strings.Join(ids, ", "))
		}
		options := make([]prompt.Option, len(reasons))
		for i, r := range reasons {
			options[i] = prompt.Option{Label: r.Label, Value: r.ID}
		}
		chosen, err = opts.Prompter.MultiSelect("Why are you cancelling?", "select one or more (space to select, enter to confirm)", options, 1)
		if err != nil {
			return err
		}
	}
	comment := strings.TrimSpace(opts.Comment)
	for _, r := range reasons {
		if !r.TakesComment || !slices.Contains(chosen, r.ID) || comment != "" {
			continue
		}
		// The server needs a few words with this reason ("Other").
		if !ios.CanPrompt() {
			return cmdutil.FlagErrorf("--reason %s needs --comment saying what it is", r.ID)
		}
		comment, err = opts.Prompter.Input(fmt.Sprintf("Tell us more (%q needs a few words)", r.Label), "", func(s string) error {
			if strings.TrimSpace(s) == "" {
				return errors.New("please say what it is")
			}
			return nil
		})
		if err != nil {
			return err
		}
		comment = strings.TrimSpace(comment)
	}

	if !opts.Yes {
		if !ios.CanPrompt() {
			return cmdutil.FlagErrorf("--yes is required to cancel when not running interactively")
		}
		ok, err := opts.Prompter.Confirm(fmt.Sprintf("Cancel the plan for %s?", resolve.EnrollmentLabel(e)),
			"No more ink will be ordered for this printer.", "Cancel plan", "Keep plan", false)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(ios.ErrOut, "The plan was kept.")
			return cmdutil.SilentExit(cmdutil.ExitCancelled)
		}
	}
	prov, err := provider.Get(string(e.Provider), c)
	if err != nil {
		return err
	}
	ios.StartProgress("Cancelling…")
	got, err := prov.Cancel(ctx, e.ID, arsapi.CancelRequest{Reasons: chosen, Comment: comment})
	ios.StopProgress()
	var p *arsapi.Problem
	if errors.As(err, &p) && p.Code == arsapi.CodeNotActive {
		if now, gerr := prov.Get(ctx, e.ID); gerr == nil && now.State == arsapi.StateCancelled {
			ios.Success("The plan for %s is already cancelled (enrollment %s)", resolve.EnrollmentLabel(now), now.ID)
			return printEnrollment(opts, now)
		}
	}
	if err != nil {
		return err
	}
	ios.Success("Cancelled the plan for %s (enrollment %s); no more ink will be ordered", resolve.EnrollmentLabel(got), got.ID)
	return printEnrollment(opts, got)
}

func printEnrollment(opts *CancelOptions, e arsapi.Enrollment) error {
	return opts.Output.Print(opts.IO, e, func(w io.Writer) error {
		if opts.IO.IsStdoutTTY() {
			return nil // the success line on stderr says it all
		}
		_, err := fmt.Fprintf(w, "%s\t%s\t%s\n", iostreams.Safe(e.ID), iostreams.Safe(string(e.State)), iostreams.Safe(e.Printer.Model))
		return err
	})
}

// target finds the enrollment to cancel.
func target(ctx context.Context, opts *CancelOptions, c *arsapi.Client) (arsapi.Enrollment, error) {
	ios := opts.IO
	all, err := resolve.ListEnrollments(ctx, c)
	if err != nil {
		return arsapi.Enrollment{}, err
	}
	live := resolve.Live(all)
	if opts.Target == "" {
		if len(live) == 0 {
			return arsapi.Enrollment{}, cmdutil.NotFoundf("no active plan to cancel; `arsctl status --all` lists every enrollment")
		}
		if !ios.CanPrompt() {
			return arsapi.Enrollment{}, cmdutil.FlagErrorf("the PRINTER or ENROLLMENT argument is required when not running interactively (see `arsctl status`)")
		}
		return choose(opts, live, "Which printer's plan do you want to cancel?")
	}
	m, err := resolve.FindEnrollments(ctx, live, opts.Target, opts.Probe)
	if err != nil {
		return arsapi.Enrollment{}, err
	}
	if len(m) == 0 {
		// An enrollment ID of a cancelled plan: report it as such.
		cancelled, err := resolve.MatchEnrollments(all, opts.Target)
		if err != nil {
			return arsapi.Enrollment{}, err
		}
		for _, e := range cancelled {
			if strings.EqualFold(e.ID, opts.Target) || !provider.Live(e) {
				return e, nil
			}
		}
		return arsapi.Enrollment{}, cmdutil.NotFoundf("no enrollment matches %q; run `arsctl status` to list them", opts.Target)
	}
	if len(m) == 1 {
		return m[0], nil
	}
	if !ios.CanPrompt() {
		var s []string
		for _, e := range m {
			s = append(s, e.ID+" ("+resolve.EnrollmentLabel(e)+")")
		}
		return arsapi.Enrollment{}, cmdutil.FlagErrorf("%q matches several enrollments: %s; give an enrollment ID", opts.Target, strings.Join(s, ", "))
	}
	return choose(opts, m, "Several printers match; which one?")
}

func choose(opts *CancelOptions, es []arsapi.Enrollment, title string) (arsapi.Enrollment, error) {
	options := make([]prompt.Option, len(es))
	for i, e := range es {
		options[i] = prompt.Option{Label: fmt.Sprintf("%s with %s (%s)", resolve.EnrollmentLabel(e), e.Provider.Title(), e.State), Value: e.ID}
	}
	id, err := opts.Prompter.Select(title, "", options)
	if err != nil {
		return arsapi.Enrollment{}, err
	}
	for _, e := range es {
		if e.ID == id {
			return e, nil
		}
	}
	return arsapi.Enrollment{}, fmt.Errorf("no enrollment %s", id)
}
