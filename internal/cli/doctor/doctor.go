// Package doctor implements `arsctl doctor`.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/pkg/discovery"
	"github.com/arsctl/arsctl/pkg/snmp"
)

// Options are the inputs of `arsctl doctor`.
type Options struct {
	IO      *iostreams.IOStreams
	Output  *cmdutil.OutputOptions
	IPP     discovery.IPPClient
	Host    string
	Timeout time.Duration
	// NoMDNS skips the three mDNS checks (nothing is sent to the
	// multicast group), e.g. to check only the printer at Host.
	NoMDNS bool
	// ProcRoot is where /proc is mounted (tests point it elsewhere).
	ProcRoot string
	// SNMP queries an SNMP agent; snmp.Query when nil.
	SNMP func(context.Context, string) (*snmp.Info, error)
}

// Report is what `arsctl doctor --json` prints.
type Report struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

// NewCmdDoctor returns the doctor command.
func NewCmdDoctor(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Output: f.Output, ProcRoot: "/proc"}
	cmd := &cobra.Command{
		Use:   "doctor [--host ADDR[:PORT]]",
		Short: "Check that printers can be found and reached",
		Long: `Check what arsctl needs to find and read printers, one line per check with
a hint when it fails:

  - mDNS socket: UDP port 5353 can be bound and the mDNS group joined
    (and which other program, e.g. avahi-daemon, shares the port)
  - multicast route: some interface can send to 224.0.0.251
  - printers answering mDNS: who answers a short browse

With --host, also the printer at that address:

  - IPP port: TCP 631 accepts a connection
  - IPP: Get-Printer-Attributes answers, with the model and serial
  - SNMP: UDP 161 answers a get; when IPP already gave the serial number,
    SNMP is optional and a printer that does not answer it is marked "–"

--no-mdns skips the mDNS checks, so that only the printer at --host is
asked and nothing is sent to the multicast group.

Exits 1 when any check fails.`,
		Example: `  arsctl doctor
  arsctl doctor --host 192.168.1.20
  arsctl doctor --host 192.168.1.20 --no-mdns   # only that printer
  arsctl doctor --json | jq '.checks[] | select(.ok | not)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Timeout <= 0 {
				return cmdutil.FlagErrorf("--timeout must be positive")
			}
			if opts.NoMDNS && opts.Host == "" {
				return cmdutil.FlagErrorf("--no-mdns leaves nothing to check without --host")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			if opts.IPP == nil {
				opts.IPP = f.IPPClient()
			}
			return doctorRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Host, "host", "", "Also check the printer at `ADDR[:PORT]`")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 2*time.Second, "Time allowed for each network check")
	cmd.Flags().BoolVar(&opts.NoMDNS, "no-mdns", false, "Skip the mDNS checks: send nothing to the multicast group (needs --host)")
	return cmd
}

// doctorRun executes doctor with opts.
func doctorRun(ctx context.Context, opts *Options) error {
	if opts.SNMP == nil {
		opts.SNMP = func(ctx context.Context, host string) (*snmp.Info, error) {
			return snmp.Query(ctx, host, snmp.Options{Timeout: opts.Timeout})
		}
	}
	var host, hostport string
	if opts.Host != "" {
		var err error
		if host, hostport, err = splitHost(opts.Host); err != nil {
			return cmdutil.FlagErrorf("--host %q: %v", opts.Host, err)
		}
	}
	rep := Report{OK: true}
	add := func(c Check) {
		rep.Checks = append(rep.Checks, c)
		if !c.OK && !c.Optional {
			rep.OK = false
		}
		if !opts.Output.Machine() {
			printCheck(opts.IO, c)
		}
	}
	run := func(label string, f func() Check) {
		opts.IO.StartProgress(label)
		c := f()
		opts.IO.StopProgress()
		add(c)
	}
	if !opts.NoMDNS {
		run("Checking the mDNS socket…", func() Check { return checkMDNSSocket(ctx, opts.ProcRoot) })
		run("Checking multicast routing…", func() Check { return checkMulticastRoute(ctx) })
		run("Browsing for printers…", func() Check { return checkMDNSAnswers(ctx, opts.Timeout) })
	}
	if host != "" {
		run("Connecting to "+hostport+"…", func() Check { return checkTCP631(ctx, hostport, opts.Timeout) })
		var ippSerial bool
		run("Asking "+hostport+" over IPP…", func() Check {
			var c Check
			c, ippSerial = checkIPP(ctx, hostport, opts.Timeout, opts.IPP)
			return c
		})
		run("Asking "+host+" over SNMP…", func() Check {
			c := checkSNMP(ctx, host, opts.Timeout, opts.SNMP)
			switch {
			case c.OK:
			case ippSerial:
				// IPP gave the model and serial: SNMP is a nice-to-have.
				c.Optional = true
				c.Detail = "not answering (" + c.Detail + "); optional: IPP gives the model and serial"
				c.Hint = "to read levels over SNMP too, " + c.Hint
			default:
				c.Hint = "arsctl needs SNMP for this printer's serial number, which IPP does not give: " + c.Hint
			}
			return c
		})
	}
	if opts.Output.Machine() {
		if err := cmdutil.WriteJSON(opts.IO.Out, rep, opts.Output.JQ); err != nil {
			return err
		}
	} else if rep.OK && warned(rep) {
		fmt.Fprintln(opts.IO.Out, "The checks arsctl needs passed; the optional ones marked – did not.")
	} else if rep.OK {
		fmt.Fprintln(opts.IO.Out, "All checks passed.")
	} else {
		fmt.Fprintln(opts.IO.Out, "Some checks failed; see the hints above.")
	}
	if !rep.OK {
		return cmdutil.SilentExit(cmdutil.ExitFailure)
	}
	return nil
}

// warned reports whether an optional check failed.
func warned(rep Report) bool {
	for _, c := range rep.Checks {
		if !c.OK && c.Optional {
			return true
		}
	}
	return false
}

func printCheck(ios *iostreams.IOStreams, c Check) {
	w := io.Writer(ios.Out)
	mark := ios.Colorize("32", "✓")
	switch {
	case !c.OK && c.Optional:
		// Neither passed nor failed: not needed here.
		mark = ios.Colorize("2", "–")
	case !c.OK:
		mark = ios.Colorize("31", "✗")
	}
	// On a terminal, lines break between words, indented under their
	// start.
	width := 0
	if ios.IsStdoutTTY() {
		width = ios.TerminalWidth()
	}
	for i, l := range iostreams.Wrap(c.Name+": "+c.Detail, width-2) {
		if i == 0 {
			fmt.Fprintf(w, "%s %s\n", mark, l)
		} else {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	if !c.OK && c.Hint != "" {
		label := "fix"
		if c.Optional {
			label = "tip"
		}
		for i, l := range iostreams.Wrap(label+": "+c.Hint, width-9) {
			if i == 0 {
				fmt.Fprintf(w, "    %s\n", l)
			} else {
				fmt.Fprintf(w, "         %s\n", l)
			}
		}
	}
}

// netDetail says in a few words why a connection failed ("connection
// refused", "no answer within 2s"), instead of Go's chain of wrapped
// errors; other errors are returned as they are.
func netDetail(err error, timeout time.Duration) string {
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	case errors.As(err, &dns):
		return "unknown host " + dns.Name
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("no answer within %s", timeout)
	}
	return err.Error()
}
