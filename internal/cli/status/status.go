// Package status implements `arsctl status`: enrollments with their
// provider, plan state, last reported supply levels and orders.
package status

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/cli/complete"
	"github.com/arsctl/arsctl/internal/cli/resolve"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/tableprinter"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/forecast"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/provider"
)

// StatusOptions are status's inputs.
type StatusOptions struct {
	IO     *iostreams.IOStreams
	Output *cmdutil.OutputOptions
	Client func(ctx context.Context) (*arsapi.Client, error)
	Now    func() time.Time
	// Probe reads a printer given by address.
	Probe resolve.Prober

	Printer string
	All     bool
	// Orders is how many recent orders to show per enrollment.
	Orders int
	// History adds each supply's level changes of the last HistoryDays.
	History bool
}

// historyDays is how far back --history goes.
const historyDays = 30

// Item is one enrollment as status prints it with --json: the
// enrollment's fields plus its orders, newest first.
type Item struct {
	arsapi.Enrollment
	Orders []arsapi.Order `json:"orders"`
	// Forecasts is each supply's forecast by supply name (when the server
	// serves level history).
	Forecasts map[string]forecast.Forecast `json:"forecasts,omitempty"`
	// History is each supply's level changes, with --history.
	History []arsapi.SupplyHistory `json:"history,omitempty"`
}

// NewCmdStatus returns the status command.
func NewCmdStatus(f *cmdutil.Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{
		IO:     f.IOStreams,
		Output: f.Output,
		Client: func(ctx context.Context) (*arsapi.Client, error) { return resolve.Client(ctx, f) },
		Now:    time.Now,
		Probe:  resolve.NewProber(f.IPPClient(), 5*time.Second),
	}
	cmd := &cobra.Command{
		Use:   "status [PRINTER]",
		Short: "Show enrolled printers, their ink levels and orders",
		Long: `Show your enrollments: the provider, the plan state, each supply's last
reported level with the time it was read, its forecast (how fast it is used
and when it will be empty, with a range), and open and recent orders.
--history adds each supply's level changes of the last 30 days, in the view
of one printer (also when piped, and for every printer shown).

Without PRINTER, every pending, active or paused enrollment is shown; --all adds
cancelled ones. PRINTER may be an enrollment ID or its first characters, or
the printer's serial, UUID, label, model or network address (the printer is
then asked for its serial).

The output is a table on a terminal and tab-separated values when piped
(enrollment ID, model, serial (last digits), provider, state, levels, read at,
orders). The table shows each enrollment ID by its first characters, as many
as tell your enrollments apart (8 or more), which every command accepts for
the ID; piped, the ID is whole. --json prints an array of enrollments, each
with its "orders", its "forecasts" by supply name and, with --history, its
"history".
Serial numbers in the table show only their last four characters; --json
carries them in full, as the API returns them to you.

With nothing enrolled the list is empty (--json prints []) and the exit
status is 0; a PRINTER that matches no enrollment exits 3.`,
		Example: `  arsctl status
  arsctl status TS8320
  arsctl status 192.168.1.40
  arsctl status TS8320 --history
  arsctl status --jq '.[].forecasts | to_entries[] | [.key, .value.days_low] | @tsv'
  arsctl status --all --json
  arsctl status --jq '.[] | select(.state == "active") | .id'
  # cancel every active plan, e.g. when replacing the printers
  arsctl status --jq '.[].id' | xargs -n1 arsctl cancel --reason replacing-printer --yes`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Printer = args[0]
			}
			if opts.Orders < 0 {
				return cmdutil.FlagErrorf("--orders must not be negative")
			}
			if runF != nil {
				return runF(opts)
			}
			return statusRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.All, "all", "a", false, "Include cancelled enrollments")
	cmd.Flags().BoolVar(&opts.History, "history", false, fmt.Sprintf("Show each supply's level changes of the last %d days", historyDays))
	cmd.Flags().IntVar(&opts.Orders, "orders", 5, "Recent orders to show per enrollment (open orders are always shown)")
	_ = cmd.RegisterFlagCompletionFunc("orders", cobra.NoFileCompletions)
	cmd.ValidArgsFunction = complete.Enrollments(f, false)
	return cmd
}

func statusRun(ctx context.Context, opts *StatusOptions) error {
	ios := opts.IO
	c, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	es, err := resolve.ListEnrollments(ctx, c)
	if err != nil {
		return err
	}
	total := len(es)
	// The table's IDs are as short as tells the account's enrollments apart.
	idLen := resolve.ShortIDLen(resolve.EnrollmentIDs(es))
	if opts.Printer != "" {
		es, err = resolve.FindEnrollments(ctx, es, opts.Printer, opts.Probe)
		if err != nil {
			return err
		}
		if len(es) == 0 {
			return cmdutil.NotFoundf("no enrollment matches %q; run `arsctl status --all` to see them all", opts.Printer)
		}
	}
	if !opts.All {
		live := resolve.Live(es)
		if len(live) == 0 && opts.Printer != "" && len(es) > 0 {
			live = es[:1] // the printer's last, cancelled plan
		}
		es = live
	}
	if len(es) == 0 {
		// An empty list is an answer, not an error: [] for scripts.
		return opts.Output.Print(ios, []Item{}, func(io.Writer) error {
			if total > 0 {
				fmt.Fprintf(ios.ErrOut, "No active plans (%d cancelled: `arsctl status --all` shows them); enroll a printer with `arsctl register`.\n", total)
			} else {
				fmt.Fprintln(ios.ErrOut, "No enrolled printers; enroll one with `arsctl register`.")
			}
			return nil
		})
	}
	items := make([]Item, len(es))
	for i, e := range es {
		prov, err := provider.Get(string(e.Provider), c)
		if err != nil {
			return err
		}
		orders, err := prov.Orders(ctx, e.ID)
		if err != nil {
			return err
		}
		items[i] = Item{Enrollment: e, Orders: recent(orders, opts.Orders)}
		if e.LevelsReadAt != nil {
			h, err := c.LevelHistory(ctx, e.ID, opts.Now().Add(-historyDays*24*time.Hour))
			if err != nil {
				return err
			}
			items[i].Forecasts = map[string]forecast.Forecast{}
			for _, sh := range h.Supplies {
				items[i].Forecasts[sh.Name] = sh.Forecast
			}
			if opts.History {
				items[i].History = h.Supplies
			}
		}
	}
	return opts.Output.Print(ios, items, func(w io.Writer) error {
		// The table has no room for the level changes: --history shows
		// the detail view, also when piped (`| less`); --json is for scripts.
		if (opts.Printer != "" && ios.IsStdoutTTY()) || opts.History {
			var b strings.Builder
			if err := printDetail(&b, items, reasonLabels(ctx, c, items), opts.Now()); err != nil {
				return err
			}
			text := b.String()
			if ios.IsStdoutTTY() {
				text = wrapDetail(text, ios.TerminalWidth())
			}
			_, err := io.WriteString(w, text)
			return err
		}
		return printTable(ios, items, idLen, opts.Now())
	})
}

// reasonLabels maps the cancel reasons' IDs to their labels, when some
// item is cancelled and the server says them; an ID it does not know
// (or a server that does not answer) is shown as it is.
func reasonLabels(ctx context.Context, c *arsapi.Client, items []Item) map[string]string {
	labels := map[string]string{}
	for _, it := range items {
		if it.Cancellation == nil {
			continue
		}
		reasons, err := c.CancelReasons(ctx)
		if err != nil {
			return labels
		}
		for _, r := range reasons {
			labels[r.ID] = r.Label
		}
		return labels
	}
	return labels
}

// recent keeps open orders and the n most recent others, newest first.
func recent(orders []arsapi.Order, n int) []arsapi.Order {
	out := []arsapi.Order{}
	others := 0
	for _, o := range orders {
		if open(o) {
			out = append(out, o)
			continue
		}
		if others < n {
			out = append(out, o)
			others++
		}
	}
	return out
}

func open(o arsapi.Order) bool { return o.State.Open() }

func level(l int) string {
	switch {
	case l >= 0 && l <= 100:
		return strconv.Itoa(l) + "%"
	case l == printer.LevelSomeRemaining:
		return "some left"
	case l == printer.LevelOther:
		return "other"
	}
	return "unknown"
}

func readAt(e arsapi.Enrollment, now time.Time) string {
	if e.LevelsReadAt == nil {
		return "never"
	}
	return ago(*e.LevelsReadAt, now)
}

func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return t.Local().Format("2006-01-02 15:04")
}

func ordersSummary(it Item) string {
	if len(it.Orders) == 0 {
		return "none"
	}
	var s []string
	for _, o := range it.Orders {
		s = append(s, o.Supply+" "+string(o.State))
	}
	return strings.Join(s, ", ")
}

// printTable prints one row per item. On a terminal the enrollment IDs
// are their first idLen characters (resolve.ShortID), which every
// command takes for the ID; piped, they are whole.
func printTable(ios *iostreams.IOStreams, items []Item, idLen int, now time.Time) error {
	t := tableprinter.New(ios, "ID", "PRINTER", "SERIAL", "PROVIDER", "STATE", "LEVELS", "READ", "ORDERS").
		KeepWhole(0, 2, 4).Spare(3, 6).CutLast(5)
	for _, it := range items {
		name := it.Printer.Model
		if it.Printer.Label != "" {
			name += " (" + it.Printer.Label + ")"
		}
		read := readAt(it.Enrollment, now)
		if !ios.IsStdoutTTY() && it.LevelsReadAt != nil {
			read = it.LevelsReadAt.UTC().Format(time.RFC3339)
		}
		id := it.ID
		if ios.IsStdoutTTY() {
			id = resolve.ShortID(id, idLen)
		}
		t.AddRow(id, name, resolve.Serial(it.Printer.Serial), string(it.Provider), string(it.State), resolve.OrDash(cmdutil.Levels(it.Supplies)), read, ordersSummary(it))
	}
	return t.Render()
}

// wrapDetail breaks the lines of the detail view that are wider than the
// terminal between words, the rest of a line indented under its value
// ("  cancelled   …", "    PGBK     80%  …"), as a terminal would break
// it anywhere.
func wrapDetail(text string, width int) string {
	lines := strings.Split(text, "\n")
	var out []string
	for _, l := range lines {
		if width <= 0 || utf8.RuneCountInString(l) <= width {
			out = append(out, l)
			continue
		}
		// The value starts after the label and the spaces that follow it.
		indent := len(l) - len(strings.TrimLeft(l, " "))
		if end := strings.IndexByte(l[indent:], ' '); end > 0 {
			v := indent + end
			v += len(l[v:]) - len(strings.TrimLeft(l[v:], " "))
			if v < 24 && v < len(l) {
				indent = v
				// A second column ("80%  empty in …", "placed       just
				// now …"): the rest goes under it.
				if w := strings.Index(l[v:], "  "); w > 0 && !strings.Contains(l[v:v+w], " ") {
					c := v + w + len(l[v+w:]) - len(strings.TrimLeft(l[v+w:], " "))
					if c < 32 && c < len(l) {
						indent = c
					}
				}
			}
		}
		for i, part := range iostreams.Wrap(l[indent:], width-indent) {
			if i == 0 {
				out = append(out, l[:indent]+part)
			} else {
				out = append(out, strings.Repeat(" ", indent)+part)
			}
		}
	}
	return strings.Join(out, "\n")
}

func printDetail(w io.Writer, items []Item, reasons map[string]string, now time.Time) error {
	for i, it := range items {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s\n", resolve.EnrollmentLabel(it.Enrollment))
		fmt.Fprintf(w, "  enrollment  %s\n  provider    %s\n  state       %s\n  since       %s\n",
			iostreams.Safe(it.ID), iostreams.Safe(string(it.Provider)), iostreams.Safe(string(it.State)), it.CreatedAt.Local().Format("2006-01-02 15:04"))
		if it.Cancellation != nil {
			why := make([]string, len(it.Cancellation.Reasons))
			for j, r := range it.Cancellation.Reasons {
				why[j] = r
				if l, ok := reasons[r]; ok && l != "" {
					why[j] = l
				}
			}
			if it.Cancellation.Comment != "" {
				why = append(why, "“"+it.Cancellation.Comment+"”")
			}
			fmt.Fprintf(w, "  cancelled   %s (%s)\n", it.Cancellation.At.Local().Format("2006-01-02 15:04"), iostreams.Safe(strings.Join(why, "; ")))
		}
		if it.LevelsReadAt == nil {
			fmt.Fprintf(w, "  levels      none reported yet: run `arsctl monitor` where the printer is\n")
		} else {
			fmt.Fprintf(w, "  levels      read %s\n", readAt(it.Enrollment, now))
		}
		// Supply names start one column of values: "Black(PGBK)" is
		// wider than the usual "PGBK".
		nameW := 8
		for _, s := range it.Supplies {
			nameW = max(nameW, utf8.RuneCountInString(iostreams.Safe(s.Name)))
		}
		for _, sh := range it.History {
			nameW = max(nameW, utf8.RuneCountInString(iostreams.Safe(sh.Name)))
		}
		for _, o := range it.Orders {
			nameW = max(nameW, utf8.RuneCountInString(iostreams.Safe(o.Supply)))
		}
		name := func(n string) string {
			n = iostreams.Safe(n)
			return n + strings.Repeat(" ", nameW-utf8.RuneCountInString(n))
		}
		levels := make([]string, len(it.Supplies))
		width := 0
		for j, s := range it.Supplies {
			levels[j] = level(s.Level)
			switch {
			case s.State != "" && s.Known():
				levels[j] += ", " + s.State + " (printer says)"
			case s.State != "":
				levels[j] = s.State + " (printer says)"
			}
			if k := s.KindLabel(); k != "" {
				// Not ink or toner: say what it is and that it is not ordered.
				levels[j] = s.LevelText() + " (" + k + ", not ordered)"
			} else {
				width = max(width, utf8.RuneCountInString(levels[j]))
			}
		}
		for j, s := range it.Supplies {
			l := levels[j]
			if f, ok := it.Forecasts[s.Name]; ok && s.Reorderable() {
				// The forecasts start in one column: "80%  …", "9%   …".
				l += strings.Repeat(" ", max(width-utf8.RuneCountInString(l), 0)) + "  " + f.Text()
			}
			fmt.Fprintf(w, "    %s %s\n", name(s.Name), l)
		}
		if len(it.History) > 0 {
			fmt.Fprintf(w, "  history     level changes of the last %d days\n", historyDays)
			for _, sh := range it.History {
				var parts []string
				for _, r := range sh.Readings {
					parts = append(parts, r.At.Local().Format("01-02 15:04")+" "+level(r.Level))
				}
				if len(parts) == 0 {
					parts = []string{"none"}
				}
				fmt.Fprintf(w, "    %s %s\n", name(sh.Name), strings.Join(parts, ", "))
			}
		}
		if len(it.Orders) == 0 {
			fmt.Fprintf(w, "  orders      none\n")
			continue
		}
		fmt.Fprintf(w, "  orders\n")
		for _, o := range it.Orders {
			fmt.Fprintf(w, "    %s %-12s %s  %s\n", name(o.Supply), iostreams.Safe(string(o.State)), ago(o.CreatedAt, now), iostreams.Safe(o.ID))
			if o.State.AwaitsOwner() {
				fmt.Fprintf(w, "    %s no one ships this order: buy the ink, then `arsctl orders bought %s`\n", strings.Repeat(" ", nameW), iostreams.Safe(o.ID))
			}
		}
	}
	return nil
}
