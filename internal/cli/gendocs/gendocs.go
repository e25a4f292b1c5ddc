// Package gendocs implements the hidden `arsctl gen-docs` command that
// writes man pages (and Markdown) from the command tree, for packaging.
package gendocs

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/arsctl/arsctl/internal/cmdutil"
)

// NewCmdGenDocs returns the hidden gen-docs command.
func NewCmdGenDocs(f *cmdutil.Factory) *cobra.Command {
	var manDir, mdDir string
	cmd := &cobra.Command{
		Use:    "gen-docs",
		Short:  "Write man pages and Markdown reference from the command tree",
		Hidden: true,
		Args:   cobra.NoArgs,
		Example: `  arsctl gen-docs --man docs/man
  arsctl gen-docs --markdown docs/reference`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if manDir == "" && mdDir == "" {
				return cmdutil.FlagErrorf("give --man DIR and/or --markdown DIR")
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true
			if manDir != "" {
				if err := os.MkdirAll(manDir, 0o755); err != nil {
					return err
				}
				hdr := &doc.GenManHeader{Title: "ARSCTL", Section: "1", Source: "arsctl " + f.Version, Manual: "arsctl manual"}
				if err := doc.GenManTree(root, hdr, manDir); err != nil {
					return fmt.Errorf("man pages: %w", err)
				}
			}
			if mdDir != "" {
				if err := os.MkdirAll(mdDir, 0o755); err != nil {
					return err
				}
				if err := doc.GenMarkdownTree(root, mdDir); err != nil {
					return fmt.Errorf("markdown: %w", err)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&manDir, "man", "", "Write man pages to `DIR`")
	cmd.Flags().StringVar(&mdDir, "markdown", "", "Write Markdown pages to `DIR`")
	return cmd
}
