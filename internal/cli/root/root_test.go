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
		{"status a b", cmdutil.ExitUsage, "accepts at most 1 arg(s), received 2"},
		{"monitor extra", cmdutil.ExitUsage, "Run 'arsctl monitor --help' for usage."},
		{"--bogus", cmdutil.ExitUsage, "unknown flag: --bogus"},
		{"status --jq .[", cmdutil.ExitUsage, "--jq: "},
		{"", cmdutil.ExitOK, ""},
		{"auth", cmdutil.ExitOK, ""},
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
