package root

import (
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
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
