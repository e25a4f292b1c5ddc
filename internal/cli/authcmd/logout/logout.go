// Package logout implements `arsctl auth logout`.
package logout

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/auth"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Options are the inputs of `auth logout`.
type Options struct {
	IO         *iostreams.IOStreams
	ServerURL  func() (string, error)
	TokenStore func() auth.Store
	HTTPClient func() *http.Client
	// EnvToken reports whether a token is given in ARS_TOKEN.
	EnvToken func() bool
}

// NewCmdLogout returns `auth logout`.
func NewCmdLogout(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{
		IO:         f.IOStreams,
		ServerURL:  f.ServerURL,
		TokenStore: f.TokenStore,
		HTTPClient: f.HTTPClient,
		EnvToken:   func() bool { return f.Getenv(auth.TokenEnv) != "" },
	}
	return &cobra.Command{
		Use:   "logout",
		Short: "Sign out: revoke the token on the server and forget it here",
		Long: `Sign out of the ARS server: the token is revoked on the server and removed
from the keyring (or token file) here. When the server cannot be reached the
token is still forgotten here, with a warning. A token given in ARS_TOKEN is
not stored, so there is nothing to forget: unset it.`,
		Example: "  arsctl auth logout",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return logoutRun(cmd.Context(), opts)
		},
	}
}

func logoutRun(ctx context.Context, opts *Options) error {
	ios := opts.IO
	server, err := opts.ServerURL()
	if err != nil {
		return err
	}
	store := opts.TokenStore()
	t, err := store.Load(server)
	if errors.Is(err, auth.ErrNoToken) {
		if opts.EnvToken() {
			ios.Warning("Not signed in to %s here; the token in use comes from %s: unset it", server, auth.TokenEnv)
			return nil
		}
		ios.Warning("Not signed in to %s", server)
		return nil
	}
	if err != nil {
		return err
	}
	hc := opts.HTTPClient()
	if e, err := auth.Discover(ctx, hc, server); err != nil {
		ios.Warning("Could not revoke the token on %s (%v); forgetting it here anyway", server, shortErr(err))
	} else {
		if t.RefreshToken != "" {
			if err := auth.Revoke(ctx, hc, e, t.RefreshToken, "refresh_token"); err != nil {
				ios.Warning("%v", err)
			}
		}
		if err := auth.Revoke(ctx, hc, e, t.AccessToken, "access_token"); err != nil {
			ios.Warning("%v", err)
		}
	}
	if err := store.Delete(server); err != nil {
		return fmt.Errorf("forget token: %w", err)
	}
	ios.Success("Signed out of %s", server)
	return nil
}

// shortErr is err without the advice an UnreachableError carries, for a
// warning that goes on regardless.
func shortErr(err error) error {
	var u *arsapi.UnreachableError
	if errors.As(err, &u) {
		return errors.New("nothing answered")
	}
	return err
}
