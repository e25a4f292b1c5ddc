// Package app runs arsctl: it builds the Factory from the real process
// environment, executes the command tree and maps errors to exit codes.
package app

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/cli/root"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/prompt"
)

// NewFactory builds the production Factory.
func NewFactory(version string) *cmdutil.Factory {
	ios := iostreams.System()
	var cfg *config.Config
	var cfgErr error
	loaded := false
	return &cmdutil.Factory{
		IOStreams: ios,
		Getenv:    os.Getenv,
		Config: func() (*config.Config, error) {
			if !loaded {
				cfg, cfgErr = config.Load(os.Getenv)
				loaded = true
			}
			return cfg, cfgErr
		},
		Prompter: &prompt.Huh{In: ios.In, Out: ios.ErrOut},
		Browser:  cmdutil.SystemBrowser{Getenv: os.Getenv},
		Output:   &cmdutil.OutputOptions{},
		Version:  version,
	}
}

// Main runs arsctl with os.Args and returns the exit code. more adds
// commands to arsctl's (gen-docs, in the build that writes the docs).
func Main(version string, more ...func(*cmdutil.Factory) *cobra.Command) int {
	f := NewFactory(version)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := root.NewCmdRoot(f)
	for _, m := range more {
		cmd.AddCommand(m(f))
	}
	err := f.ExplainAuth(cmd.ExecuteContext(ctx))
	f.IOStreams.StopProgress()
	if err == nil {
		return cmdutil.ExitOK
	}
	code := cmdutil.ExitCode(err)
	switch {
	case cmdutil.IsSilent(err):
	case code == cmdutil.ExitCancelled && cmdutil.IsCancel(err):
		fmt.Fprintln(f.IOStreams.ErrOut, "cancelled")
	default:
		PrintError(f.IOStreams, err)
	}
	return code
}

// PrintError prints err on stderr after "error: ". On a terminal a line
// wider than it breaks between words, the rest indented by two spaces, as
// other messages do, where the terminal would break a word or an ID.
func PrintError(ios *iostreams.IOStreams, err error) {
	var b strings.Builder
	for _, line := range strings.Split("error: "+iostreams.SafeLines(err.Error()), "\n") {
		parts := []string{line}
		if ios.IsStderrTTY() {
			parts = iostreams.Wrap(line, ios.TerminalWidth()-2)
		}
		for j, p := range parts {
			if j > 0 {
				b.WriteString("  ")
			}
			b.WriteString(p + "\n")
		}
	}
	fmt.Fprint(ios.ErrOut, b.String())
}
