package demo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/cli/root"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/demo"
	"github.com/arsctl/arsctl/internal/iostreams"
)

// TestDemo runs the whole demo, as `arsd demo` does, and checks what a
// user sees: each step, one order, and the cancellation.
func TestDemo(t *testing.T) {
	ios, _, out, errOut := iostreams.Test()
	env := map[string]string{"HOME": t.TempDir(), "ARS_KEYRING": "off"}
	getenv := func(k string) string { return env[k] }
	f := &cmdutil.Factory{
		IOStreams: ios,
		Getenv:    getenv,
		Config:    func() (*config.Config, error) { return config.Load(getenv) },
		Browser:   cmdutil.SystemBrowser{Getenv: getenv},
		Output:    &cmdutil.OutputOptions{},
		Version:   "test",
	}
	err := demo.Run(context.Background(), &demo.Options{F: f, Root: root.NewCmdRoot})
	if err != nil {
		t.Fatalf("demo failed: %v\nstderr:\n%s\nstdout:\n%s", err, errOut, out)
	}
	stderr, stdout := errOut.String(), out.String()
	for _, want := range []string{
		"$ arsctl discover --host 127.0.0.1:",
		"$ arsctl register --host 127.0.0.1:",
		"$ arsctl cancel ",
		"(Canon TS5300 series, serial KNMA",
		"back office received the signed order event for Color",
		"Demo complete",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if n := strings.Count(stdout, "ordered: Color"); n != 1 {
		t.Errorf("stdout shows %d orders for Color, want exactly 1:\n%s", n, stdout)
	}
	// The series the printer reports is enrolled as the model it stands for.
	if !strings.Contains(stdout, "TS5320") {
		t.Errorf("stdout never shows the TS5320:\n%s", stdout)
	}
	if !strings.Contains(stdout, "cancelled") {
		t.Errorf("stdout never shows the plan cancelled:\n%s", stdout)
	}
}
