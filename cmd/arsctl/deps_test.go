package main

import (
	"os"
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

// TestMethodDeadCodeElimination keeps the linker removing unused methods
// from arsctl. A call of reflect.Value.MethodByName with a name known only
// at run time (text/template does this, and cobra's Set*Template methods
// bring text/template in) makes the linker keep every exported method of
// every type that reaches an interface: 4 MB more on a plain `go build`.
// The linker's dependency dump marks such a call <ReflectMethod>.
func TestMethodDeadCodeElimination(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to link arsctl with")
	}
	cmd := exec.Command(goBin, "build", "-ldflags=-dumpdep", "-o", os.DevNull, ".")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build -ldflags=-dumpdep: %v\n%s", err, out)
	}
	dump := string(out)
	if !strings.Contains(dump, "main.main") {
		t.Fatalf("the linker's dependency dump names no main.main:\n%.2000s", dump)
	}
	for _, line := range strings.Split(dump, "\n") {
		if strings.Contains(line, "<ReflectMethod>") {
			t.Errorf("a reflective method call turns off method dead-code elimination: %s", line)
		}
	}
}
