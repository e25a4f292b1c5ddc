// Package complete gives arsctl's shell completion its values: providers,
// cancel reasons, models and settings, and the account's enrollments
// (IDs, labels, serials) for the commands that take a printer.
//
// Completion runs at every Tab: it never prompts, never prints an error,
// and gives up after Timeout. Values the server knows (reasons, models,
// enrollments) come from it; when it does not answer in time, or the user
// is not signed in, there are simply no values.
package complete

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/auth"
	"github.com/arsctl/arsctl/internal/cli/resolve"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/provider"
)

// Timeout bounds a completion that asks the server.
const Timeout = 2 * time.Second

// Func is a cobra completion function.
type Func = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective)

// none is the answer when there is nothing to offer: no file names.
func none() ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// usable reports whether s can be offered to a shell: no control or
// formatting characters, which would break the completion protocol (one
// value a line, a tab before the description) or act on the terminal.
func usable(s string) bool {
	return s != "" && iostreams.Safe(s) == s && !strings.ContainsAny(s, "\t\n")
}

// value is one completion with its description, made safe for the
// terminal.
func value(v, desc string) cobra.Completion {
	desc = strings.Join(strings.Fields(iostreams.Safe(desc)), " ")
	if desc == "" {
		return v
	}
	return cobra.CompletionWithDesc(v, desc)
}

// Values completes from fixed values with their descriptions (pairs:
// value, description).
func Values(pairs ...string) Func {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for i := 0; i+1 < len(pairs); i += 2 {
			if strings.HasPrefix(pairs[i], toComplete) {
				out = append(out, value(pairs[i], pairs[i+1]))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// Providers completes --provider.
func Providers() Func {
	var pairs []string
	for _, n := range provider.Names() {
		desc := ""
		if p, err := provider.Get(n, nil); err == nil {
			desc = p.Description()
		}
		pairs = append(pairs, n, desc)
	}
	return Values(pairs...)
}

// ask runs fn with a deadline of Timeout, in the background: fn's work
// that cannot be interrupted (a keyring lookup) does not hold completion
// back.
func ask[T any](ctx context.Context, fn func(context.Context) (T, error)) (T, bool) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	type answer struct {
		v   T
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		v, err := fn(ctx)
		ch <- answer{v, err}
	}()
	select {
	case a := <-ch:
		return a.v, a.err == nil
	case <-ctx.Done():
		var zero T
		return zero, false
	}
}

func context0(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// CancelReasons completes cancel's --reason with the server's reasons.
func CancelReasons(f *cmdutil.Factory) Func {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		reasons, ok := ask(context0(cmd), func(ctx context.Context) ([]arsapi.CancelReason, error) {
			c, err := f.PublicAPIClient()
			if err != nil {
				return nil, err
			}
			return c.CancelReasons(ctx)
		})
		if !ok {
			return none()
		}
		var out []cobra.Completion
		for _, r := range reasons {
			if usable(r.ID) && strings.HasPrefix(r.ID, toComplete) {
				out = append(out, value(r.ID, r.Label))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// Models completes --model with the eligible models.
func Models(f *cmdutil.Factory) Func {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		models, ok := ask(context0(cmd), func(ctx context.Context) ([]arsapi.Model, error) {
			c, err := f.PublicAPIClient()
			if err != nil {
				return nil, err
			}
			return c.Models(ctx)
		})
		if !ok {
			return none()
		}
		var out []cobra.Completion
		for _, m := range models {
			if usable(m.Name) && strings.HasPrefix(strings.ToLower(m.Name), strings.ToLower(toComplete)) {
				out = append(out, value(m.Name, strings.TrimSpace(m.Make+" "+strings.Join(m.Series, ", "))))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// Enrollments completes the PRINTER argument of status and cancel with
// the account's enrollments: their IDs, and their labels; a serial
// number only once its first characters are typed (a Canon printer's
// serial doubles as its admin password: it is not listed to anyone
// looking at the screen). live limits them to plans not cancelled. Not
// signed in, there is nothing to complete; the sign-in is never
// prompted for and a token is refreshed at most.
func Enrollments(f *cmdutil.Factory, live bool) Func {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return none()
		}
		es, ok := ask(context0(cmd), func(ctx context.Context) ([]arsapi.Enrollment, error) {
			c, err := signedIn(ctx, f)
			if err != nil {
				return nil, err
			}
			return c.FindEnrollments(ctx, arsapi.ListOptions{})
		})
		if !ok {
			return none()
		}
		if live {
			es = resolve.Live(es)
		}
		resolve.SortEnrollments(es)
		var out []cobra.Completion
		seen := map[string]bool{}
		add := func(v, desc string) {
			if usable(v) && !seen[v] {
				seen[v] = true
				out = append(out, value(v, desc))
			}
		}
		lower := strings.ToLower(toComplete)
		for _, e := range es {
			desc := describe(e)
			if strings.HasPrefix(e.ID, toComplete) {
				add(e.ID, desc)
			}
			if l := e.Printer.Label; l != "" && strings.HasPrefix(strings.ToLower(l), lower) {
				add(l, desc)
			}
			if s := e.Printer.Serial; toComplete != "" && strings.HasPrefix(strings.ToLower(s), lower) {
				add(s, e.Printer.Model+" "+string(e.State))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// signedIn is a client of the server signed in with the user's token,
// without the checks and messages of cmdutil.Factory.APIClient (which
// asks whether the server is there when there is no token).
func signedIn(ctx context.Context, f *cmdutil.Factory) (*arsapi.Client, error) {
	server, err := f.ServerURL()
	if err != nil {
		return nil, err
	}
	hc, err := auth.Client(ctx, f.HTTPClient(), f.Getenv, f.TokenStore(), server)
	if err != nil {
		return nil, err
	}
	return arsapi.New(server, arsapi.WithHTTPClient(hc), arsapi.WithUserAgent("arsctl/"+f.Version)), nil
}

// InboxOrders completes the IDs of `orders bought`: the orders that wait
// in the account's order inbox, not given already.
func InboxOrders(f *cmdutil.Factory) Func {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		orders, ok := ask(context0(cmd), func(ctx context.Context) ([]arsapi.Order, error) {
			c, err := signedIn(ctx, f)
			if err != nil {
				return nil, err
			}
			return c.AccountOrders(ctx, arsapi.OrderUnfulfilled)
		})
		if !ok {
			return none()
		}
		var out []cobra.Completion
		for _, o := range orders {
			if usable(o.ID) && strings.HasPrefix(o.ID, toComplete) && !slices.Contains(args, o.ID) {
				out = append(out, value(o.ID, o.Supply+" ink, ordered "+o.CreatedAt.Local().Format("2006-01-02 15:04")))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// describe is an enrollment's description in a completion list.
func describe(e arsapi.Enrollment) string {
	s := e.Printer.Model
	if e.Printer.Label != "" {
		s += " \"" + e.Printer.Label + "\""
	}
	return s + ", serial " + printer.MaskSerial(e.Printer.Serial) + ", " + string(e.Provider) + ", " + string(e.State)
}
