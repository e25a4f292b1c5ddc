// Command arsd is the Auto Replenishment Service: accounts and sign-in,
// terms, eligible models, enrollments, cancellation with reasons,
// supply-level intake, the order engine and fulfilment. With no flags it
// listens on 127.0.0.1:8787 and keeps its data in SQLite under
// $XDG_DATA_HOME/arsd. `arsd demo` runs the whole journey on this
// machine: a service, a simulated printer and arsctl's commands, all
// in-process.
package main

import (
	"context"
	"os"

	"github.com/arsctl/arsctl/internal/cli/app"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/demo"
	"github.com/arsctl/arsctl/internal/server/arsdcmd"
)

var version = "dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, app.NewFactory(version)))
}

// run runs arsd with args; f is what the demo's arsctl commands are built
// from, and where arsd writes its messages.
func run(ctx context.Context, args []string, getenv func(string) string, f *cmdutil.Factory) int {
	return arsdcmd.Main(ctx, version, args, getenv, f.IOStreams.ErrOut, demo.NewCmdDemo(f, nil))
}
