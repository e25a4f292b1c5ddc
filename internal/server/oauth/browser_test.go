package oauth_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/oauth"
	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/internal/server/web/webtest"
)

// TestBrowserSignIn is `arsctl auth login` with a person at a real
// browser (headless Chromium) on the real account pages: the code flow
// from arsctl's authorize URL through the sign-in form back to a loopback
// listener, and the device page with its Allow button.
func TestBrowserSignIn(t *testing.T) {
	webtest.Chromium(t)
	ctx := context.Background()
	st := store.New(dbtest.SQLite(t))
	const email, password = "pat@example.com", "correct horse battery"
	if _, err := st.CreateAccount(ctx, email, password, "Pat"); err != nil {
		t.Fatal(err)
	}
	srv, oa := newWebOAuth(t, st)
	bctx := webtest.Browser(t)
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	load := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		res, err := chromedp.RunResponse(bctx, steps...)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if res.Status != http.StatusOK {
			t.Fatalf("%s: HTTP %d", what, res.Status)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	// sameLook checks that the page is laid out as the account pages are:
	// its title is its heading and the site's name, it loads the site's
	// stylesheet, and it has the site's header and footer.
	sameLook := func(where string) {
		t.Helper()
		h1 := text("h1")
		look, err := chromedp.Run(bctx, chromedp.Evaluate[[]any](`[document.title,
			[...document.styleSheets].some(s => s.href && new URL(s.href).pathname === "/static/style.css" && s.cssRules.length > 0),
			!!document.querySelector("header.top a.brand"), !!document.querySelector("footer.foot"), !!document.querySelector("main h1")]`))
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		if want := h1 + " · Auto Replenishment Service"; len(look) != 5 || look[0] != want || look[1] != true || look[2] != true || look[3] != true || look[4] != true {
			t.Errorf("%s: title, stylesheet loaded, header, footer, heading in main = %v; want title %q and all true", where, look, want)
		}
	}

	// Authorization code + PKCE; arsctl's loopback listener on a free port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	codes := make(chan string, 1)
	cb := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		select {
		case codes <- r.URL.Query().Get("code"):
		default:
		}
		rw.Write([]byte("<!doctype html><h1>Signed in to arsctl</h1>"))
	})}
	go cb.Serve(ln)
	defer cb.Close()
	cfg := oauth.CLIConfig(srv.URL)
	cfg.RedirectURL = "http://" + ln.Addr().String() + "/callback"
	v := oauth2.GenerateVerifier()
	run("open the authorize URL", chromedp.Navigate(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(v))))
	if h := text("h1"); h != "Login" {
		t.Fatalf("the authorize URL led to %q, want the Login page", h)
	}
	sameLook("login page")
	load("sign in", chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login")))
	// The consent page names the loopback address and the account; no
	// code reaches arsctl before Allow.
	if page := text("body"); !strings.Contains(page, "arsctl (command-line tool) on "+ln.Addr().String()) ||
		!strings.Contains(page, email) {
		t.Fatalf("consent page: %q", page)
	}
	sameLook("consent page")
	select {
	case c := <-codes:
		t.Fatalf("the loopback listener got code %q before Allow", c)
	default:
	}
	run("allow", chromedp.Click(chromedp.CSS(`button[value="approve"]`)))
	var code string
	select {
	case code = <-codes:
	case <-time.After(time.Minute):
		loc, _ := chromedp.Run(bctx, chromedp.Location())
		t.Fatalf("the browser never reached the loopback redirect; it is at %s", loc)
	}
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/v1/enrollments", nil)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if _, err := oa.Authenticator().Authenticate(r); err != nil {
		t.Fatal(err)
	}

	// Device grant: the browser is signed in now.
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	run("open the verification URL", chromedp.Navigate(da.VerificationURIComplete))
	if h := text("h1"); h != "Connect a device" {
		t.Fatalf("verification page heading %q", h)
	}
	sameLook("device page")
	load("continue", chromedp.Click(chromedp.CSS(`main button[type="submit"]`)))
	if page := text("body"); !strings.Contains(page, "arsctl (command-line tool)") || !strings.Contains(page, email) ||
		!strings.Contains(page, da.UserCode) {
		t.Fatalf("confirmation page: %q", page)
	}
	sameLook("device confirmation page")
	load("allow", chromedp.Click(chromedp.CSS(`button[value="approve"]`)))
	if h := text("h1"); h != "Device connected" {
		t.Fatalf("after Allow: %q", h)
	}
	sameLook("device connected page")
	// Error pages: a code that is not one, and a sign-in step this
	// browser did not start.
	run("open the device page", chromedp.Navigate(srv.URL+"/device"))
	run("enter a wrong code", chromedp.SendKeys(chromedp.ID("user_code"), "WXYZ-2345"), chromedp.Click(chromedp.CSS(`main button[type="submit"]`)))
	if e := text("#errors"); e == "" {
		t.Errorf("a wrong code shows no error")
	}
	sameLook("device page with an error")
	run("open a sign-in step of another browser", chromedp.Navigate(srv.URL+"/oauth/login?id=not-this-browser"))
	if h := text("h1"); h != "Sign-in started elsewhere" && h != "Sign-in request expired" {
		t.Errorf("another browser's sign-in step: %q", h)
	}
	sameLook("sign-in error page")
	if _, err := oauthtest.ExchangeDeviceCode(ctx, http.DefaultClient, srv.URL+oauth.TokenPath, da.DeviceCode); err != nil {
		t.Fatal(err)
	}
}
