// Package status implements `arsctl auth status`.
package status

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/auth"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Options are the inputs of `auth status`.
type Options struct {
	IO         *iostreams.IOStreams
	Output     *cmdutil.OutputOptions
	ServerURL  func() (string, error)
	TokenStore func() auth.Store
	// EnvToken reports whether a token is given in ARS_TOKEN.
	EnvToken func() bool
	// Account asks the server which account the current token is.
	Account func(ctx context.Context) (arsapi.Account, error)
	// CheckServer says whether an ARS server answers at server (see
	// Factory.CheckServer).
	CheckServer func(ctx context.Context, server string) error
	// Explain rewrites the server's refusal of ARS_TOKEN
	// (Factory.ExplainAuth).
	Explain func(error) error
}

// Status is what `auth status --json` prints.
type Status struct {
	Server    string          `json:"server"`
	SignedIn  bool            `json:"signed_in"`
	Account   *arsapi.Account `json:"account,omitempty"`
	Source    string          `json:"token_source,omitempty"`
	ExpiresAt *time.Time      `json:"expires_at,omitempty"`
	Error     string          `json:"error,omitempty"`
}

// NewCmdStatus returns `auth status`.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{
		IO:          f.IOStreams,
		Output:      f.Output,
		ServerURL:   f.ServerURL,
		TokenStore:  f.TokenStore,
		EnvToken:    func() bool { return f.Getenv(auth.TokenEnv) != "" },
		Explain:     f.ExplainAuth,
		CheckServer: f.CheckServer,
		Account: func(ctx context.Context) (arsapi.Account, error) {
			c, err := f.APIClient(ctx)
			if err != nil {
				return arsapi.Account{}, err
			}
			return c.Account(ctx)
		},
	}
	return &cobra.Command{
		Use:   "status",
		Short: "Show which account you are signed in as",
		Long: `Show the server, the account you are signed in as, and where the token
comes from (ARS_TOKEN, the keyring or the token file). The server is asked,
so a revoked or expired token shows up here.

Exits 4 when not signed in or the token is refused, 1 when the server
cannot be reached. --json prints the same, with "signed_in" and "error".`,
		Example: `  arsctl auth status
  arsctl auth status --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return statusRun(cmd.Context(), opts)
		},
	}
}

func statusRun(ctx context.Context, opts *Options) error {
	server, err := opts.ServerURL()
	if err != nil {
		return err
	}
	st := Status{Server: server}
	if opts.EnvToken() {
		st.Source = auth.TokenEnv
	} else if t, err := opts.TokenStore().Load(server); err == nil {
		st.Source = opts.TokenStore().Where()
		if !t.Expiry.IsZero() {
			exp := t.Expiry.UTC()
			st.ExpiresAt = &exp
		}
	}
	var failure error
	if st.Source != "" {
		a, err := opts.Account(ctx)
		if err != nil {
			err = opts.Explain(err)
			st.Error = err.Error()
			failure = err
		} else {
			st.Account = &a
			st.SignedIn = true
		}
	} else if err := opts.CheckServer(ctx, server); err != nil {
		// Signing in cannot help where no ARS server answers.
		st.Error = err.Error()
		failure = err
	} else {
		st.Error = "not signed in"
		failure = cmdutil.NotSignedIn(server)
	}
	if opts.Output.Machine() {
		if err := cmdutil.WriteJSON(opts.IO.Out, st, opts.Output.JQ); err != nil {
			return err
		}
		if failure != nil {
			return cmdutil.SilentExit(cmdutil.ExitCode(failure))
		}
		return nil
	}
	if failure != nil {
		return failure
	}
	fmt.Fprintf(opts.IO.Out, "%s\n  account: %s (%s)\n  token:   %s\n", server, iostreams.Safe(st.Account.Email), iostreams.Safe(st.Account.ID), st.Source)
	return nil
}
