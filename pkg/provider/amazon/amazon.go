// Package amazon is the "amazon" provider: Amazon Dash Replenishment. The
// enrollment is created on the ARS API v1 server (arsd) in the pending
// state; the owner then signs in with Amazon in a browser at the
// enrollment's sign-in URL (Login with Amazon, authorization code with
// PKCE, run by the server), after which the server keeps the Amazon tokens
// and marks the enrollment active. Enrollment.Wait polls for that.
package amazon

import (
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/provider"
)

// Provider is the amazon provider.
type Provider struct {
	provider.Base
}

var _ provider.Provider = (*Provider)(nil)

// New returns the amazon provider speaking to the server through c.
func New(c provider.Client) *Provider {
	return &Provider{Base: provider.Base{Client: c, Provider: arsapi.ProviderAmazon}}
}

// Description implements provider.Provider.
func (*Provider) Description() string {
	return "Amazon Dash Replenishment ships the ink; sign in with Amazon in your browser"
}
