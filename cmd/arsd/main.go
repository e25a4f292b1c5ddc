// Command arsd is the Auto Replenishment Service: accounts and sign-in,
// terms, eligible models, enrollments, cancellation with reasons,
// supply-level intake, the order engine and fulfilment. With no flags it
// listens on 127.0.0.1:8787 and keeps its data in SQLite under
// $XDG_DATA_HOME/arsd.
package main

import (
	"context"
	"os"

	"github.com/arsctl/arsctl/internal/server/arsdcmd"
)

var version = "dev"

func main() {
	os.Exit(arsdcmd.Main(context.Background(), version, os.Args[1:], os.Getenv, os.Stderr))
}
