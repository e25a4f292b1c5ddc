package rundemo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
)

// fakeArsd writes a program standing in for arsd that prints its
// arguments and exits with code.
func fakeArsd(t *testing.T, code string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "arsd")
	script := "#!/bin/sh\necho \"arsd $*\"\necho oops >&2\nexit " + code + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, lookPath func(string) (string, error), args ...string) (string, string, error) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	cmd := NewCmdDemo(f, func(ctx context.Context, o *Options) error {
		o.LookPath = lookPath
		return demoRun(ctx, o)
	})
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// arsctl demo runs arsd demo with its flags, and exits as it does.
func TestRunsArsdDemo(t *testing.T) {
	ok := fakeArsd(t, "0")
	out, errOut, err := run(t, func(string) (string, error) { return ok, nil }, "--keep")
	if err != nil || out != "arsd demo --keep\n" || errOut != "oops\n" {
		t.Fatalf("out %q, errOut %q, err %v", out, errOut, err)
	}
	failed := fakeArsd(t, "7")
	_, _, err = run(t, func(string) (string, error) { return failed, nil })
	if code := cmdutil.ExitCode(err); code != 7 || !cmdutil.IsSilent(err) {
		t.Fatalf("arsd demo failing: exit %d (%v), want 7 and nothing more said", code, err)
	}
}

// Without arsd: exit 3, saying how to run the demo.
func TestNoArsd(t *testing.T) {
	_, _, err := run(t, func(string) (string, error) { return "", errors.New("not found") })
	if cmdutil.ExitCode(err) != cmdutil.ExitNotFound || !strings.Contains(err.Error(), "go run ./cmd/arsd demo") {
		t.Fatalf("err = %v (exit %d)", err, cmdutil.ExitCode(err))
	}
}
