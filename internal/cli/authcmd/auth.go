// Package authcmd implements `arsctl auth login|logout|status|token`.
package authcmd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/auth"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// NewCmdAuth returns the auth command group.
func NewCmdAuth(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth <command>",
		Short: "Sign in to an ARS server, sign out, show who you are",
		Long: `Sign in to your account on the ARS server (no account yet? the sign-in page
has "Register" to create one), sign out, and show who you are signed in as.

Tokens are kept in the system keyring, or in a file readable only by you
(0600) where no keyring exists. ARS_TOKEN overrides them, for CI and scripts.`,
		Example: `  arsctl auth login
  arsctl auth status
  arsctl auth logout`,
	}
	cmd.AddCommand(NewCmdLogin(f, nil), NewCmdLogout(f, nil), NewCmdStatus(f, nil), NewCmdToken(f, nil))
	return cmd
}

// LoginOptions are the options of `auth login`.
type LoginOptions struct {
	F         *cmdutil.Factory
	Device    bool
	Web       bool
	WithToken bool
	NoBrowser bool
	Timeout   time.Duration
}

// NewCmdLogin returns `auth login`.
func NewCmdLogin(f *cmdutil.Factory, runF func(context.Context, *LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{F: f}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in to the ARS server",
		Long: `Sign in to the ARS server. On a desktop a browser opens at the server's
sign-in page (authorization code with PKCE on a 127.0.0.1 redirect); over SSH
or with --device a code and URL are printed to approve from any browser
(device authorization grant). Have no account yet? The sign-in page has
"Register" to create one.

--with-token reads a token from stdin and stores it, for machines where a
person signed in elsewhere.`,
		Example: `  arsctl auth login
  arsctl auth login --device                 # over SSH, or on a headless server
  arsctl --server https://ars.example.com auth login
  echo "$TOKEN" | arsctl auth login --with-token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Device && opts.Web {
				return cmdutil.FlagErrorf("--device and --web cannot be used together")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return loginRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Device, "device", false, "Sign in with a code approved from any browser (RFC 8628)")
	cmd.Flags().BoolVar(&opts.Web, "web", false, "Sign in through a browser on this machine")
	cmd.Flags().BoolVar(&opts.NoBrowser, "no-browser", false, "Print the sign-in URL instead of opening a browser")
	cmd.Flags().BoolVar(&opts.WithToken, "with-token", false, "Read a token from standard input")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 10*time.Minute, "How long to wait for the sign-in to be approved")
	return cmd
}

func loginRun(ctx context.Context, opts *LoginOptions) error {
	f := opts.F
	ios := f.IOStreams
	server, err := f.ServerURL()
	if err != nil {
		return err
	}
	store := f.TokenStore()
	var tok *oauth2.Token
	if opts.WithToken {
		line, err := bufio.NewReader(ios.In).ReadString('\n')
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
		tok, err = Login(ctx, f, server, LoginMode{Device: opts.Device, Web: opts.Web, NoBrowser: opts.NoBrowser})
		if err != nil {
			return err
		}
	}
	acct, err := whoami(ctx, f, server, tok)
	if err != nil {
		return err
	}
	if err := store.Save(server, tok); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	ios.Success("Signed in to %s as %s (token kept in %s)", server, acct.Email, store.Where())
	return nil
}

// LoginMode chooses the sign-in flow.
type LoginMode struct {
	Device    bool // force the device flow
	Web       bool // force the browser flow
	NoBrowser bool // print the URL instead of opening a browser
}

// Login signs in to server and returns the token without storing it. With
// neither Device nor Web it uses the browser when one can open here and
// falls back to the device flow otherwise (SSH, no display). register
// calls it when the user is not signed in.
func Login(ctx context.Context, f *cmdutil.Factory, server string, mode LoginMode) (*oauth2.Token, error) {
	io := f.IOStreams
	hc := f.HTTPClient()
	e, err := auth.Discover(ctx, hc, server)
	if err != nil {
		return nil, err
	}
	useDevice := mode.Device
	if !mode.Device && !mode.Web && (mode.NoBrowser || f.Getenv("SSH_CONNECTION") != "" && f.Getenv("DISPLAY") == "") && e.DeviceAuthURL != "" {
		useDevice = true
	}
	if !useDevice {
		tok, err := auth.LoginBrowser(ctx, hc, e, func(u string) error {
			if mode.NoBrowser {
				fmt.Fprintf(io.ErrOut, "Open this URL in a browser on this machine to sign in:\n  %s\n", u)
			} else if err := f.Browser.Browse(u); err != nil {
				if !mode.Web && e.DeviceAuthURL != "" {
					return errUseDevice
				}
				fmt.Fprintf(io.ErrOut, "Could not open a browser (%v). Open this URL on this machine to sign in:\n  %s\n", err, u)
			} else {
				fmt.Fprintf(io.ErrOut, "Opened your browser to sign in. If it did not open, visit:\n  %s\n", u)
			}
			io.StartProgress("Waiting for sign-in in the browser…")
			return nil
		})
		io.StopProgress()
		if !errors.Is(err, errUseDevice) {
			return tok, mapLoginErr(err)
		}
	}
	tok, err := auth.LoginDevice(ctx, hc, e, func(d *auth.DeviceCode) {
		uri := d.VerificationURI
		fmt.Fprintf(io.ErrOut, "To sign in, open %s in any browser and enter the code:\n\n    %s\n\n", uri, d.UserCode)
		if d.VerificationURIComplete != "" {
			fmt.Fprintf(io.ErrOut, "(or open %s)\n", d.VerificationURIComplete)
		}
		io.StartProgress("Waiting for approval…")
	})
	io.StopProgress()
	return tok, mapLoginErr(err)
}

var errUseDevice = errors.New("use device flow")

func mapLoginErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return cmdutil.AuthErrorf("sign-in was not completed in time; run `arsctl auth login` again")
	}
	if errors.Is(err, context.Canceled) {
		return cmdutil.ErrCancel
	}
	var unreachable *arsapi.UnreachableError
	if errors.As(err, &unreachable) {
		return err
	}
	return cmdutil.AuthErrorf("%v", err)
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

// whoami asks the server which account a token belongs to.
func whoami(ctx context.Context, f *cmdutil.Factory, server string, t *oauth2.Token) (*arsapi.Account, error) {
	hc := oauth2.NewClient(context.WithValue(ctx, oauth2.HTTPClient, f.HTTPClient()), oauth2.StaticTokenSource(t))
	return getAccount(ctx, hc, server)
}

func getAccount(ctx context.Context, hc *http.Client, server string) (*arsapi.Account, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"/v1/account", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		if u := arsapi.Unreachable(server, err); u != nil {
			return nil, u
		}
		return nil, fmt.Errorf("%s: GET /v1/account: %w", server, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, cmdutil.AuthErrorf("%s refused the token (expired or revoked): run `arsctl auth login`", server)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s: GET /v1/account answered HTTP %d", server, resp.StatusCode)
	}
	var a arsapi.Account
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return nil, fmt.Errorf("%s: unreadable account: %w", server, err)
	}
	return &a, nil
}

// LogoutOptions are the options of `auth logout`.
type LogoutOptions struct{ F *cmdutil.Factory }

// NewCmdLogout returns `auth logout`.
func NewCmdLogout(f *cmdutil.Factory, runF func(context.Context, *LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{F: f}
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

func logoutRun(ctx context.Context, opts *LogoutOptions) error {
	f := opts.F
	server, err := f.ServerURL()
	if err != nil {
		return err
	}
	store := f.TokenStore()
	t, err := store.Load(server)
	if errors.Is(err, auth.ErrNoToken) {
		if f.Getenv(auth.TokenEnv) != "" {
			f.IOStreams.Warning("Not signed in to %s here; the token in use comes from %s: unset it", server, auth.TokenEnv)
			return nil
		}
		f.IOStreams.Warning("Not signed in to %s", server)
		return nil
	}
	if err != nil {
		return err
	}
	hc := f.HTTPClient()
	if e, err := auth.Discover(ctx, hc, server); err != nil {
		f.IOStreams.Warning("Could not revoke the token on %s (%v); forgetting it here anyway", server, shortErr(err))
	} else {
		if t.RefreshToken != "" {
			if err := auth.Revoke(ctx, hc, e, t.RefreshToken, "refresh_token"); err != nil {
				f.IOStreams.Warning("%v", err)
			}
		}
		if err := auth.Revoke(ctx, hc, e, t.AccessToken, "access_token"); err != nil {
			f.IOStreams.Warning("%v", err)
		}
	}
	if err := store.Delete(server); err != nil {
		return fmt.Errorf("forget token: %w", err)
	}
	f.IOStreams.Success("Signed out of %s", server)
	return nil
}

// StatusOptions are the options of `auth status`.
type StatusOptions struct{ F *cmdutil.Factory }

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
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{F: f}
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

func statusRun(ctx context.Context, opts *StatusOptions) error {
	f := opts.F
	server, err := f.ServerURL()
	if err != nil {
		return err
	}
	st := Status{Server: server}
	if f.Getenv(auth.TokenEnv) != "" {
		st.Source = auth.TokenEnv
	} else if t, err := f.TokenStore().Load(server); err == nil {
		st.Source = f.TokenStore().Where()
		if !t.Expiry.IsZero() {
			exp := t.Expiry.UTC()
			st.ExpiresAt = &exp
		}
	}
	var failure error
	if st.Source != "" {
		hc, _, err := f.AuthHTTPClient(ctx)
		if err == nil {
			st.Account, err = getAccount(ctx, hc, server)
		}
		if err != nil {
			st.Error = err.Error()
			failure = err
		}
		st.SignedIn = st.Account != nil
	} else {
		st.Error = "not signed in"
		failure = cmdutil.AuthErrorf("not signed in to %s: run `arsctl auth login`", server)
	}
	if f.Output.Machine() {
		if err := cmdutil.WriteJSON(f.IOStreams.Out, st, f.Output.JQ); err != nil {
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
	fmt.Fprintf(f.IOStreams.Out, "%s\n  account: %s (%s)\n  token:   %s\n", server, iostreams.Safe(st.Account.Email), iostreams.Safe(st.Account.ID), st.Source)
	return nil
}

// TokenOptions are the options of `auth token`.
type TokenOptions struct{ F *cmdutil.Factory }

// NewCmdToken returns `auth token`.
func NewCmdToken(f *cmdutil.Factory, runF func(context.Context, *TokenOptions) error) *cobra.Command {
	opts := &TokenOptions{F: f}
	return &cobra.Command{
		Use:   "token",
		Short: "Print a valid access token (refreshed if needed) for scripts",
		Long: `Print an access token for the current server on stdout, refreshed first
when it has expired, for scripts and other HTTP clients. Treat it like a
password. --json adds the server and when the token expires. Exits 4 when
not signed in.`,
		Example: `  curl -H "Authorization: Bearer $(arsctl auth token)" http://127.0.0.1:8787/v1/enrollments
  ARS_TOKEN=$(arsctl auth token) ./enroll-fleet.sh`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return tokenRun(cmd.Context(), opts)
		},
	}
}

func tokenRun(ctx context.Context, opts *TokenOptions) error {
	f := opts.F
	hc, server, err := f.AuthHTTPClient(ctx)
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
	out := Token{Server: server, AccessToken: t.AccessToken}
	if !t.Expiry.IsZero() {
		exp := t.Expiry.UTC()
		out.ExpiresAt = &exp
	}
	return f.Output.Print(f.IOStreams, out, func(w io.Writer) error {
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
