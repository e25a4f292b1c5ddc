// Package amazon is arsd's Amazon Dash Replenishment (DRS) provider:
// Login with Amazon (LWA) sign-in that activates an amazon enrollment
// (GET /v1/amazon/start and /v1/amazon/callback), the DRS client, and the
// fulfil.Fulfiller ("amazon-drs") and fulfil.Deregisterer that place
// orders with POST /replenish/{slotId} and end the registration with
// DELETE /registration when a plan is cancelled.
//
// Access and refresh tokens are kept encrypted at rest (AES-256-GCM); they
// never appear in logs. All Amazon URLs are configurable so that tests run
// against internal/amazonemu.
package amazon

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Amazon's production endpoints (North America): the LWA authorize page
// and token endpoint ("Login with Amazon: Authorization Code Grant") and
// the DRS service base URL ("Dash Replenishment Service APIs", service
// calls).
const (
	DefaultAuthorizeURL = "https://www.amazon.com/ap/oa"
	DefaultTokenURL     = "https://api.amazon.com/auth/o2/token"
	DefaultDRSBaseURL   = "https://dash-replenishment-service-na.amazon.com"
)

// Config configures the Amazon provider.
type Config struct {
	// ClientID and ClientSecret identify arsd's LWA security profile.
	ClientID     string
	ClientSecret string
	// AuthorizeURL, TokenURL and DRSBaseURL default to Amazon's.
	AuthorizeURL string
	TokenURL     string
	DRSBaseURL   string
	// DeviceModel is the DRS device model ID registered for arsd.
	DeviceModel string
	// Slots maps a supply to its DRS slot ID. Keys are matched without
	// regard to case against the supply's name as the printer reports it
	// (e.g. "PGBK"), then the code in parentheses that ends the name and
	// the name before it ("PGBK", then "Black", for Canon's "Black(PGBK)"),
	// then its colour: the colorant name (e.g. "cyan") or, when the
	// printer names none, "#RRGGBB".
	Slots map[string]string
	// TestDevice registers devices with is_test_device, so that Amazon
	// places test orders that are neither charged nor shipped.
	TestDevice bool
	// PublicURL is arsd's externally visible base URL; the redirect URI is
	// PublicURL + "/v1/amazon/callback".
	PublicURL string
	// Key is the 32-byte key that encrypts tokens at rest and signs start
	// links. See LoadKey.
	Key []byte
	// HTTPClient calls Amazon. Default: a client with a 30 s timeout.
	HTTPClient *http.Client
	// StateTTL bounds the time between start and callback (default 15 min);
	// StartLinkTTL the life of a sign-in link (default 24 h).
	StateTTL     time.Duration
	StartLinkTTL time.Duration
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

func (c *Config) defaults() error {
	if c.AuthorizeURL == "" {
		c.AuthorizeURL = DefaultAuthorizeURL
	}
	if c.TokenURL == "" {
		c.TokenURL = DefaultTokenURL
	}
	if c.DRSBaseURL == "" {
		c.DRSBaseURL = DefaultDRSBaseURL
	}
	c.DRSBaseURL = strings.TrimRight(c.DRSBaseURL, "/")
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.StateTTL <= 0 {
		c.StateTTL = 15 * time.Minute
	}
	if c.StartLinkTTL <= 0 {
		c.StartLinkTTL = 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	var missing []string
	if c.ClientID == "" {
		missing = append(missing, "client ID")
	}
	if c.ClientSecret == "" {
		missing = append(missing, "client secret")
	}
	if c.DeviceModel == "" {
		missing = append(missing, "device model")
	}
	if c.PublicURL == "" {
		missing = append(missing, "public URL")
	}
	if len(missing) > 0 {
		return fmt.Errorf("amazon: missing %s", strings.Join(missing, ", "))
	}
	if len(c.Key) != 32 {
		return fmt.Errorf("amazon: the token key must be 32 bytes, got %d", len(c.Key))
	}
	return nil
}

// KeyFile is the name of the key file LoadKey creates in the data directory.
const KeyFile = "amazon-token.key"

// LoadKey returns the 32-byte token key: from value when it is not empty
// (64 hex digits or base64 of 32 bytes, e.g. from $ARSD_AMAZON_KEY, which
// replicas behind a load balancer must share), else from dataDir/KeyFile,
// which it creates with mode 0600 when missing.
func LoadKey(value, dataDir string) ([]byte, error) {
	if value != "" {
		return parseKey(value)
	}
	if dataDir == "" {
		return nil, errors.New("amazon token key: no key given and no data directory")
	}
	path := filepath.Join(dataDir, KeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := parseKey(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("amazon token key: %w", err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("amazon token key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		// Another process created it first; use theirs.
		return LoadKey("", dataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("amazon token key: %w", err)
	}
	_, werr := f.WriteString(hex.EncodeToString(k) + "\n")
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return nil, fmt.Errorf("amazon token key: %w", err)
	}
	return k, nil
}

func parseKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("amazon token key must be 32 bytes as 64 hex digits or base64")
}
