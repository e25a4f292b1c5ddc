// Package canon is the "canon" provider: Canon's own Auto Replenishment
// Service, reached through an ARS API v1 server (arsd). A canon
// enrollment is active as soon as it is created; the owner's account is
// the one the API client is signed in to.
package canon

import (
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/provider"
)

// Provider is the canon provider.
type Provider struct {
	provider.Base
}

var _ provider.Provider = (*Provider)(nil)

// New returns the canon provider speaking to the server through c.
func New(c provider.Client) *Provider {
	return &Provider{Base: provider.Base{Client: c, Provider: arsapi.ProviderCanon}}
}

// Description implements provider.Provider.
func (*Provider) Description() string {
	return "Canon ships the ink; sign in with your account on the service"
}
