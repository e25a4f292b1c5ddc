// Package registry maps provider names to implementations: Get("canon")
// and Get("amazon").
package registry

import (
	"fmt"
	"strings"

	"github.com/arsctl/arsctl/pkg/provider"
	"github.com/arsctl/arsctl/pkg/provider/amazon"
	"github.com/arsctl/arsctl/pkg/provider/canon"
)

// Names returns the provider names, in the order they are offered.
func Names() []string { return []string{"canon", "amazon"} }

// Get returns the named provider speaking to the server through c. The
// name is matched without regard to case.
func Get(name string, c provider.Client) (provider.Provider, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "canon":
		return canon.New(c), nil
	case "amazon":
		return amazon.New(c), nil
	}
	return nil, fmt.Errorf("unknown provider %q: use one of %s", name, strings.Join(Names(), ", "))
}

// All returns every provider speaking through c.
func All(c provider.Client) []provider.Provider {
	return []provider.Provider{canon.New(c), amazon.New(c)}
}
