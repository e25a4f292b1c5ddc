package server

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/arsctl/arsctl/internal/server/catalogue"
)

// DefaultAddr is where arsd listens with no flags (arsapi.DefaultServer).
const DefaultAddr = "127.0.0.1:8787"

// Config configures a Server. The zero value is a working local server:
// 127.0.0.1:8787 with SQLite under the XDG data directory.
type Config struct {
	// Addr is the listen address. Default DefaultAddr.
	Addr string `json:"listen,omitempty"`
	// Listener, when set, is used instead of listening on Addr (Start
	// sets it, so that port 0 gives a known URL).
	Listener net.Listener `json:"-"`
	// PublicURL is the externally visible base URL (OAuth issuer, links
	// in pages and terms). Default http(s)://<listen address>.
	PublicURL string `json:"public_url,omitempty"`
	// Database is a SQLite file path or a postgres:// DSN. Default
	// $XDG_DATA_HOME/arsd/arsd.db.
	Database string `json:"database,omitempty"`
	// DataDir holds key files (the Amazon token key). Default the
	// SQLite file's directory, else $XDG_DATA_HOME/arsd.
	DataDir string `json:"data_dir,omitempty"`
	// TLSCert and TLSKey, both set, serve HTTPS.
	TLSCert string `json:"tls_cert,omitempty"`
	TLSKey  string `json:"tls_key,omitempty"`
	// AccessTokenTTL is the life of OAuth access tokens. Default 15m.
	AccessTokenTTL Duration `json:"access_token_ttl,omitempty"`
	// AuthCacheTTL is how long a successful bearer-token check is reused
	// (DefaultAuthCacheTTL when 0; negative disables the cache). A revoked
	// token keeps working for at most this long.
	AuthCacheTTL Duration `json:"auth_cache_ttl,omitempty"`
	// TrustProxy takes client addresses from X-Forwarded-For (only
	// behind a trusted load balancer).
	TrustProxy bool `json:"trust_proxy,omitempty"`
	// CORSOrigins are the web origins (scheme://host[:port]) whose scripts
	// may call the OpenID endpoints (discovery, token, userinfo, keys,
	// revoke), without credentials. None by default.
	CORSOrigins []string `json:"cors_origins,omitempty"`
	// Catalogue overrides the terms, eligible models and cancel reasons.
	Catalogue catalogue.Config `json:"catalogue,omitzero"`
	// Amazon enables the amazon provider (Login with Amazon + Dash
	// Replenishment) when ClientID is set.
	Amazon AmazonConfig `json:"amazon,omitzero"`
	// Webhook sends canon orders to a back office when URL is set.
	Webhook WebhookConfig `json:"webhook,omitzero"`
	// Email sends order emails over SMTP when SMTPHost is set.
	Email EmailConfig `json:"email,omitzero"`
	// DispatchInterval is how often the order dispatcher polls. Default 2s.
	DispatchInterval Duration `json:"dispatch_interval,omitempty"`
	// DispatchTimeout bounds one hand-over of an order to its fulfiller.
	// An order claimed by a replica that dies is handed over again after
	// its lease, 2 × DispatchTimeout + 10s. Default 30s.
	DispatchTimeout Duration `json:"dispatch_timeout,omitempty"`
	// DrainDelay is how long a shutting-down server keeps serving with
	// /readyz failing, before it stops accepting connections: at least a
	// load balancer's health-check interval times its failure count.
	// Default 0 (cmd/arsd defaults to 5s).
	DrainDelay Duration `json:"drain_delay,omitempty"`
	// Orders sets the order policy, hold window and delivery times.
	Orders OrdersConfig `json:"orders,omitzero"`
	// LevelHistory is how long every supply's level changes are kept (for
	// the history and the forecast). Default 400 days ("9600h").
	LevelHistory Duration `json:"level_history,omitempty"`
	// SignupPerMinute limits API sign-ups per client address (across
	// replicas sharing the database). Default 10.
	SignupPerMinute int `json:"signup_per_minute,omitempty"`
	// MaxEnrollmentsPerAccount is the most enrollments an account holds
	// that are live or were created in the last 24 hours (cancelled ones
	// included). Default 2000 (core.DefaultMaxEnrollments).
	MaxEnrollmentsPerAccount int `json:"max_enrollments_per_account,omitempty"`
	// LogLevel (debug, info, warn, error) and LogFormat (text, json) are
	// read by cmd/arsd to build Logger.
	LogLevel  string `json:"log_level,omitempty"`
	LogFormat string `json:"log_format,omitempty"`
	// Logger receives the server's logs. Default: discarded.
	Logger *slog.Logger `json:"-"`

	// emailRoots, when set, replaces the system roots for the SMTP
	// server's certificate (tests of this package's users, through
	// SetEmailRoots).
	emailRoots *x509.CertPool
}

// SetEmailRoots trusts only pool for the SMTP server's certificate (a
// private relay's CA, a test server).
func (c *Config) SetEmailRoots(pool *x509.CertPool) { c.emailRoots = pool }

// OrdersConfig is the "orders" section of the configuration.
type OrdersConfig struct {
	// Policy is the order policy of accounts and enrollments that set
	// none: "forecast" (the default) or "threshold".
	Policy string `json:"policy,omitempty"`
	// Hold is the hold window of a new order when neither the enrollment
	// nor its account sets one: the order is scheduled, the owner told
	// and able to skip it, and it is handed over only after the window.
	// Default 24h; "0s" hands orders over at once.
	Hold *Duration `json:"hold,omitempty"`
	// LeadTime is how long an order takes to arrive, per provider
	// ("canon", "amazon"); the forecast policy orders that much ahead.
	// Default 5 days (120h).
	LeadTime map[string]Duration `json:"lead_time,omitempty"`
}

// AmazonConfig is the "amazon" section of the configuration.
type AmazonConfig struct {
	ClientID     string            `json:"client_id,omitempty"`
	ClientSecret string            `json:"client_secret,omitempty"`
	AuthorizeURL string            `json:"authorize_url,omitempty"`
	TokenURL     string            `json:"token_url,omitempty"`
	DRSBaseURL   string            `json:"drs_base_url,omitempty"`
	DeviceModel  string            `json:"device_model,omitempty"`
	Slots        map[string]string `json:"slots,omitempty"`
	TestDevice   bool              `json:"test_device,omitempty"`
	// Key is the token encryption key (64 hex digits or base64 of 32
	// bytes); empty keeps one in DataDir. Replicas must share it.
	Key string `json:"key,omitempty"`
}

// WebhookConfig is the "webhook" section of the configuration.
type WebhookConfig struct {
	URL    string `json:"url,omitempty"`
	Secret string `json:"secret,omitempty"`
}

// EmailConfig is the "email" section of the configuration: the SMTP
// submission server order emails go through, and the key of their
// one-click links.
type EmailConfig struct {
	// SMTPHost and SMTPPort (default 587, or 465 with TLS "tls").
	SMTPHost string `json:"smtp_host,omitempty"`
	SMTPPort int    `json:"smtp_port,omitempty"`
	// TLS is "starttls" (default: STARTTLS required) or "tls" (TLS from
	// the first byte).
	TLS string `json:"tls,omitempty"`
	// SMTPUser and SMTPPassword authenticate; SMTPPasswordFile reads the
	// password from a file instead (a mounted secret).
	SMTPUser         string `json:"smtp_user,omitempty"`
	SMTPPassword     string `json:"smtp_password,omitempty"`
	SMTPPasswordFile string `json:"smtp_password_file,omitempty"`
	// From is the sender, e.g. "Ink service <ink@example.com>".
	From string `json:"from,omitempty"`
	// LinkKey is the HMAC key of the one-click links (64 hex digits or
	// base64 of 32 bytes); empty keeps one in the database, shared by
	// every replica.
	LinkKey string `json:"link_key,omitempty"`
}

// Duration is a time.Duration written as "15m" in configuration files.
type Duration time.Duration

// UnmarshalJSON accepts "90s"-style strings.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string like \"15m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// LoadConfigFile reads a configuration file, YAML or JSON (by extension;
// anything else is tried as YAML, of which JSON is a subset), into cfg.
// Unknown keys are an error naming them.
func LoadConfigFile(path string, cfg *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := parseConfig(b, strings.ToLower(filepath.Ext(path)) == ".json", cfg); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

func parseConfig(b []byte, isJSON bool, cfg *Config) error {
	data := b
	if !isJSON {
		var v any
		if err := yaml.Unmarshal(b, &v); err != nil {
			return err
		}
		if v == nil {
			return nil
		}
		j, err := json.Marshal(yamlToJSON(v))
		if err != nil {
			return err
		}
		data = j
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// yamlToJSON turns YAML's map[string]any / map[any]any trees into values
// encoding/json accepts.
func yamlToJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = yamlToJSON(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = yamlToJSON(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = yamlToJSON(e)
		}
		return x
	}
	return v
}

// DataHome is arsd's data directory: $XDG_DATA_HOME/arsd, or
// ~/.local/share/arsd.
func DataHome() (string, error) { return DataHomeFrom(os.Getenv) }

// DataHomeFrom is DataHome reading the environment through getenv.
func DataHomeFrom(getenv func(string) string) (string, error) {
	if d := getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "arsd"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("no data directory: set --database, XDG_DATA_HOME or HOME")
	}
	return filepath.Join(home, ".local", "share", "arsd"), nil
}

// IsPostgres reports whether a database setting names PostgreSQL.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}
