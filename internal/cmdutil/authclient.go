package cmdutil

import (
	"context"
	"errors"
	"net/http"

	"github.com/arsctl/arsctl/internal/auth"
	"github.com/arsctl/arsctl/internal/config"
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
		return nil, server, AuthErrorf("not signed in to %s: run `arsctl auth login` (or set %s)", server, auth.TokenEnv)
	}
	if err != nil {
		return nil, server, err
	}
	return hc, server, nil
}
