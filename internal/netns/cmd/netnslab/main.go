//go:build linux

// Command netnslab builds a network of namespaces with simulated printers
// for benchmarks (bench/discover.sh) and manual experiments, and removes
// it when interrupted (SIGINT, SIGTERM or SIGHUP). It needs root.
//
//	netnslab --printers 20 --printersim ./printersim --env /tmp/lab.env
//
// When ready it writes shell variable assignments to --env:
// CLIENT_NS (a namespace with avahi-daemon, for running arsctl and
// ippfind), CLIENT_DBUS (the D-Bus address ippfind needs there),
// PRINTER_IP (one printer's address) and PRINTERS (the count).
//
// With --subnet CIDR the printers sit on that subnet behind a router
// (netns.Lab.AddSubnet), where the client's mDNS does not reach, and
// SUBNET (the prefix) is written too: for sweeping benchmarks
// (bench/subnet.sh).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/arsctl/arsctl/internal/netns"
	"github.com/arsctl/arsctl/pkg/atomicfile"
)

// lab implements netns.TB outside `go test`.
type lab struct {
	cleanups []func()
	dirs     []string
}

func (l *lab) Helper()                 {}
func (l *lab) Cleanup(f func())        { l.cleanups = append(l.cleanups, f) }
func (l *lab) Logf(f string, a ...any) { fmt.Fprintf(os.Stderr, "netnslab: "+f+"\n", a...) }
func (l *lab) Fatalf(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "netnslab: "+f+"\n", a...)
	l.close()
	os.Exit(1)
}
func (l *lab) Skipf(f string, a ...any) { l.Fatalf(f, a...) }
func (l *lab) TempDir() string {
	d, err := os.MkdirTemp("", "netnslab-")
	if err != nil {
		l.Fatalf("%v", err)
	}
	l.dirs = append(l.dirs, d)
	return d
}

func (l *lab) close() {
	for i := len(l.cleanups) - 1; i >= 0; i-- {
		l.cleanups[i]()
	}
	l.cleanups = nil
	for _, d := range l.dirs {
		_ = os.RemoveAll(d)
	}
}

func main() {
	n := flag.Int("printers", 20, "number of simulated printers, one namespace each")
	sim := flag.String("printersim", "", "path of the printersim binary (required)")
	env := flag.String("env", "", "write the lab's shell variables to this file when ready (required)")
	subnet := flag.String("subnet", "", "put the printers on this IPv4 `prefix` behind a router (e.g. 10.67.0.0/24)")
	flag.Parse()
	if *sim == "" || *env == "" {
		fmt.Fprintln(os.Stderr, "netnslab: --printersim and --env are required")
		os.Exit(2)
	}
	if why := netns.Available(); why != "" {
		fmt.Fprintln(os.Stderr, "netnslab:", why)
		os.Exit(1)
	}
	t := &lab{}
	defer t.close()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)

	l := netns.NewLab(t)
	addHost := l.AddHost
	var sub *netns.Subnet
	if *subnet != "" {
		sub = l.AddSubnet("printers", *subnet)
		addHost = sub.AddHost
	}
	var first *netns.Host
	for i := range *n {
		h := addHost(fmt.Sprintf("p%02d", i))
		h.StartSim(*sim, netns.Sim{Args: []string{
			"--name", fmt.Sprintf("Canon TS8300 series %02d", i),
			"--serial", fmt.Sprintf("KNMA%05d", i),
			"--tls",
		}})
		if first == nil {
			first = h
		}
	}
	client := l.AddHost("client")
	client.StartAvahi()
	var b strings.Builder
	fmt.Fprintf(&b, "CLIENT_NS=%s\n", client.NS)
	fmt.Fprintf(&b, "CLIENT_DBUS=%s\n", client.DBusAddress())
	if first != nil {
		fmt.Fprintf(&b, "PRINTER_IP=%s\n", first.IP4)
	}
	fmt.Fprintf(&b, "PRINTERS=%d\n", *n)
	if sub != nil {
		fmt.Fprintf(&b, "SUBNET=%s\n", sub.Prefix)
	}
	if err := atomicfile.Write(*env, []byte(b.String())); err != nil {
		t.Fatalf("%v", err)
	}
	fmt.Fprintf(os.Stderr, "netnslab: ready: %d printers; client namespace %s\n", *n, client.NS)

	<-sig
}
