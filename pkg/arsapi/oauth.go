package arsapi

// CLIClientID is arsctl's OAuth client ID on every ARS server: a public
// native client (no secret) that signs in with the authorization code
// flow with PKCE on a loopback redirect, or with the device
// authorization grant.
const CLIClientID = "arsctl"

// ScopeARS is the OAuth scope that grants access to ARS API v1.
const ScopeARS = "ars"

// CLIScopes returns the scopes arsctl asks for: OpenID, a refresh token
// (offline_access) and ARS API v1.
func CLIScopes() []string { return []string{"openid", "offline_access", ScopeARS} }
