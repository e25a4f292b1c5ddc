// Package models implements `arsctl models`: the printer models the
// server's service covers, with the series name each one's printers report.
package models

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/cli/resolve"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/tableprinter"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Options are the inputs of `arsctl models`.
type Options struct {
	IO           *iostreams.IOStreams
	Output       *cmdutil.OutputOptions
	PublicClient func() (*arsapi.Client, error)
}

// NewCmdModels returns the models command. runF replaces its behaviour in
// tests.
func NewCmdModels(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{
		IO:           f.IOStreams,
		Output:       f.Output,
		PublicClient: func() (*arsapi.Client, error) { return resolve.PublicClient(f) },
	}
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List the printer models eligible for the service",
		Long: `List the printer models the Auto Replenishment Service covers (GET
/v1/models on the server), with the series name printers of each model
report for themselves.

Printers do not report the model number on the box: a Canon PIXMA TS5320
calls itself "Canon TS5300 series" over IPP, in its IEEE 1284 device ID and
over mDNS. A series that covers one eligible model stands for it; when one
covers several (the TS9500 series: TS9520 and TS9521C), register asks which
model the printer is, or takes --model.

'arsctl discover' shows for each printer found whether it is eligible.
No sign-in is needed.

Output: MODEL, SERIES, MAKE and ALIASES; tab-separated when piped; with
--json an array of {name, make, series, aliases}.`,
		Example: `  arsctl models
  arsctl models --json --jq '.[] | select(.series | index("TS9500 series")) | .name'
  arsctl models --server https://ars.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return modelsRun(cmd.Context(), opts)
		},
	}
	return cmd
}

// Run lists the eligible models.
func modelsRun(ctx context.Context, opts *Options) error {
	c, err := opts.PublicClient()
	if err != nil {
		return err
	}
	opts.IO.StartProgress("Reading the eligible models…")
	models, err := c.Models(ctx)
	opts.IO.StopProgress()
	if err != nil {
		return err
	}
	if models == nil {
		models = []arsapi.Model{}
	}
	return opts.Output.Print(opts.IO, models, func(io.Writer) error {
		t := tableprinter.New(opts.IO, "MODEL", "SERIES", "MAKE", "ALIASES").KeepWhole(0).Spare(3)
		for _, m := range models {
			t.AddRow(m.Name, resolve.OrDash(strings.Join(m.Series, ", ")), resolve.OrDash(m.Make), resolve.OrDash(strings.Join(m.Aliases, ", ")))
		}
		return t.Render()
	})
}
