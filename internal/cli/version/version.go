// Package version implements `arsctl version`.
package version

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
)

// Info is what `arsctl version --json` prints.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

// Options are the inputs of `arsctl version`.
type Options struct {
	IO     *iostreams.IOStreams
	Output *cmdutil.OutputOptions
	// Version is the build version.
	Version string
	// BuildInfo reads the binary's build information (debug.ReadBuildInfo).
	BuildInfo func() (*debug.BuildInfo, bool)
}

// NewCmdVersion returns the version command. runF replaces the command's
// behaviour in tests.
func NewCmdVersion(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Output: f.Output, Version: f.Version, BuildInfo: debug.ReadBuildInfo}
	return &cobra.Command{
		Use:   "version",
		Short: "Show arsctl's version",
		Args:  cobra.NoArgs,
		Example: `  arsctl version
  arsctl version --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
}

func versionRun(opts *Options) error {
	info := Info{Version: opts.Version, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi, ok := opts.BuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				info.Commit = s.Value
			}
		}
	}
	return opts.Output.Print(opts.IO, info, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "arsctl %s (%s, %s/%s)\n", info.Version, info.Go, info.OS, info.Arch)
		return err
	})
}
