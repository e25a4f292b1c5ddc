package cmdutil

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"time"

	"github.com/arsctl/arsctl/internal/auth"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/ipp"
)

// TokenStore returns where tokens are kept: the OS keyring, or a 0600 file
// in the state directory when there is none.
func (f *Factory) TokenStore() auth.Store {
	if f.tokenStore == nil {
		f.tokenStore = auth.NewStore(f.Getenv, config.StateDir(f.Getenv))
	}
	return f.tokenStore
}

// AuthHTTPClient returns an HTTP client that signs requests to the
// current server with the user's token (ARS_TOKEN or the stored one,
// refreshed as needed). Not signed in is an exit-4 error saying what to do.
func (f *Factory) AuthHTTPClient(ctx context.Context) (*http.Client, string, error) {
	server, err := f.ServerURL()
	if err != nil {
		return nil, "", err
	}
	hc, err := auth.Client(ctx, f.HTTPClient(), f.Getenv, f.TokenStore(), server)
	if errors.Is(err, auth.ErrNoToken) {
		// Signing in to a server that is not there, or is not an ARS
		// server, cannot work: say so first.
		if uerr := f.CheckServer(ctx, server); uerr != nil {
			return nil, server, uerr
		}
		return nil, server, NotSignedIn(server)
	}
	if err != nil {
		return nil, server, err
	}
	return hc, server, nil
}

// CheckServer returns an *arsapi.UnreachableError when nothing answers at
// server, an *arsapi.NotServerError when what answers is not an ARS
// server, else nil. It asks for the terms, which every ARS server serves
// as JSON to anyone.
func (f *Factory) CheckServer(ctx context.Context, server string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"/v1/terms", nil)
	if err != nil {
		return nil
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.HTTPClient().Do(req)
	if err != nil {
		if u := arsapi.Unreachable(server, err); u != nil {
			return u
		}
		return arsapi.NotServer(server, nil, nil, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return arsapi.NotServer(server, resp, body, nil)
}

// APIClient returns an ARS API client for the current server, signed in
// as the user (see AuthHTTPClient).
func (f *Factory) APIClient(ctx context.Context) (*arsapi.Client, error) {
	hc, server, err := f.AuthHTTPClient(ctx)
	if err != nil {
		return nil, err
	}
	return arsapi.New(server, arsapi.WithHTTPClient(hc), arsapi.WithUserAgent("arsctl/"+f.Version)), nil
}

// PublicAPIClient returns an ARS API client that sends no credentials,
// for public endpoints (terms, models, cancel reasons, sign-up).
func (f *Factory) PublicAPIClient() (*arsapi.Client, error) {
	server, err := f.ServerURL()
	if err != nil {
		return nil, err
	}
	return arsapi.New(server, arsapi.WithHTTPClient(f.HTTPClient()), arsapi.WithUserAgent("arsctl/"+f.Version)), nil
}

// IPPClient returns the IPP client commands use to query printers: TLS
// certificates are pinned on first use in the state directory.
func (f *Factory) IPPClient() *ipp.Client {
	if f.ippClient == nil {
		f.ippClient = &ipp.Client{Pins: ipp.NewFilePinStore(filepath.Join(config.StateDir(f.Getenv), "printer-pins.json"))}
	}
	return f.ippClient
}

// EnvTokenRefused is the error for a token in ARS_TOKEN that server
// refuses. Signing in cannot help while ARS_TOKEN is set (it overrides
// the stored sign-in), so the message says what can.
func EnvTokenRefused(server string) error {
	return AuthErrorf("%s is expired or revoked: %s refused it. Set %s to a valid API token (`arsctl auth token create` makes one), or unset it to use your own sign-in (`arsctl auth login`)",
		auth.TokenEnv, server, auth.TokenEnv)
}

// StoredTokenRefused is the error for a stored sign-in that server
// refuses: it expired with no refresh token (`auth login --with-token`
// stores none) or was revoked. Signing in again is what helps.
func StoredTokenRefused(server string) error {
	return AuthErrorf("%s refused your sign-in: it expired or was revoked (a token given to `arsctl auth login --with-token` is not refreshed); run `arsctl auth login` to sign in again", server)
}

// ExplainAuth returns err, or, when it is the server refusing the token
// (HTTP 401), EnvTokenRefused when that token comes from ARS_TOKEN, else
// StoredTokenRefused.
func (f *Factory) ExplainAuth(err error) error {
	var p *arsapi.Problem
	if err == nil || !errors.As(err, &p) || p.Status != http.StatusUnauthorized {
		return err
	}
	server, serr := f.ServerURL()
	if serr != nil {
		server = "the server"
	}
	if f.Getenv == nil || f.Getenv(auth.TokenEnv) == "" {
		return StoredTokenRefused(server)
	}
	return EnvTokenRefused(server)
}

// NotSignedIn is the error (exit 4) for no sign-in to server: no stored
// token and no ARS_TOKEN. Every command says it in the same words.
func NotSignedIn(server string) error {
	return AuthErrorf("not signed in to %s: run `arsctl auth login` (or set %s)", server, auth.TokenEnv)
}
