// Command arsctl-docs is arsctl with the hidden gen-docs command, which
// writes the man pages and the Markdown reference; scripts/completions.sh
// builds it for packaging. gen-docs lives apart from arsctl so that arsctl
// carries no roff or Markdown renderer (they cost size and start-up time).
//
//	go build -o /tmp/arsctl-docs ./internal/cli/gendocs/cmd/arsctl-docs
//	/tmp/arsctl-docs gen-docs --man docs/man
package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/arsctl/arsctl/internal/cli/app"
	"github.com/arsctl/arsctl/internal/cli/gendocs"
	"github.com/arsctl/arsctl/internal/cmdutil"
)

var version = "dev"

func main() {
	os.Exit(app.Main(version, func(f *cmdutil.Factory) *cobra.Command { return gendocs.NewCmdGenDocs(f, nil) }))
}
