// Package login implements `arsctl auth login`.
package login

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/auth"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/signin"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Options are the inputs of `auth login`.
type Options struct {
	IO         *iostreams.IOStreams
	ServerURL  func() (string, error)
	TokenStore func() auth.Store
	// SignIn runs the sign-in flow and returns the token, not stored.
	SignIn func(ctx context.Context, server string, mode signin.Mode) (*oauth2.Token, error)
	// Account asks the server whose token t is.
	Account func(ctx context.Context, server string, t *oauth2.Token) (arsapi.Account, error)

	Mode      signin.Mode
	WithToken bool
	Timeout   time.Duration
}

// NewCmdLogin returns `auth login`.
func NewCmdLogin(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{
		IO:         f.IOStreams,
		ServerURL:  f.ServerURL,
		TokenStore: f.TokenStore,
		SignIn: func(ctx context.Context, server string, mode signin.Mode) (*oauth2.Token, error) {
			return signin.FromFactory(f).Login(ctx, server, mode)
		},
		Account: func(ctx context.Context, server string, t *oauth2.Token) (arsapi.Account, error) {
			return signin.FromFactory(f).Account(ctx, server, t)
		},
	}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in to the ARS server",
		Long: `Sign in to the ARS server. On a desktop a browser opens at the server's
sign-in page (authorization code with PKCE on a 127.0.0.1 redirect); over SSH
or with --device a code and URL are printed to approve from any browser
(device authorization grant). Have no account yet? The sign-in page has
"Register" to create one.

--with-token reads a token from stdin and stores it, for machines where a
person signed in elsewhere. It is not refreshed: an access token
(` + "`arsctl auth token`" + `) is refused once it expires, an API token
(` + "`arsctl auth token create`" + `) lasts until it expires or is revoked.`,
		Example: `  arsctl auth login
  arsctl auth login --device                 # over SSH, or on a headless server
  arsctl --server https://ars.example.com auth login
  echo "$TOKEN" | arsctl auth login --with-token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Mode.Device && opts.Mode.Web {
				return cmdutil.FlagErrorf("--device and --web cannot be used together")
			}
			if opts.WithToken && (opts.Mode.Device || opts.Mode.Web) {
				return cmdutil.FlagErrorf("--with-token cannot be used with --device or --web")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return loginRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Mode.Device, "device", false, "Sign in with a code approved from any browser (RFC 8628)")
	cmd.Flags().BoolVar(&opts.Mode.Web, "web", false, "Sign in through a browser on this machine")
	cmd.Flags().BoolVar(&opts.Mode.NoBrowser, "no-browser", false, "Print the sign-in URL instead of opening a browser")
	cmd.Flags().BoolVar(&opts.WithToken, "with-token", false, "Read a token from standard input")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 10*time.Minute, "How long to wait for the sign-in to be approved")
	return cmd
}

func loginRun(ctx context.Context, opts *Options) error {
	server, err := opts.ServerURL()
	if err != nil {
		return err
	}
	var tok *oauth2.Token
	if opts.WithToken {
		line, err := bufio.NewReader(opts.IO.In).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		s := strings.TrimSpace(line)
		if s == "" {
			return cmdutil.FlagErrorf("--with-token: no token on standard input")
		}
		tok = &oauth2.Token{AccessToken: s, TokenType: "Bearer"}
	} else {
		// The timeout bounds the sign-in and the account check after it.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
		tok, err = opts.SignIn(ctx, server, opts.Mode)
		if err != nil {
			return err
		}
	}
	acct, err := opts.Account(ctx, server, tok)
	if err != nil {
		return err
	}
	store := opts.TokenStore()
	if err := store.Save(server, tok); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	opts.IO.Success("Signed in to %s as %s (token kept in %s)", server, acct.Email, store.Where())
	return nil
}
