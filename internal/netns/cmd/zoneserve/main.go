// Command zoneserve serves one DNS zone (internal/zoneserver) on an
// address, for network namespace tests and benchmarks that publish
// printers with unicast DNS-SD. It prints "ready ADDR" once it answers
// and runs until killed.
//
//	zoneserve --listen 10.66.0.2:53 --zone printers.zone --origin corp.example
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/arsctl/arsctl/internal/zoneserver"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:53", "`address` to answer on (UDP and TCP)")
	zone := flag.String("zone", "", "zone `file` in master file format (required)")
	origin := flag.String("origin", ".", "the zone's default origin")
	flag.Parse()
	b, err := os.ReadFile(*zone)
	if err != nil {
		fmt.Fprintln(os.Stderr, "zoneserve:", err)
		os.Exit(2)
	}
	s, err := zoneserver.Start(*listen, string(b), *origin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "zoneserve:", err)
		os.Exit(1)
	}
	fmt.Println("ready", s.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	s.Close()
}
