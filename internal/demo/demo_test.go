package demo_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/arsctl/arsctl/internal/cli/root"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/demo"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

func newFactory(t *testing.T) (*cmdutil.Factory, *bytes.Buffer, *bytes.Buffer) {
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
	return f, out, errOut
}

// TestDemo runs the whole demo, as `arsd demo` does, and checks what a
// user sees: each step, one order, and the cancellation.
func TestDemo(t *testing.T) {
	f, out, errOut := newFactory(t)
	err := demo.Run(context.Background(), &demo.Options{F: f, Root: root.NewCmdRoot, Provider: arsapi.ProviderCanon})
	if err != nil {
		t.Fatalf("demo failed: %v\nstderr:\n%s\nstdout:\n%s", err, errOut, out)
	}
	stderr, stdout := errOut.String(), out.String()
	for _, want := range []string{
		"$ arsctl discover --host 127.0.0.1:",
		"$ arsctl register --host 127.0.0.1:",
		"$ arsctl cancel ",
		"(Canon TS5300 series, serial KNMA",
		"(the order is scheduled: it waits 24 h",
		"$ arsctl orders ship ",
		"back office received the signed order for Color",
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

// TestDemoAmazon runs `arsd demo --provider amazon`: the Amazon branch on
// one machine, with the in-repo Amazon emulator. The browser the demo
// plays signs in with Amazon; register says the printer is enrolled with
// Amazon; the low colour cartridge is ordered from Amazon, once.
func TestDemoAmazon(t *testing.T) {
	f, out, errOut := newFactory(t)
	err := demo.Run(context.Background(), &demo.Options{F: f, Root: root.NewCmdRoot, Provider: arsapi.ProviderAmazon})
	if err != nil {
		t.Fatalf("demo failed: %v\nstderr:\n%s\nstdout:\n%s", err, errOut, out)
	}
	stderr, stdout := errOut.String(), out.String()
	for _, want := range []string{
		"Amazon (emulator)     http://127.0.0.1:",
		"$ arsctl register --host 127.0.0.1:",
		" --provider amazon --agree-terms",
		"arsd's page \"You're all set\"",
		"✓ Enrolled TS5320, serial ****",
		" with Amazon: enrollment ",
		"$ arsctl orders ship ",
		"Amazon Dash Replenishment (emulator) received the order for slot color",
		"Demo complete",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "back office") {
		t.Errorf("the Amazon demo talks of the back office:\n%s", stderr)
	}
	if n := strings.Count(stdout, "ordered: Color"); n != 1 {
		t.Errorf("stdout shows %d orders for Color, want exactly 1:\n%s", n, stdout)
	}
	if !strings.Contains(stdout, "\tamazon\tactive\t") {
		t.Errorf("stdout never shows the amazon plan active:\n%s", stdout)
	}
}

// TestDemoProviderFlag: --provider takes canon or amazon only.
func TestDemoProviderFlag(t *testing.T) {
	f, _, _ := newFactory(t)
	for _, tt := range []struct {
		args string
		want arsapi.Provider
		exit int
	}{
		{"", arsapi.ProviderCanon, 0},
		{"--provider amazon", arsapi.ProviderAmazon, 0},
		{"--provider ups", "", cmdutil.ExitUsage},
	} {
		var got *demo.Options
		cmd := demo.NewCmdDemo(f, func(_ context.Context, o *demo.Options) error { got = o; return nil })
		cmd.SetArgs(strings.Fields(tt.args))
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if code := cmdutil.ExitCode(err); code != tt.exit || (tt.exit == 0 && got.Provider != tt.want) {
			t.Errorf("%q: exit %d (%v), options %+v", tt.args, code, err, got)
		}
	}
}

// TestDemoFitsAnEightyColumnTerminal: on an 80-column terminal the demo's
// own lines (the step titles, the remarks, the service's addresses) ran
// past the edge and the terminal broke them mid-word, as it did the
// closing "Next: … `arsctl register`".
func TestDemoFitsAnEightyColumnTerminal(t *testing.T) {
	f, out, errOut := newFactory(t)
	f.IOStreams.SetTTY(true)
	f.IOStreams.SetNeverPrompt(true)
	f.IOStreams.SetTerminalWidth(80)
	if err := demo.Run(context.Background(), &demo.Options{F: f, Root: root.NewCmdRoot, Provider: arsapi.ProviderCanon}); err != nil {
		t.Fatalf("demo failed: %v\nstderr:\n%s\nstdout:\n%s", err, errOut, out)
	}
	stderr := errOut.String()
	for _, want := range []string{"── 2. Register: select the printer, agree to the terms, choose Canon, confirm\n      model and serial", "Demo complete"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	for _, l := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(l, "── ") && !strings.HasPrefix(l, "   ") && !strings.HasPrefix(l, "  Next") {
			continue // the commands' own output
		}
		if n := utf8.RuneCountInString(l); n > 80 && strings.Contains(strings.TrimSpace(l), " ") {
			t.Errorf("demo line of %d cells: %q", n, l)
		}
	}
}
