// Command amazonemu runs the Amazon emulator (internal/amazonemu) as its
// own process, for tests that run real binaries (the CLI's testscripts):
//
//	amazonemu -listen 127.0.0.1:0 -addr-file emu.url -auto-approve \
//	    -device-model ars-printer=black,cyan,magenta,yellow
//
// It prints its base URL on stdout (and writes it to -addr-file once it
// listens), then serves until interrupted. Point arsd's Amazon authorize
// URL at <url>/ap/oa, its token URL at <url>/auth/o2/token and its DRS
// base URL at <url>. Test controls are under <url>/_emu/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/arsctl/arsctl/internal/amazonemu"
)

type models map[string][]string

func (m models) String() string { return fmt.Sprint(map[string][]string(m)) }

func (m models) Set(v string) error {
	name, slots, ok := strings.Cut(v, "=")
	if !ok || name == "" || slots == "" {
		return errors.New("want MODEL=SLOT[,SLOT...]")
	}
	for s := range strings.SplitSeq(slots, ",") {
		if s = strings.TrimSpace(s); s != "" {
			m[name] = append(m[name], s)
		}
	}
	return nil
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "amazonemu:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("amazonemu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on (loopback only)")
	addrFile := fs.String("addr-file", "", "write the base URL to this file once listening")
	cfg := amazonemu.Config{}
	fs.StringVar(&cfg.ClientID, "client-id", "", "LWA client ID to accept (default amzn1.application-oa2-client.arsd-test)")
	fs.StringVar(&cfg.ClientSecret, "client-secret", "", "LWA client secret to accept (default arsd-test-secret)")
	dm := models{}
	fs.Var(dm, "device-model", "device model and its slots, MODEL=SLOT,SLOT (repeatable; default ars-printer with black, cyan, magenta, yellow, photo-black)")
	fs.DurationVar(&cfg.AccessTokenTTL, "token-ttl", time.Hour, "access token lifetime")
	fs.BoolVar(&cfg.AutoApprove, "auto-approve", false, "skip the sign-in page: approve every authorization request")
	fs.IntVar(&cfg.ExpiredStatus, "expired-status", 400, "HTTP status for an expired access token (400 or 401)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(dm) > 0 {
		cfg.DeviceModels = dm
	}
	cfg.AllowAutoApproveParam = true
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-listen %s: the emulator listens on loopback addresses only", *listen)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: amazonemu.New(cfg), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintln(stdout, url)
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(url+"\n"), 0o600); err != nil {
			ln.Close()
			return err
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
