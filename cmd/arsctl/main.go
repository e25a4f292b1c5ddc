// Command arsctl enrolls printers in an automatic ink replenishment service.
package main

import (
	"os"

	"github.com/arsctl/arsctl/internal/cli/app"
)

var version = "dev"

func main() { os.Exit(app.Main(version)) }
