package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoServerInArsctl keeps arsctl lean: the binary links neither the
// service (internal/server/...) nor the test tools that start one or
// simulate devices (`arsd demo` carries those), nor the man page
// generator. Test files may use them.
func TestNoServerInArsctl(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the dependencies with")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []string{
		"github.com/arsctl/arsctl/internal/server",
		"github.com/arsctl/arsctl/internal/printersim",
		"github.com/arsctl/arsctl/internal/amazonemu",
		"github.com/arsctl/arsctl/internal/netns",
		"github.com/arsctl/arsctl/internal/demo",
		"testing",
		// gen-docs's renderers: cmd/arsctl-docs carries them.
		"github.com/arsctl/arsctl/internal/cli/gendocs",
		"github.com/spf13/cobra/doc",
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed %d packages: %q", len(deps), out)
	}
	for _, dep := range deps {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("arsctl depends on %s", dep)
			}
		}
	}
}
