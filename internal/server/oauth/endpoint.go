package oauth

import (
	"strings"

	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Endpoint returns arsd's OAuth endpoints under baseURL, for
// golang.org/x/oauth2.
func Endpoint(baseURL string) oauth2.Endpoint {
	b := strings.TrimSuffix(baseURL, "/")
	return oauth2.Endpoint{
		AuthURL:       b + AuthorizePath,
		TokenURL:      b + TokenPath,
		DeviceAuthURL: b + DeviceAuthPath,
		AuthStyle:     oauth2.AuthStyleInParams,
	}
}

// CLIConfig returns arsctl's OAuth client configuration for a server.
// For the code flow set RedirectURL to http://127.0.0.1:<port>/callback.
func CLIConfig(baseURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: arsapi.CLIClientID, Endpoint: Endpoint(baseURL), Scopes: arsapi.CLIScopes()}
}
