// Package rundemo implements `arsctl demo`, which runs `arsd demo`: the
// demo lives with arsd, which carries the service and the printer
// simulator that arsctl leaves out.
package rundemo

import (
	"context"
	"errors"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
)

// Options are the inputs of `arsctl demo`.
type Options struct {
	IO *iostreams.IOStreams
	// Args are the demo's flags, passed on to `arsd demo`.
	Args []string
	// LookPath finds arsd (exec.LookPath).
	LookPath func(string) (string, error)
}

// NewCmdDemo returns the demo command. runF replaces the command's
// behaviour in tests.
func NewCmdDemo(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, LookPath: exec.LookPath}
	cmd := &cobra.Command{
		Use:   "demo [flags]",
		Short: "Walk through the whole service on this machine (runs arsd demo)",
		Long: `Run ` + "`arsd demo`" + `: the whole Auto Replenishment journey on this machine, with a
service, a simulated printer and arsctl's commands in one process. The flags
are arsd demo's (see arsd demo --help).

arsd must be installed (it is in the same packages as arsctl). From a
checkout of the source, ` + "`go run ./cmd/arsd demo`" + ` needs nothing installed.`,
		Example: `  arsctl demo
  arsctl demo --keep
  go run ./cmd/arsd demo     # from a checkout of the source`,
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return demoRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func demoRun(ctx context.Context, opts *Options) error {
	arsd, err := opts.LookPath("arsd")
	if err != nil {
		return cmdutil.NotFoundf("the demo is part of arsd, which is not installed here: install it " +
			"(go install github.com/arsctl/arsctl/cmd/arsd@latest), or from a checkout of the source run `go run ./cmd/arsd demo`")
	}
	c := exec.CommandContext(ctx, arsd, append([]string{"demo"}, opts.Args...)...)
	c.Stdin, c.Stdout, c.Stderr = opts.IO.In, opts.IO.Out, opts.IO.ErrOut
	err = c.Run()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		// arsd has said why.
		return cmdutil.SilentExit(ee.ExitCode())
	}
	return err
}
