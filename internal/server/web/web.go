// Package web serves arsd's account pages: sign in, register, and the
// path to cancelling a plan (My Subscriptions → See My Printers →
// View Printer Details → Manage Plan → Cancel Plan), plus "About this
// service". Pages are server-rendered with html/template from embedded
// files and work without JavaScript.
//
// Sessions live in the database (only a hash of the session ID is kept),
// so every arsd replica sharing it serves the same signed-in browser.
// Every form carries a synchronizer token: the session's CSRF token when
// signed in, a double-submit cookie on the sign-in and register forms.
package web

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/arsctl/arsctl/internal/server/authn"
	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/internal/server/notify"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Cookie names.
const (
	SessionCookie = "ars_session"
	csrfCookie    = "ars_csrf" // double-submit token of the signed-out forms
	csrfField     = "csrf_token"
)

// Store is the persistence the pages read and their accounts, sessions
// and budgets; *store.Store implements it. Enrollments change through
// the core (Options.Core) only.
type Store interface {
	core.Accounts
	core.Sessions
	core.Limits
	core.EnrollmentReader
	core.OwnerOrders
	OrderActions
	NotifyStore
}

// Catalogue gives the terms and the cancel reasons; *catalogue.Catalogue
// implements it.
type Catalogue interface {
	Terms() arsapi.Terms
	Models() []arsapi.Model
	CancelReasons() []arsapi.CancelReason
	Reason(id string) (arsapi.CancelReason, bool)
}

// Options are the pages' dependencies and settings. Store and Catalogue
// are required.
type Options struct {
	Store     Store
	Catalogue Catalogue
	Logger    *slog.Logger
	// PublicURL is the server's public base URL; when it is https the
	// session cookie is Secure (it is also Secure on any TLS request).
	PublicURL string
	// SessionTTL is how long a sign-in lasts. Default 7 days.
	SessionTTL time.Duration
	// HistoryReads is how many printer pages (with their level charts
	// and forecasts) are built at once, over all accounts (0: two per
	// CPU); HistoryWait how long one waits for a turn (default 10 s).
	HistoryReads int
	HistoryWait  time.Duration
	// Sign-in limits. A password is checked only after an attempt is
	// taken, in one atomic step, from three budgets of LoginWindow
	// (default 15 minutes) that open at their first attempt:
	//   - the account (by email address) from one client address:
	//     LoginFailuresPerAccountAddress (default 5), then that address
	//     is refused for that account until the window closes;
	//   - one client address over all accounts: LoginFailuresPerAddress
	//     (default 20), then that address is refused;
	//   - the account from every address: LoginFailuresPerAccount
	//     (default 10), then the account is slowed down to one check
	//     every LoginSlowdown (default 10 seconds), never locked, so
	//     that no one can lock the owner out.
	// A successful sign-in gives its attempt back and clears the budget
	// of its account from its address.
	LoginWindow                    time.Duration
	LoginFailuresPerAccountAddress int
	LoginFailuresPerAddress        int
	LoginFailuresPerAccount        int
	LoginSlowdown                  time.Duration
	// SignupsPerAddress limits accounts created from one client address
	// within LoginWindow. Default 10.
	SignupsPerAddress int
	// TrustProxy takes the client address from the last X-Forwarded-For
	// entry (only behind a trusted load balancer).
	TrustProxy bool
	// Core applies the enrollment rules; nil builds one on Store (which
	// must then be a core.Store, as *store.Store is), Catalogue (a
	// *catalogue.Catalogue), Logger and Deregisterer (without metrics).
	Core *core.Service
	// Deregisterer is the core's when Core is nil.
	Deregisterer fulfil.Deregisterer
	// AmazonSignInURL, when set, gives the Login with Amazon link shown
	// for a pending amazon enrollment.
	AmazonSignInURL func(enrollmentID, accountID string) string
	// Links checks the one-click links of order emails; with OrderActions
	// it serves them (LinkPath).
	Links        *notify.Signer
	OrderActions OrderActions
	// EmailSending says the server sends order emails (an SMTP server is
	// configured); the settings page says so when it does not.
	EmailSending bool
}

// Web is the account web pages.
type Web struct {
	opt    Options
	st     Store
	cat    Catalogue
	log    *slog.Logger
	core   *core.Service
	tmpl   map[string]*template.Template
	secure bool
	gate   *authn.Gate
	// history bounds the printer pages being built at once.
	history *authn.Gate
}

// New checks the options and parses the templates.
func New(o Options) (*Web, error) {
	if o.Store == nil || o.Catalogue == nil {
		return nil, errors.New("web: Store and Catalogue are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Core == nil {
		cs, okStore := o.Store.(core.Store)
		cat, okCat := o.Catalogue.(core.Catalogue)
		if !okStore || !okCat {
			return nil, errors.New("web: Core is required with this Store and Catalogue")
		}
		c, err := core.New(core.Config{Store: cs, Catalogue: cat, Logger: o.Logger, Deregisterer: o.Deregisterer})
		if err != nil {
			return nil, err
		}
		o.Core = c
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&o.SessionTTL, 7*24*time.Hour)
	def(&o.LoginWindow, 15*time.Minute)
	defInt(&o.LoginFailuresPerAccountAddress, 5)
	defInt(&o.LoginFailuresPerAddress, 20)
	defInt(&o.LoginFailuresPerAccount, 10)
	def(&o.LoginSlowdown, 10*time.Second)
	defInt(&o.SignupsPerAddress, 10)
	w := &Web{opt: o, st: o.Store, cat: o.Catalogue, log: o.Logger, core: o.Core,
		gate:    &authn.Gate{PerAccount: pagesPerAccount, Wait: pageTurnWait},
		history: authn.HistoryReads(o.HistoryReads, cmp.Or(o.HistoryWait, 10*time.Second))}
	if u, err := url.Parse(o.PublicURL); err == nil && u.Scheme == "https" {
		w.secure = true
	}
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	w.tmpl = t
	return w, nil
}

// Paths of the pages.
const (
	LoginPath         = "/login"
	RegisterPath      = "/register"
	LogoutPath        = "/logout"
	SubscriptionsPath = "/subscriptions"
	PrintersPath      = "/subscriptions/printers"
	// OrdersPath is the order inbox: orders no fulfiller took, waiting
	// for the owner to buy the ink and mark them bought.
	OrdersPath = "/subscriptions/orders"
	AboutPath  = "/about"
)

// PrinterPath is the View Printer Details page of an enrollment.
func PrinterPath(id string) string { return PrintersPath + "/" + url.PathEscape(id) }

// Routes registers the pages on mux.
func (w *Web) Routes(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	mux.HandleFunc("GET /{$}", w.home)
	mux.HandleFunc("GET "+LoginPath, w.loginForm)
	mux.HandleFunc("POST "+LoginPath, w.login)
	mux.HandleFunc("GET "+RegisterPath, w.registerForm)
	mux.HandleFunc("POST "+RegisterPath, w.register)
	mux.HandleFunc("POST "+LogoutPath, w.logout)
	mux.HandleFunc("GET "+AboutPath, w.about)
	mux.HandleFunc("GET "+SubscriptionsPath, w.signedIn(w.subscriptions))
	mux.HandleFunc("GET "+PrintersPath, w.signedIn(w.printers))
	mux.HandleFunc("GET "+PrintersPath+"/{id}", w.signedIn(w.printer))
	mux.HandleFunc("GET "+PrintersPath+"/{id}/plan", w.signedIn(w.plan))
	mux.HandleFunc("POST "+PrintersPath+"/{id}/threshold", w.signedInPost(w.setThreshold))
	mux.HandleFunc("POST "+PrintersPath+"/{id}/pause", w.signedInPost(w.setPaused))
	mux.HandleFunc("POST "+PrintersPath+"/{id}/order-settings", w.signedInPost(w.savePrinterOrderSettings))
	mux.HandleFunc("POST "+PrintersPath+"/{id}/cancel", w.signedInPost(w.cancel))
	mux.HandleFunc("GET "+PrintersPath+"/{id}/cancelled", w.signedIn(w.cancelled))
	mux.HandleFunc("GET "+OrdersPath, w.signedIn(w.orderInbox))
	mux.HandleFunc("POST "+OrdersPath+"/{id}/bought", w.signedInPost(w.markBought))
	mux.HandleFunc("POST "+OrdersPath+"/{id}/skip", w.signedInPost(w.holdAction))
	mux.HandleFunc("POST "+OrdersPath+"/{id}/ship", w.signedInPost(w.holdAction))
	mux.HandleFunc("GET "+SettingsPath, w.signedIn(w.settings))
	mux.HandleFunc("POST "+SettingsPath, w.signedInPost(w.saveSettings))
	mux.HandleFunc("POST "+SettingsPath+"/orders", w.signedInPost(w.saveAccountOrderSettings))
	mux.HandleFunc("GET "+notify.LinkPath+"{token}", w.linkConfirm)
	mux.HandleFunc("POST "+notify.LinkPath+"{token}", w.linkAct)
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(rw, r)
	})
}

// AccountID returns the account a browser request is signed in as.
func (w *Web) AccountID(r *http.Request) (string, bool) {
	s, _, ok := w.session(r)
	if !ok {
		return "", false
	}
	return s.AccountID, true
}

// Session returns the account a browser request is signed in as and the
// ID of its session (a secret: the cookie's value). The OAuth consent
// step and the device page use it, and bind their forms to the session.
func (w *Web) Session(r *http.Request) (accountID, sessionID string, ok bool) {
	s, id, ok := w.session(r)
	if !ok {
		return "", "", false
	}
	return s.AccountID, id, true
}

// LoginURL is the sign-in page returning to next (a local path) afterwards.
func LoginURL(next string) string {
	if next == "" || !localPath(next) {
		return LoginPath
	}
	return LoginPath + "?next=" + url.QueryEscape(next)
}

// session returns the request's live session and its ID.
func (w *Web) session(r *http.Request) (core.Session, string, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return core.Session{}, "", false
	}
	s, err := w.st.GetSession(r.Context(), c.Value)
	if err != nil {
		if !errors.Is(err, core.ErrNotFound) {
			w.log.ErrorContext(r.Context(), "read session", "err", err)
		}
		return core.Session{}, "", false
	}
	return s, c.Value, true
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string // which nav entry is current
	Account *arsapi.Account
	CSRF    string
	Flash   string
	Errors  []string
	Data    any
}

// request is a page request and who made it. sess is the live session
// (the zero Session when no one is signed in); account is its account,
// nil when no one is signed in or the account could not be read. The
// pages behind signedIn and signedInPost always have both.
type request struct {
	r       *http.Request
	sess    core.Session
	account *arsapi.Account
}

type handler func(rw http.ResponseWriter, req *request)

// signedIn runs h with the request's account, or sends the browser to sign in.
func (w *Web) signedIn(h handler) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		sess, _, ok := w.session(r)
		if !ok {
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				next = PrintersPath
			}
			http.Redirect(rw, r, LoginURL(next), http.StatusSeeOther)
			return
		}
		leave, ok := w.enter(rw, r, sess)
		if !ok {
			return
		}
		defer leave()
		req, ok := w.loadRequest(rw, r, sess)
		if !ok {
			return
		}
		h(rw, req)
	}
}

// signedInPost is signedIn for forms: it also checks the CSRF token.
func (w *Web) signedInPost(h handler) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(rw, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			w.renderError(rw, w.visitor(r), http.StatusBadRequest, "Bad form", "The form could not be read. Go back and try again.")
			return
		}
		sess, _, ok := w.session(r)
		if !ok {
			// Without a session there is nothing to act for; a stale tab
			// signs in again and is sent back to the page it came from.
			w.forbidden(rw, &request{r: r})
			return
		}
		if !tokenEqual(r.PostForm.Get(csrfField), sess.CSRFToken) {
			w.forbidden(rw, w.visitorAs(r, sess))
			return
		}
		leave, ok := w.enter(rw, r, sess)
		if !ok {
			return
		}
		defer leave()
		req, ok := w.loadRequest(rw, r, sess)
		if !ok {
			return
		}
		h(rw, req)
	}
}

// Pages of one account that are made at once, and how long one waits for
// a turn (see authn.Gate): a printer's page draws a chart of each supply.
const (
	pagesPerAccount = 4
	pageTurnWait    = 30 * time.Second
)

// enter waits for a turn of the session's account; without one in time it
// answers 429.
func (w *Web) enter(rw http.ResponseWriter, r *http.Request, sess core.Session) (func(), bool) {
	leave, ok := w.gate.Enter(r.Context(), sess.AccountID)
	if !ok && r.Context().Err() == nil {
		rw.Header().Set("Retry-After", "1")
		w.renderError(rw, &request{r: r, sess: sess}, http.StatusTooManyRequests, "Too many pages at once",
			"This account has many pages loading at once. Wait a moment and reload.")
	}
	return leave, ok
}

// loadRequest reads the account of the request's session, already read.
func (w *Web) loadRequest(rw http.ResponseWriter, r *http.Request, sess core.Session) (*request, bool) {
	a, err := w.st.GetAccount(r.Context(), sess.AccountID)
	if err != nil {
		w.internal(rw, &request{r: r}, "read account", err)
		return nil, false
	}
	return &request{r: r, sess: sess, account: &a}, true
}

// visitor reads who made r, for a page that anyone may see.
func (w *Web) visitor(r *http.Request) *request {
	sess, _, ok := w.session(r)
	if !ok {
		return &request{r: r}
	}
	return w.visitorAs(r, sess)
}

// visitorAs is visitor for a session already read.
func (w *Web) visitorAs(r *http.Request, sess core.Session) *request {
	req := &request{r: r, sess: sess}
	if a, err := w.st.GetAccount(r.Context(), sess.AccountID); err == nil {
		req.account = &a
	}
	return req
}

func tokenEqual(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (w *Web) forbidden(rw http.ResponseWriter, req *request) {
	w.renderError(rw, req, http.StatusForbidden, "Form expired",
		"This form is out of date or did not come from this site, so nothing was changed. Go back, reload the page and try again.")
}

func (w *Web) internal(rw http.ResponseWriter, req *request, what string, err error) {
	w.log.ErrorContext(req.r.Context(), "web: "+what, "err", err)
	w.renderError(rw, req, http.StatusInternalServerError, "Something went wrong",
		"The service could not "+what+". Try again in a moment.")
}

func (w *Web) notFound(rw http.ResponseWriter, req *request) {
	w.renderError(rw, req, http.StatusNotFound, "Printer not found",
		"There is no printer at this address in your account.")
}

// setSessionCookie gives the browser a new session for the account.
func (w *Web) startSession(rw http.ResponseWriter, r *http.Request, accountID string) error {
	// A new session ID at every sign-in (no fixation); drop the old one.
	if _, old, ok := w.session(r); ok {
		_ = w.st.DeleteSession(r.Context(), old)
	}
	id, _, err := w.st.CreateSession(r.Context(), accountID, w.opt.SessionTTL)
	if err != nil {
		return err
	}
	http.SetCookie(rw, &http.Cookie{
		Name: SessionCookie, Value: id, Path: "/",
		MaxAge:   int(w.opt.SessionTTL / time.Second),
		HttpOnly: true, Secure: w.isSecure(r), SameSite: http.SameSiteLaxMode,
	})
	return nil
}

func (w *Web) isSecure(r *http.Request) bool { return w.secure || r.TLS != nil }

// anonCSRF returns the double-submit token of the signed-out forms,
// setting its cookie when the browser has none.
func (w *Web) anonCSRF(rw http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 128 {
		return c.Value, nil
	}
	tok, err := core.RandomToken(32)
	if err != nil {
		return "", err
	}
	http.SetCookie(rw, &http.Cookie{
		Name: csrfCookie, Value: tok, Path: "/",
		HttpOnly: true, Secure: w.isSecure(r), SameSite: http.SameSiteLaxMode,
	})
	return tok, nil
}

func anonCSRFOK(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	return err == nil && tokenEqual(r.PostForm.Get(csrfField), c.Value)
}

// localPath reports whether next is a path on this site (no scheme, no
// host, no "//" or "/\" that browsers treat as another host).
func localPath(next string) bool {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return false
	}
	if strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return false
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	u, err := url.Parse(next)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

// accountKey names the account of an email address in attempt budgets,
// whether or not it exists, without storing the address itself.
func accountKey(email string) string {
	norm, err := core.NormalizeEmail(email)
	if err != nil {
		norm = strings.ToLower(strings.TrimSpace(email))
	}
	h := sha256.Sum256([]byte(norm))
	return hex.EncodeToString(h[:16])
}

// maskSerial shows only the last four characters of a serial number.
// maskSerial is printer.MaskSerial's rule (Canon's serial doubles as the
// printer's admin password: only the last four characters of a longer one
// are shown, and they hide the length), with bullets: "••••1234".
func maskSerial(serial string) string {
	m := []rune(printer.MaskSerial(serial))
	for i := 0; i < len(m) && i < 4; i++ {
		m[i] = '•'
	}
	return string(m)
}

// lastFour is what the mask shows, for screen readers ("ending in 1234").
func lastFour(serial string) string {
	r := []rune(serial)
	if len(r) <= 4 {
		return "••••"
	}
	return string(r[len(r)-4:])
}

func stateName(s arsapi.EnrollmentState) string {
	switch s {
	case arsapi.StatePending:
		return "Waiting for Amazon sign-in"
	case arsapi.StateActive:
		return "Active"
	case arsapi.StatePaused:
		return "Paused"
	case arsapi.StateCancelled:
		return "Cancelled"
	}
	return string(s)
}

func printerTitle(e arsapi.Enrollment) string {
	if e.Printer.Label != "" {
		return fmt.Sprintf("%s (%s)", e.Printer.Label, e.Printer.Model)
	}
	return e.Printer.Model
}
