// Package version implements `arsctl version`.
package version

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/cmdutil"
)

// Info is what `arsctl version --json` prints.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

// NewCmdVersion returns the version command.
func NewCmdVersion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show arsctl's version",
		Args:  cobra.NoArgs,
		Example: `  arsctl version
  arsctl version --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			info := Info{Version: f.Version, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						info.Commit = s.Value
					}
				}
			}
			return f.Output.Print(f.IOStreams, info, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "arsctl %s (%s, %s/%s)\n", info.Version, info.Go, info.OS, info.Arch)
				return err
			})
		},
	}
}
