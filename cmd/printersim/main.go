// Command printersim runs simulated Canon PIXMA printers for tests,
// benchmarks and demos. It is a test tool and is not shipped.
//
//	printersim --listen 127.0.0.1:0 --serial KNMA01234 --levels C=10,Y=5
//	printersim --count 1000 --base-port 20000 --ready-file /tmp/ready
//	printersim --listen 10.99.0.2:631 --mdns-iface veth1   # inside a netns only
//	printersim --listen 10.99.0.3:631 --mdns-iface veth1 --txt 'ty=Broken' --txt '=junk'
//	printersim --listen 10.99.0.4:631 --mdns-iface veth1 --no-ipp hang
//	printersim --capture testdata/ipp/hp-laserjet-100-colormfp-m175nw.ipp --levels "Imaging Drum HP CE314A=3"
//	printersim --capture testdata/ipp/canon-g4080-series.txt --model "G4080 series" --levels "Black(PGBK)=8"
//	printersim --model "TS6300 series" --levels "Black(BK)=5"   # Canon's own ink names
//	printersim --levels PGBK=-3 --says PGBK=low   # "some remaining", and low said in printer-state-reasons
//
// When listening it prints "ready <url>" (one line per printer) on stdout
// and, with --ready-file, writes the same lines to that file. It runs until
// interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/pkg/atomicfile"
	"github.com/arsctl/arsctl/pkg/printer"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "printersim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("printersim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		listen    = fs.String("listen", "127.0.0.1:0", "address to listen on")
		mk        = fs.String("make", "Canon", "manufacturer")
		model     = fs.String("model", "TS8300 series", "model without the make, as printers report it (the series)")
		serial    = fs.String("serial", "KNMA01234", "serial number (prefix in fleet mode)")
		noPSE     = fs.Bool("no-pse", false, "leave the serial out of printer-device-id (a printer whose serial only SNMP tells)")
		uuid      = fs.String("uuid", "", "printer UUID (default derived from the serial)")
		name      = fs.String("name", "", "printer-info and mDNS instance name")
		levels    = fs.String("levels", "", "supply levels, e.g. PGBK=80,C=10")
		says      = fs.String("says", "", "what the printer says of supplies in printer-state-reasons, e.g. PGBK=low (with --levels PGBK=-3: a printer that reports only \"some remaining\")")
		capture   = fs.String("capture", "", "answer with the attributes of the real printer captured in this `file` (raw IPP or ipptool output, e.g. testdata/ipp/epson-xp-6000.ipp)")
		path      = fs.String("path", "/ipp/print", "IPP resource path")
		delay     = fs.Duration("delay", 0, "wait this long before each IPP answer")
		noIPP     = fs.String("no-ipp", "", "do not answer IPP: hang or close")
		useTLS    = fs.Bool("tls", false, "also serve ipps:// with a self-signed certificate")
		tlsOnly   = fs.Bool("tls-only", false, "serve only ipps://")
		ifaces    = fs.String("mdns-iface", "", "advertise over mDNS on these interfaces (comma-separated; network namespaces only)")
		mdnsHost  = fs.String("mdns-host", "", "mDNS host name without .local")
		count     = fs.Int("count", 0, "fleet mode: start this many printers")
		basePort  = fs.Int("base-port", 0, "fleet mode: port of the first printer (others consecutive)")
		readyFile = fs.String("ready-file", "", "write the ready lines to this file too")
		verbose   = fs.Bool("v", false, "log requests to stderr")
		txt       listFlag
	)
	fs.Var(&txt, "txt", "with --mdns-iface: a TXT string (repeatable); replaces the whole Canon TXT record")
	if err := fs.Parse(args); err != nil {
		return err
	}
	lv, err := parseLevels(*levels)
	if err != nil {
		return err
	}
	said, err := parseSays(*says)
	if err != nil {
		return err
	}
	var captured []byte
	if *capture != "" {
		if captured, err = os.ReadFile(*capture); err != nil {
			return err
		}
		// The identity is the capture's unless given.
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]*string{"make": mk, "model": model, "serial": serial} {
			if !set[name] {
				*v = ""
			}
		}
	}
	cfg := printersim.Config{Capture: captured,
		Make: *mk, Model: *model, Serial: *serial, SerialOverSNMPOnly: *noPSE, UUID: *uuid, Name: *name,
		Levels: lv, Says: said, Path: *path, Delay: *delay, TLS: *useTLS || *tlsOnly, TLSOnly: *tlsOnly,
	}
	switch *noIPP {
	case "":
	case "hang":
		cfg.Mode = printersim.ModeHang
	case "close":
		cfg.Mode = printersim.ModeClose
	default:
		return fmt.Errorf("--no-ipp must be hang or close, not %q", *noIPP)
	}
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	if *ifaces != "" && *count > 1 {
		return errors.New("--mdns-iface works with one printer per process")
	}
	var printers []*printersim.Printer
	if *count > 0 {
		host := "127.0.0.1"
		if h, _, err := splitHost(*listen); err == nil && h != "" {
			host = h
		}
		f, err := printersim.StartFleet(ctx, printersim.FleetConfig{Count: *count, Host: host, BasePort: *basePort, Template: cfg})
		if err != nil {
			return err
		}
		defer f.Close()
		printers = f.Printers
	} else {
		p := printersim.New(cfg)
		if err := p.Start(ctx, *listen); err != nil {
			return err
		}
		defer p.Close()
		printers = []*printersim.Printer{p}
	}
	if *ifaces != "" {
		mc := printersim.MDNSConfig{Interfaces: strings.Split(*ifaces, ","), Host: *mdnsHost, TXT: txt}
		if err := printers[0].Advertise(mc); err != nil {
			return err
		}
	}

	var b strings.Builder
	for _, p := range printers {
		fmt.Fprintf(&b, "ready %s\n", p.URL())
	}
	if *readyFile != "" {
		if err := atomicfile.Write(*readyFile, []byte(b.String())); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		return err
	}
	<-ctx.Done()
	// Give mDNS goodbye packets a moment to leave.
	time.Sleep(50 * time.Millisecond)
	return nil
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func parseLevels(s string) (map[string]int, error) {
	return parsePairs(s, "--levels", "NAME=LEVEL", func(v string) (int, bool) {
		n, err := strconv.Atoi(v)
		return n, err == nil
	})
}

func parseSays(s string) (map[string]string, error) {
	return parsePairs(s, "--says", "NAME=low or NAME=empty", func(v string) (string, bool) {
		return v, v == printer.StateLow || v == printer.StateEmpty
	})
}

// parsePairs parses a flag's comma-separated NAME=VALUE pairs, each value
// by value.
func parsePairs[V any](s, flag, form string, value func(string) (V, bool)) (map[string]V, error) {
	if s == "" {
		return nil, nil
	}
	m := map[string]V{}
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		val, valid := value(strings.TrimSpace(v))
		if !ok || !valid || k == "" {
			return nil, fmt.Errorf("%s: %q is not %s", flag, part, form)
		}
		m[k] = val
	}
	return m, nil
}

func splitHost(hostport string) (string, string, error) {
	i := strings.LastIndex(hostport, ":")
	if i < 0 {
		return hostport, "", nil
	}
	return strings.Trim(hostport[:i], "[]"), hostport[i+1:], nil
}
