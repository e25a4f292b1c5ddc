// Package simtest starts simulated printers for tests. It is apart from
// printersim so that the binaries that use printersim (arsd demo) do
// not link package testing.
package simtest

import (
	"context"
	"testing"

	"github.com/arsctl/arsctl/internal/printersim"
)

// Start starts a simulated printer described by cfg on 127.0.0.1 (a free
// port) and closes it when the test ends. It fails the test if the printer
// cannot start.
func Start(t testing.TB, cfg printersim.Config) *printersim.Printer {
	t.Helper()
	p := printersim.New(cfg)
	if err := p.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}
