// Package oauth is arsd's OAuth 2.0 / OpenID Connect authorization
// server, built on github.com/zitadel/oidc/v3/pkg/op with all state in
// arsd's database (internal/server/store), so that restarts and replicas
// behind a load balancer share keys, codes and tokens.
//
// It offers arsctl (public native client "arsctl", scopes
// "openid offline_access ars") the authorization code grant with PKCE
// S256 on a loopback redirect (RFC 8252, any port) and the device
// authorization grant (RFC 8628), short-lived JWT access tokens signed
// by the library with a key kept in the database, rotating refresh
// tokens kept hashed (reuse revokes the sign-in), revocation (RFC 7009)
// For scripts and CI it issues named API tokens
// (ARS_TOKEN), kept hashed and revocable. Authenticator validates both
// kinds of bearer token for ARS API v1.
//
// Endpoints (discovery at /.well-known/openid-configuration):
//
//	/oauth/authorize, /oauth/token, /oauth/revoke, /oauth/userinfo, /oauth/keys, /oauth/device_authorization,
//	/oauth/login (the login and consent step of the code flow, bound to
//	the browser that started it: see consent.go), /device (the page
//	where a signed-in user approves a device code), /v1/tokens (API tokens).
package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/arsctl/arsctl/internal/server/authn"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Paths of the endpoints this package serves.
const (
	AuthorizePath     = "/oauth/authorize"
	TokenPath         = "/oauth/token"
	RevokePath        = "/oauth/revoke"
	UserinfoPath      = "/oauth/userinfo"
	KeysPath          = "/oauth/keys"
	EndSessionPath    = "/oauth/end_session"
	DeviceAuthPath    = "/oauth/device_authorization"
	DevicePath        = "/device"
	DiscoveryPath     = "/.well-known/openid-configuration"
	loginStepPath     = "/oauth/login"
	authorizeCallback = AuthorizePath + "/callback"
	tokensPath        = "/v1/tokens"
)

// Sessions tells which account a browser request is signed in as (the
// web pages' session cookie) and which session that is: the pages' forms
// carry a token bound to the session.
type Sessions interface {
	Session(r *http.Request) (accountID, sessionID string, ok bool)
}

// Config configures the authorization server. Zero values take the
// defaults noted.
type Config struct {
	// Issuer is arsd's public base URL, e.g. https://ars.example.com
	// (no path). Tokens name it; clients discover endpoints under it.
	Issuer string
	// LoginPath is the web sign-in page; it takes ?next=<local URL>.
	// Default "/login".
	LoginPath string
	// AccessTokenTTL is the life of an access token. Default 15m.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the life of a refresh token (renewed with each
	// rotation). Default 30 days.
	RefreshTokenTTL time.Duration
	// DeviceCodeTTL is how long a device code may be approved. Default 10m.
	DeviceCodeTTL time.Duration
	// DevicePollInterval is the minimum time between two polls of a
	// device code. Default 5s; at least 1s.
	DevicePollInterval time.Duration
	// AuthRequestTTL is how long a sign-in may take. Default 10m.
	AuthRequestTTL time.Duration
	// AuthCodeTTL is the life of an authorization code. Default 1m.
	AuthCodeTTL time.Duration
	// TokenFailures limits failed requests at the token endpoint per
	// client address: a burst of TokenFailures, then one per
	// TokenFailureEvery. Defaults 30 and 2s.
	TokenFailures     int
	TokenFailureEvery time.Duration
	// DeviceStarts limits device authorizations per client address: a
	// burst of DeviceStarts, then one per DeviceStartEvery. Defaults 10
	// and 30s.
	DeviceStarts     int
	DeviceStartEvery time.Duration
	// MaxLiveDeviceCodes caps the device codes alive at once (not yet
	// expired, from every address); beyond it the device authorization
	// endpoint answers 503 until some expire. Default 1000.
	MaxLiveDeviceCodes int
	// AuthorizeStarts limits authorization requests (the browser sign-in
	// of the code flow, each stored until it expires) per client address:
	// a burst of AuthorizeStarts, then one per AuthorizeStartEvery.
	// Defaults 20 and 30s.
	AuthorizeStarts     int
	AuthorizeStartEvery time.Duration
	// MaxLiveAuthRequests caps the authorization requests alive at once
	// (not yet expired, from every address); beyond it the authorize
	// endpoint answers 503 until some expire. Default 5000.
	MaxLiveAuthRequests int
	// CORSOrigins are the web origins (scheme://host[:port]) whose
	// scripts may call the OpenID endpoints (discovery, token, userinfo,
	// ...). None by default; credentials (cookies) are never allowed.
	CORSOrigins []string
	// TrustProxy takes the client address from the last X-Forwarded-For
	// entry (only behind a trusted load balancer).
	TrustProxy bool
}

func (c *Config) defaults() error {
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("oauth issuer %q must be an absolute http(s) URL", c.Issuer)
	}
	if strings.Trim(u.Path, "/") != "" {
		return fmt.Errorf("oauth issuer %q must not have a path", c.Issuer)
	}
	c.Issuer = strings.TrimSuffix(c.Issuer, "/")
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.LoginPath == "" {
		c.LoginPath = "/login"
	}
	set(&c.AccessTokenTTL, 15*time.Minute)
	set(&c.RefreshTokenTTL, 30*24*time.Hour)
	set(&c.DeviceCodeTTL, 10*time.Minute)
	set(&c.DevicePollInterval, 5*time.Second)
	c.DevicePollInterval = max(c.DevicePollInterval.Round(time.Second), time.Second)
	set(&c.AuthRequestTTL, 10*time.Minute)
	set(&c.AuthCodeTTL, time.Minute)
	set(&c.TokenFailureEvery, 2*time.Second)
	if c.TokenFailures <= 0 {
		c.TokenFailures = 30
	}
	set(&c.DeviceStartEvery, 30*time.Second)
	if c.DeviceStarts <= 0 {
		c.DeviceStarts = 10
	}
	set(&c.AuthorizeStartEvery, 30*time.Second)
	if c.AuthorizeStarts <= 0 {
		c.AuthorizeStarts = 20
	}
	if c.MaxLiveAuthRequests <= 0 {
		c.MaxLiveAuthRequests = 5000
	}
	if c.MaxLiveDeviceCodes <= 0 {
		c.MaxLiveDeviceCodes = 1000
	}
	for _, o := range c.CORSOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			return fmt.Errorf("CORS origin %q must be scheme://host[:port]", o)
		}
	}
	return nil
}

// Server is the authorization server.
type Server struct {
	cfg      Config
	st       *store.Store
	sessions Sessions
	log      *slog.Logger
	provider *op.Provider
	storage  *storage
	verifier *op.AccessTokenVerifier
	csrfKey  []byte
	pages    *pages

	verified verifiedCache
}

// verifiedClaims are what Authenticate needs from a JWT whose signature,
// issuer and expiry were checked.
type verifiedClaims struct {
	jti, sub string
	exp      time.Time
}

// verifiedCache remembers tokens whose signature was verified (by their
// SHA-256), so that a client's repeated requests cost one signature
// check. Revocation and expiry are still checked in the database on
// every request.
type verifiedCache struct {
	mu sync.Mutex
	m  map[[32]byte]verifiedClaims
}

const verifiedCacheSize = 10000

func (c *verifiedCache) get(k [32]byte) (verifiedClaims, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	if ok && !time.Now().Before(v.exp) {
		delete(c.m, k)
		return verifiedClaims{}, false
	}
	return v, ok
}

func (c *verifiedCache) put(k [32]byte, v verifiedClaims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[[32]byte]verifiedClaims)
	}
	if len(c.m) >= verifiedCacheSize {
		now := time.Now()
		for key, old := range c.m {
			if !now.Before(old.exp) || len(c.m) >= verifiedCacheSize {
				delete(c.m, key)
			}
		}
	}
	c.m[k] = v
}

// New builds the authorization server. On the first start it generates
// the signing key (ECDSA P-256, ES256) and the other keys and stores them
// in the database; later starts and other replicas load the same keys.
func New(ctx context.Context, st *store.Store, sessions Sessions, log *slog.Logger, cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	signer, err := loadSigningKey(ctx, st)
	if err != nil {
		return nil, err
	}
	cryptoKey, err := st.EnsureOAuthKey(ctx, "crypto", randomKey)
	if err != nil {
		return nil, err
	}
	csrfKey, err := st.EnsureOAuthKey(ctx, "csrf", randomKey)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, st: st, sessions: sessions, log: log, csrfKey: csrfKey.Material}
	s.storage = &storage{st: st, cfg: cfg, signer: signer}

	var key [32]byte
	copy(key[:], cryptoKey.Material)
	opCfg := &op.Config{
		CryptoKey:             key,
		CryptoKeyId:           cryptoKey.KID,
		CodeMethodS256:        true,
		GrantTypeRefreshToken: true,
		SupportedUILocales:    []language.Tag{language.English},
		SupportedScopes:       supportedScopes,
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime:     cfg.DeviceCodeTTL,
			PollInterval: cfg.DevicePollInterval,
			UserFormPath: DevicePath,
			UserCode:     op.UserCodeBase20,
		},
	}
	opts := []op.Option{
		op.WithCustomAuthEndpoint(op.NewEndpoint(AuthorizePath)),
		op.WithCustomTokenEndpoint(op.NewEndpoint(TokenPath)),
		op.WithCustomRevocationEndpoint(op.NewEndpoint(RevokePath)),
		op.WithCustomUserinfoEndpoint(op.NewEndpoint(UserinfoPath)),
		op.WithCustomKeysEndpoint(op.NewEndpoint(KeysPath)),
		op.WithCustomEndSessionEndpoint(op.NewEndpoint(EndSessionPath)),
		op.WithCustomDeviceAuthorizationEndpoint(op.NewEndpoint(DeviceAuthPath)),
		op.WithAccessTokenVerifierOpts(op.WithSupportedAccessTokenSigningAlgorithms(string(jose.ES256))),
		op.WithCORSOptions(corsOptions(cfg.CORSOrigins)),
	}
	if strings.HasPrefix(cfg.Issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	s.provider, err = op.NewProvider(opCfg, s.storage, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oauth provider: %w", err)
	}
	s.verifier = op.NewAccessTokenVerifier(cfg.Issuer, &op.OpenIDKeySet{Storage: s.storage},
		op.WithSupportedAccessTokenSigningAlgorithms(string(jose.ES256)))
	s.pages, err = newPages()
	if err != nil {
		return nil, err
	}
	return s, nil
}

// corsOptions allow scripts of the given origins, and no other, to call
// the OpenID endpoints, without credentials: bearer tokens go in the
// Authorization header, and no endpoint needs the browser's cookies.
func corsOptions(origins []string) *cors.Options {
	return &cors.Options{
		AllowOriginFunc:  func(o string) bool { return slices.Contains(origins, o) },
		AllowCredentials: false,
		AllowedHeaders:   []string{"Accept", "Accept-Language", "Authorization", "Content-Type"},
		AllowedMethods:   []string{http.MethodGet, http.MethodHead, http.MethodPost},
		ExposedHeaders:   []string{"Content-Length"},
	}
}

// discovery serves the OpenID configuration, advertising only what
// arsd's one client can use: response type code, the authorization code
// (PKCE S256), refresh token and device code grants, no client
// authentication (a public client), and the claims arsd issues. There is
// no introspection endpoint: it would need a confidential client.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	c := op.CreateDiscoveryConfig(op.ContextWithIssuer(r.Context(), s.cfg.Issuer), s.provider, s.storage)
	c.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	c.GrantTypesSupported = cliClient{}.GrantTypes()
	c.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodNone}
	c.TokenEndpointAuthSigningAlgValuesSupported = nil
	c.RevocationEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodNone}
	c.RevocationEndpointAuthSigningAlgValuesSupported = nil
	c.IntrospectionEndpoint = ""
	c.IntrospectionEndpointAuthMethodsSupported = nil
	c.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
	c.RequestObjectSigningAlgValuesSupported = nil
	c.ClaimsSupported = []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp", "client_id", "email", "name"}
	op.Discover(w, c)
}

func randomKey() (kid, alg string, material []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", nil, err
	}
	return uuid.NewString(), "", b, nil
}

func loadSigningKey(ctx context.Context, st *store.Store) (*signingKey, error) {
	k, err := st.EnsureOAuthKey(ctx, "signing", func() (string, string, []byte, error) {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", "", nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return "", "", nil, err
		}
		return uuid.NewString(), string(jose.ES256), der, nil
	})
	if err != nil {
		return nil, err
	}
	parsed, err := x509.ParsePKCS8PrivateKey(k.Material)
	if err != nil {
		return nil, fmt.Errorf("parse stored signing key: %w", err)
	}
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || k.Alg != string(jose.ES256) {
		return nil, fmt.Errorf("stored signing key is %T/%s, want ECDSA ES256", parsed, k.Alg)
	}
	return &signingKey{id: k.KID, alg: jose.ES256, key: priv}, nil
}

// Routes registers the authorization server's endpoints on mux.
func (s *Server) Routes(mux *http.ServeMux) {
	for _, p := range []string{RevokePath, UserinfoPath, KeysPath, EndSessionPath} {
		mux.Handle(p, s.provider)
	}
	mux.Handle(DiscoveryPath, cors.New(*corsOptions(s.cfg.CORSOrigins)).Handler(http.HandlerFunc(s.discovery)))
	mux.Handle(AuthorizePath, s.authorizeGuard(s.bindBrowser(s.provider)))
	mux.Handle(authorizeCallback, s.callbackGuard(s.provider))
	mux.Handle(TokenPath, s.tokenGuard(s.provider))
	mux.Handle(DeviceAuthPath, s.deviceAuthGuard(s.provider))
	mux.HandleFunc("GET "+loginStepPath, s.loginStep)
	mux.HandleFunc("POST "+loginStepPath, s.consentDecide)
	mux.HandleFunc("GET "+DevicePath, s.deviceForm)
	mux.HandleFunc("POST "+DevicePath, s.deviceConfirm)
	mux.HandleFunc("POST "+DevicePath+"/decide", s.deviceDecide)
	mux.HandleFunc("GET "+tokensPath, s.listAPITokens)
	mux.HandleFunc("POST "+tokensPath, s.createAPIToken)
	mux.HandleFunc("DELETE "+tokensPath+"/{id}", s.revokeAPIToken)
}

// Handler returns a handler serving only the authorization server's
// routes (for tests and tools).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Routes(mux)
	return mux
}

// Authenticator returns the bearer-token authenticator for ARS API v1.
func (s *Server) Authenticator() authn.Authenticator { return authenticator{s} }

// Errors of Authenticate. Both mean HTTP 401; ErrInvalidToken answers
// WWW-Authenticate: Bearer error="invalid_token".
var (
	ErrNoToken      = errors.New("no bearer token: sign in with `arsctl auth login` or set ARS_TOKEN")
	ErrInvalidToken = errors.New("invalid bearer token")
)

type authenticator struct{ s *Server }

// Authenticate validates "Authorization: Bearer <token>": an access token
// issued by this server (signature, issuer and expiry checked by the
// library, then revocation and expiry in the database), or an API token.
func (a authenticator) Authenticate(r *http.Request) (string, error) {
	tok, ok := bearer(r)
	if !ok {
		return "", ErrNoToken
	}
	acct, _, err := a.s.check(r.Context(), tok)
	return acct, err
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// check validates a bearer token and tells whether it is an API token.
func (s *Server) check(ctx context.Context, tok string) (accountID string, apiToken bool, err error) {
	if strings.HasPrefix(tok, store.APITokenPrefix) {
		acct, err := s.st.CheckAPIToken(ctx, tok)
		if err != nil {
			return "", true, invalid(err)
		}
		return acct, true, nil
	}
	key := sha256.Sum256([]byte(tok))
	claims, ok := s.verified.get(key)
	if !ok {
		c, err := op.VerifyAccessToken[*oidc.AccessTokenClaims](ctx, tok, s.verifier)
		if err != nil {
			if errors.Is(err, oidc.ErrExpired) {
				return "", false, invalid(store.ErrTokenExpired)
			}
			return "", false, invalid(errors.New("not a token of this server"))
		}
		claims = verifiedClaims{jti: c.JWTID, sub: c.Subject, exp: c.GetExpiration()}
		s.verified.put(key, claims)
	}
	at, err := s.st.CheckAccessToken(ctx, claims.jti)
	if err != nil {
		return "", false, invalid(err)
	}
	if at.AccountID != claims.sub {
		return "", false, invalid(errors.New("token subject mismatch"))
	}
	if !slices.Contains(at.Scopes, arsapi.ScopeARS) {
		return "", false, invalid(errors.New(`token lacks the "ars" scope`))
	}
	return at.AccountID, false, nil
}

func invalid(reason error) error {
	if errors.Is(reason, store.ErrNotFound) {
		reason = errors.New("unknown token")
	}
	return fmt.Errorf("%w: %w", ErrInvalidToken, reason)
}

// Purge deletes expired OAuth state; arsd may call it periodically.
func (s *Server) Purge(ctx context.Context) error {
	return s.st.PurgeOAuth(ctx, s.st.Now().Add(-24*time.Hour))
}
