// Package orders implements `arsctl orders`: the orders that wait for the
// owner. A new order is first scheduled for a hold window, during which
// the owner may skip it or ship it now; orders that the server hands to no
// fulfiller (a self-hosted arsd with no webhook for Canon orders) wait,
// unfulfilled, until the owner buys the ink and marks them bought.
package orders

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
	"github.com/arsctl/arsctl/internal/tableprinter"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// Client is the part of ARS API v1 the orders commands use;
// *arsapi.Client implements it.
type Client interface {
	AccountOrders(ctx context.Context, state arsapi.OrderState) ([]arsapi.Order, error)
	MarkOrderBought(ctx context.Context, id string) (arsapi.Order, error)
	SkipOrder(ctx context.Context, id string) (arsapi.Order, error)
	ShipOrder(ctx context.Context, id string) (arsapi.Order, error)
	ListEnrollments(ctx context.Context) ([]arsapi.Enrollment, error)
	OrderSettings(ctx context.Context, enrollmentID string) (arsapi.OrderSettings, error)
	SetOrderSettings(ctx context.Context, enrollmentID string, set arsapi.OrderSettings) (arsapi.OrderSettings, error)
}

// Options are the inputs of the orders commands.
type Options struct {
	IO     *iostreams.IOStreams
	Output *cmdutil.OutputOptions
	Client func(ctx context.Context) (Client, error)
	Now    func() time.Time

	// States lists the states `orders list` shows (empty: the states
	// that wait for the owner, arsapi.OrderState.AwaitsOwner).
	States []string
	All    bool
	// IDs are the orders `orders bought`, `skip` or `ship` acts on.
	IDs []string

	// Target is the PRINTER or ENROLLMENT whose settings `orders
	// settings` shows or sets ("": the account's).
	Target string
	// Policy is the order policy to set: one of arsapi.OrderPolicies,
	// Inherit, or "" to leave it.
	Policy string
	// Hold is the hold window to set in minutes, -1 to inherit, nil to
	// leave it.
	Hold *int
}

// waiting is whether `orders list` shows an order in state s by default:
// scheduled (the owner may skip it or ship it now) or awaiting the owner.
func waiting(s arsapi.OrderState) bool { return s == arsapi.OrderScheduled || s.AwaitsOwner() }

// NewCmdOrders returns the orders command group.
func NewCmdOrders(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "orders <command>",
		Short: "See ink orders, skip or ship scheduled ones, mark orders bought",
		Long: `Ink is ordered automatically when a supply is forecast to run out before a
new cartridge would arrive (or at the printer's low level). A new order is
first "scheduled" for a hold window (24 hours unless your account or the
printer's plan says otherwise): until then you may skip it (nothing is
shipped; the supply orders again when the printer reports it low) or ship
it now. After the window it is handed over.

A server that hands an order to no one (a self-hosted arsd with no webhook
for Canon orders: it warns at start) keeps it "unfulfilled" in your order
inbox: buy the ink, then mark the order bought, here or on the Order inbox
web page.

` + "`arsctl orders settings`" + ` shows and sets the order policy and the hold window,
for the account or for one printer.`,
	}
	cmd.AddCommand(newCmdList(f, runF), newCmdSkip(f, runF), newCmdShip(f, runF), newCmdBought(f, runF), newCmdSettings(f, runF))
	return cmd
}

func newOptions(f *cmdutil.Factory) *Options {
	return &Options{
		IO:     f.IOStreams,
		Output: f.Output,
		Client: func(ctx context.Context) (Client, error) { return f.APIClient(ctx) },
		Now:    time.Now,
	}
}

func stateNames() string {
	names := make([]string, len(arsapi.OrderStates))
	for i, s := range arsapi.OrderStates {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

func newCmdList(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := newOptions(f)
	cmd := &cobra.Command{
		Use:   "list [--state STATE]... [--all]",
		Short: "List orders waiting for you (scheduled, inbox), or any orders",
		Long: `List your orders, newest first. With no flag: the orders that wait for you:
scheduled ones, which you may skip (` + "`arsctl orders skip ID`" + `) or ship now
(` + "`arsctl orders ship ID`" + `) until the time shown, and unfulfilled ones (no one
ships them; buy the ink, then run ` + "`arsctl orders bought ID`" + `).
` + strings.Join(iostreams.Wrap("--state picks states (repeatable): "+stateNames()+"; --all lists every order.", 78), "\n") + `

An empty list is not an error: nothing is printed (--json: []) and the exit
status is 0.`,
		Example: `  arsctl orders list
  arsctl orders list --state scheduled --json
  arsctl orders list --state bought --state shipped
  arsctl orders list --all --json | jq -r '.[] | [.id, .supply, .state] | @tsv'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, s := range opts.States {
				if !arsapi.OrderState(s).Valid() {
					return cmdutil.FlagErrorf("--state: %q is not one of %s", s, stateNames())
				}
			}
			if opts.All && len(opts.States) > 0 {
				return cmdutil.FlagErrorf("--all and --state cannot be used together")
			}
			if runF != nil {
				return runF(opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.States, "state", nil, "Only orders in this `state` (repeatable)")
	var states []string
	for _, s := range arsapi.OrderStates {
		states = append(states, string(s), "")
	}
	_ = cmd.RegisterFlagCompletionFunc("state", complete.Values(states...))
	cmd.Flags().BoolVar(&opts.All, "all", false, "Every order, whatever its state")
	return cmd
}

// orderIDs requires at least one order ID, saying where to find them.
func orderIDs(verb string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmdutil.FlagErrorf("give the ID of each order to %s: `arsctl orders list` shows them", verb)
		}
		for _, id := range args {
			// "", "." and ".." would become a path of another route once
			// the URL is resolved ("/v1/orders/../skip" is "/v1/skip").
			if strings.Trim(id, ".") == "" {
				return cmdutil.FlagErrorf("%q is not an order ID: `arsctl orders list` shows them", id)
			}
		}
		return nil
	}
}

func newCmdSkip(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := newOptions(f)
	return &cobra.Command{
		Use:   "skip ID...",
		Short: "Skip scheduled orders: nothing is shipped",
		Long: `Skip orders that are still scheduled (` + "`arsctl orders list`" + ` shows them and
until when). A skipped order is never handed over; the supply orders again
when the printer reports it low, or by forecast once a new cartridge is
seen. Skipping an order already skipped changes nothing; an order whose hold
is over is an error. ID may be the first characters of the ID, as the list
shows them on a terminal. Exits 3 when an order is not found in your account.`,
		Example: `  arsctl orders skip 0193a5c2-e1f0-7d4e-9b2a-5c81f0e3d7a4`,
		Args:    orderIDs("skip"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IDs = args
			if runF != nil {
				return runF(opts)
			}
			return skipRun(cmd.Context(), opts)
		},
	}
}

func newCmdShip(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := newOptions(f)
	return &cobra.Command{
		Use:   "ship ID...",
		Short: "Ship scheduled orders now, ending their hold",
		Long: `End the hold window of scheduled orders: they are handed over at once.
An order whose hold is over, or that was skipped, is an error. ID may be the
first characters of the ID, as ` + "`arsctl orders list`" + ` shows them on a
terminal. Exits 3 when an order is not found in your account.`,
		Example: `  arsctl orders ship 0193a5c2-e1f0-7d4e-9b2a-5c81f0e3d7a4`,
		Args:    orderIDs("ship now"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IDs = args
			if runF != nil {
				return runF(opts)
			}
			return shipRun(cmd.Context(), opts)
		},
	}
}

func newCmdBought(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := newOptions(f)
	cmd := &cobra.Command{
		Use:   "bought ID...",
		Short: "Mark orders of the inbox as bought",
		Long: `Say that you bought the ink of orders waiting in the order inbox
(` + "`arsctl orders list`" + ` shows their IDs). Marking an order already bought
again changes nothing; an order in another state (shipped, failed…) is an
error. ID may be the first characters of the ID, as the list shows them on a
terminal. Exits 3 when an order is not found in your account.`,
		Example:           `  arsctl orders bought 0193a5c2-e1f0-7d4e-9b2a-5c81f0e3d7a4`,
		Args:              orderIDs("mark bought"),
		ValidArgsFunction: complete.InboxOrders(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IDs = args
			if runF != nil {
				return runF(opts)
			}
			return boughtRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func listRun(ctx context.Context, opts *Options) error {
	c, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	var states []arsapi.OrderState
	switch {
	case opts.All:
		states = []arsapi.OrderState{""}
	case len(opts.States) > 0:
		for _, s := range opts.States {
			states = append(states, arsapi.OrderState(s))
		}
	default:
		for _, s := range arsapi.OrderStates {
			if waiting(s) {
				states = append(states, s)
			}
		}
	}
	all := []arsapi.Order{}
	for _, s := range slices.Compact(states) {
		os, err := c.AccountOrders(ctx, s)
		if err != nil {
			return err
		}
		all = append(all, os...)
	}
	slices.SortStableFunc(all, func(a, b arsapi.Order) int { return b.CreatedAt.Compare(a.CreatedAt) })
	es, err := c.ListEnrollments(ctx)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, e := range es {
		names[e.ID] = resolve.EnrollmentLabel(e)
	}
	ios := opts.IO
	return opts.Output.Print(ios, all, func(w io.Writer) error {
		if len(all) == 0 {
			if !opts.All && len(opts.States) == 0 {
				fmt.Fprintln(ios.ErrOut, "No order waits for you.")
			} else {
				fmt.Fprintln(ios.ErrOut, "No orders.")
			}
			return nil
		}
		// On a terminal, IDs are as short as tells the account's orders apart.
		idLen := 0
		if ios.IsStdoutTTY() {
			every, err := c.AccountOrders(ctx, "")
			if err != nil {
				return err
			}
			idLen = resolve.ShortIDLen(orderIDList(every))
		}
		t := tableprinter.New(ios, "ID", "PRINTER", "SUPPLY", "LEVEL", "STATE", "ORDERED").KeepWhole(0, 4).Spare(3, 5)
		for _, o := range all {
			ordered := o.CreatedAt.Local().Format("2006-01-02 15:04")
			if !ios.IsStdoutTTY() {
				ordered = o.CreatedAt.UTC().Format(time.RFC3339)
			}
			state := string(o.State)
			if o.State == arsapi.OrderScheduled && o.HoldUntil != nil {
				if ios.IsStdoutTTY() {
					state += " until " + o.HoldUntil.Local().Format("01-02 15:04")
				} else {
					state += " until " + o.HoldUntil.UTC().Format(time.RFC3339)
				}
			}
			t.AddRow(resolve.ShortID(o.ID, idLen), resolve.OrDash(names[o.EnrollmentID]), o.Supply, printer.Supply{Level: o.LevelAtOrder}.LevelText(), state, ordered)
		}
		if err := t.Render(); err != nil {
			return err
		}
		if ios.IsStdoutTTY() && slices.ContainsFunc(all, func(o arsapi.Order) bool { return o.State == arsapi.OrderScheduled }) {
			ios.Info("Scheduled orders are handed over at the time shown:\n`arsctl orders skip ID` skips one, `arsctl orders ship ID` ships it now.")
		}
		if ios.IsStdoutTTY() && slices.ContainsFunc(all, func(o arsapi.Order) bool { return o.State == arsapi.OrderUnfulfilled }) {
			ios.Info("Unfulfilled orders are shipped by no one:\nbuy the ink, then run `arsctl orders bought ID`.")
		}
		return nil
	})
}

func boughtRun(ctx context.Context, opts *Options) error {
	return actRun(ctx, opts, "marked bought", "not waiting in the order inbox", func(c Client) func(context.Context, string) (arsapi.Order, error) {
		return c.MarkOrderBought
	})
}

func skipRun(ctx context.Context, opts *Options) error {
	return actRun(ctx, opts, "skipped", "no longer scheduled", func(c Client) func(context.Context, string) (arsapi.Order, error) {
		return c.SkipOrder
	})
}

func shipRun(ctx context.Context, opts *Options) error {
	return actRun(ctx, opts, "shipped now", "no longer scheduled", func(c Client) func(context.Context, string) (arsapi.Order, error) {
		return c.ShipOrder
	})
}

// actRun acts on every order of opts.IDs, telling of each on stderr (and
// printing the orders acted on with --json), and returns the errors of
// those it could not act on.
func actRun(ctx context.Context, opts *Options, done, notOpen string, act func(Client) func(context.Context, string) (arsapi.Order, error)) error {
	c, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	ios := opts.IO
	var out []arsapi.Order
	var errs []error
	var every []arsapi.Order // the account's orders, read for the first ID given by its start
	for _, arg := range opts.IDs {
		id := arg
		if len(arg) < idLength && resolve.IsIDPrefix(arg) {
			if every == nil {
				if every, err = c.AccountOrders(ctx, ""); err != nil {
					return err
				}
			}
			if id, err = orderByPrefix(every, arg); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		o, err := act(c)(ctx, id)
		if err != nil {
			errs = append(errs, orderErr(id, notOpen, err))
			continue
		}
		out = append(out, o)
		ios.Success("Order %s (%s) is %s", o.ID, o.Supply, done)
	}
	if opts.Output.Machine() {
		if out == nil {
			out = []arsapi.Order{}
		}
		if err := cmdutil.WriteJSON(ios.Out, out, opts.Output.JQ); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// idLength is the length of a whole order ID (a UUID); a shorter
// argument may be the start of one, as `orders list` shows them.
const idLength = 36

// orderIDList returns the IDs of os.
func orderIDList(os []arsapi.Order) []string {
	ids := make([]string, len(os))
	for i, o := range os {
		ids[i] = o.ID
	}
	return ids
}

// orderByPrefix returns the ID of the order of every that q is the
// start of: none is not found (exit 3), several a usage error (exit 2)
// naming them.
func orderByPrefix(every []arsapi.Order, q string) (string, error) {
	m := resolve.MatchIDPrefix(orderIDList(every), q)
	switch len(m) {
	case 0:
		return "", cmdutil.NotFoundf("no order of your account starts with %q; `arsctl orders list --all` lists them", q)
	case 1:
		return m[0], nil
	}
	n := resolve.ShortIDLen(m)
	s := make([]string, 0, len(m))
	for _, o := range every {
		if slices.Contains(m, o.ID) {
			s = append(s, fmt.Sprintf("%s (%s %s)", resolve.ShortID(o.ID, n), iostreams.Safe(o.Supply), o.State))
		}
	}
	return "", cmdutil.FlagErrorf("%q is the start of several order IDs: %s; give more of the ID", q, strings.Join(s, ", "))
}

// orderErr says what went wrong with one order, keeping its exit code.
func orderErr(id, notOpen string, err error) error {
	var p *arsapi.Problem
	if errors.As(err, &p) {
		switch p.Code {
		case arsapi.CodeNotFound:
			return cmdutil.NotFoundf("no order %s in your account; `arsctl orders list --all` lists them", id)
		case arsapi.CodeOrderNotOpen:
			// The server's detail ends in its own sentence of the order's
			// state ("order … is skipped, no longer scheduled"), which
			// said again after ours named the order twice.
			if _, why, ok := strings.Cut(p.Detail, ": "); ok && strings.HasPrefix(why, "order "+id+" is ") {
				return errors.New(why)
			}
			return fmt.Errorf("order %s is %s: %s", id, notOpen, p.Detail)
		}
	}
	return err
}
