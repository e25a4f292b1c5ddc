package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/server/catalogue"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/internal/server/web"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

const pw = "correct horse battery"

func TestSignInSessionsLogout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, web.Options{})
		c := e.client()

		r := c.get(web.SubscriptionsPath)
		if r.status != http.StatusSeeOther || r.location() != "/login?next=%2Fsubscriptions" {
			t.Fatalf("signed-out My Subscriptions: HTTP %d to %q", r.status, r.location())
		}
		c.register("owner@example.com", pw)
		u, _ := url.Parse(e.url)
		var sess *http.Cookie
		for _, ck := range c.jar.Cookies(u) {
			if ck.Name == web.SessionCookie {
				sess = ck
			}
		}
		if sess == nil {
			t.Fatal("no session cookie after registering")
		}
		// The jar hides attributes; check them on a fresh sign-in.
		fresh := e.client()
		tok := fresh.csrf(web.LoginPath)
		r = fresh.post(web.LoginPath, url.Values{"csrf_token": {tok}, "email": {"OWNER@example.com"}, "password": {pw}})
		if r.status != http.StatusSeeOther || r.location() != web.SubscriptionsPath {
			t.Fatalf("login: HTTP %d to %q: %s", r.status, r.location(), trim(r.body))
		}
		setCookie := strings.Join(r.header.Values("Set-Cookie"), "\n")
		for _, want := range []string{web.SessionCookie + "=", "HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(setCookie, want) {
				t.Errorf("session cookie %q lacks %q", setCookie, want)
			}
		}
		if strings.Contains(setCookie, "Secure") {
			t.Errorf("session cookie over plain http is Secure: %q", setCookie)
		}

		r = c.get(web.SubscriptionsPath)
		mustContain(t, "My Subscriptions", r.body, "<h1>My Subscriptions</h1>", "Auto Replenishment Service", "See My Printers", "owner@example.com")
		req, _ := http.NewRequest(http.MethodGet, e.url, nil)
		req.AddCookie(sess)
		if acct, ok := e.web.AccountID(req); !ok || acct == "" {
			t.Errorf("AccountID of a signed-in request = %q, %v", acct, ok)
		}

		// Logout needs the token, and ends the session on the server.
		if r := c.post(web.LogoutPath, url.Values{}); r.status != http.StatusForbidden {
			t.Errorf("logout without CSRF token: HTTP %d", r.status)
		}
		tok = c.csrf(web.SubscriptionsPath)
		if r := c.post(web.LogoutPath, url.Values{"csrf_token": {tok}}); r.status != http.StatusSeeOther {
			t.Fatalf("logout: HTTP %d", r.status)
		}
		if _, ok := e.web.AccountID(req); ok {
			t.Error("the old session cookie still works after logout")
		}
		if r := c.get(web.SubscriptionsPath); r.status != http.StatusSeeOther {
			t.Errorf("after logout My Subscriptions answers HTTP %d", r.status)
		}
	})
}

func TestSecureCookieWithHTTPSPublicURL(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), web.Options{PublicURL: "https://ars.example.com"})
	c := e.client()
	tok := c.csrf(web.RegisterPath)
	r := c.post(web.RegisterPath, url.Values{"csrf_token": {tok}, "email": {"s@example.com"}, "password": {pw}, "password_confirm": {pw}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("register: HTTP %d", r.status)
	}
	if sc := strings.Join(r.header.Values("Set-Cookie"), "\n"); !strings.Contains(sc, "; Secure") {
		t.Errorf("cookie behind an https public URL is not Secure: %q", sc)
	}
}

func TestRegisterErrors(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), web.Options{})
	c := e.client()
	c.register("taken@example.com", pw)
	c2 := e.client()
	for _, tc := range []struct {
		email, pw, confirm string
		status             int
		want               string
	}{
		{"new@example.com", "short", "short", http.StatusUnprocessableEntity, "Password: use at least 10 characters."},
		{"not-an-email", pw, pw, http.StatusUnprocessableEntity, "Email address: enter an email address like name@example.com."},
		{"new@example.com", pw, pw + "x", http.StatusUnprocessableEntity, "The two passwords are not the same."},
		{"Taken@example.com", pw, pw, http.StatusConflict, "An account with this email address already exists."},
	} {
		tok := c2.csrf(web.RegisterPath)
		r := c2.post(web.RegisterPath, url.Values{"csrf_token": {tok}, "email": {tc.email}, "password": {tc.pw}, "password_confirm": {tc.confirm}})
		if r.status != tc.status {
			t.Errorf("register %q: HTTP %d, want %d", tc.email, r.status, tc.status)
		}
		mustContain(t, "register error page", r.body, tc.want, `role="alert"`)
	}
}

func TestFailedLoginDoesNotRevealAccountAndIsRateLimited(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, web.Options{LoginFailuresPerAccountAddress: 3, LoginFailuresPerAddress: 5})
		e.client().register("victim@example.com", pw)
		c := e.client()
		login := func(email, password string) resp {
			t.Helper()
			tok := c.csrf(web.LoginPath)
			return c.post(web.LoginPath, url.Values{"csrf_token": {tok}, "email": {email}, "password": {password}})
		}
		known := login("victim@example.com", "wrong password!")
		unknown := login("nobody@example.com", "wrong password!")
		if known.status != http.StatusUnauthorized || unknown.status != http.StatusUnauthorized {
			t.Fatalf("failed logins: HTTP %d and %d", known.status, unknown.status)
		}
		norm := func(s, email string) string {
			s = strings.ReplaceAll(s, email, "EMAIL")
			return csrfRE.ReplaceAllString(s, "TOKEN")
		}
		if norm(known.body, "victim@example.com") != norm(unknown.body, "nobody@example.com") {
			t.Error("the failed-login page differs between an existing and a missing account")
		}
		mustContain(t, "failed login", known.body, "The email address or password is not right.")

		login("victim@example.com", "wrong password!")
		login("victim@example.com", "wrong password!") // third failure for this email
		r := login("victim@example.com", pw)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("login after 3 failures: HTTP %d (Retry-After %q)", r.status, r.header.Get("Retry-After"))
		}
		mustContain(t, "rate-limited login", r.body, "Too many failed sign-in attempts", "wait 15 minutes")
		// Unknown addresses are limited the same way: no difference to see.
		login("nobody@example.com", "x")
		login("nobody@example.com", "x")
		if r := login("nobody@example.com", "x"); r.status != http.StatusTooManyRequests {
			t.Errorf("unknown email after 3 failures: HTTP %d", r.status)
		}
		// Per client address: 5 failures from 127.0.0.1 in all, so a fresh
		// account is refused too.
		e.client().register("other@example.com", pw)
		if r := login("other@example.com", pw); r.status != http.StatusTooManyRequests {
			t.Errorf("login from a limited address: HTTP %d", r.status)
		}
		if strings.Contains(e.log.String(), pw) || strings.Contains(e.log.String(), "wrong password!") {
			t.Error("a password is in the log")
		}
	})
}

func TestLoginNextIsLocalOnly(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), web.Options{})
	e.client().register("n@example.com", pw)
	for next, want := range map[string]string{
		"/subscriptions/printers":           "/subscriptions/printers",
		"/device?user_code=BCDF-GHJK":       "/device?user_code=BCDF-GHJK",
		"//evil.example/x":                  web.SubscriptionsPath,
		"https://evil.example/":             web.SubscriptionsPath,
		"/\\evil.example":                   web.SubscriptionsPath,
		"javascript:alert(1)":               web.SubscriptionsPath,
		"/%0d%0aSet-Cookie:x=y":             "/%0d%0aSet-Cookie:x=y",
		"/\t/evil.example":                  web.SubscriptionsPath,
		"evil.example":                      web.SubscriptionsPath,
		"/ok?next=https://evil.example/abc": "/ok?next=https://evil.example/abc",
	} {
		c := e.client()
		tok := c.csrf(web.LoginURL(next))
		r := c.post(web.LoginPath, url.Values{"csrf_token": {tok}, "email": {"n@example.com"}, "password": {pw}, "next": {next}})
		if r.status != http.StatusSeeOther || r.location() != want {
			t.Errorf("login with next=%q: HTTP %d to %q, want %q", next, r.status, r.location(), want)
		}
	}
}

func TestCSRFRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, web.Options{})
		c := e.client()
		c.register("csrf@example.com", pw)
		en := e.enroll(e.token("csrf@example.com", pw), "TS8320", "KMBA01234", "Office")
		path := web.PrinterPath(en.ID)

		anon := e.client()
		anon.csrf(web.LoginPath) // has the cookie, omits the field
		if r := anon.post(web.LoginPath, url.Values{"email": {"csrf@example.com"}, "password": {pw}}); r.status != http.StatusForbidden {
			t.Errorf("login without its token: HTTP %d", r.status)
		}
		if r := anon.post(web.RegisterPath, url.Values{"csrf_token": {"forged-forged-forged-forged-forged-forged"}, "email": {"x@example.com"}, "password": {pw}, "password_confirm": {pw}}); r.status != http.StatusForbidden {
			t.Errorf("register with a wrong token: HTTP %d", r.status)
		}

		other := e.client()
		other.register("csrf2@example.com", pw)
		otherToken := other.csrf(web.SubscriptionsPath)
		for _, tc := range []struct {
			name string
			form url.Values
		}{
			{"no token", url.Values{"reason": {"too-expensive"}}},
			{"empty token", url.Values{"csrf_token": {""}, "reason": {"too-expensive"}}},
			{"another session's token", url.Values{"csrf_token": {otherToken}, "reason": {"too-expensive"}}},
		} {
			r := c.post(path+"/cancel", tc.form)
			if r.status != http.StatusForbidden {
				t.Errorf("cancel with %s: HTTP %d", tc.name, r.status)
			}
			mustContain(t, "403 page", r.body, "Form expired")
		}
		if r := c.post(path+"/pause", url.Values{"action": {"pause"}}); r.status != http.StatusForbidden {
			t.Errorf("pause without token: HTTP %d", r.status)
		}
		if r := c.post(path+"/threshold", url.Values{"threshold": {"50"}}); r.status != http.StatusForbidden {
			t.Errorf("threshold without token: HTTP %d", r.status)
		}
		got, err := e.st.GetEnrollment(context.Background(), mustAccount(t, e, "csrf@example.com"), en.ID)
		if err != nil || got.State != arsapi.StateActive || got.Threshold != en.Threshold {
			t.Errorf("after refused forms the enrollment is %+v, %v", got, err)
		}
	})
}

func mustAccount(t *testing.T, e *env, email string) string {
	t.Helper()
	a, err := e.st.CheckPassword(context.Background(), email, pw)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func TestManagePlanAndCancel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, web.Options{})
		c := e.client()
		c.register("plan@example.com", pw)
		token := e.token("plan@example.com", pw)
		en := e.enroll(token, "TS8320", "KMBA01234", "Office")
		path := web.PrinterPath(en.ID)

		r := c.get(web.PrintersPath)
		mustContain(t, "See My Printers", r.body, "TS8320", "Office", "••••1234", "ending in 1234", "Canon", "Active", "View Printer Details", `href="`+path+`"`)
		if strings.Contains(r.body, "KMBA01234") {
			t.Error("See My Printers shows the whole serial number")
		}
		r = c.get(path)
		mustContain(t, "View Printer Details", r.body, "Manage Plan", "Y (yellow)", "10%", "Low", "background: #ffff00", "level unknown",
			"Placed", "Plan history", "Enrolled", "Version "+e.cat.Terms().Version)
		if strings.Contains(r.body, "KMBA01234") {
			t.Error("View Printer Details shows the whole serial number")
		}

		tok := c.csrf(path + "/plan")
		if r := c.post(path+"/threshold", url.Values{"csrf_token": {tok}, "threshold": {"25"}}); r.status != http.StatusSeeOther {
			t.Fatalf("set threshold: HTTP %d: %s", r.status, trim(r.body))
		}
		mustContain(t, "plan after threshold", c.get(path+"/plan?done=threshold").body, "Saved: ink is ordered when a supply falls to 25%.")
		if r := c.post(path+"/threshold", url.Values{"csrf_token": {tok}, "threshold": {"250"}}); r.status != http.StatusUnprocessableEntity {
			t.Errorf("threshold 250: HTTP %d", r.status)
		}
		if r := c.post(path+"/pause", url.Values{"csrf_token": {tok}, "action": {"pause"}}); r.status != http.StatusSeeOther {
			t.Fatalf("pause: HTTP %d", r.status)
		}
		if got := e.enrollment(token, en.ID); got.State != arsapi.StatePaused || got.Threshold != 25 {
			t.Errorf("after pause and threshold: state %s threshold %d", got.State, got.Threshold)
		}
		mustContain(t, "plan when paused", c.get(path+"/plan").body, "Resume ordering")
		if r := c.post(path+"/pause", url.Values{"csrf_token": {tok}, "action": {"resume"}}); r.status != http.StatusSeeOther {
			t.Fatalf("resume: HTTP %d", r.status)
		}

		// No reason: an error, nothing changes.
		r = c.post(path+"/cancel", url.Values{"csrf_token": {tok}, "comment": {"bye"}})
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("cancel with no reason: HTTP %d", r.status)
		}
		mustContain(t, "cancel without reason", r.body, "Select at least one reason for cancelling the plan.", "bye")
		// Other without a comment: an error, and the ticked boxes stay ticked.
		r = c.post(path+"/cancel", url.Values{"csrf_token": {tok}, "reason": {"too-expensive", "other"}})
		mustContain(t, "cancel other without comment", r.body, "tell us your reason in the comment box", `value="too-expensive" checked`)
		// A comment that is not UTF-8 text: an error, not a database failure.
		r = c.post(path+"/cancel", url.Values{"csrf_token": {tok}, "reason": {"too-expensive"}, "comment": {"bye \xff\xfe"}})
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("cancel with a non-UTF-8 comment: HTTP %d", r.status)
		}
		mustContain(t, "cancel with a non-UTF-8 comment", r.body, "Comment is not valid UTF-8 text.")
		if got := e.enrollment(token, en.ID); got.State != arsapi.StateActive {
			t.Fatalf("after refused cancels the state is %s", got.State)
		}

		r = c.post(path+"/cancel", url.Values{"csrf_token": {tok}, "reason": {"too-expensive", "other"}, "comment": {"moving abroad"}})
		if r.status != http.StatusSeeOther || r.location() != path+"/cancelled" {
			t.Fatalf("cancel: HTTP %d to %q: %s", r.status, r.location(), trim(r.body))
		}
		mustContain(t, "confirmation", c.get(path+"/cancelled").body, "Your plan is cancelled", "The ink costs too much", "Other", "moving abroad")
		got := e.enrollment(token, en.ID)
		if got.State != arsapi.StateCancelled || got.Cancellation == nil || len(got.Cancellation.Reasons) != 2 || got.Cancellation.Comment != "moving abroad" {
			t.Errorf("GET /v1/enrollments/%s after cancel = %+v", en.ID, got)
		}
		mustContain(t, "details after cancel", c.get(path).body, "This plan is cancelled", "Cancelled")
		if r := c.get(path + "/plan"); r.status != http.StatusSeeOther {
			t.Errorf("Manage Plan of a cancelled plan: HTTP %d", r.status)
		}
		if r := c.post(path+"/cancel", url.Values{"csrf_token": {tok}, "reason": {"too-expensive"}}); r.status != http.StatusSeeOther || r.location() != path {
			t.Errorf("second cancel: HTTP %d to %q", r.status, r.location())
		}
		mustContain(t, "about with printer", c.get(web.AboutPath+"?printer="+en.ID).body, "you agreed to version <strong>"+e.cat.Terms().Version)
	})
}

// The printer's page names the model the owner confirmed and the series
// the printer reported.
func TestPrinterShowsSeries(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), web.Options{})
	c := e.client()
	c.register("series@example.com", pw)
	en := e.enroll(e.token("series@example.com", pw), "Canon TS6300 series", "KMSE06320", "")
	if en.Printer.Model != "TS6320" {
		t.Fatalf("enrolled %+v", en.Printer)
	}
	mustContain(t, "printer page", c.get(web.PrinterPath(en.ID)).body, "<h1>TS6320", "Reports itself as", `<dd id="series">Canon TS6300 series</dd>`)
}

func TestOtherAccountsPrinterIsNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, web.Options{})
		owner := e.client()
		owner.register("a@example.com", pw)
		en := e.enroll(e.token("a@example.com", pw), "TS6320", "ABCD98765", "")
		path := web.PrinterPath(en.ID)

		intruder := e.client()
		intruder.register("b@example.com", pw)
		tok := intruder.csrf(web.SubscriptionsPath)
		for _, p := range []string{path, path + "/plan", path + "/cancelled", web.AboutPath + "?printer=" + en.ID, web.PrinterPath("no-such-id")} {
			if r := intruder.get(p); r.status != http.StatusNotFound {
				t.Errorf("GET %s by another account: HTTP %d", p, r.status)
			}
		}
		for _, sub := range []string{"/cancel", "/pause", "/threshold"} {
			r := intruder.post(path+sub, url.Values{"csrf_token": {tok}, "reason": {"too-expensive"}, "action": {"pause"}, "threshold": {"50"}})
			if r.status != http.StatusNotFound {
				t.Errorf("POST %s by another account: HTTP %d", sub, r.status)
			}
		}
		if r := intruder.get(web.PrintersPath); strings.Contains(r.body, en.ID) || strings.Contains(r.body, "8765") {
			t.Error("another account's See My Printers lists the printer")
		}
		got, err := e.st.GetEnrollment(context.Background(), mustAccount(t, e, "a@example.com"), en.ID)
		if err != nil || got.State != arsapi.StateActive || got.Threshold != en.Threshold {
			t.Errorf("after another account's attempts: %+v, %v", got, err)
		}
	})
}

func TestAboutAndStatic(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), web.Options{})
	c := e.client()
	r := c.get(web.AboutPath)
	mustContain(t, "about", r.body, "About this service", e.cat.Terms().Title, "Version "+e.cat.Terms().Version, "cancel at any time")
	// The eligible models with the series their printers report, and how
	// to enroll one.
	mustContain(t, "about: models", r.body, `<table id="models">`, "Canon TS5320", "TS5300 series", "Canon TS9521C", "TS9500 series", "TS8320a",
		"How to enroll a printer", "<code>arsctl discover</code>", "<code>arsctl register</code>", "<code>--model</code>", "<code>arsctl models</code>")
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	r = c.get("/static/style.css")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") || !strings.Contains(r.body, ":focus-visible") {
		t.Errorf("style.css: HTTP %d %s", r.status, r.header.Get("Content-Type"))
	}
	if r := c.get("/"); r.status != http.StatusSeeOther || r.location() != web.LoginPath {
		t.Errorf("/ signed out: HTTP %d to %q", r.status, r.location())
	}
}

func TestPendingAmazonPlanLinksToSignIn(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), web.Options{AmazonSignInURL: func(id, acct string) string {
		return "https://ars.example.com/v1/amazon/start?enrollment=" + id + "&acct=" + acct
	}})
	c := e.client()
	c.register("amz@example.com", pw)
	acct := mustAccount(t, e, "amz@example.com")
	en, err := e.st.CreateEnrollment(context.Background(), acct, arsapi.CreateEnrollmentRequest{
		Provider: arsapi.ProviderAmazon, TermsVersion: e.cat.Terms().Version,
		Printer: arsapi.Printer{Model: "TS8320", Serial: "AMZN00042"},
	}, 15)
	if err != nil {
		t.Fatal(err)
	}
	r := c.get(web.PrinterPath(en.ID))
	mustContain(t, "pending amazon plan", r.body, "Waiting for Amazon sign-in", "Sign in with Amazon",
		`href="https://ars.example.com/v1/amazon/start?enrollment=`+en.ID+`&amp;acct=`+acct+`"`)
	r = c.get(web.PrinterPath(en.ID) + "/plan")
	mustContain(t, "pending amazon Manage Plan", r.body, "ordering can be paused after that", "Cancel Plan")
	if r := c.get(web.LoginPath + "?signed_out=1"); r.status != http.StatusSeeOther {
		t.Errorf("login page while signed in: HTTP %d", r.status)
	}
	if r := e.client().get(web.LoginPath + "?signed_out=1"); !strings.Contains(r.body, "You are signed out.") {
		t.Error("no signed-out message")
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	st := store.New(dbtest.SQLite(t))
	cat, err := catalogue.New(catalogue.Config{}, "http://127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	// A plain-http public URL, but this request arrives over TLS.
	w, err := web.New(web.Options{Store: st, Catalogue: cat, PublicURL: "http://127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	w.Routes(mux)
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	e := &env{t: t, st: st, cat: cat, web: w, url: srv.URL, hc: srv.Client()}
	c := e.client()
	c.hc.Transport = srv.Client().Transport
	tok := c.csrf(web.RegisterPath)
	r := c.post(web.RegisterPath, url.Values{"csrf_token": {tok}, "email": {"tls@example.com"}, "password": {pw}, "password_confirm": {pw}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("register over TLS: HTTP %d", r.status)
	}
	if sc := strings.Join(r.header.Values("Set-Cookie"), "\n"); !strings.Contains(sc, web.SessionCookie+"=") || !strings.Contains(sc, "; Secure") {
		t.Errorf("session cookie over TLS is not Secure: %q", sc)
	}
}

// TestOrderInboxPage replays a household's order on a default arsd (no
// fulfiller for canon orders): View Printer Details says the order is
// unfulfilled, not "Placed"; the Order inbox lists it; "Mark as bought"
// takes it out of the inbox.
func TestOrderInboxPage(t *testing.T) {
	eachServer(t, func(t *testing.T, e *env) {
		c := e.client()
		c.register("inbox@example.com", pw)
		token := e.token("inbox@example.com", pw)
		en := e.enroll(token, "TS8320", "KMBA04321", "Kitchen")
		e.waitOrder(en.ID, arsapi.OrderUnfulfilled)

		r := c.get(web.PrinterPath(en.ID))
		mustContain(t, "View Printer Details", r.body, "Unfulfilled: waiting for you to buy", `href="/subscriptions/orders"`)
		if strings.Contains(r.body, ">Placed<") {
			t.Error("the order that went nowhere is shown as Placed")
		}
		r = c.get(web.OrdersPath)
		mustContain(t, "Order inbox", r.body, "Waiting for you to buy", "Y (yellow)", "Kitchen (TS8320)", "Mark as bought", `aria-current="page"`)
		var id string
		if err := e.d.QueryRow(context.Background(), `SELECT id FROM orders WHERE enrollment_id = ?`, en.ID).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if r := c.post(web.OrdersPath+"/"+id+"/bought", url.Values{"csrf_token": {"forged"}}); r.status != http.StatusForbidden {
			t.Errorf("mark bought without the CSRF token: HTTP %d", r.status)
		}
		tok := c.csrf(web.OrdersPath)
		r = c.post(web.OrdersPath+"/"+id+"/bought", url.Values{"csrf_token": {tok}})
		if r.status != http.StatusSeeOther || r.location() != web.OrdersPath+"?done=bought" {
			t.Fatalf("mark bought: HTTP %d to %q: %s", r.status, r.location(), trim(r.body))
		}
		r = c.get(web.OrdersPath + "?done=bought")
		mustContain(t, "inbox after bought", r.body, "Marked as bought.", "Nothing to buy", "Recently bought")
		mustContain(t, "details after bought", c.get(web.PrinterPath(en.ID)).body, "Bought")

		// Another account's order is not found.
		c2 := e.client()
		c2.register("other@example.com", pw)
		if r := c2.post(web.OrdersPath+"/"+id+"/bought", url.Values{"csrf_token": {c2.csrf(web.OrdersPath)}}); r.status != http.StatusNotFound {
			t.Errorf("another account marks it: HTTP %d", r.status)
		}
	})
}

// TestSessionsPerAccount: a successful sign-in is not limited and every
// one made a web session kept 7 days, so a script signing in again and
// again grew web_sessions without bound. An account keeps
// store.MaxSessions; a sign-in beyond them ends the oldest, and the
// newest browsers stay signed in.
func TestSessionsPerAccount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, web.Options{})
		first := e.client()
		first.register("owner@example.com", pw)
		var last *client
		for range store.MaxSessions + 5 {
			last = e.client()
			tok := last.csrf(web.LoginPath)
			if r := last.post(web.LoginPath, url.Values{"csrf_token": {tok}, "email": {"owner@example.com"}, "password": {pw}}); r.status != http.StatusSeeOther {
				t.Fatalf("sign-in: HTTP %d: %s", r.status, trim(r.body))
			}
		}
		var n int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM web_sessions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != store.MaxSessions {
			t.Errorf("%d web sessions after %d sign-ins, want %d", n, store.MaxSessions+6, store.MaxSessions)
		}
		if r := last.get(web.SubscriptionsPath); r.status != http.StatusOK {
			t.Errorf("the newest browser: HTTP %d", r.status)
		}
		if r := first.get(web.SubscriptionsPath); r.status != http.StatusSeeOther {
			t.Errorf("the oldest browser is still signed in: HTTP %d", r.status)
		}
	})
}

// TestEnrollmentEventsBounded: pausing and resuming a printer in a loop
// added a "paused" and a "resumed" event at every request, kept forever,
// and View Printer Details read and showed them all. A printer keeps its
// "Enrolled" event and the store.MaxEnrollmentEvents latest.
func TestEnrollmentEventsBounded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, web.Options{})
		c := e.client()
		c.register("looper@example.com", pw)
		acct := mustAccountPW(t, e, "looper@example.com", pw)
		en, err := e.st.CreateEnrollment(context.Background(), acct, arsapi.CreateEnrollmentRequest{Provider: arsapi.ProviderCanon,
			TermsVersion: e.cat.Terms().Version, Printer: arsapi.Printer{Model: "TS8320", Serial: "LOOP1"}}, 15)
		if err != nil {
			t.Fatal(err)
		}
		path := web.PrinterPath(en.ID)
		tok := c.csrf(path + "/plan")
		for i := range store.MaxEnrollmentEvents + 20 {
			action := "pause"
			if i%2 == 1 {
				action = "resume"
			}
			if r := c.post(path+"/pause", url.Values{"csrf_token": {tok}, "action": {action}}); r.status != http.StatusSeeOther {
				t.Fatalf("%s: HTTP %d: %s", action, r.status, trim(r.body))
			}
		}
		var n, created int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*), SUM(CASE WHEN kind = 'created' THEN 1 ELSE 0 END)
			FROM enrollment_events WHERE enrollment_id = ?`, en.ID).Scan(&n, &created); err != nil {
			t.Fatal(err)
		}
		if n != store.MaxEnrollmentEvents+1 || created != 1 {
			t.Errorf("%d events (%d created) after %d pauses and resumes, want %d and the created one", n, created,
				store.MaxEnrollmentEvents+20, store.MaxEnrollmentEvents+1)
		}
		mustContain(t, "printer page", c.get(path).body, "Plan history", "Enrolled", "Ordering resumed")
	})
}
