package web_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/web"
	"github.com/arsctl/arsctl/internal/server/web/webtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// b drives one browser tab in a test.
type b struct {
	t   *testing.T
	ctx context.Context
	e   *env
}

func (b *b) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// load runs steps that lead to a new page and returns its HTTP status.
func (b *b) load(what string, steps ...chromedp.Action[chromedp.Void]) int64 {
	b.t.Helper()
	res, err := chromedp.RunResponse(b.ctx, steps...)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return res.Status
}

func (b *b) open(path string) int64 {
	b.t.Helper()
	return b.load("open "+path, chromedp.Navigate(b.e.url+path))
}

func (b *b) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *b) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, b.e.url)
}

func evalJS[T any](b *b, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (b *b) expectPage(h1 string) {
	b.t.Helper()
	if got := b.text("h1"); got != h1 {
		b.t.Fatalf("at %s the heading is %q, want %q; page: %s", b.path(), got, h1, b.text("main"))
	}
}

// shoot takes full-page screenshots at desktop (1280 px) and phone
// (375 px) widths, checks that the page fits the phone's width, and with
// ARS_UPDATE_SCREENSHOTS=1 writes them to docs/screenshots/.
func (b *b) shoot(name string) {
	b.t.Helper()
	for _, v := range []struct {
		suffix string
		w, h   int64
		opts   []chromedp.EmulateViewportOption
	}{
		{"desktop", 1280, 860, nil},
		{"phone", 375, 812, []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulateMobile}},
	} {
		b.do("set viewport", chromedp.EmulateViewport(v.w, v.h, v.opts...))
		if v.suffix == "phone" {
			if sw := evalJS[int](b, `document.documentElement.scrollWidth`); sw > 375 {
				b.t.Errorf("%s is %d px wide at a 375 px viewport: it scrolls sideways", name, sw)
			}
		}
		shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			b.t.Fatalf("screenshot %s: %v", name, err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(shot))
		if err != nil {
			b.t.Fatalf("screenshot %s is not a PNG: %v", name, err)
		}
		scale := int64(1)
		if v.suffix == "phone" {
			scale = 2
		}
		if int64(cfg.Width) != v.w*scale {
			b.t.Errorf("screenshot %s-%s is %d px wide, want %d", name, v.suffix, cfg.Width, v.w*scale)
		}
		file := name + "-" + v.suffix + ".png"
		dir := b.t.TempDir()
		if os.Getenv("ARS_UPDATE_SCREENSHOTS") == "1" {
			dir = filepath.Join("..", "..", "..", "docs", "screenshots")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, file), shot, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.do("reset viewport", chromedp.EmulateViewport(1280, 860))
}

// TestBrowser is the account pages' cancellation, done by a person in a real
// browser: register, sign in, see the printer enrolled through the API,
// open its details, fail to cancel without a reason, cancel with two, and
// check the result in the page and through the API. Then a second account
// cannot open the first one's printer, and a form without its CSRF token
// is refused.
func TestBrowser(t *testing.T) {
	webtest.Chromium(t)
	eachServer(t, func(t *testing.T, e *env) {
		br := &b{t: t, ctx: webtest.Browser(t), e: e}
		const email, password = "pat@example.com", "correct horse battery"
		// The pages work with JavaScript off: the page runs no script; the
		// test itself still inspects the page through DevTools.
		br.do("turn JavaScript off", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}))
		br.do("open a page with a script", chromedp.Navigate(`data:text/html,<title>off</title><script>document.title="on"</script>`))
		if title, err := chromedp.Run(br.ctx, chromedp.Title()); err != nil || title != "off" {
			t.Fatalf("JavaScript is not off: title %q, %v", title, err)
		}

		// Register in the page.
		if st := br.open(web.SubscriptionsPath); st != 200 || br.path() != "/login?next=%2Fsubscriptions" {
			t.Fatalf("signed out, My Subscriptions went to %s (HTTP %d)", br.path(), st)
		}
		br.expectPage("Login")
		br.load("go to Register", chromedp.Click(chromedp.CSS(`a[href^="/register"]`)))
		br.expectPage("Register")
		br.do("fill Register",
			chromedp.SendKeys(chromedp.ID("name"), "Pat Owner"),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.SendKeys(chromedp.ID("password_confirm"), password))
		if st := br.load("submit Register", chromedp.Click(chromedp.ID("register"))); st != 200 {
			t.Fatalf("Register answered HTTP %d: %s", st, br.text("main"))
		}
		br.expectPage("My Subscriptions")

		// Sign out and sign in again.
		br.load("Logout", chromedp.Click(chromedp.CSS(`.who button`)))
		br.expectPage("Login")
		br.do("fill Login", chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), "wrong password"))
		if st := br.load("wrong password", chromedp.Click(chromedp.ID("login"))); st != 401 {
			t.Errorf("wrong password answered HTTP %d", st)
		}
		if msg := br.text("#errors"); !strings.Contains(msg, "The email address or password is not right") {
			t.Errorf("wrong password message: %q", msg)
		}
		br.do("fill Login again", chromedp.SendKeys(chromedp.ID("password"), password))
		br.load("Login", chromedp.Click(chromedp.ID("login")))
		br.expectPage("My Subscriptions")

		// Printers enrolled through the API (arsctl's way).
		token := e.token(email, password)
		en := e.enroll(token, "TS8320", "KMBA01234", "Office")
		e.enroll(token, "TS6320", "ABCD98765", "Kitchen")

		// My Subscriptions → (under Auto Replenishment Service) See My Printers.
		br.open(web.SubscriptionsPath)
		if !strings.Contains(br.text("main"), "2 printers are enrolled") {
			t.Errorf("My Subscriptions: %q", br.text("main"))
		}
		br.load("See My Printers (left nav)", chromedp.Click(chromedp.CSS(`nav.side a[href="/subscriptions/printers"]`)))
		br.expectPage("See My Printers")
		card := br.text(`li[data-enrollment="` + en.ID + `"]`)
		for _, want := range []string{"TS8320", "Office", "••••1234", "Canon", "Active", "View Printer Details"} {
			if !strings.Contains(card, want) {
				t.Errorf("See My Printers card lacks %q: %q", want, card)
			}
		}
		if strings.Contains(br.text("main"), "KMBA01234") {
			t.Error("See My Printers shows a whole serial number")
		}
		br.shoot("see-my-printers")

		// View Printer Details: this arsd ships no canon orders, so the
		// order waits in the inbox.
		e.waitOrder(en.ID, arsapi.OrderUnfulfilled)
		br.load("View Printer Details", chromedp.Click(chromedp.CSS(`li[data-enrollment="`+en.ID+`"] a.button`)))
		br.expectPage("TS8320 “Office”")
		main := br.text("main")
		for _, want := range []string{"Ink levels", "Read from the printer", "Y (yellow)", "10%", "Low", "level unknown", "Orders", "Unfulfilled: waiting for you to buy", "Order inbox", "Plan history", "Manage Plan"} {
			if !strings.Contains(main, want) {
				t.Errorf("View Printer Details lacks %q", want)
			}
		}
		colours := evalJS[[]string](br, `[...document.querySelectorAll('.bar .fill')].map(e => getComputedStyle(e).backgroundColor)`)
		if !slices.Contains(colours, "rgb(255, 255, 0)") || !slices.Contains(colours, "rgb(0, 255, 255)") {
			t.Errorf("supply bar colours = %v, want yellow and cyan among them", colours)
		}
		br.shoot("printer-details")

		// Manage Plan → Cancel Plan with no reason: an error, nothing changes.
		br.load("Manage Plan", chromedp.Click(chromedp.ID("manage-plan")))
		br.expectPage("Manage Plan")
		if st := br.load("Cancel Plan without a reason", chromedp.Click(chromedp.ID("cancel-plan"))); st != 422 {
			t.Errorf("cancel without a reason answered HTTP %d", st)
		}
		if msg := br.text("#errors"); !strings.Contains(msg, "Select at least one reason") {
			t.Errorf("error shown = %q", msg)
		}
		if got := e.enrollment(token, en.ID); got.State != arsapi.StateActive || got.Cancellation != nil {
			t.Fatalf("after a refused cancel the enrollment is %s", got.State)
		}

		// Keyboard: Tab reaches the skip link first, focus is visible, and
		// Space ticks a reason.
		br.open(web.PrinterPath(en.ID) + "/plan")
		br.do("Tab", chromedp.KeyEvent("\t"))
		if got := evalJS[string](br, `document.activeElement.textContent`); got != "Skip to main content" {
			t.Errorf("first Tab focuses %q", got)
		}
		br.do("focus a reason, press Space", chromedp.Focus(chromedp.ID("reason-too-expensive")), chromedp.KeyEvent(" "))
		if outline := evalJS[string](br, `getComputedStyle(document.activeElement).outlineStyle`); outline != "solid" {
			t.Errorf("focused checkbox outline = %q, want a visible outline", outline)
		}
		br.do("tick a second reason", chromedp.Click(chromedp.CSS(`label[for="reason-printing-less"]`)))
		checked := evalJS[[]string](br, `[...document.querySelectorAll('input[name=reason]:checked')].map(e => e.value)`)
		if !slices.Equal(checked, []string{"too-expensive", "printing-less"}) {
			t.Fatalf("ticked reasons = %v", checked)
		}
		br.do("scroll to Cancel Plan", chromedp.Evaluate[chromedp.Void](`document.getElementById('cancel').scrollIntoView()`))
		br.shoot("cancel-form")

		if st := br.load("Cancel Plan", chromedp.Click(chromedp.ID("cancel-plan"))); st != 200 {
			t.Fatalf("Cancel Plan answered HTTP %d: %s", st, br.text("main"))
		}
		br.expectPage("Your plan is cancelled")
		conf := br.text("main")
		for _, want := range []string{"TS8320", "The ink costs too much", "I print less than before", "No more ink will be ordered"} {
			if !strings.Contains(conf, want) {
				t.Errorf("confirmation lacks %q: %q", want, conf)
			}
		}
		br.open(web.PrinterPath(en.ID))
		if st := br.text("#plan-state"); st != "Cancelled" {
			t.Errorf("details page state = %q", st)
		}
		got := e.enrollment(token, en.ID)
		if got.State != arsapi.StateCancelled || got.Cancellation == nil ||
			!slices.Equal(got.Cancellation.Reasons, []string{"too-expensive", "printing-less"}) {
			t.Errorf("GET /v1/enrollments/%s = state %s, cancellation %+v", en.ID, got.State, got.Cancellation)
		}

		// A second account cannot open the first one's printer.
		br.load("Logout", chromedp.Click(chromedp.CSS(`.who button`)))
		br.open(web.RegisterPath)
		br.do("fill Register",
			chromedp.SendKeys(chromedp.ID("email"), "sam@example.com"),
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.SendKeys(chromedp.ID("password_confirm"), password))
		br.load("Register", chromedp.Click(chromedp.ID("register")))
		br.expectPage("My Subscriptions")
		for _, p := range []string{web.PrinterPath(en.ID), web.PrinterPath(en.ID) + "/plan"} {
			if st := br.open(p); st != 404 {
				t.Errorf("second account opening %s: HTTP %d", p, st)
			}
			br.expectPage("Printer not found")
		}

		// A form posted without its CSRF token is refused.
		sam := mustAccountPW(t, e, "sam@example.com", password)
		mine, err := e.st.CreateEnrollment(context.Background(), sam, arsapi.CreateEnrollmentRequest{
			Provider: arsapi.ProviderCanon, TermsVersion: e.cat.Terms().Version,
			Printer: arsapi.Printer{Model: "TS5320", Serial: "ZZZZ55555"},
		}, e.cat.DefaultThreshold())
		if err != nil {
			t.Fatal(err)
		}
		br.open(web.PrinterPath(mine.ID) + "/plan")
		br.do("drop the CSRF token, tick a reason",
			chromedp.Evaluate[chromedp.Void](`document.querySelector('#cancel-form input[name=csrf_token]').remove()`),
			chromedp.Click(chromedp.CSS(`label[for="reason-too-expensive"]`)))
		if st := br.load("Cancel Plan without CSRF token", chromedp.Click(chromedp.ID("cancel-plan"))); st != 403 {
			t.Errorf("form without CSRF token answered HTTP %d", st)
		}
		br.expectPage("Form expired")
		if got, err := e.st.GetEnrollment(context.Background(), sam, mine.ID); err != nil || got.State != arsapi.StateActive {
			t.Errorf("after the refused form: %s, %v", got.State, err)
		}

		// About this service shows the terms and the version agreed.
		br.open(web.AboutPath + "?printer=" + mine.ID)
		if a := br.text("#agreed"); !strings.Contains(a, "version "+e.cat.Terms().Version) {
			t.Errorf("About this service: %q", a)
		}
		if logs := e.log.String(); strings.Contains(logs, password) || !strings.Contains(logs, "enrollment cancelled") {
			t.Errorf("server log has a password, or lacks the cancellation:\n%s", logs)
		}
	})
}

// eachServer runs fn against a whole arsd on SQLite and on PostgreSQL.
func eachServer(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newServerEnv(t, filepath.Join(t.TempDir(), "arsd.db"))) })
	t.Run("postgres", func(t *testing.T) { fn(t, newServerEnv(t, dbtest.PostgresDSN(t))) })
}

func mustAccountPW(t *testing.T, e *env, email, password string) string {
	t.Helper()
	a, err := e.st.CheckPassword(context.Background(), email, password)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// enrolledOwner makes an account with one printer enrolled with Canon.
func (e *env) enrolledOwner(t *testing.T, email, password, name string, p arsapi.Printer) (arsapi.Account, arsapi.Enrollment) {
	t.Helper()
	ctx := context.Background()
	a, err := e.st.CreateAccount(ctx, email, password, name)
	if err != nil {
		t.Fatal(err)
	}
	en, err := e.st.CreateEnrollment(ctx, a.ID, arsapi.CreateEnrollmentRequest{Provider: arsapi.ProviderCanon,
		TermsVersion: e.cat.Terms().Version, Printer: p}, 15)
	if err != nil {
		t.Fatal(err)
	}
	return a, en
}

// signedIn opens a browser and signs in on the Login page as a person
// would; it lands on My Subscriptions.
func (e *env) signedIn(t *testing.T, email, password string) *b {
	t.Helper()
	br := &b{t: t, ctx: webtest.Browser(t), e: e}
	br.open(web.LoginPath)
	br.do("fill Login", chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), password))
	br.load("Login", chromedp.Click(chromedp.ID("login")))
	br.expectPage("My Subscriptions")
	return br
}
