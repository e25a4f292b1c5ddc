// Package token implements `arsctl auth token`: print the access token of
// the sign-in, and create, list and revoke named API tokens for scripts.
package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/auth"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/tableprinter"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Client is the part of ARS API v1 the API token commands use;
// *arsapi.Client implements it.
type Client interface {
	CreateAPIToken(ctx context.Context, req arsapi.CreateAPITokenRequest) (arsapi.CreatedAPIToken, error)
	APITokens(ctx context.Context) ([]arsapi.APIToken, error)
	RevokeAPIToken(ctx context.Context, id string) error
}

// Options are the inputs of `auth token` and its subcommands.
type Options struct {
	IO     *iostreams.IOStreams
	Output *cmdutil.OutputOptions
	// AuthHTTPClient returns a client signed in to the current server,
	// and the server.
	AuthHTTPClient func(ctx context.Context) (*http.Client, string, error)
	Client         func(ctx context.Context) (Client, error)
	// EnvToken reports whether the token in use comes from ARS_TOKEN.
	EnvToken func() bool
	Now      func() time.Time

	// Name is the name of the token `create` makes.
	Name string
	// Expires is how long it lasts, in days (0: until revoked).
	ExpiresDays int
	// Tokens are the IDs or names `revoke` revokes.
	Tokens []string
}

func newOptions(f *cmdutil.Factory) *Options {
	return &Options{
		IO:             f.IOStreams,
		Output:         f.Output,
		AuthHTTPClient: f.AuthHTTPClient,
		Client:         func(ctx context.Context) (Client, error) { return f.APIClient(ctx) },
		EnvToken:       func() bool { return f.Getenv(auth.TokenEnv) != "" },
		Now:            time.Now,
	}
}

// NewCmdToken returns `auth token` with its subcommands create, list and
// revoke; runF, when not nil, replaces the run function of each.
func NewCmdToken(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := newOptions(f)
	cmd := &cobra.Command{
		Use:   "token [create|list|revoke]",
		Short: "Print your access token; create, list and revoke API tokens",
		Long: `With no subcommand: print an access token for the current server on stdout,
refreshed first when it has expired, for scripts and other HTTP clients. It
lasts minutes. Treat it like a password. --json adds the server and when the
token expires. Exits 4 when not signed in.

For CI jobs and scripts that run on their own, create a named API token
instead (` + "`arsctl auth token create`" + `): it lasts until it expires or is
revoked, and is given to arsctl as ARS_TOKEN.`,
		Example: `  curl -H "Authorization: Bearer $(arsctl auth token)" http://127.0.0.1:8787/v1/enrollments
  arsctl auth token create --name ci --expires 90d
  arsctl auth token list
  arsctl auth token revoke 0193a5c2-e1f0-7d4e-9b2a-5c81f0e3d7a4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return printRun(cmd.Context(), opts)
		},
	}
	cmd.AddCommand(newCmdCreate(f, runF), newCmdList(f, runF), newCmdRevoke(f, runF))
	return cmd
}

func printRun(ctx context.Context, opts *Options) error {
	hc, server, err := opts.AuthHTTPClient(ctx)
	if err != nil {
		return err
	}
	tr, ok := hc.Transport.(*oauth2.Transport)
	if !ok {
		return errors.New("internal: unexpected transport")
	}
	t, err := tr.Source.Token()
	var unreachable *arsapi.UnreachableError
	if errors.As(err, &unreachable) {
		return err // exit 1: the server is down, not the sign-in
	}
	if err != nil {
		return cmdutil.AuthErrorf("%v", err)
	}
	if err := checkBearer(t.AccessToken); err != nil {
		return err
	}
	out := Token{Server: server, AccessToken: t.AccessToken}
	if !t.Expiry.IsZero() {
		exp := t.Expiry.UTC()
		out.ExpiresAt = &exp
	}
	return opts.Output.Print(opts.IO, out, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, t.AccessToken)
		return err
	})
}

// Token is what `auth token --json` prints.
type Token struct {
	Server      string     `json:"server"`
	AccessToken string     `json:"access_token"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
}

// ParseExpiry reads a token's life as --expires takes it: a number of
// days ("90d", or "90"), weeks ("12w") or years ("1y", 365 days), or
// "never". It returns days, 0 for never.
func ParseExpiry(s string) (int, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "never" || s == "0" {
		return 0, nil
	}
	per := 1
	switch {
	case strings.HasSuffix(s, "d"):
		s = s[:len(s)-1]
	case strings.HasSuffix(s, "w"):
		s, per = s[:len(s)-1], 7
	case strings.HasSuffix(s, "y"):
		s, per = s[:len(s)-1], 365
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > arsapi.MaxAPITokenDays/per {
		return 0, fmt.Errorf("want a life like 90d, 12w or 1y (at most %d days), or never", arsapi.MaxAPITokenDays)
	}
	return n * per, nil
}

func newCmdCreate(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := newOptions(f)
	var expires string
	cmd := &cobra.Command{
		Use:   "create --name NAME [--expires 90d]",
		Short: "Create a named API token for scripts and CI",
		Long: `Create a named API token of your account and print it on stdout, once: the
server keeps only a hash of it, so it cannot be shown again. Keep it in your
secret store and give it to a job as ARS_TOKEN; every arsctl command (and any
HTTP client, as Authorization: Bearer) then acts as you.

--expires sets its life (90d, 12w, 1y; at most 3650 days); without it the
token lasts until revoked. Only a sign-in can create tokens: an API token
cannot make more. --json prints the token with its ID and dates.`,
		Example: `  arsctl auth token create --name ci --expires 90d
  ARS_TOKEN=$(arsctl auth token create --name "fleet 2026") ./enroll-fleet.sh
  arsctl auth token create --name ci --json | jq -r .token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = strings.TrimSpace(opts.Name)
			if opts.Name == "" {
				return cmdutil.FlagErrorf("--name required: name the token after the job that will use it (e.g. --name ci)")
			}
			if cmd.Flags().Changed("expires") {
				days, err := ParseExpiry(expires)
				if err != nil {
					return cmdutil.FlagErrorf("--expires %q: %v", expires, err)
				}
				opts.ExpiresDays = days
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return createRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "What the token is for (shown by `auth token list`)")
	cmd.Flags().StringVar(&expires, "expires", "never", "How long the token lasts: `90d`, 12w, 1y or never")
	return cmd
}

func createRun(ctx context.Context, opts *Options) error {
	c, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	t, err := c.CreateAPIToken(ctx, arsapi.CreateAPITokenRequest{Name: opts.Name, ExpiresInDays: opts.ExpiresDays})
	if err != nil {
		return explain(opts, err)
	}
	if err := checkBearer(t.Token); err != nil {
		return err
	}
	if opts.Output.Machine() {
		return cmdutil.WriteJSON(opts.IO.Out, t, opts.Output.JQ)
	}
	if _, err := fmt.Fprintln(opts.IO.Out, t.Token); err != nil {
		return err
	}
	life := "lasts until revoked"
	if !t.ExpiresAt.IsZero() {
		life = "expires " + day(t.ExpiresAt)
	}
	opts.IO.Success("Created API token %q (ID %s, %s)", t.Name, t.ID, life)
	fmt.Fprintln(opts.IO.ErrOut, "It is shown only this once: keep it in your secret store and give it to jobs as ARS_TOKEN.")
	return nil
}

func newCmdList(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := newOptions(f)
	return &cobra.Command{
		Use:   "list",
		Short: "List your API tokens (never their secrets)",
		Long: `List your account's API tokens, newest first: ID, name, the last characters
of the token (to tell tokens apart), when it was created, when it expires,
when it was last used and its state (active, expired or revoked). Secrets are
never shown: the server does not keep them.

An empty list is not an error: nothing is printed (--json: []) and the exit
status is 0.`,
		Example: `  arsctl auth token list
  arsctl auth token list --json | jq -r '.[] | select(.revoked_at == null) | .id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
}

// State is an API token's state as list shows it.
func State(t arsapi.APIToken, now time.Time) string {
	switch {
	case !t.RevokedAt.IsZero():
		return "revoked"
	case !t.Active(now):
		return "expired"
	}
	return "active"
}

func day(t time.Time) string { return t.Local().Format("2006-01-02") }

func listRun(ctx context.Context, opts *Options) error {
	c, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	list, err := c.APITokens(ctx)
	if err != nil {
		return explain(opts, err)
	}
	if list == nil {
		list = []arsapi.APIToken{}
	}
	ios := opts.IO
	now := opts.Now()
	return opts.Output.Print(ios, list, func(w io.Writer) error {
		if len(list) == 0 {
			fmt.Fprintln(ios.ErrOut, "No API tokens. Create one with `arsctl auth token create --name NAME`.")
			return nil
		}
		when := func(t time.Time, none string) string {
			switch {
			case t.IsZero():
				return none
			case ios.IsStdoutTTY():
				return day(t)
			}
			return t.UTC().Format(time.RFC3339)
		}
		tp := tableprinter.New(ios, "ID", "NAME", "HINT", "CREATED", "EXPIRES", "LAST USED", "STATE").KeepWhole(0, 2, 6).Spare(3, 5)
		for _, t := range list {
			tp.AddRow(t.ID, t.Name, "…"+t.Hint, when(t.CreatedAt, "-"), when(t.ExpiresAt, "never"), when(t.LastUsedAt, "never"), State(t, now))
		}
		return tp.Render()
	})
}

func newCmdRevoke(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := newOptions(f)
	return &cobra.Command{
		Use:   "revoke ID|NAME...",
		Short: "Revoke API tokens",
		Long: `Revoke API tokens by ID or by name (` + "`arsctl auth token list`" + ` shows both):
the server refuses them from then on, within seconds on every replica.
Revoking a token already revoked changes nothing. Exits 3 when no token of
your account has that ID or name, 2 when a name belongs to several tokens
(give the ID).`,
		Example: `  arsctl auth token revoke 0193a5c2-e1f0-7d4e-9b2a-5c81f0e3d7a4
  arsctl auth token revoke ci`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmdutil.FlagErrorf("name the token to revoke: arsctl auth token revoke ID (see `arsctl auth token list`)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Tokens = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return revokeRun(cmd.Context(), opts)
		},
	}
}

// find returns the token whose ID is ref, else the one active token
// named ref.
func find(list []arsapi.APIToken, ref string, now time.Time) (arsapi.APIToken, error) {
	var named []arsapi.APIToken
	for _, t := range list {
		if t.ID == ref {
			return t, nil
		}
		if t.Name == ref && t.Active(now) {
			named = append(named, t)
		}
	}
	switch len(named) {
	case 0:
		return arsapi.APIToken{}, cmdutil.NotFoundf("no API token of yours has the ID or name %q; see `arsctl auth token list`", ref)
	case 1:
		return named[0], nil
	}
	ids := make([]string, len(named))
	for i, t := range named {
		ids[i] = t.ID
	}
	return arsapi.APIToken{}, cmdutil.FlagErrorf("%d active tokens are named %q: give the ID of the one to revoke (%s)", len(named), ref, strings.Join(ids, ", "))
}

func revokeRun(ctx context.Context, opts *Options) error {
	c, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	list, err := c.APITokens(ctx)
	if err != nil {
		return explain(opts, err)
	}
	now := opts.Now()
	// Every reference is checked before anything is revoked.
	targets := make([]arsapi.APIToken, len(opts.Tokens))
	for i, ref := range opts.Tokens {
		if targets[i], err = find(list, ref, now); err != nil {
			return err
		}
	}
	for _, t := range targets {
		if !t.RevokedAt.IsZero() {
			opts.IO.Success("API token %q (ID %s) was already revoked", t.Name, t.ID)
			continue
		}
		if err := c.RevokeAPIToken(ctx, t.ID); err != nil {
			return explain(opts, err)
		}
		opts.IO.Success("Revoked API token %q (ID %s)", t.Name, t.ID)
	}
	return nil
}

// explain turns the server's refusal to let an API token manage API
// tokens into what to do about it.
func explain(opts *Options, err error) error {
	var p *arsapi.Problem
	if errors.As(err, &p) && p.Status == http.StatusForbidden && p.Code == arsapi.CodeForbidden && opts.EnvToken() {
		return cmdutil.AuthErrorf("the token in %s is an API token, and only a sign-in can manage API tokens: run this without %s, signed in with `arsctl auth login`", auth.TokenEnv, auth.TokenEnv)
	}
	return err
}

// checkBearer refuses a token from the server that is not a bearer token
// (RFC 6750 b64token: letters, digits and -._~+/ then any =): it is
// printed raw on stdout, where escape sequences in it would act on the
// terminal.
func checkBearer(tok string) error {
	body := strings.TrimRight(tok, "=")
	ok := body != ""
	for i := 0; ok && i < len(body); i++ {
		c := body[i]
		ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0
	}
	if !ok {
		return errors.New("the server answered a token that is not a bearer token (characters other than letters, digits and -._~+/=); it is not shown")
	}
	return nil
}
