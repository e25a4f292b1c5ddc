// Package root assembles arsctl's command tree.
package root

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/arsctl/arsctl/internal/cli/authcmd"
	"github.com/arsctl/arsctl/internal/cli/cancel"
	"github.com/arsctl/arsctl/internal/cli/configcmd"
	"github.com/arsctl/arsctl/internal/cli/discover"
	"github.com/arsctl/arsctl/internal/cli/doctor"
	"github.com/arsctl/arsctl/internal/cli/models"
	"github.com/arsctl/arsctl/internal/cli/monitor"
	"github.com/arsctl/arsctl/internal/cli/orders"
	"github.com/arsctl/arsctl/internal/cli/register"
	"github.com/arsctl/arsctl/internal/cli/rundemo"
	"github.com/arsctl/arsctl/internal/cli/status"
	"github.com/arsctl/arsctl/internal/cli/version"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
)

// NewCmdRoot returns the arsctl root command with every subcommand.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "arsctl <command> [flags]",
		Short: "Enroll printers in automatic ink replenishment",
		Long: `arsctl finds printers on your network, enrolls them in an Auto Replenishment
Service (ink is ordered automatically when a supply runs low), shows their
status, and cancels plans: from a terminal, or from scripts for a whole fleet.

It talks to an ARS API server (arsd): --server, ARS_SERVER, the config file,
or a local arsd at 127.0.0.1:8787.

Serial numbers show only their last four characters (****1234) in
messages, tables, fleet results and the monitor's output, since a Canon
printer's serial doubles as its admin password; discover shows them in
full, to pick a printer by, and so does --json of status, cancel and
register for one printer (the enrollment as the API returns it).

Exit codes:
  0  success
  1  error
  2  bad usage, or a required flag missing when no prompt is possible
  3  not found (no printer, no enrollment)
  4  authentication needed or refused
  5  cancelled by the user
The same problem has the same code in every command: an empty list (status
with nothing enrolled) is 0, no multicast interface or an ineligible model
is 1, a printer that does not answer at --host is 3; README.md has the
whole table.`,
		Example: `  arsctl discover                          # printers on this network
  arsctl register --provider canon         # enroll one, answering prompts
  arsctl status --all --json
  arsctl cancel TS8320 --reason printing-less --yes`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       f.Version,
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return cmdutil.FlagErrorf("%v\nRun '%s --help' for usage.", err, c.CommandPath())
	})
	pf := cmd.PersistentFlags()
	pf.BoolVar(&f.Output.JSON, "json", false, "Print machine-readable JSON on stdout")
	pf.StringVar(&f.Output.JQ, "jq", "", "Filter JSON output with a jq `expression`")
	pf.StringVar(&f.ServerFlag, "server", "", "ARS API server `URL` (default: ARS_SERVER, config, or http://127.0.0.1:8787)")
	pf.BoolVar(&f.Debug, "debug", false, "Trace HTTP requests on stderr (secrets redacted)")
	cmd.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		// `output: json` in the config file means --json by default.
		if !c.Flags().Changed("json") && f.Output.JQ == "" {
			if cfg, err := f.Config(); err == nil && cfg != nil && cfg.Output == "json" {
				f.Output.JSON = true
			}
		}
		// A bad --jq expression is a usage error before anything is done.
		return f.Output.Validate()
	}

	cmd.AddCommand(version.NewCmdVersion(f, nil), authcmd.NewCmdAuth(f), monitor.NewCmdMonitor(f, nil))
	cmd.AddCommand(discover.NewCmdDiscover(f, nil), doctor.NewCmdDoctor(f, nil), models.NewCmdModels(f, nil))
	cmd.AddCommand(register.NewCmdRegister(f, nil), status.NewCmdStatus(f, nil), cancel.NewCmdCancel(f, nil))
	cmd.AddCommand(configcmd.NewCmdConfig(f, nil), orders.NewCmdOrders(f, nil), rundemo.NewCmdDemo(f, nil))
	// cobra adds its completion command when it runs; added now, it gets
	// the same argument checks as every other group (an unknown shell is
	// a usage error, where cobra showed the help and exited 0).
	cmd.InitDefaultCompletionCmd()
	fitCompletionHelp(cmd)
	usageArgs(cmd)
	wrapFlagUsages(cmd, f.IOStreams)
	return cmd
}

// wrapFlagUsages makes help and usage list flags as wide as the terminal
// at most (80 columns when not one): a flag's description breaks between
// words and goes on under itself, where the terminal would break it
// anywhere. cobra's own usage text is kept, with its flag lists wrapped
// (a usage template instead would cost the binary its dead code
// elimination).
func wrapFlagUsages(cmd *cobra.Command, ios *iostreams.IOStreams) {
	usage := cmd.UsageFunc()
	inner := false // UsageString runs the usage func again, into a buffer
	cmd.SetUsageFunc(func(c *cobra.Command) error {
		if inner {
			return usage(c)
		}
		inner = true
		text := c.UsageString()
		inner = false
		width := ios.TerminalWidth() - 1
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.InheritedFlags()} {
			if plain := strings.TrimRight(fs.FlagUsages(), " \t\n"); plain != "" {
				text = strings.Replace(text, plain, strings.TrimRight(fs.FlagUsagesWrapped(width), " \t\n"), 1)
			}
		}
		_, err := io.WriteString(c.OutOrStderr(), text)
		return err
	})
}

// fitCompletionHelp breaks the lines of cobra's completion help that
// are wider than 80 columns between words, as arsctl's own help is
// written (a terminal broke "package manager" mid-word).
func fitCompletionHelp(root *cobra.Command) {
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		for _, sub := range append([]*cobra.Command{c}, c.Commands()...) {
			lines := strings.Split(sub.Long, "\n")
			var out []string
			for _, l := range lines {
				out = append(out, iostreams.Wrap(l, 79)...)
			}
			sub.Long = strings.Join(out, "\n")
		}
	}
}

// usageArgs makes argument mistakes usage errors (exit 2), like flag
// mistakes: an unknown command, for which cobra's own error is a plain
// one (exit 1) and a group without a Run of its own would show its help
// and exit 0, and a wrong number of arguments.
func usageArgs(c *cobra.Command) {
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
	check := c.Args
	if c.HasSubCommands() && !c.Runnable() {
		// A group (arsctl, arsctl auth): no arguments of its own; alone,
		// it shows its help.
		check = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if cmd.SuggestionsMinimumDistance <= 0 {
				cmd.SuggestionsMinimumDistance = 2
			}
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return errors.New(msg)
		}
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	if check == nil {
		return
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return cmdutil.FlagErrorf("%v\nRun '%s --help' for usage.", err, cmd.CommandPath())
		}
		return nil
	}
}
