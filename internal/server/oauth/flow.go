package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/server/formbrowser"
)

// Endpoint returns arsd's OAuth endpoints under baseURL, for
// golang.org/x/oauth2.
func Endpoint(baseURL string) oauth2.Endpoint {
	b := strings.TrimSuffix(baseURL, "/")
	return oauth2.Endpoint{
		AuthURL:       b + AuthorizePath,
		TokenURL:      b + TokenPath,
		DeviceAuthURL: b + DeviceAuthPath,
		AuthStyle:     oauth2.AuthStyleInParams,
	}
}

// CLIConfig returns arsctl's OAuth client configuration for a server.
// For the code flow set RedirectURL to http://127.0.0.1:<port>/callback.
func CLIConfig(baseURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: CLIClientID, Endpoint: Endpoint(baseURL), Scopes: CLIScopes}
}

// DeviceLogin signs in to arsd at baseURL as email/password without a
// person, by driving the real device authorization flow over HTTP: it
// asks for a device code, opens the verification page in a private
// cookie jar, signs in through the web sign-in form (with its CSRF
// token), approves the code, and exchanges the device code for tokens.
// It is what `arsd demo` and tests use; hc may be nil.
func DeviceLogin(ctx context.Context, hc *http.Client, baseURL, email, password string) (*oauth2.Token, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	cfg := CLIConfig(baseURL)
	octx := context.WithValue(ctx, oauth2.HTTPClient, hc)
	da, err := cfg.DeviceAuth(octx)
	if err != nil {
		return nil, fmt.Errorf("device authorization: %w", err)
	}
	if err := ApproveDevice(ctx, hc, da.VerificationURIComplete, email, password, true); err != nil {
		return nil, err
	}
	return ExchangeDeviceCode(ctx, hc, baseURL, da.DeviceCode)
}

// ApproveDevice plays the person at the browser: it opens
// verificationURL (verification_uri_complete) in a fresh cookie jar,
// signs in with email/password through the web sign-in form, and
// approves (or denies) the device code.
func ApproveDevice(ctx context.Context, hc *http.Client, verificationURL, email, password string, approve bool) error {
	b, page, err := openSignedIn(ctx, hc, verificationURL, email, password)
	if err != nil {
		return err
	}
	f := page.Form(func(f *formbrowser.Form) bool { return f.Has("user_code") && !f.HasButton("action") })
	if f == nil {
		return fmt.Errorf("no user code form at %s: %s", page.URL, page.Text())
	}
	if page, err = b.Submit(ctx, page, f, nil, ""); err != nil {
		return fmt.Errorf("enter user code: %w", err)
	}
	f = page.Form(func(f *formbrowser.Form) bool { return f.HasButton("action") })
	if f == nil {
		return fmt.Errorf("no approval form: %s", page.Text())
	}
	action := "deny"
	if approve {
		action = "approve"
	}
	if page, err = b.Submit(ctx, page, f, nil, action); err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	if page.Status != http.StatusOK {
		return fmt.Errorf("approval answered %d: %s", page.Status, page.Text())
	}
	return nil
}

// SignInBrowser plays the person at the formbrowser.Browser for the authorization
// code flow: it opens authURL (from oauth2.Config.AuthCodeURL) in a fresh
// cookie jar, signs in with email/password through the web sign-in form
// when asked, allows the client on the consent page, and follows the
// redirects, which end at the client's loopback redirect URI (its
// listener receives the code).
func SignInBrowser(ctx context.Context, hc *http.Client, authURL, email, password string) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	b, err := formbrowser.New(hc)
	if err != nil {
		return err
	}
	page, err := authorize(ctx, b, authURL, email, password, true)
	if err != nil {
		return err
	}
	if page.Status != http.StatusOK {
		return fmt.Errorf("sign-in ended at %s://%s%s: %s", page.URL.Scheme, page.URL.Host, page.URL.Path, page.Text())
	}
	return nil
}

// authorize opens authURL in b, signs in when asked, and allows (or
// denies) the client on the consent page. It returns the last page.
func authorize(ctx context.Context, b *formbrowser.Browser, authURL, email, password string, allow bool) (*formbrowser.Page, error) {
	page, err := signIn(ctx, b, authURL, email, password)
	if err != nil {
		return nil, err
	}
	f := page.Form(func(f *formbrowser.Form) bool { return f.Has("authRequestID") && f.HasButton("action") })
	if f == nil {
		return nil, fmt.Errorf("no consent form: %s", page.Text())
	}
	action := "deny"
	if allow {
		action = "approve"
	}
	if page, err = b.Submit(ctx, page, f, nil, action); err != nil {
		return nil, fmt.Errorf("consent: %w", err)
	}
	return page, nil
}

// ExchangeDeviceCode makes one token request for an approved device code.
func ExchangeDeviceCode(ctx context.Context, hc *http.Client, baseURL, deviceCode string) (*oauth2.Token, error) {
	form := url.Values{"grant_type": {deviceGrant}, "device_code": {deviceCode}, "client_id": {CLIClientID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(baseURL, "/")+TokenPath, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("token response: %w", err)
	}
	var tr struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int64  `json:"expires_in"`
		IDToken      string `json:"id_token"`
		Error        string `json:"error"`
		Description  string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("token response (HTTP %d) is not JSON", resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		return nil, fmt.Errorf("token request refused: %s %s", tr.Error, tr.Description)
	}
	tok := &oauth2.Token{AccessToken: tr.AccessToken, TokenType: tr.TokenType, RefreshToken: tr.RefreshToken, ExpiresIn: tr.ExpiresIn}
	if tr.ExpiresIn > 0 {
		tok.Expiry = time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	return tok.WithExtra(map[string]any{"id_token": tr.IDToken}), nil
}

func signInFields(f *formbrowser.Form, email, password string) map[string]string {
	m := map[string]string{}
	for _, in := range f.Inputs {
		switch {
		case in.Type == "password":
			m[in.Name] = password
		case in.Type == "email" || strings.Contains(strings.ToLower(in.Name), "email") || in.Name == "username":
			m[in.Name] = email
		}
	}
	return m
}

// openSignedIn opens u in a fresh cookie jar and, when the answer is the
// web sign-in form, signs in with email/password there. It returns the
// formbrowser.Browser and the page reached.
func openSignedIn(ctx context.Context, hc *http.Client, u, email, password string) (*formbrowser.Browser, *formbrowser.Page, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	b, err := formbrowser.New(hc)
	if err != nil {
		return nil, nil, err
	}
	page, err := signIn(ctx, b, u, email, password)
	return b, page, err
}

// signIn opens u in b and, when the answer is the web sign-in form, signs
// in with email/password there. It returns the page reached.
func signIn(ctx context.Context, b *formbrowser.Browser, u, email, password string) (*formbrowser.Page, error) {
	page, err := b.Get(ctx, u)
	if err != nil {
		return nil, err
	}
	if f := page.Form(func(f *formbrowser.Form) bool { return f.HasType("password") }); f != nil {
		if page, err = b.Submit(ctx, page, f, signInFields(f, email, password), ""); err != nil {
			return nil, fmt.Errorf("sign in: %w", err)
		}
		if f := page.Form(func(f *formbrowser.Form) bool { return f.HasType("password") }); f != nil {
			return nil, fmt.Errorf("sign in as %s was refused: %s", email, page.Text())
		}
	}
	return page, nil
}
