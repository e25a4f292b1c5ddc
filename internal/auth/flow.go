package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Endpoints are an ARS server's OAuth endpoints, from its OpenID
// Connect discovery document.
type Endpoints struct {
	Issuer        string `json:"issuer"`
	AuthURL       string `json:"authorization_endpoint"`
	TokenURL      string `json:"token_endpoint"`
	DeviceAuthURL string `json:"device_authorization_endpoint"`
	RevocationURL string `json:"revocation_endpoint"`
}

// Discover reads server's /.well-known/openid-configuration.
func Discover(ctx context.Context, hc *http.Client, server string) (Endpoints, error) {
	var e Endpoints
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(server, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return e, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		if u := arsapi.Unreachable(server, err); u != nil {
			return e, u
		}
		if ns := arsapi.NotServer(server, nil, nil, err); ns != nil {
			return e, ns
		}
		return e, fmt.Errorf("%s: reading its OpenID configuration: %w", server, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if ns := arsapi.NotServer(server, resp, body, nil); ns != nil {
			return e, ns
		}
		return e, fmt.Errorf("%s does not offer sign-in (HTTP %d from its OpenID configuration); is it an ARS server?", server, resp.StatusCode)
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&e); err != nil {
		return e, fmt.Errorf("%s: unreadable OpenID configuration: %w", server, err)
	}
	if e.TokenURL == "" {
		return e, fmt.Errorf("%s: OpenID configuration has no token endpoint", server)
	}
	return e, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Config returns the oauth2 configuration for arsctl on these endpoints.
// redirectURL is set by LoginBrowser.
func (e Endpoints) Config() *oauth2.Config {
	return &oauth2.Config{
		ClientID: arsapi.CLIClientID,
		Scopes:   arsapi.CLIScopes(),
		Endpoint: oauth2.Endpoint{
			AuthURL:       e.AuthURL,
			TokenURL:      e.TokenURL,
			DeviceAuthURL: e.DeviceAuthURL,
			AuthStyle:     oauth2.AuthStyleInParams,
		},
	}
}

// LoginBrowser runs the authorization code flow with PKCE (S256) on a
// loopback redirect (http://127.0.0.1:<port>/callback, RFC 8252). open is
// called with the URL to visit (it opens a browser or prints the URL).
// Only an answer carrying the request's state ends the wait: requests
// to the loopback port with another state (a local process, a web page)
// are refused and ignored.
func LoginBrowser(ctx context.Context, hc *http.Client, e Endpoints, open func(url string) error) (*oauth2.Token, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback for the sign-in redirect: %w", err)
	}
	defer ln.Close()
	cfg := e.Config()
	cfg.RedirectURL = fmt.Sprintf("http://%s/callback", ln.Addr().String())
	verifier := oauth2.GenerateVerifier()
	state := randomString()

	type result struct {
		code string
		err  error
	}
	done := make(chan result, 1)
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
			// Not the answer to this sign-in: any local process, or a page
			// in the browser, can reach this port. It must not end the
			// sign-in, or anyone could stop arsctl auth login at will.
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, "<!doctype html><title>arsctl</title><p>This is not the answer to the sign-in arsctl is waiting for.</p>")
			return
		}
		var res result
		switch {
		case q.Get("error") != "":
			res.err = fmt.Errorf("sign-in refused: %s %s", q.Get("error"), q.Get("error_description"))
		case q.Get("code") == "":
			res.err = errors.New("sign-in answered without a code")
		default:
			res.code = q.Get("code")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if res.err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "<!doctype html><title>arsctl</title><p>Sign-in failed: %s</p><p>You can close this window.</p>", html.EscapeString(res.err.Error()))
		} else {
			fmt.Fprint(w, "<!doctype html><title>arsctl</title><p>Signed in. You can close this window and return to the terminal.</p>")
		}
		once.Do(func() { done <- res })
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
	if err := open(authURL); err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-done:
		if res.err != nil {
			return nil, res.err
		}
		tok, err := cfg.Exchange(context.WithValue(ctx, oauth2.HTTPClient, hc), res.code, oauth2.VerifierOption(verifier))
		if err != nil {
			return nil, fmt.Errorf("exchange sign-in code: %w", oauthError(err))
		}
		return tok, nil
	}
}

// DeviceCode is what the user must do to approve a device sign-in.
type DeviceCode = oauth2.DeviceAuthResponse

// LoginDevice runs the device authorization grant (RFC 8628): show is
// called once with the user code and verification URL, then the token
// endpoint is polled at the server's interval until approved, denied or
// expired.
func LoginDevice(ctx context.Context, hc *http.Client, e Endpoints, show func(*DeviceCode)) (*oauth2.Token, error) {
	if e.DeviceAuthURL == "" {
		return nil, errors.New("this server does not offer device sign-in; use `arsctl auth login --web`")
	}
	cfg := e.Config()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		return nil, fmt.Errorf("start device sign-in: %w", oauthError(err))
	}
	show(da)
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		return nil, fmt.Errorf("device sign-in: %w", oauthError(err))
	}
	return tok, nil
}

// oauthError turns an oauth2.RetrieveError into a short sentence.
func oauthError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		switch re.ErrorCode {
		case "access_denied":
			return errors.New("access denied")
		case "expired_token":
			return errors.New("the code expired before it was approved; run the command again")
		case "invalid_grant":
			return errors.New("the server no longer accepts this sign-in (revoked or expired); run `arsctl auth login`")
		}
		if re.ErrorCode != "" {
			if re.ErrorDescription != "" {
				return fmt.Errorf("%s: %s", re.ErrorCode, re.ErrorDescription)
			}
			return errors.New(re.ErrorCode)
		}
		return fmt.Errorf("token endpoint answered HTTP %d", re.Response.StatusCode)
	}
	return err
}

// Revoke revokes a token at the server's revocation endpoint (RFC 7009).
func Revoke(ctx context.Context, hc *http.Client, e Endpoints, token, hint string) error {
	if e.RevocationURL == "" || token == "" {
		return nil
	}
	form := url.Values{"token": {token}, "client_id": {arsapi.CLIClientID}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.RevocationURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revoke: server answered HTTP %d", resp.StatusCode)
	}
	return nil
}

func randomString() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
