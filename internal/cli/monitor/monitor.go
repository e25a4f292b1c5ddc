// Package monitor implements `arsctl monitor`, the agent that keeps the
// ARS server informed of every enrolled printer's supply levels.
package monitor

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
	agent "github.com/arsctl/arsctl/internal/monitor"
	"github.com/arsctl/arsctl/internal/tableprinter"
	"github.com/arsctl/arsctl/pkg/discovery"
	"github.com/arsctl/arsctl/pkg/printer"
)

// Options are the options of `arsctl monitor`.
type Options struct {
	IO     *iostreams.IOStreams
	Output *cmdutil.OutputOptions
	// Client returns the signed-in API client.
	Client func(ctx context.Context) (agent.API, error)
	// IPP queries printers.
	IPP discovery.IPPClient
	// DiscoveryOptions turns --subnet, --domain and the SNMP credentials
	// (with the config's and environment's secrets) into discovery
	// options.
	DiscoveryOptions func() (discovery.Options, error)
	// Probe and Browse default to the discovery package's ProbeHost and
	// Discover.
	Probe  func(context.Context, string, discovery.Options) (printer.Printer, error)
	Browse func(context.Context, discovery.Options, func(discovery.Event)) ([]printer.Printer, error)

	Interval   time.Duration
	Once       bool
	Hosts      []string
	NoMDNS     bool
	StatePath  string
	Timeout    time.Duration
	MinBackoff time.Duration
	// MetricsListen is the address of the Prometheus metrics endpoint
	// (--metrics-listen); empty serves none.
	MetricsListen string
	// MetricsMaxSeries caps the per-printer series of the endpoint.
	MetricsMaxSeries int
	// Search holds --subnet, --domain and the SNMP credentials.
	Search *cmdutil.SearchFlags
}

// NewCmdMonitor returns the monitor command. runF replaces the command's
// behaviour in tests.
func NewCmdMonitor(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{
		IO:     f.IOStreams,
		Output: f.Output,
		Client: func(ctx context.Context) (agent.API, error) { return f.APIClient(ctx) },
		Probe:  discovery.ProbeHost,
		Browse: discovery.Discover,
	}
	opts.DiscoveryOptions = func() (discovery.Options, error) { return opts.Search.DiscoveryOptions(f) }
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "Read enrolled printers' ink levels and report them to the service",
		Long: `Every --interval, find each enrolled printer on this network, read its supply
levels (IPP, falling back to SNMP) and report them to the ARS server, which
orders ink when a supply runs low.

A printer that is asleep or unplugged is retried with backoff (doubling from
--min-backoff up to --interval) and reported as unreachable with its last known
levels and when they were read; so is one that answers with every level
unknown, as printers asleep do. A printer that changed address is found again
by UUID or serial among the --host candidates and mDNS, and on the subnets
(--subnet, swept with SNMP and IPP) and DNS domains (--domain, unicast
DNS-SD) given, for printers on other subnets than this machine's.

Run it as a service (docs/systemd/arsctl-monitor.service), or with --once from
cron or a systemd timer (docs/systemd/arsctl-monitor-once.timer). With --once
the exit status is 1 when some printer could not be read or reported.

With --metrics-listen, the monitor also serves Prometheus metrics at
http://ADDR/metrics: per printer whether it answered and when its levels were
read, per supply its level, the printer's low level and the forecast days to
empty (where the levels read so far give a rate). The endpoint has no
authentication: listen on loopback, or on an address only the Prometheus
server reaches. docs/alerts.yaml and docs/grafana/arsctl.json use these
metrics.

Output: a table on a terminal, tab-separated values when piped (status,
model, serial, address, levels, note), or one JSON object per printer and
pass with --json. Serial numbers show only their last four characters, since
this output usually ends up in logs.`,
		Example: `  arsctl monitor                         # every 15 minutes, until stopped
  arsctl monitor --once                  # one pass, for cron
  arsctl monitor --once --host 192.168.1.40 --host 192.168.1.41 --no-mdns
  arsctl monitor --interval 5m --json    # one JSON object per printer and pass
  arsctl monitor --subnet 10.20.30.0/24 --no-mdns   # printers on a printer VLAN
  arsctl monitor --metrics-listen 127.0.0.1:9101    # Prometheus scrapes /metrics`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Interval < time.Second {
				return cmdutil.FlagErrorf("--interval must be at least 1s")
			}
			if opts.MetricsListen != "" && opts.Once {
				return cmdutil.FlagErrorf("--metrics-listen needs a monitor that keeps running: drop --once")
			}
			if opts.MetricsMaxSeries < 1 {
				return cmdutil.FlagErrorf("--metrics-max-series must be at least 1")
			}
			if _, err := opts.DiscoveryOptions(); err != nil {
				return err
			}
			if opts.StatePath == "" {
				opts.StatePath = filepath.Join(config.StateDir(f.Getenv), "monitor.json")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			if opts.IPP == nil {
				opts.IPP = f.IPPClient()
			}
			return monitorRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().DurationVar(&opts.Interval, "interval", 15*time.Minute, "Time between reads")
	cmd.Flags().BoolVar(&opts.Once, "once", false, "Read and report once, then exit")
	cmd.Flags().StringArrayVar(&opts.Hosts, "host", nil, "Candidate printer `ADDR[:PORT]` (repeatable)")
	cmd.Flags().BoolVar(&opts.NoMDNS, "no-mdns", false, "Do not look for printers with multicast DNS")
	cmd.Flags().StringVar(&opts.StatePath, "state", "", "Where to keep last levels and retry times (`file`; default: $XDG_STATE_HOME/arsctl/monitor.json)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 5*time.Second, "Time allowed to read one printer")
	cmd.Flags().DurationVar(&opts.MinBackoff, "min-backoff", 30*time.Second, "First retry delay for an unreachable printer")
	cmd.Flags().StringVar(&opts.MetricsListen, "metrics-listen", "", "Serve Prometheus metrics at `ADDR:PORT`/metrics")
	cmd.Flags().IntVar(&opts.MetricsMaxSeries, "metrics-max-series", agent.DefaultMaxSeries, "Most per-printer metric series to serve")
	opts.Search = cmdutil.AddSearchFlags(cmd.Flags())
	return cmd
}

func monitorRun(ctx context.Context, opts *Options) error {
	api, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	dopts, err := opts.DiscoveryOptions()
	if err != nil {
		return err
	}
	dopts.Timeout, dopts.IPPTimeout, dopts.IPP, dopts.Enrich = opts.Timeout, opts.Timeout, opts.IPP, true
	dopts.NoMDNS = opts.NoMDNS
	a := &agent.Agent{
		API:        api,
		Hosts:      opts.Hosts,
		StatePath:  opts.StatePath,
		Interval:   opts.Interval,
		MinBackoff: opts.MinBackoff,
		Probe: func(ctx context.Context, hostport string) (printer.Printer, error) {
			return opts.Probe(ctx, hostport, dopts)
		},
	}
	if !opts.NoMDNS || opts.Search.Any() {
		a.Browse = func(ctx context.Context) ([]printer.Printer, error) {
			return opts.Browse(ctx, dopts, nil)
		}
	}
	if err := a.Load(); err != nil {
		return err
	}
	var metrics *agent.Metrics
	if opts.MetricsListen != "" {
		metrics = &agent.Metrics{MaxSeries: opts.MetricsMaxSeries}
		stop, err := serveMetrics(ctx, opts, metrics)
		if err != nil {
			return err
		}
		defer stop()
	}
	for {
		results, err := a.Pass(ctx)
		if err != nil {
			if opts.Once || ctx.Err() != nil {
				return err
			}
			opts.IO.Warning("%v (retrying in %s)", err, opts.Interval)
		} else if metrics != nil {
			metrics.Update(results, time.Now())
		}
		failed, perr := printResults(opts.IO, opts.Output, results)
		if perr != nil {
			return perr
		}
		if opts.Once {
			if failed > 0 {
				return cmdutil.SilentExit(cmdutil.ExitFailure)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(nextWake(opts.Interval, results)):
		}
	}
}

// serveMetrics listens on --metrics-listen and serves m at /metrics until
// stop is called.
func serveMetrics(ctx context.Context, opts *Options, m *agent.Metrics) (stop func(), err error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(opts.IO.ErrOut, "Serving metrics at http://%s/metrics\n", ln.Addr())
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}

// nextWake is the interval, or sooner when a printer's backoff ends first.
func nextWake(interval time.Duration, results []agent.Result) time.Duration {
	d := interval
	now := time.Now()
	for _, r := range results {
		if r.NextAttempt != nil && !r.NextAttempt.IsZero() {
			if w := r.NextAttempt.Sub(now); w > 0 && w < d {
				d = w
			}
		}
	}
	return d
}

func printResults(ios *iostreams.IOStreams, output *cmdutil.OutputOptions, results []agent.Result) (failed int, err error) {
	tb := tableprinter.New(ios, "STATUS", "MODEL", "SERIAL", "ADDRESS", "LEVELS", "NOTE").KeepWhole(0, 2).Spare(3).CutLast(4)
	for _, r := range results {
		if r.Status != agent.StatusReported {
			failed++
		}
		// The monitor's output ends up in logs (journald, cron mail): the
		// serial, which doubles as the printer's admin password, is masked
		// there as everywhere arsctl reports on enrolled printers.
		r.Serial = printer.MaskSerial(r.Serial)
		if output.Machine() {
			if err := output.PrintLine(ios.Out, r); err != nil {
				return failed, err
			}
			continue
		}
		var notes []string
		switch r.Status {
		case agent.StatusReported:
			if len(r.Orders) > 0 {
				var names []string
				for _, o := range r.Orders {
					names = append(names, o.Supply)
				}
				notes = append(notes, "ordered: "+strings.Join(names, ", "))
			}
			if r.Moved {
				notes = append(notes, "found at a new address")
			}
		default:
			if r.Error != "" {
				notes = append(notes, r.Error)
			}
			if r.LevelsReadAt != nil {
				notes = append(notes, "last levels read "+r.LevelsReadAt.Local().Format(time.DateTime))
			}
			if r.NextAttempt != nil && !r.NextAttempt.IsZero() {
				notes = append(notes, "next try "+r.NextAttempt.Local().Format(time.TimeOnly))
			}
		}
		tb.AddRow(r.Status, r.Model, r.Serial, r.Address, cmdutil.Levels(r.Supplies), strings.Join(notes, "; "))
	}
	if !output.Machine() && len(results) > 0 {
		err = tb.Render()
	}
	return failed, err
}
