package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/oauth2"
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
// It is what `arsctl demo` and tests use; hc may be nil.
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
	f := page.form(func(f *htmlForm) bool { return f.has("user_code") && !f.hasButton("action") })
	if f == nil {
		return fmt.Errorf("no user code form at %s: %s", page.url, page.text())
	}
	if page, err = b.submit(ctx, page, f, nil, ""); err != nil {
		return fmt.Errorf("enter user code: %w", err)
	}
	f = page.form(func(f *htmlForm) bool { return f.hasButton("action") })
	if f == nil {
		return fmt.Errorf("no approval form: %s", page.text())
	}
	action := "deny"
	if approve {
		action = "approve"
	}
	if page, err = b.submit(ctx, page, f, nil, action); err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	if page.status != http.StatusOK {
		return fmt.Errorf("approval answered %d: %s", page.status, page.text())
	}
	return nil
}

// SignInBrowser plays the person at the browser for the authorization
// code flow: it opens authURL (from oauth2.Config.AuthCodeURL) in a fresh
// cookie jar, signs in with email/password through the web sign-in form
// when asked, allows the client on the consent page, and follows the
// redirects, which end at the client's loopback redirect URI (its
// listener receives the code).
func SignInBrowser(ctx context.Context, hc *http.Client, authURL, email, password string) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	b, err := newBrowser(hc)
	if err != nil {
		return err
	}
	page, err := b.authorize(ctx, authURL, email, password, true)
	if err != nil {
		return err
	}
	if page.status != http.StatusOK {
		return fmt.Errorf("sign-in ended at %s://%s%s: %s", page.url.Scheme, page.url.Host, page.url.Path, page.text())
	}
	return nil
}

// authorize opens authURL in b, signs in when asked, and allows (or
// denies) the client on the consent page. It returns the last page.
func (b *browser) authorize(ctx context.Context, authURL, email, password string, allow bool) (*htmlPage, error) {
	page, err := b.signIn(ctx, authURL, email, password)
	if err != nil {
		return nil, err
	}
	f := page.form(func(f *htmlForm) bool { return f.has("authRequestID") && f.hasButton("action") })
	if f == nil {
		return nil, fmt.Errorf("no consent form: %s", page.text())
	}
	action := "deny"
	if allow {
		action = "approve"
	}
	if page, err = b.submit(ctx, page, f, nil, action); err != nil {
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

func signInFields(f *htmlForm, email, password string) map[string]string {
	m := map[string]string{}
	for _, in := range f.inputs {
		switch {
		case in.typ == "password":
			m[in.name] = password
		case in.typ == "email" || strings.Contains(strings.ToLower(in.name), "email") || in.name == "username":
			m[in.name] = email
		}
	}
	return m
}

// openSignedIn opens u in a fresh cookie jar and, when the answer is the
// web sign-in form, signs in with email/password there. It returns the
// browser and the page reached.
func openSignedIn(ctx context.Context, hc *http.Client, u, email, password string) (*browser, *htmlPage, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	b, err := newBrowser(hc)
	if err != nil {
		return nil, nil, err
	}
	page, err := b.signIn(ctx, u, email, password)
	return b, page, err
}

// signIn opens u in b and, when the answer is the web sign-in form, signs
// in with email/password there. It returns the page reached.
func (b *browser) signIn(ctx context.Context, u, email, password string) (*htmlPage, error) {
	page, err := b.get(ctx, u)
	if err != nil {
		return nil, err
	}
	if f := page.form(func(f *htmlForm) bool { return f.hasType("password") }); f != nil {
		if page, err = b.submit(ctx, page, f, signInFields(f, email, password), ""); err != nil {
			return nil, fmt.Errorf("sign in: %w", err)
		}
		if f := page.form(func(f *htmlForm) bool { return f.hasType("password") }); f != nil {
			return nil, fmt.Errorf("sign in as %s was refused: %s", email, page.text())
		}
	}
	return page, nil
}

// browser is a minimal form-following HTTP client with its own cookies.
type browser struct{ c *http.Client }

func newBrowser(hc *http.Client) (*browser, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := *hc
	c.Jar = jar
	return &browser{c: &c}, nil
}

type htmlInput struct{ name, typ, value string }

type htmlForm struct {
	action, method string
	inputs         []htmlInput
	buttons        []htmlInput
}

func (f *htmlForm) has(name string) bool {
	for _, in := range f.inputs {
		if in.name == name {
			return true
		}
	}
	return false
}

func (f *htmlForm) hasType(typ string) bool {
	for _, in := range f.inputs {
		if in.typ == typ {
			return true
		}
	}
	return false
}

func (f *htmlForm) hasButton(name string) bool {
	for _, b := range f.buttons {
		if b.name == name {
			return true
		}
	}
	return false
}

type htmlPage struct {
	url    *url.URL
	status int
	body   []byte
	forms  []*htmlForm
}

func (p *htmlPage) form(match func(*htmlForm) bool) *htmlForm {
	for _, f := range p.forms {
		if match(f) {
			return f
		}
	}
	return nil
}

// text is the page's visible text, shortened, for error messages.
func (p *htmlPage) text() string {
	doc, err := html.Parse(bytes.NewReader(p.body))
	if err != nil {
		return ""
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "style" || n.Data == "script") {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(strings.Join(strings.Fields(n.Data), " "))
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return fmt.Sprintf("HTTP %d %s", p.status, quoteShort(strings.TrimSpace(b.String()), 300))
}

// quoteShort is s as a Go string literal whose content (the escapes
// included) is at most max bytes, ending in … where s was cut. It cuts
// between characters, after escaping, so that neither a cut through a
// UTF-8 sequence nor the four bytes an escaped invalid byte takes can
// push the result past the bound.
func quoteShort(s string, max int) string {
	var b strings.Builder
	b.WriteByte('"')
	for s != "" {
		_, n := utf8.DecodeRuneInString(s)
		e := strconv.Quote(s[:n])
		e = e[1 : len(e)-1]
		if b.Len()-1+len(e) > max {
			b.WriteString("…")
			break
		}
		b.WriteString(e)
		s = s[n:]
	}
	b.WriteByte('"')
	return b.String()
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func parseForms(body []byte) ([]*htmlForm, error) {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	var forms []*htmlForm
	var walk func(n *html.Node, f *htmlForm)
	walk = func(n *html.Node, f *htmlForm) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				f = &htmlForm{action: attr(n, "action"), method: strings.ToUpper(attr(n, "method"))}
				forms = append(forms, f)
			case "input":
				if f != nil && attr(n, "name") != "" {
					typ := strings.ToLower(attr(n, "type"))
					if typ == "" {
						typ = "text"
					}
					in := htmlInput{name: attr(n, "name"), typ: typ, value: attr(n, "value")}
					if typ == "submit" {
						f.buttons = append(f.buttons, in)
					} else {
						f.inputs = append(f.inputs, in)
					}
				}
			case "button":
				if f != nil && attr(n, "name") != "" {
					f.buttons = append(f.buttons, htmlInput{name: attr(n, "name"), typ: "submit", value: attr(n, "value")})
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, f)
		}
	}
	walk(doc, nil)
	return forms, nil
}

func (b *browser) do(req *http.Request) (*htmlPage, error) {
	resp, err := b.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	forms, err := parseForms(body)
	if err != nil {
		return nil, err
	}
	page := &htmlPage{url: resp.Request.URL, status: resp.StatusCode, body: body, forms: forms}
	if target, ok := metaRefresh(body); ok && resp.StatusCode == http.StatusOK && req.Context().Value(refreshDepth{}) == nil {
		u, err := page.url.Parse(target)
		if err != nil {
			return nil, fmt.Errorf("meta refresh to %q: %w", target, err)
		}
		next, err := http.NewRequestWithContext(context.WithValue(req.Context(), refreshDepth{}, 1), http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		return b.do(next)
	}
	return page, nil
}

// refreshDepth marks a request made by following a meta refresh, which
// is followed once.
type refreshDepth struct{}

func (b *browser) get(ctx context.Context, u string) (*htmlPage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return b.do(req)
}

// metaRefresh returns the target of a <meta http-equiv="refresh"> page.
func metaRefresh(body []byte) (string, bool) {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return "", false
	}
	var target string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if target != "" {
			return
		}
		if n.Type == html.ElementNode && n.Data == "meta" && strings.EqualFold(attr(n, "http-equiv"), "refresh") {
			_, u, ok := strings.Cut(attr(n, "content"), ";")
			if ok {
				u = strings.TrimSpace(u)
				if len(u) > 4 && strings.EqualFold(u[:4], "url=") {
					target = strings.Trim(strings.TrimSpace(u[4:]), `'"`)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return target, target != ""
}

// submit posts form f of page with its own values, overridden by fill,
// pressing the button whose value is button (if any).
func (b *browser) submit(ctx context.Context, page *htmlPage, f *htmlForm, fill map[string]string, button string) (*htmlPage, error) {
	if f.method != "" && f.method != http.MethodPost {
		return nil, errors.New("only POST forms are supported")
	}
	v := url.Values{}
	for _, in := range f.inputs {
		if val, ok := fill[in.name]; ok {
			v.Set(in.name, val)
		} else {
			v.Set(in.name, in.value)
		}
	}
	for name, val := range fill {
		if !v.Has(name) {
			v.Set(name, val)
		}
	}
	if button != "" {
		for _, bt := range f.buttons {
			if bt.value == button {
				v.Set(bt.name, bt.value)
			}
		}
	}
	target, err := page.url.Parse(f.action)
	if err != nil {
		return nil, fmt.Errorf("form action %q: %w", f.action, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", page.url.Scheme+"://"+page.url.Host)
	return b.do(req)
}

// CreateAPIToken creates a named API token through POST /v1/tokens with
// a signed-in access token; expiresInDays 0 keeps it until revoked. It
// returns the raw token (shown once).
func CreateAPIToken(ctx context.Context, hc *http.Client, baseURL, accessToken, name string, expiresInDays int) (string, error) {
	body, err := json.Marshal(CreateAPITokenRequest{Name: name, ExpiresInDays: expiresInDays})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(baseURL, "/")+tokensPath, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("create API token: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("create API token: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create API token: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	var c CreatedAPIToken
	if err := json.Unmarshal(b, &c); err != nil || c.Token == "" {
		return "", fmt.Errorf("create API token: unexpected answer")
	}
	return c.Token, nil
}
