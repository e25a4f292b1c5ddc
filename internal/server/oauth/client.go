package oauth

import (
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/arsctl/arsctl/pkg/arsapi"
)

var supportedScopes = []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess, arsapi.ScopeARS, oidc.ScopeEmail, oidc.ScopeProfile}

// cliRedirectURIs are arsctl's registered redirects. The library accepts
// any port on a registered loopback redirect for a native client
// (RFC 8252, section 7.3), so http://127.0.0.1:<any port>/callback works,
// as does [::1] and localhost with the same path.
var cliRedirectURIs = []string{"http://127.0.0.1/callback", "http://[::1]/callback", "http://localhost/callback"}

// cliClient is arsctl's client registration.
type cliClient struct{}

var _ op.Client = cliClient{}

func (cliClient) GetID() string                       { return arsapi.CLIClientID }
func (cliClient) RedirectURIs() []string              { return cliRedirectURIs }
func (cliClient) PostLogoutRedirectURIs() []string    { return nil }
func (cliClient) ApplicationType() op.ApplicationType { return op.ApplicationTypeNative }
func (cliClient) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodNone }
func (cliClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (cliClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeDeviceCode}
}

// LoginURL sends the browser to arsd's login step for the request.
func (cliClient) LoginURL(id string) string {
	return loginStepPath + "?authRequestID=" + url.QueryEscape(id)
}

func (cliClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (cliClient) IDTokenLifetime() time.Duration      { return time.Hour }
func (cliClient) DevMode() bool                       { return false }
func (cliClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (cliClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (cliClient) IsScopeAllowed(scope string) bool     { return scope == arsapi.ScopeARS }
func (cliClient) IDTokenUserinfoClaimsAssertion() bool { return false }
func (cliClient) ClockSkew() time.Duration             { return 0 }
