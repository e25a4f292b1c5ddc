package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server"
	"github.com/arsctl/arsctl/internal/server/api"
	"github.com/arsctl/arsctl/internal/server/catalogue"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/oauth"
	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
	"github.com/arsctl/arsctl/internal/server/servertest"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/internal/server/web"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// env is a real arsd handler on 127.0.0.1: the web pages, the OAuth
// server (which signs in through the web pages) and the /v1 API, on one
// database.
type env struct {
	t   *testing.T
	d   *db.DB
	st  *store.Store
	cat *catalogue.Catalogue
	web *web.Web
	url string       // base URL of the server
	hc  *http.Client // plain client for the API
	log *servertest.LogBuffer
}

func newEnv(t *testing.T, d *db.DB, opt web.Options) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, d: d, st: store.New(d), log: &servertest.LogBuffer{}}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.url, e.hc = srv.URL, srv.Client()
	logger := slog.New(slog.NewTextHandler(e.log, nil))
	var err error
	if e.cat, err = catalogue.New(catalogue.Config{}, e.url); err != nil {
		t.Fatal(err)
	}
	opt.Store, opt.Catalogue, opt.Logger = e.st, e.cat, logger
	if opt.Links != nil && opt.OrderActions == nil {
		opt.OrderActions = e.st
	}
	if opt.PublicURL == "" {
		opt.PublicURL = e.url
	}
	if e.web, err = web.New(opt); err != nil {
		t.Fatal(err)
	}
	oa, err := oauth.New(ctx, e.st, e.web, logger, oauth.Config{Issuer: e.url})
	if err != nil {
		t.Fatal(err)
	}
	a, err := api.New(api.Options{Store: e.st, Catalogue: e.cat, Auth: oa.Authenticator(), Logger: logger, PublicURL: e.url})
	if err != nil {
		t.Fatal(err)
	}
	e.web.Routes(mux)
	oa.Routes(mux)
	a.Routes(mux)
	return e
}

// newServerEnv runs a whole arsd (internal/server: every component, the
// order dispatcher, the middleware) on a free port of 127.0.0.1, on the
// database named by dsn.
func newServerEnv(t *testing.T, dsn string) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, log: &servertest.LogBuffer{}}
	// No hold window: the pages' tests follow orders to the inbox at once
	// (TestHoldForms holds them).
	s, err := server.New(ctx, server.Config{Listener: ln, Database: dsn, Logger: slog.New(slog.NewTextHandler(e.log, nil)),
		Orders: server.OrdersConfig{Hold: new(server.Duration)}})
	if err != nil {
		ln.Close()
		cancel()
		t.Fatalf("start arsd: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("arsd: %v", err)
		}
	})
	e.st = s.Store()
	e.d = e.st.DB
	e.url, e.hc = s.URL(), &http.Client{Timeout: time.Minute}
	if e.cat, err = catalogue.New(catalogue.Config{}, s.URL()); err != nil {
		t.Fatal(err)
	}
	return e
}

// client is a browser-like HTTP client with its own cookies that does not
// follow redirects.
type client struct {
	e   *env
	hc  *http.Client
	jar *cookiejar.Jar
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, jar: jar, hc: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       time.Minute,
	}}
}

// clientFrom is client connecting from another loopback address (such
// as 127.0.0.2), which the server sees as another client address.
func (e *env) clientFrom(ip string) *client {
	c := e.client()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 30 * time.Second}
	c.hc.Transport = &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 100}
	return c
}

type resp struct {
	status int
	header http.Header
	body   string
}

func (r resp) location() string { return r.header.Get("Location") }

func (c *client) do(method, path string, form url.Values) resp {
	c.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.e.url+path, body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (c *client) get(path string) resp { return c.do(http.MethodGet, path, nil) }

func (c *client) post(path string, form url.Values) resp { return c.do(http.MethodPost, path, form) }

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf reads the CSRF token from the form on page path.
func (c *client) csrf(path string) string {
	c.e.t.Helper()
	r := c.get(path)
	m := csrfRE.FindStringSubmatch(r.body)
	if m == nil {
		c.e.t.Fatalf("no csrf token on %s (HTTP %d): %.300s", path, r.status, r.body)
	}
	return m[1]
}

// register creates an account through the Register page and signs in.
func (c *client) register(email, password string) {
	c.e.t.Helper()
	tok := c.csrf(web.RegisterPath)
	r := c.post(web.RegisterPath, url.Values{"csrf_token": {tok}, "email": {email}, "name": {"Test Owner"},
		"password": {password}, "password_confirm": {password}})
	if r.status != http.StatusSeeOther || r.location() != web.SubscriptionsPath {
		c.e.t.Fatalf("register %s: HTTP %d to %q: %.400s", email, r.status, r.location(), r.body)
	}
}

// token signs in through OAuth's device flow (which uses the web sign-in
// page) and returns an access token for the API.
func (e *env) token(email, password string) string {
	e.t.Helper()
	tok, err := oauthtest.DeviceLogin(context.Background(), e.hc, e.url, email, password)
	if err != nil {
		e.t.Fatalf("device login: %v", err)
	}
	return tok.AccessToken
}

// api calls the JSON API with a bearer token.
func (e *env) api(method, path, token string, in, out any) int {
	e.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, body)
	req.Header.Set("Authorization", "Bearer "+token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return res.StatusCode
}

// enroll enrolls a printer through the API and reports its ink levels so
// that one order is placed (the yellow tank is low).
func (e *env) enroll(token, model, serial, nickname string) arsapi.Enrollment {
	e.t.Helper()
	var en arsapi.Enrollment
	st := e.api(http.MethodPost, "/v1/enrollments", token, arsapi.CreateEnrollmentRequest{
		Provider: arsapi.ProviderCanon, TermsVersion: e.cat.Terms().Version,
		Printer: arsapi.Printer{Model: model, Serial: serial, Label: nickname},
	}, &en)
	if st != http.StatusCreated && st != http.StatusOK {
		e.t.Fatalf("enroll: HTTP %d", st)
	}
	rep := arsapi.LevelReport{ReadAt: time.Now().UTC().Add(-3 * time.Minute), Supplies: []printer.Supply{
		{Name: "PGBK", Type: "inkCartridge", Colors: []string{"#000000"}, ColorName: "black", Level: 80},
		{Name: "BK", Type: "inkCartridge", Colors: []string{"#000000"}, ColorName: "black", Level: 55},
		{Name: "C", Type: "inkCartridge", Colors: []string{"#00FFFF"}, ColorName: "cyan", Level: 40},
		{Name: "M", Type: "inkCartridge", Colors: []string{"#FF00FF"}, ColorName: "magenta", Level: 65},
		{Name: "Y", Type: "inkCartridge", Colors: []string{"#FFFF00"}, ColorName: "yellow", Level: 10, Low: 15},
		{Name: "PB", Type: "inkCartridge", Colors: []string{"#0000FF"}, ColorName: "photo blue", Level: printer.LevelUnknown},
	}}
	var res arsapi.LevelReportResult
	if st := e.api(http.MethodPost, "/v1/enrollments/"+en.ID+"/levels", token, rep, &res); st != http.StatusOK {
		e.t.Fatalf("report levels: HTTP %d", st)
	}
	if len(res.Orders) != 1 {
		e.t.Fatalf("level report placed %d orders, want 1", len(res.Orders))
	}
	return en
}

// waitOrder waits until the enrollment's order is in state (the whole
// arsd's dispatcher moves it). The long deadline only stops a hung test.
func (e *env) waitOrder(enrollmentID string, state arsapi.OrderState) {
	e.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var n int
		if err := e.d.QueryRow(context.Background(), `SELECT COUNT(*) FROM orders WHERE enrollment_id = ? AND state = ?`,
			enrollmentID, string(state)).Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no order of %s became %s", enrollmentID, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) enrollment(token, id string) arsapi.Enrollment {
	e.t.Helper()
	var en arsapi.Enrollment
	if st := e.api(http.MethodGet, "/v1/enrollments/"+id, token, nil, &en); st != http.StatusOK {
		e.t.Fatalf("GET /v1/enrollments/%s: HTTP %d", id, st)
	}
	return en
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, trim(body))
		}
	}
}

func trim(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}
