package oauth

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/formbrowser"
	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
)

// signedInBrowser is a browser signed in to the web pages as the
// environment's owner.
func signedInBrowser(t *testing.T, e *env) *formbrowser.Browser {
	t.Helper()
	b, err := formbrowser.New(http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	page, err := oauthtest.SignIn(context.Background(), b, e.srv.URL+DevicePath, e.email, e.password)
	if err != nil {
		t.Fatal(err)
	}
	if page.Form(func(f *formbrowser.Form) bool { return f.Has("user_code") }) == nil {
		t.Fatalf("not signed in: %s", page.Text())
	}
	return b
}

// TestCodeFlowTakeover runs the one-click account takeover against the
// code flow: the attacker starts an authorization request with its own
// PKCE verifier and arsctl's client ID, makes the signed-in owner open
// the login link, polls the callback for the code and exchanges it. Each
// step must fail, and the request must stay incomplete.
func TestCodeFlowTakeover(t *testing.T) {
	each(t, Config{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		attackerJar, _ := cookiejar.New(nil)
		attacker := &http.Client{Jar: attackerJar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		cookieless := &http.Client{CheckRedirect: attacker.CheckRedirect}
		get := func(c *http.Client, u string) *http.Response {
			t.Helper()
			resp, err := c.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		noCode := func(step string, resp *http.Response) {
			t.Helper()
			if strings.Contains(resp.Header.Get("Location"), "code=") {
				t.Fatalf("%s: the attacker got a code: %d %s", step, resp.StatusCode, resp.Header.Get("Location"))
			}
		}

		// 1. The attacker starts the request and learns its ID.
		cfg := CLIConfig(e.srv.URL)
		cfg.RedirectURL = "http://127.0.0.1:45678/callback"
		verifier := oauth2.GenerateVerifier()
		resp := get(attacker, cfg.AuthCodeURL("attacker-state", oauth2.S256ChallengeOption(verifier)))
		id, ok := loginStepRequest(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || !ok {
			t.Fatalf("authorize answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		loginLink := e.srv.URL + loginStepPath + "?authRequestID=" + url.QueryEscape(id)

		// 2. The signed-in owner opens the login link: refused, no consent
		// form, nothing completed.
		victim := signedInBrowser(t, e)
		page, err := victim.Get(ctx, loginLink)
		if err != nil {
			t.Fatal(err)
		}
		if page.Status != http.StatusForbidden || page.Form(func(f *formbrowser.Form) bool { return f.Has("authRequestID") }) != nil {
			t.Fatalf("the owner's browser opening the attacker's login link got %s", page.Text())
		}
		// A page of the attacker's that posts Allow from the owner's
		// browser is refused too, with or without a token.
		for _, tok := range []string{"", "forged", e.oa.formToken("another-session", consentPurpose, id)} {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+loginStepPath, strings.NewReader(url.Values{
				"authRequestID": {id}, "action": {"approve"}, "csrf_token": {tok}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			p, err := victim.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != http.StatusForbidden {
				t.Fatalf("a forged Allow from the owner's browser answered %s", p.Text())
			}
		}
		if a, err := e.st.GetAuthRequest(ctx, id); err != nil || a.Done || a.AccountID != "" {
			t.Fatalf("the attacker's request after the owner's visit: %+v, %v", a, err)
		}

		// 3. The attacker's own browser, which holds the request's cookie,
		// has no session of the owner: it is sent to sign in.
		resp = get(attacker, loginLink)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?") {
			t.Fatalf("the attacker's own browser at the login link: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}

		// 4. The attacker polls the callback without cookies, and with its
		// own: no code either way.
		cb := e.srv.URL + authorizeCallback + "?id=" + url.QueryEscape(id)
		resp = get(cookieless, cb)
		noCode("callback without cookies", resp)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("callback without cookies answered %d", resp.StatusCode)
		}
		noCode("callback with the attacker's cookies", get(attacker, cb))

		// 5. Without a code there is nothing to exchange; a guessed one fails.
		if _, err := cfg.Exchange(ctx, "guessed-code", oauth2.VerifierOption(verifier)); err == nil {
			t.Fatal("a guessed code was exchanged")
		}
	})
}

// TestConsentDeny: Deny on the consent page answers access_denied (with
// the client's state) to the redirect URI and drops the request.
func TestConsentDeny(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), Config{})
	b, _ := formbrowser.New(http.DefaultClient)
	lb := newLoopback(t)
	cfg := CLIConfig(e.srv.URL)
	cfg.RedirectURL = lb.url
	if _, err := oauthtest.Authorize(context.Background(), b, cfg.AuthCodeURL("st-deny", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())),
		e.email, e.password, false); err != nil {
		t.Fatal(err)
	}
	var q url.Values
	select {
	case q = <-lb.got:
	default:
		t.Fatal("Deny did not return to the client")
	}
	if q.Get("error") != "access_denied" || q.Get("state") != "st-deny" || q.Has("code") {
		t.Fatalf("Deny answered %v", q)
	}
}

// TestConsentPage: the consent page names the client's loopback address
// and the account, and is the only way to a code.
func TestConsentPage(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), Config{})
	ctx := context.Background()
	b, _ := formbrowser.New(http.DefaultClient)
	lb := newLoopback(t)
	cfg := CLIConfig(e.srv.URL)
	cfg.RedirectURL = lb.url
	page, err := oauthtest.SignIn(ctx, b, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), e.email, e.password)
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(lb.url, "http://"), "/callback")
	if txt := page.Text(); page.Status != http.StatusOK || !strings.Contains(txt, "arsctl") ||
		!strings.Contains(txt, host) || !strings.Contains(txt, e.email) {
		t.Fatalf("consent page: %s", txt)
	}
	f := page.Form(func(f *formbrowser.Form) bool { return f.Has("authRequestID") })
	id := f.Value("authRequestID")
	// Reloading the consent page does not complete the request: only
	// Allow does.
	if _, err := b.Get(ctx, e.srv.URL+loginStepPath+"?authRequestID="+url.QueryEscape(id)); err != nil {
		t.Fatal(err)
	}
	if a, err := e.st.GetAuthRequest(ctx, id); err != nil || a.Done {
		t.Fatalf("request before Allow: %+v, %v", a, err)
	}
	select {
	case q := <-lb.got:
		t.Fatalf("the client got %v before Allow", q)
	default:
	}
}
