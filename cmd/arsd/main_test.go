package main

import (
	"context"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
)

func testFactory(t *testing.T) (*cmdutil.Factory, func(string) string) {
	ios, _, _, _ := iostreams.Test()
	env := map[string]string{"HOME": t.TempDir(), "ARS_KEYRING": "off"}
	getenv := func(k string) string { return env[k] }
	return &cmdutil.Factory{
		IOStreams: ios,
		Getenv:    getenv,
		Config:    func() (*config.Config, error) { return config.Load(getenv) },
		Browser:   cmdutil.SystemBrowser{Getenv: getenv},
		Output:    &cmdutil.OutputOptions{},
		Version:   "test",
	}, getenv
}

// TestDemoCommand runs `arsd demo`, README's first command, through arsd's
// command line: the service, the simulated printer and arsctl's commands
// in this one process.
func TestDemoCommand(t *testing.T) {
	f, getenv := testFactory(t)
	if code := run(context.Background(), []string{"demo"}, getenv, f); code != 0 {
		t.Fatalf("arsd demo exited %d\nstderr:\n%s\nstdout:\n%s", code, f.IOStreams.ErrOut, f.IOStreams.Out)
	}
	stderr := f.IOStreams.ErrOut.(interface{ String() string }).String()
	for _, want := range []string{"$ arsctl register --host 127.0.0.1:", "Demo complete"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// arsd's help lists the demo; any other argument is a usage error.
func TestHelpAndArgs(t *testing.T) {
	f, getenv := testFactory(t)
	if code := run(context.Background(), []string{"--help"}, getenv, f); code != 0 {
		t.Fatalf("arsd --help exited %d", code)
	}
	if help := f.IOStreams.ErrOut.(interface{ String() string }).String(); !strings.Contains(help, "demo ") || strings.Contains(help, "completion") {
		t.Errorf("arsd --help lists not just the demo:\n%s", help)
	}
	f, getenv = testFactory(t)
	if code := run(context.Background(), []string{"bogus"}, getenv, f); code != 2 {
		t.Errorf("arsd bogus exited %d, want 2", code)
	}
}
