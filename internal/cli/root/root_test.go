package root

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/tableprinter"
)

// Mistakes in arguments are usage errors (exit 2), like mistakes in
// flags; a group alone shows its help.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args    string
		code    int
		message string
	}{
		{"bogus", cmdutil.ExitUsage, `unknown command "bogus" for "arsctl"`},
		{"stauts", cmdutil.ExitUsage, "did you mean status?"},
		{"auth bogus", cmdutil.ExitUsage, `unknown command "bogus" for "arsctl auth"`},
		{"completion tcsh", cmdutil.ExitUsage, `unknown command "tcsh" for "arsctl completion"`},
		{"status a b", cmdutil.ExitUsage, "accepts at most 1 arg(s), received 2"},
		{"monitor extra", cmdutil.ExitUsage, "Run 'arsctl monitor --help' for usage."},
		{"--bogus", cmdutil.ExitUsage, "unknown flag: --bogus"},
		{"status --jq .[", cmdutil.ExitUsage, "--jq: "},
		{"", cmdutil.ExitOK, ""},
		{"auth", cmdutil.ExitOK, ""},
		{"completion", cmdutil.ExitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			ios, _, out, _ := iostreams.Test()
			f := &cmdutil.Factory{
				IOStreams: ios, Output: &cmdutil.OutputOptions{}, Version: "test",
				Getenv: func(string) string { return "" },
				Config: func() (*config.Config, error) { return &config.Config{}, nil },
			}
			cmd := NewCmdRoot(f)
			cmd.SetArgs(strings.Fields(tt.args))
			cmd.SetOut(out)
			cmd.SetErr(out)
			err := cmd.Execute()
			if got := cmdutil.ExitCode(err); got != tt.code {
				t.Fatalf("exit %d (%v), want %d", got, err, tt.code)
			}
			if tt.message != "" && !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q lacks %q", err, tt.message)
			}
			if tt.code == cmdutil.ExitOK && !strings.Contains(out.String(), "Usage:") {
				t.Errorf("no help:\n%s", out)
			}
		})
	}
}

// TestCommandListsFit80Columns: each line of a help's "Available
// Commands" fits an 80-column terminal, which broke "manage API t|okens"
// and three orders commands mid-word.
func TestCommandListsFit80Columns(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}, Getenv: func(string) string { return "" },
		Config: func() (*config.Config, error) { return &config.Config{}, nil }}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() {
				continue
			}
			// cobra's usage template: "  " + name padded to NamePadding + " " + Short.
			if w := 2 + max(sub.NamePadding(), len(sub.Name())) + 1 + tableprinter.Width(sub.Short); w > 80 {
				t.Errorf("%q in %q's command list: %d columns", sub.Short, c.CommandPath(), w)
			}
			walk(sub)
		}
	}
	walk(NewCmdRoot(f))
}

// TestHelpFits80Columns: every command's --help on an 80-column terminal
// has no line wider than it outside Usage and Examples (command lines to
// copy): flag descriptions break between words and go on under
// themselves, where the terminal broke --server's mid-word.
func TestHelpFits80Columns(t *testing.T) {
	newRoot := func() (*cobra.Command, *strings.Builder) {
		ios, _, _, _ := iostreams.Test()
		ios.SetTTY(true)
		ios.SetTerminalWidth(80)
		f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}, Getenv: func(string) string { return "" },
			Config: func() (*config.Config, error) { return &config.Config{}, nil }}
		var b strings.Builder
		root := NewCmdRoot(f)
		root.SetOut(&b)
		root.SetErr(&b)
		return root, &b
	}
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				walk(sub, append(append([]string(nil), path...), sub.Name()))
			}
		}
	}
	root, _ := newRoot()
	walk(root, nil)
	for _, path := range paths {
		root, b := newRoot()
		root.SetArgs(append(append([]string(nil), path...), "--help"))
		if err := root.Execute(); err != nil {
			t.Fatalf("%v --help: %v", path, err)
		}
		verbatim := false
		for _, l := range strings.Split(b.String(), "\n") {
			switch {
			case l == "Usage:" || l == "Examples:":
				verbatim = true
			case strings.HasSuffix(l, ":") && !strings.HasPrefix(l, " "):
				verbatim = false // the next section
			case !verbatim && tableprinter.Width(l) > 80:
				t.Errorf("arsctl %s --help: line of %d columns: %q", strings.Join(path, " "), tableprinter.Width(l), l)
			}
		}
		if !strings.Contains(b.String(), "--server URL") {
			t.Errorf("arsctl %s --help lacks the global flags:\n%s", strings.Join(path, " "), b.String())
		}
	}
}
