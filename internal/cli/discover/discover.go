// Package discover implements `arsctl discover`.
package discover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/cli/eligibility"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/tableprinter"
	"github.com/arsctl/arsctl/pkg/discovery"
	"github.com/arsctl/arsctl/pkg/printer"
)

// DefaultEligibilityWait bounds how long after the search started a row
// waits for the server's answer: a server on this machine or the LAN
// answers long before the first printer does; one that does not answer
// in time leaves the rows "unknown" rather than holding them back. A
// server that is down (refused) costs nothing. EligibilityWaitEnv
// overrides it (a Go duration, e.g. "2s" for a slow link).
const DefaultEligibilityWait = 500 * time.Millisecond

// EligibilityWaitEnv names the environment variable that overrides
// DefaultEligibilityWait.
const EligibilityWaitEnv = "ARS_ELIGIBILITY_WAIT"

// Options are the inputs of `arsctl discover`.
type Options struct {
	IO     *iostreams.IOStreams
	Output *cmdutil.OutputOptions
	IPP    discovery.IPPClient

	Hosts      []string
	Timeout    time.Duration
	Stream     bool
	Interfaces []string
	// Search holds --subnet, --domain and the SNMP credentials; Getenv
	// and Config supply their secrets.
	Search *cmdutil.SearchFlags
	Getenv config.Env
	Config func() (*config.Config, error)

	// Eligibility reaches the server, which is asked while the network is
	// searched what it says of each printer (see package eligibility);
	// EligibilityWait is how long after the start a row may wait for that
	// answer (default DefaultEligibilityWait).
	Eligibility     eligibility.Clients
	EligibilityWait time.Duration

	// Discover and Probe default to the discovery package's functions.
	Discover func(context.Context, discovery.Options, func(discovery.Event)) ([]printer.Printer, error)
	Probe    func(context.Context, string, discovery.Options) (printer.Printer, error)
}

// NewCmdDiscover returns the discover command. runF replaces the command's
// behaviour in tests.
func NewCmdDiscover(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{
		IO:       f.IOStreams,
		Output:   f.Output,
		Getenv:   f.Getenv,
		Config:   f.Config,
		Discover: discovery.Discover,
		Probe:    discovery.ProbeHost,
		Eligibility: eligibility.Clients{
			PublicClient: func() (eligibility.Catalogue, error) {
				c, err := f.PublicAPIClient()
				if err != nil {
					return nil, err
				}
				return c, nil
			},
			Client: func(ctx context.Context) (eligibility.Account, error) {
				c, err := f.APIClient(ctx)
				if err != nil {
					return nil, err
				}
				return c, nil
			},
		},
	}
	cmd := &cobra.Command{
		Use:   "discover [--host ADDR[:PORT]]... [--subnet CIDR]... [--domain DOMAIN]... [--timeout D] [--stream]",
		Short: "Find printers on the network",
		Long: `Find printers on the local network and show, for each, its name, addresses,
make and model, serial number, IPP URI and ink or toner levels.

Printers are found with mDNS/DNS-SD (the _ipp._tcp and _ipps._tcp services,
UDP port 5353) and then asked for their details over IPP (TCP port 631),
falling back to SNMP (UDP port 161) for what IPP does not tell. Rows appear
as printers answer; the search ends as soon as every printer seen has
answered and the network is quiet, or after --timeout.

With --host, the printer at that address is asked directly (IPP, then
SNMP), with no multicast: use it when mDNS is blocked or the printer is on
another subnet. --host may be repeated: every address is asked, at the
same time; an address that does not answer is reported on stderr, and the
exit status is 3 only when none answered.

mDNS does not cross routers. To find the printers of other subnets (a
printer VLAN), --subnet probes every address of a range with SNMP (UDP
161: Printer-MIB and Host Resources MIB, which tell printers from other
devices) and IPP (TCP 631), at most --sweep-rate addresses a second and
--sweep-concurrency at once, and --domain looks for printers published
with DNS-SD in a DNS domain (the _ipp._tcp and _ipps._tcp PTR, SRV, TXT
and A records), through the system's resolver or --dns-server. Both run
alongside mDNS; a printer found several ways is listed once (same UUID or
serial number). A sweep runs to its end, whatever --timeout says; ranges
of more than 65536 addresses need --allow-large-sweep. Nothing is ever
swept unless asked. SNMPv3 is used with --snmp-user; its passwords come
from ARS_SNMP_AUTH_PASSWORD and ARS_SNMP_PRIV_PASSWORD or the config
(arsctl config set snmp.auth-password ...), never from a flag.

A printer that answers only in part (asleep, IPP switched off) is still
listed with what is known; --json shows why the rest is missing under
"problems".

Each printer also shows what the service says of it, before you read any
terms: "eligible (TS5320)" (the model its series stands for, or the models
to choose from), "not eligible: why" (another make, a model not on the
list), "enrolled (yours, canon)" when it is enrolled in your account (signed
in), or "unknown" when no server answers. The server is asked while the
network is searched, so the search is not slower: a server that is down
costs nothing, and one that has not answered within half a second of the
start leaves its rows "unknown" (ARS_ELIGIBILITY_WAIT=2s waits longer, for
a slow link). arsctl models lists the eligible models.

Output: on a terminal, a table as wide as the terminal (COLUMNS overrides
its width): long values end in "…", and a narrow terminal leaves out the
URI, then the make and model; when piped, one tab-separated line per
printer with every value whole (name, addresses, make and model, serial,
URI, levels, eligibility); with --json a JSON array of printers, each with an
"eligibility" object (state: eligible, not-eligible, enrolled or unknown;
model or models; why), or one JSON object per line with --stream.

Exits 3 when no printer is found.`,
		Example: `  arsctl discover
  arsctl discover --timeout 10s
  arsctl discover --host 192.168.1.20
  arsctl discover --host 192.168.1.20 --host 10.1.0.7:8631
  arsctl discover --subnet 10.20.30.0/24 --subnet 10.20.31.10-10.20.31.60
  arsctl discover --subnet 10.20.0.0/22 --snmp-community printers --sweep-rate 50
  ARS_SNMP_AUTH_PASSWORD=... arsctl discover --subnet 10.20.30.0/24 --snmp-user ars --snmp-auth SHA256
  arsctl discover --domain corp.example.com --dns-server 10.0.0.53
  arsctl discover --json | jq -r '.[] | [.model, .serial] | @tsv'
  arsctl discover --json --stream          # NDJSON, one printer per line as found
  arsctl discover --jq '.[] | select(.make == "Canon") | .uri'
  arsctl discover --jq '.[] | select(.eligibility.state == "eligible") | .name'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Timeout <= 0 {
				return cmdutil.FlagErrorf("--timeout must be positive")
			}
			if v := getenv(f, EligibilityWaitEnv); v != "" {
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return cmdutil.FlagErrorf("%s=%q: want a positive duration such as 2s", EligibilityWaitEnv, v)
				}
				opts.EligibilityWait = d
			}
			if opts.Stream && !opts.Output.Machine() {
				return cmdutil.FlagErrorf("--stream needs --json (or --jq)")
			}
			if len(opts.Hosts) > 0 && opts.Search.Any() {
				return cmdutil.FlagErrorf("--host cannot be combined with --subnet or --domain")
			}
			if _, err := opts.discoveryOptions(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			if opts.IPP == nil {
				opts.IPP = f.IPPClient()
			}
			return discoverRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Hosts, "host", nil, "Ask the printer at `ADDR[:PORT]` directly, without multicast (repeatable)")
	fl.DurationVar(&opts.Timeout, "timeout", discovery.DefaultTimeout, "Give up after this `duration`")
	fl.BoolVar(&opts.Stream, "stream", false, "With --json: print one JSON object per line as printers are found")
	fl.StringSliceVar(&opts.Interfaces, "interface", nil, "Search only on these network interfaces (comma-separated `names`)")
	opts.Search = cmdutil.AddSearchFlags(fl)
	return cmd
}

// discoveryOptions builds the discovery options from the flags.
func (opts *Options) discoveryOptions() (discovery.Options, error) {
	dopts := discovery.Options{
		Timeout:    opts.Timeout,
		Interfaces: opts.Interfaces,
		Enrich:     true,
		IPP:        opts.IPP,
	}
	var cfg *config.Config
	if opts.Config != nil {
		c, err := opts.Config()
		if err != nil {
			return dopts, err
		}
		cfg = c
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return dopts, opts.Search.Apply(&dopts, getenv, cfg)
}

// portsHint says which ports must be open for discovery, and what to run
// next; shown when no printer is found. hosts are the addresses asked
// with --host, if any: they were asked directly already, so the hint
// does not suggest it, but checking them with doctor.
func portsHint(hosts []string) string {
	const (
		mdns = "  5353/udp  mDNS: finding printers\n"
		rest = "  631/tcp   IPP: model, serial number and ink levels\n" +
			"  161/udp   SNMP: serial number and levels of some printers\n"
	)
	if len(hosts) == 0 {
		return "If your printer is on and connected to this network, " + cmdutil.SecuritySoftwareNote("the ports printers need") + ":\n" +
			mdns + rest +
			"Run 'arsctl doctor' to test each of them, or 'arsctl discover --host ADDRESS'\nto ask a printer directly. A printer connected by USB answers through\nipp-usb on this computer: 'arsctl discover --host localhost:60000'."
	}
	next := "Run 'arsctl doctor --host " + hosts[0] + " --no-mdns' to test each of them"
	if len(hosts) > 1 {
		next += " (and the same for the other addresses)"
	}
	return "If the printer is on and connected to the network, " + cmdutil.SecuritySoftwareNote("the ports it needs") + ":\n" +
		rest + next + "."
}

// discoverRun executes discover with opts.
func discoverRun(ctx context.Context, opts *Options) error {
	dopts, err := opts.discoveryOptions()
	if err != nil {
		return err
	}
	out := newPrinterWriter(ctx, opts)
	if len(opts.Hosts) > 0 {
		return runHosts(ctx, opts, dopts, out)
	}
	opts.IO.StartProgress(out.label)
	if len(dopts.Sweep.Ranges) > 0 {
		dopts.Sweep.Progress = func(done, total int) {
			out.setLabel("Searching for printers… sweep " + iostreams.ProgressBar(done, total, 24))
		}
	}
	printers, err := opts.Discover(ctx, dopts, func(e discovery.Event) {
		if e.Kind == discovery.Ready {
			out.row(e.Printer)
		}
	})
	opts.IO.StopProgress()
	if err != nil {
		switch {
		case errors.Is(err, discovery.ErrNoMulticast):
			return fmt.Errorf("cannot search the network: %w\nRun 'arsctl doctor' to check, or use --host ADDRESS or --subnet RANGE", err)
		case errors.Is(err, discovery.ErrRangeTooLarge):
			return cmdutil.FlagErrorf("%v: give smaller ranges, or --allow-large-sweep", err)
		case len(printers) == 0 || ctx.Err() != nil:
			return err
		}
		// Another way of searching found printers: list them.
		opts.IO.Warning("%v", err)
	}
	if err := out.finish(printers); err != nil {
		return err
	}
	if len(printers) == 0 {
		where := "within " + opts.Timeout.String()
		if len(dopts.Sweep.Ranges) > 0 {
			where += " nor on " + strings.Join(opts.Search.Subnets, ", ")
		}
		return cmdutil.NotFoundf("no printer found %s.\n%s", where, portsHint(nil))
	}
	return nil
}

// runHosts asks every --host at once and prints each printer as it
// answers (in the order of the flags when the output is one document).
func runHosts(ctx context.Context, opts *Options, dopts discovery.Options, out *printerWriter) error {
	found := make([]*printer.Printer, len(opts.Hosts))
	errs := make([]error, len(opts.Hosts))
	opts.IO.StartProgress("Asking " + strings.Join(opts.Hosts, ", ") + "…")
	var wg sync.WaitGroup
	for i, h := range opts.Hosts {
		wg.Go(func() {
			p, err := opts.Probe(ctx, h, dopts)
			if err != nil {
				errs[i] = err
				return
			}
			found[i] = &p
			out.row(p)
		})
	}
	wg.Wait()
	opts.IO.StopProgress()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var printers []printer.Printer
	var failed []error
	for i := range opts.Hosts {
		if found[i] != nil {
			printers = append(printers, *found[i])
		} else {
			failed = append(failed, errs[i])
		}
	}
	if len(printers) == 0 {
		err := errors.Join(failed...)
		if len(failed) == 1 {
			err = failed[0]
		}
		if errors.Is(err, discovery.ErrNoPrinter) {
			return cmdutil.NotFoundf("%v\n%s", err, portsHint(opts.Hosts))
		}
		return err
	}
	for _, err := range failed {
		opts.IO.Warning("%v", err)
	}
	return out.finish(printers)
}

// printerWriter prints printers as they become ready, in the format the
// options and the terminal call for.
type printerWriter struct {
	opts  *Options
	mu    sync.Mutex
	table *tableprinter.Stream
	label string // the progress line's

	lookup    *eligibility.Lookup
	waitUntil time.Time
}

// newPrinterWriter starts asking the server about printers, in the
// background, for the length of the search.
func newPrinterWriter(ctx context.Context, opts *Options) *printerWriter {
	wait := opts.EligibilityWait
	if wait <= 0 {
		wait = DefaultEligibilityWait
	}
	return &printerWriter{
		opts: opts, label: "Searching for printers…",
		table:     tableprinter.NewStream(opts.IO, columns...),
		lookup:    eligibility.Start(ctx, opts.Eligibility, max(opts.Timeout, wait)),
		waitUntil: time.Now().Add(wait),
	}
}

// Row is a printer as discover prints it in JSON: the printer's fields and
// what the service says of it.
type Row struct {
	printer.Printer
	Eligibility eligibility.Status `json:"eligibility"`
}

// status is the service's word on p: what the server has answered, once
// it has, or by waitUntil at the latest.
func (w *printerWriter) status(p printer.Printer) eligibility.Status {
	select {
	case <-w.lookup.Done():
	default:
		t := time.NewTimer(time.Until(w.waitUntil))
		select {
		case <-w.lookup.Done():
		case <-t.C:
		}
		t.Stop()
	}
	return w.lookup.Of(p)
}

// setLabel changes the progress line.
func (w *printerWriter) setLabel(l string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.label = l
	w.opts.IO.UpdateProgress(l)
}

func (w *printerWriter) machine() bool { return w.opts.Output.Machine() }

// row prints one printer now, unless output is one JSON document.
func (w *printerWriter) row(p printer.Printer) {
	if w.machine() && !w.opts.Stream {
		return
	}
	st := w.status(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	io := w.opts.IO
	switch {
	case w.machine() && w.opts.Stream:
		_ = w.opts.Output.PrintLine(io.Out, Row{Printer: p, Eligibility: st})
	case w.machine():
		return
	case io.IsStdoutTTY():
		io.StopProgress()
		cols := append(Columns(p), st.String())
		if len(p.Addrs) > 1 {
			cols[1] = fmt.Sprintf("%s +%d", p.Addrs[0], len(p.Addrs)-1)
		}
		_ = w.table.Row(cols...)
		for _, pr := range p.Problems {
			fmt.Fprintf(io.ErrOut, "  %s %s: %s\n", io.Colorize("33", "!"), iostreams.Safe(p.Name), iostreams.Safe(pr))
		}
		io.StartProgress(w.label)
	default:
		_ = w.table.Row(append(Columns(p), st.String())...)
		for _, pr := range p.Problems {
			fmt.Fprintf(io.ErrOut, "%s: %s\n", iostreams.Safe(p.Name), iostreams.Safe(pr))
		}
	}
}

// finish prints the final JSON document when one was asked for.
func (w *printerWriter) finish(printers []printer.Printer) error {
	if !w.machine() || w.opts.Stream {
		return nil
	}
	rows := make([]Row, len(printers))
	for i, p := range printers {
		rows[i] = Row{Printer: p, Eligibility: w.status(p)}
	}
	return cmdutil.WriteJSON(w.opts.IO.Out, rows, w.opts.Output.JQ)
}

// columns are the terminal table's, with the width each gets when the
// terminal is wide enough (a printer's address: an IPv4 address and a
// count of the others; six inks' levels). The serial, to pick a printer
// by, is never cut; the URI (the address says where the printer is) and
// then the make and model (the name usually says it) are left out of a
// terminal too narrow for them whole.
var columns = []tableprinter.Column{
	{Header: "NAME", Width: 24},
	{Header: "ADDRESS", Width: 18},
	{Header: "MAKE AND MODEL", Width: 22, Spare: 2},
	{Header: "SERIAL", Width: 12, Whole: true},
	{Header: "URI", Width: 34, Spare: 1},
	{Header: "LEVELS", Width: 40},
	{Header: "ELIGIBILITY", Width: 24},
}

// Columns returns a printer's row: name, addresses, make and model,
// serial, URI and levels. An address carries the printer's port when it
// is not IPP's 631 (ipp-usb's localhost:60000), so that it can be given
// to --host as it is.
func Columns(p printer.Printer) []string {
	mm := strings.TrimSpace(p.Make + " " + p.Model)
	addrs := p.Addrs
	if p.Port != 0 && p.Port != 631 {
		addrs = make([]string, len(p.Addrs))
		for i, a := range p.Addrs {
			addrs[i] = net.JoinHostPort(a, strconv.Itoa(p.Port))
		}
	}
	return []string{p.Name, strings.Join(addrs, ","), mm, p.Serial, p.URI, cmdutil.Levels(p.Supplies)}
}

// getenv reads an environment variable through the factory ("" when it
// has no environment).
func getenv(f *cmdutil.Factory, k string) string {
	if f.Getenv == nil {
		return ""
	}
	return f.Getenv(k)
}
