package oauthtest

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

	"github.com/arsctl/arsctl/internal/auth"
	"github.com/arsctl/arsctl/internal/server/formbrowser"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// DeviceLogin signs in to arsd at baseURL as email/password without a
// person, by driving the real device authorization flow over HTTP: it
// asks for a device code, opens the verification page in a private
// cookie jar, signs in through the web sign-in form (with its CSRF
// token), approves the code, and exchanges the device code for tokens.
// It is what `arsd demo`, the benchmarks and tests use; hc may be nil.
// The endpoints come from the server's OpenID configuration, as arsctl
// finds them.
func DeviceLogin(ctx context.Context, hc *http.Client, baseURL, email, password string) (*oauth2.Token, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	e, err := auth.Discover(ctx, hc, baseURL)
	if err != nil {
		return nil, err
	}
	cfg := e.Config()
	octx := context.WithValue(ctx, oauth2.HTTPClient, hc)
	da, err := cfg.DeviceAuth(octx)
	if err != nil {
		return nil, fmt.Errorf("device authorization: %w", err)
	}
	if err := ApproveDevice(ctx, hc, da.VerificationURIComplete, email, password, true); err != nil {
		return nil, err
	}
	return ExchangeDeviceCode(ctx, hc, e.TokenURL, da.DeviceCode)
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
	page, err := Authorize(ctx, b, authURL, email, password, true)
	if err != nil {
		return err
	}
	if page.Status != http.StatusOK {
		return fmt.Errorf("sign-in ended at %s://%s%s: %s", page.URL.Scheme, page.URL.Host, page.URL.Path, page.Text())
	}
	return nil
}

// Authorize opens authURL in b, signs in when asked, and allows (or
// denies) the client on the consent page. It returns the last page.
func Authorize(ctx context.Context, b *formbrowser.Browser, authURL, email, password string, allow bool) (*formbrowser.Page, error) {
	page, err := SignIn(ctx, b, authURL, email, password)
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

// ExchangeDeviceCode makes one token request at tokenURL (the server's
// token endpoint) for an approved device code.
func ExchangeDeviceCode(ctx context.Context, hc *http.Client, tokenURL, deviceCode string) (*oauth2.Token, error) {
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {deviceCode}, "client_id": {arsapi.CLIClientID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
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

// SignInFields fills the web sign-in form f: email in its email (or
// username) field, password in its password field.
func SignInFields(f *formbrowser.Form, email, password string) map[string]string {
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
	page, err := SignIn(ctx, b, u, email, password)
	return b, page, err
}

// SignIn opens u in b and, when the answer is the web sign-in form, signs
// in with email/password there. It returns the page reached.
func SignIn(ctx context.Context, b *formbrowser.Browser, u, email, password string) (*formbrowser.Page, error) {
	page, err := b.Get(ctx, u)
	if err != nil {
		return nil, err
	}
	if f := page.Form(func(f *formbrowser.Form) bool { return f.HasType("password") }); f != nil {
		if page, err = b.Submit(ctx, page, f, SignInFields(f, email, password), ""); err != nil {
			return nil, fmt.Errorf("sign in: %w", err)
		}
		if f := page.Form(func(f *formbrowser.Form) bool { return f.HasType("password") }); f != nil {
			return nil, fmt.Errorf("sign in as %s was refused: %s", email, page.Text())
		}
	}
	return page, nil
}
