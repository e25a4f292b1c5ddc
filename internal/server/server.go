// Package server assembles arsd: it opens the database, builds the
// catalogue, the ARS API v1 handlers, the OAuth authorization server, the
// account web pages, the Amazon provider and the order dispatcher, serves
// them on one mux with health, readiness and Prometheus metrics, and shuts
// down gracefully.
//
// cmd/arsd runs New + Run; `arsd demo` and tests use Start, which runs a
// server in-process on a free loopback port.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/arsctl/arsctl/internal/server/amazon"
	"github.com/arsctl/arsctl/internal/server/api"
	"github.com/arsctl/arsctl/internal/server/catalogue"
	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/internal/server/gauges"
	"github.com/arsctl/arsctl/internal/server/notify"
	"github.com/arsctl/arsctl/internal/server/oauth"
	"github.com/arsctl/arsctl/internal/server/orders"
	"github.com/arsctl/arsctl/internal/server/reorder"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/internal/server/web"
	"github.com/arsctl/arsctl/internal/server/webhook"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/forecast"
)

// Server is one arsd instance. Create it with New; serve with Run.
type Server struct {
	cfg    Config
	log    *slog.Logger
	db     *db.DB
	st     *store.Store
	cat    *catalogue.Catalogue
	api    *api.API
	oauth  *oauth.Server
	web    *web.Web
	amazon *amazon.Service
	disp   *orders.Dispatcher
	// notifier sends order emails; nil without an SMTP server.
	notifier *notify.Notifier
	links    *notify.Signer
	reg      *prometheus.Registry
	mux      *http.ServeMux
	handler  http.Handler

	// draining is set when shutdown begins: /readyz answers 503 so that
	// load balancers stop sending new requests while those under way end.
	draining atomic.Bool

	closeOnce sync.Once
	closeErr  error
}

// New opens the database (applying migrations) and builds every part of
// the server. The caller must Close it, or Run it (which closes it).
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	d, err := db.Open(ctx, cfg.Database)
	if err != nil {
		if errors.Is(err, db.ErrSchemaTooNew) {
			return nil, fmt.Errorf("database %s: %w; run the newer arsd, or point --database at another database", redactDSN(cfg.Database), err)
		}
		return nil, fmt.Errorf("database %s: %w", redactDSN(cfg.Database), err)
	}
	s.db = d
	for _, f := range d.ExposedFiles() {
		s.log.WarnContext(ctx, "the database file is open to other users of this machine; it holds the token signing key and password hashes: run chmod 600 on it",
			"file", f.Path, "mode", fmt.Sprintf("%04o", f.Mode))
	}
	if err := s.build(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return s, nil
}

func (c *Config) defaults() error {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("TLS needs both a certificate (--tls-cert) and a key (--tls-key)")
	}
	if c.Database == "" {
		dir, err := DataHome()
		if err != nil {
			return err
		}
		c.Database = filepath.Join(dir, "arsd.db")
	}
	if c.DataDir == "" {
		if IsPostgres(c.Database) || c.Database == ":memory:" {
			dir, err := DataHome()
			if err != nil {
				return err
			}
			c.DataDir = dir
		} else {
			c.DataDir = filepath.Dir(c.Database)
		}
	}
	if c.PublicURL == "" {
		addr := c.Addr
		if c.Listener != nil {
			addr = c.Listener.Addr().String()
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("listen address %q: %w", addr, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		scheme := "http"
		if c.TLSCert != "" {
			scheme = "https"
		}
		c.PublicURL = scheme + "://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return fmt.Errorf("public URL %q must be an absolute http(s) URL without a path", c.PublicURL)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.AuthCacheTTL == 0 {
		c.AuthCacheTTL = Duration(DefaultAuthCacheTTL)
	}
	if c.SignupPerMinute <= 0 {
		c.SignupPerMinute = 10
	}
	return nil
}

// orderSettings gives the store the configured order policy, hold window
// and delivery times.
func (s *Server) orderSettings() error {
	oc := s.cfg.Orders
	if oc.Policy != "" {
		if _, ok := reorder.Policies[oc.Policy]; !ok {
			return fmt.Errorf("orders.policy %q: want forecast or threshold", oc.Policy)
		}
	}
	s.st.OrderPolicy = oc.Policy
	if s.cfg.MaxEnrollmentsPerAccount < 0 {
		return fmt.Errorf("max_enrollments_per_account %d is negative", s.cfg.MaxEnrollmentsPerAccount)
	}
	s.st.MaxEnrollments = s.cfg.MaxEnrollmentsPerAccount
	s.st.HistoryRetention = time.Duration(s.cfg.LevelHistory)
	s.st.DefaultHold = store.DefaultHoldWindow
	if oc.Hold != nil {
		if *oc.Hold < 0 {
			return fmt.Errorf("orders.hold %s is negative", time.Duration(*oc.Hold))
		}
		s.st.DefaultHold = time.Duration(*oc.Hold)
	}
	lead := map[arsapi.Provider]time.Duration{}
	for p, d := range oc.LeadTime {
		if (arsapi.Provider(p) != arsapi.ProviderCanon && arsapi.Provider(p) != arsapi.ProviderAmazon) || d <= 0 {
			return fmt.Errorf("orders.lead_time: %q %s: want a provider (canon, amazon) and a positive duration", p, time.Duration(d))
		}
		lead[arsapi.Provider(p)] = time.Duration(d)
	}
	s.st.LeadTime = func(p arsapi.Provider) time.Duration { return lead[p] }
	return nil
}

func (s *Server) build(ctx context.Context) error {
	cfg := s.cfg
	s.st = store.New(s.db)
	if err := s.orderSettings(); err != nil {
		return err
	}
	cat, err := catalogue.New(cfg.Catalogue, cfg.PublicURL)
	if err != nil {
		return err
	}
	s.cat = cat

	var (
		amazonFulfiller, webhookFulfiller fulfil.Fulfiller
		notifiers                         []fulfil.Notifier
	)
	if cfg.Amazon.ClientID != "" {
		key, err := amazon.LoadKey(cfg.Amazon.Key, cfg.DataDir)
		if err != nil {
			return err
		}
		s.amazon, err = amazon.New(s.st, s.log, amazon.Config{
			ClientID:     cfg.Amazon.ClientID,
			ClientSecret: cfg.Amazon.ClientSecret,
			AuthorizeURL: cfg.Amazon.AuthorizeURL,
			TokenURL:     cfg.Amazon.TokenURL,
			DRSBaseURL:   cfg.Amazon.DRSBaseURL,
			DeviceModel:  cfg.Amazon.DeviceModel,
			Slots:        cfg.Amazon.Slots,
			TestDevice:   cfg.Amazon.TestDevice,
			PublicURL:    cfg.PublicURL,
			Key:          key,
		})
		if err != nil {
			return err
		}
		amazonFulfiller = s.amazon
	}
	if cfg.Webhook.URL != "" {
		wh, err := webhook.New(webhook.Config{URL: cfg.Webhook.URL, Secret: []byte(cfg.Webhook.Secret)})
		if err != nil {
			return err
		}
		webhookFulfiller = wh
		notifiers = append(notifiers, wh)
		s.st.ScheduledNotices = true
	}
	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "arsd_password_hashes_total",
		Help: "argon2id password hashes computed (sign-in checks and new accounts).",
	}, func() float64 { return float64(s.st.Passwords.Count()) }))
	s.reg.MustRegister(gauges.New(s.st, gauges.DefaultTTL))
	s.disp = orders.New(s.st, orders.Config{
		Amazon:       amazonFulfiller,
		Webhook:      webhookFulfiller,
		Notifiers:    notifiers,
		Logger:       s.log,
		Metrics:      orders.NewMetrics(s.reg),
		PollInterval: time.Duration(cfg.DispatchInterval),
		PlaceTimeout: time.Duration(cfg.DispatchTimeout),
	})
	if err := s.buildEmail(ctx); err != nil {
		return err
	}
	s.st.OrdersPlaced = s.disp.Poke
	if s.notifier != nil {
		s.st.OrdersPlaced = func() { s.disp.Poke(); s.notifier.Poke() }
	}
	offered := []string{string(arsapi.ProviderCanon)}
	if s.amazon != nil {
		offered = append(offered, string(arsapi.ProviderAmazon))
	}
	for _, p := range s.disp.Unfulfilled(offered) {
		s.log.Warn("no fulfiller for "+p+" orders: they wait in each owner's order inbox (web page "+web.OrdersPath+", `arsctl orders list`) until marked bought; set webhook.url to hand them to a back office",
			"provider", p)
	}

	// One core applies the enrollment rules for the API and the pages.
	coreCfg := core.Config{
		Store:        s.st,
		Catalogue:    cat,
		Logger:       s.log,
		Metrics:      core.NewMetrics(s.reg),
		Deregisterer: s.disp,
		NoAmazon:     s.amazon == nil,
	}
	if s.amazon != nil {
		coreCfg.LevelsReported = s.reportDeviceStatus
	}
	enroll, err := core.New(coreCfg)
	if err != nil {
		return err
	}

	webOpts := web.Options{
		Store:        s.st,
		Catalogue:    cat,
		Core:         enroll,
		Logger:       s.log,
		PublicURL:    cfg.PublicURL,
		TrustProxy:   cfg.TrustProxy,
		Links:        s.links,
		OrderActions: s.st,
		EmailSending: s.notifier != nil,
	}
	if s.amazon != nil {
		webOpts.AmazonSignInURL = s.amazon.SignInURL
	}
	s.web, err = web.New(webOpts)
	if err != nil {
		return err
	}
	s.oauth, err = oauth.New(ctx, s.st, s.web, s.log, oauth.Config{
		Issuer:         cfg.PublicURL,
		LoginPath:      web.LoginPath,
		AccessTokenTTL: time.Duration(cfg.AccessTokenTTL),
		TrustProxy:     cfg.TrustProxy,
		CORSOrigins:    cfg.CORSOrigins,
	})
	if err != nil {
		return err
	}

	opts := api.Options{
		Store:            s.st,
		Catalogue:        cat,
		Auth:             newAuthCache(s.oauth.Authenticator(), time.Duration(cfg.AuthCacheTTL)),
		Core:             enroll,
		Logger:           s.log,
		PublicURL:        cfg.PublicURL,
		SignupsPerMinute: cfg.SignupPerMinute,
		TrustProxy:       cfg.TrustProxy,
	}
	if s.amazon != nil {
		opts.AmazonSignInURL = s.amazon.SignInURL
		opts.AmazonSignInDeclined = s.amazon.SignInDeclined
	}
	s.api, err = api.New(opts)
	if err != nil {
		return err
	}

	s.mux = http.NewServeMux()
	s.api.Routes(s.mux)
	s.oauth.Routes(s.mux)
	s.web.Routes(s.mux)
	if s.amazon != nil {
		s.amazon.Routes(s.mux)
	}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	s.handler = s.instrument(refuseControlURLs(s.mux))
	return nil
}

// OpsRoutes are the operational endpoints the server itself registers.
var OpsRoutes = []string{"GET /healthz", "GET /readyz", "GET /metrics"}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("shutting down\n"))
		return
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.log.WarnContext(ctx, "readiness: database does not answer", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("database unavailable\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// Handler returns the server's HTTP handler: every route, instrumented.
func (s *Server) Handler() http.Handler { return s.handler }

// URL returns the server's public base URL.
func (s *Server) URL() string { return s.cfg.PublicURL }

// Store returns the server's store (for tests and in-process tools).
func (s *Server) Store() *store.Store { return s.st }

// Routes reports whether the server answers method and path with a
// registered route, and which pattern.
func (s *Server) Route(method, path string) (pattern string, ok bool) {
	r, err := http.NewRequest(method, path, nil)
	if err != nil {
		return "", false
	}
	_, pattern = s.mux.Handler(r)
	return pattern, pattern != ""
}

// APIRoutes returns the patterns of ARS API v1 served by the api package.
func (s *Server) APIRoutes() []string {
	var out []string
	for _, rt := range s.api.RouteList() {
		out = append(out, rt.Pattern)
	}
	return out
}

// Run serves until ctx is done, then shuts down gracefully: /readyz
// answers 503 at once while requests are still served for
// Config.DrainDelay (so that a load balancer sees the replica leave and
// sends new requests elsewhere), then it stops accepting connections, lets
// requests under way finish (up to 20s), stops the dispatcher and closes
// the database.
func (s *Server) Run(ctx context.Context) error {
	ln := s.cfg.Listener
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", s.cfg.Addr)
		if err != nil {
			s.Close()
			return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
		}
	}
	return s.serve(ctx, ln, nil)
}

func (s *Server) serve(ctx context.Context, ln net.Listener, ready chan<- struct{}) error {
	defer s.Close()
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if s.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("TLS certificate: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}

	dctx, stopDispatch := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.disp.Run(dctx) })
	wg.Go(func() { s.janitor(dctx, janitorInterval) })
	wg.Go(func() { s.refreshPriors(dctx, store.DefaultPriorsInterval) })
	if s.notifier != nil {
		wg.Go(func() { _ = s.notifier.Run(dctx) })
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("arsd serving", "url", s.cfg.PublicURL, "listen", ln.Addr().String(), "database", dbKind(s.cfg.Database))
	if ready != nil {
		close(ready)
	}

	var serveErr error
	select {
	case err := <-errc:
		serveErr = err
	case <-ctx.Done():
		s.draining.Store(true)
		// Connections are closed after their next answer, so that
		// clients reconnect through the load balancer to another replica.
		hs.SetKeepAlivesEnabled(false)
		if d := time.Duration(s.cfg.DrainDelay); d > 0 {
			s.log.Info("arsd shutting down: not ready, draining", "delay", d)
			select {
			case <-time.After(d):
			case serveErr = <-errc:
			}
		}
		s.log.Info("arsd shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		if err := hs.Shutdown(sctx); err != nil {
			s.log.Warn("shutdown: requests still running were cut off", "err", err)
			_ = hs.Close()
		}
		cancel()
		if serveErr == nil {
			serveErr = <-errc
		}
	}
	stopDispatch()
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		s.log.Warn("shutdown: the order dispatcher did not stop within 30s; exiting anyway (unrecorded hand-overs are retried after their lease)")
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// noticeRetention is how long the record of a sent order email is kept.
const noticeRetention = 30 * 24 * time.Hour

// buildEmail makes the signer of one-click links (always: a link in an
// email sent before a restart without SMTP still works) and, with an SMTP
// host configured, the order email sender.
func (s *Server) buildEmail(ctx context.Context) error {
	ec := s.cfg.Email
	var key []byte
	var err error
	if ec.LinkKey != "" {
		key, err = amazon.LoadKey(ec.LinkKey, "")
		if err != nil {
			return fmt.Errorf("email link key: %w", err)
		}
	} else if key, err = s.st.LinkKey(ctx); err != nil {
		return err
	}
	if s.links, err = notify.NewSigner(key, nil); err != nil {
		return err
	}
	if ec.SMTPHost == "" {
		return nil
	}
	password := ec.SMTPPassword
	if ec.SMTPPasswordFile != "" {
		b, err := os.ReadFile(ec.SMTPPasswordFile)
		if err != nil {
			return fmt.Errorf("email smtp_password_file: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	m, err := notify.NewMailer(notify.SMTPConfig{Host: ec.SMTPHost, Port: ec.SMTPPort, TLS: ec.TLS,
		Username: ec.SMTPUser, Password: password, From: ec.From, RootCAs: s.cfg.emailRoots})
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	s.notifier, err = notify.New(notify.Config{Queue: s.st, Sender: m, Signer: s.links,
		PublicURL: s.cfg.PublicURL, Logger: s.log, Forecast: s.supplyForecast})
	return err
}

// supplyForecast is a supply's forecast now, for an order email; nil when
// it cannot be read (the email goes without it).
func (s *Server) supplyForecast(ctx context.Context, accountID, enrollmentID, supply string) *forecast.Forecast {
	lh, err := s.st.LevelHistory(ctx, accountID, enrollmentID, time.Now())
	if err != nil {
		s.log.WarnContext(ctx, "order email: read the forecast", "enrollment", enrollmentID, "err", err)
		return nil
	}
	for _, h := range lh.Supplies {
		if h.Name == supply {
			f := h.Forecast
			return &f
		}
	}
	return nil
}

// janitorInterval is how often the janitor runs.
const janitorInterval = 10 * time.Minute

// janitor purges expired records at start and then every interval:
// idempotency records, web sessions, OAuth state and level history older
// than Config.LevelHistory (a server restarted
// more often than the interval still purges). Nothing else purges them.
func (s *Server) janitor(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.st.PurgeIdem(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("purge idempotency records", "err", err)
		}
		if _, err := s.st.DeleteExpiredSessions(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("purge sessions", "err", err)
		}
		if err := s.oauth.Purge(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("purge oauth state", "err", err)
		}
		if _, err := s.st.PurgeNotices(ctx, time.Now().Add(-noticeRetention)); err != nil && ctx.Err() == nil {
			s.log.Warn("purge order emails", "err", err)
		}
		keep := time.Duration(s.cfg.LevelHistory)
		if keep <= 0 {
			keep = store.DefaultLevelHistoryRetention
		}
		if _, err := s.st.PurgeLevelHistory(ctx, s.st.Now().Add(-keep)); err != nil && ctx.Err() == nil {
			s.log.Warn("purge level history", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refreshPriors recomputes the fleet's priors (store.RefreshPriors) at
// start and then every interval, until ctx ends. Each replica keeps its
// own, in memory.
func (s *Server) refreshPriors(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.st.RefreshPriors(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("refresh fleet priors", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close closes the database. Run closes it itself.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.db.Close() })
	return s.closeErr
}

// Start runs a server in-process, for `arsd demo` and tests: it listens
// on cfg.Addr (use "127.0.0.1:0" for a free port), serves in the
// background, and returns the server's base URL and a stop function that
// shuts it down and waits for it.
func Start(ctx context.Context, cfg Config) (baseURL string, stop func() error, err error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Listener == nil {
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return "", nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
		}
		cfg.Listener = ln
	}
	s, err := New(ctx, cfg)
	if err != nil {
		cfg.Listener.Close()
		return "", nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- s.serve(rctx, cfg.Listener, ready) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		return "", nil, err
	}
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			stopErr = <-done
		})
		return stopErr
	}
	return s.URL(), stop, nil
}

// redactDSN hides a PostgreSQL password.
func redactDSN(dsn string) string {
	if !IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable DSN)"
	}
	return u.Redacted()
}

func dbKind(dsn string) string {
	if IsPostgres(dsn) {
		return "postgres"
	}
	return "sqlite"
}

// reportDeviceStatus tells Amazon Dash Replenishment that an amazon
// enrollment's printer was active (at most daily per enrollment), off the
// request path so a slow Amazon never slows level reports.
func (s *Server) reportDeviceStatus(enrollmentID string, readAt time.Time) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := s.amazon.ReportDeviceStatus(ctx, enrollmentID, readAt); err != nil {
			s.log.Warn("amazon device status not reported", "enrollment", enrollmentID, "err", err)
		}
	}()
}
