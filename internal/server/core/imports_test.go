package core_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHandlersUseTheCore: the API and the web pages reach the store only
// through the core's interfaces, never by importing it (directly or
// through another package), so that every enrollment rule they apply is
// the core's.
func TestHandlersUseTheCore(t *testing.T) {
	const mod = "github.com/arsctl/arsctl/internal/server/"
	for _, pkg := range []string{mod + "api", mod + "web"} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("go list -deps %s listed %d packages: %q", pkg, len(deps), out)
		}
		core := false
		for _, d := range deps {
			switch d {
			case mod + "store", mod + "db":
				t.Errorf("%s imports %s", pkg, d)
			case mod + "core":
				core = true
			}
		}
		if !core {
			t.Errorf("%s does not import the core", pkg)
		}
	}
}
