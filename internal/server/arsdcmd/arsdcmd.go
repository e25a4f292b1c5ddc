// Package arsdcmd is arsd's command line: flags, ARSD_* environment
// variables and the configuration file, merged into a server.Config, and
// the run loop with graceful shutdown on SIGINT and SIGTERM.
package arsdcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/arsctl/arsctl/internal/server"
)

// Main runs arsd with args and returns the exit code: 0 after a clean
// shutdown, 1 on an error, 2 on a usage error. subcommands are added to
// arsd's command (e.g. demo).
func Main(ctx context.Context, version string, args []string, getenv func(string) string, stderr io.Writer, subcommands ...*cobra.Command) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := NewCommand(version, getenv, stderr)
	cmd.AddCommand(subcommands...)
	cmd.CompletionOptions.DisableDefaultCmd = true
	cmd.SetArgs(args)
	cmd.SetOut(stderr)
	cmd.SetErr(stderr)
	err := cmd.ExecuteContext(ctx)
	switch {
	case err == nil:
		return 0
	case errors.As(err, new(*usageError)):
		fmt.Fprintf(stderr, "arsd: %v\nRun `arsd --help` for usage.\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "arsd: %v\n", err)
		return 1
	}
}

type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// options are the command-line settings before merging.
type options struct {
	listen, publicURL, database, tlsCert, tlsKey, config string
	accessTokenTTL, drainDelay                           time.Duration
	logLevel, logFormat                                  string
	trustProxy                                           bool
	pprofListen                                          string
}

// envNames maps flags to their environment variables.
var envNames = map[string]string{
	"listen":           "ARSD_LISTEN",
	"public-url":       "ARSD_PUBLIC_URL",
	"database":         "ARSD_DATABASE",
	"tls-cert":         "ARSD_TLS_CERT",
	"tls-key":          "ARSD_TLS_KEY",
	"config":           "ARSD_CONFIG",
	"access-token-ttl": "ARSD_ACCESS_TOKEN_TTL",
	"log-level":        "ARSD_LOG_LEVEL",
	"log-format":       "ARSD_LOG_FORMAT",
	"trust-proxy":      "ARSD_TRUST_PROXY",
	"drain-delay":      "ARSD_DRAIN_DELAY",
	"pprof-listen":     "ARSD_PPROF_LISTEN",
}

// NewCommand returns the arsd command. getenv reads the environment.
func NewCommand(version string, getenv func(string) string, stderr io.Writer) *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "arsd",
		Short: "The Auto Replenishment Service",
		Long: `arsd is the Auto Replenishment Service: it keeps accounts, the terms, the
eligible printer models and enrollments, takes supply-level reports, places
one order per low supply and hands it to a fulfiller (Amazon Dash
Replenishment or a signed webhook).

With no flags it listens on 127.0.0.1:8787 and keeps its data in SQLite at
$XDG_DATA_HOME/arsd/arsd.db (~/.local/share/arsd/arsd.db). Every flag can
also be set with an ARSD_* environment variable (e.g. ARSD_DATABASE);
flags win over the environment, which wins over the --config file.

Secrets are best given in the environment: ARSD_AMAZON_CLIENT_SECRET,
ARSD_AMAZON_KEY (the token encryption key, shared by replicas),
ARSD_WEBHOOK_SECRET, ARSD_SMTP_PASSWORD (or ARSD_SMTP_PASSWORD_FILE)
and ARSD_EMAIL_LINK_KEY; ARSD_SMTP_HOST, ARSD_SMTP_PORT, ARSD_SMTP_USER
and ARSD_EMAIL_FROM set the rest of the email section.`,
		Example: `  arsd
  arsd demo                 # the whole journey on this machine, nothing to set up
  arsd --database postgres://ars@db.example.com/ars --listen 0.0.0.0:8787 --public-url https://ars.example.com
  arsd --config /etc/arsd/arsd.yaml`,
		Version: version,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &usageError{fmt.Errorf("unknown command %q for arsd", args[0])}
			}
			return nil
		},
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd.Flags(), getenv); err != nil {
				return &usageError{err}
			}
			cfg, err := buildConfig(cmd.Flags(), o, getenv)
			if err != nil {
				return &usageError{err}
			}
			logger, err := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
			if err != nil {
				return &usageError{err}
			}
			cfg.Logger = logger
			return run(cmd.Context(), cfg, o.pprofListen, stderr)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", server.DefaultAddr, "address to listen on")
	f.StringVar(&o.publicURL, "public-url", "", "externally visible base URL (default http://<listen address>)")
	f.StringVar(&o.database, "database", "", "SQLite file, or a postgres:// DSN (default $XDG_DATA_HOME/arsd/arsd.db)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM); serves HTTPS with --tls-key")
	f.StringVar(&o.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	f.StringVar(&o.config, "config", "", "configuration file, YAML or JSON (catalogue, amazon, webhook, ...)")
	f.DurationVar(&o.accessTokenTTL, "access-token-ttl", 15*time.Minute, "life of OAuth access tokens")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.BoolVar(&o.trustProxy, "trust-proxy", false, "take client addresses from X-Forwarded-For (behind a trusted load balancer)")
	f.DurationVar(&o.drainDelay, "drain-delay", 5*time.Second, "on SIGTERM, serve this long with /readyz failing before closing (load balancers drain the replica)")
	f.StringVar(&o.pprofListen, "pprof-listen", "", "serve Go's profiles (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060 (off when empty)")
	return cmd
}

// applyEnv sets every flag not given on the command line from its
// environment variable.
func applyEnv(fs *pflag.FlagSet, getenv func(string) string) error {
	for name, env := range envNames {
		if fs.Changed(name) {
			continue
		}
		if v := getenv(env); v != "" {
			if err := fs.Set(name, v); err != nil {
				return fmt.Errorf("%s=%q: %w", env, v, err)
			}
		}
	}
	return nil
}

// buildConfig merges the configuration file under the flags and
// environment (already applied to o).
func buildConfig(fs *pflag.FlagSet, o options, getenv func(string) string) (server.Config, error) {
	var cfg server.Config
	if o.config != "" {
		if err := server.LoadConfigFile(o.config, &cfg); err != nil {
			return cfg, err
		}
	}
	set := func(name string, dst *string, v string) {
		if fs.Changed(name) || *dst == "" {
			*dst = v
		}
	}
	set("listen", &cfg.Addr, o.listen)
	set("public-url", &cfg.PublicURL, o.publicURL)
	set("database", &cfg.Database, o.database)
	set("tls-cert", &cfg.TLSCert, o.tlsCert)
	set("tls-key", &cfg.TLSKey, o.tlsKey)
	set("log-level", &cfg.LogLevel, o.logLevel)
	set("log-format", &cfg.LogFormat, o.logFormat)
	if cfg.Database == "" {
		dir, err := server.DataHomeFrom(getenv)
		if err != nil {
			return cfg, err
		}
		cfg.Database = filepath.Join(dir, "arsd.db")
	}
	if fs.Changed("access-token-ttl") || cfg.AccessTokenTTL == 0 {
		cfg.AccessTokenTTL = server.Duration(o.accessTokenTTL)
	}
	if cfg.AccessTokenTTL <= 0 {
		return cfg, errors.New("--access-token-ttl must be positive")
	}
	if fs.Changed("drain-delay") || cfg.DrainDelay == 0 {
		cfg.DrainDelay = server.Duration(o.drainDelay)
	}
	if cfg.DrainDelay < 0 {
		return cfg, errors.New("--drain-delay must not be negative")
	}
	if fs.Changed("trust-proxy") {
		cfg.TrustProxy = o.trustProxy
	}
	if v := getenv("ARSD_AMAZON_CLIENT_SECRET"); v != "" {
		cfg.Amazon.ClientSecret = v
	}
	if v := getenv("ARSD_AMAZON_KEY"); v != "" {
		cfg.Amazon.Key = v
	}
	if v := getenv("ARSD_WEBHOOK_SECRET"); v != "" {
		cfg.Webhook.Secret = v
	}
	for env, field := range map[string]*string{
		"ARSD_SMTP_HOST":          &cfg.Email.SMTPHost,
		"ARSD_SMTP_USER":          &cfg.Email.SMTPUser,
		"ARSD_SMTP_PASSWORD":      &cfg.Email.SMTPPassword,
		"ARSD_SMTP_PASSWORD_FILE": &cfg.Email.SMTPPasswordFile,
		"ARSD_EMAIL_FROM":         &cfg.Email.From,
		"ARSD_EMAIL_LINK_KEY":     &cfg.Email.LinkKey,
	} {
		if v := getenv(env); v != "" {
			*field = v
		}
	}
	if v := getenv("ARSD_SMTP_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			return cfg, fmt.Errorf("ARSD_SMTP_PORT %q: not a port number", v)
		}
		cfg.Email.SMTPPort = p
	}
	return cfg, nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

// servePprof serves net/http/pprof's handlers on addr, which must be a
// loopback address: profiles show the code's paths and memory, for the
// operator on the machine only. It stops when ctx ends.
func servePprof(ctx context.Context, addr string, stderr io.Writer) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return &usageError{fmt.Errorf("--pprof-listen %q: %w", addr, err)}
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return &usageError{fmt.Errorf("--pprof-listen %q: use a loopback address such as 127.0.0.1:6060", addr)}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof-listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close below
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Fprintf(stderr, "arsd profiles on http://%s/debug/pprof/\n", ln.Addr())
	return nil
}

func run(ctx context.Context, cfg server.Config, pprofListen string, stderr io.Writer) error {
	if pprofListen != "" {
		if err := servePprof(ctx, pprofListen, stderr); err != nil {
			return err
		}
	}
	addr := cfg.Addr
	if addr == "" {
		addr = server.DefaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another arsd running? choose another address with --listen)", addr, err)
	}
	cfg.Listener = ln
	s, err := server.New(ctx, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	local := scheme + "://" + ln.Addr().String()
	if local == s.URL() {
		fmt.Fprintf(stderr, "arsd listening on %s\n", local)
	} else {
		fmt.Fprintf(stderr, "arsd listening on %s (public URL %s)\n", local, s.URL())
	}
	return s.Run(ctx)
}
