package web

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arsctl/arsctl/internal/server/authn"
	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/levelchart"
	"github.com/arsctl/arsctl/internal/server/pagehead"
	"github.com/arsctl/arsctl/internal/server/password"
	"github.com/arsctl/arsctl/internal/server/reorder"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

var funcs = template.FuncMap{
	"settingFrom": settingFrom,
	"mask":        maskSerial,
	"lastFour":    lastFour,
	"provider":    arsapi.Provider.Title,
	"state":       stateName,
	"orderState":  arsapi.OrderState.Title,
	"title":       printerTitle,
	"printerURL":  PrinterPath,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2 Jan 2006, 15:04 UTC")
	},
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"event": eventName,
	"paragraphs": func(s string) []string {
		var out []string
		for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	},
}

// eventName is the wording of an enrollment history entry.
func eventName(kind string) string {
	switch kind {
	case "created":
		return "Enrolled"
	case "activated":
		return "Activated"
	case "paused":
		return "Ordering paused"
	case "resumed":
		return "Ordering resumed"
	case "threshold":
		return "Low-ink threshold changed"
	case "cancelled":
		return "Plan cancelled"
	}
	if kind == "" {
		return "Changed"
	}
	return strings.ToUpper(kind[:1]) + kind[1:]
}

func parseTemplates() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("web template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

func (w *Web) render(rw http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := w.tmpl[name]
	if !ok {
		w.log.ErrorContext(r.Context(), "web: no template", "name", name)
		http.Error(rw, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		w.log.ErrorContext(r.Context(), "web: render", "template", name, "err", err)
		http.Error(rw, "internal error", http.StatusInternalServerError)
		return
	}
	// A page that set no-referrer (the one-click link pages, whose URL is
	// a secret) keeps it.
	ref := "same-origin"
	if rw.Header().Get("Referrer-Policy") == "no-referrer" {
		ref = "no-referrer"
	}
	pagehead.Set(rw.Header(), ref)
	rw.WriteHeader(status)
	_, _ = rw.Write(buf.Bytes())
}

// renderFor renders a page for req: with the signed-in account, and its
// session's CSRF token, when there is one.
func (w *Web) renderFor(rw http.ResponseWriter, req *request, status int, name string, p page) {
	if req.account != nil {
		p.Account, p.CSRF = req.account, req.sess.CSRFToken
	}
	w.render(rw, req.r, status, name, p)
}

// Page renders body, a page of another part of arsd (the authorization
// server's device and consent pages), in the account pages' layout: the
// same title, header, stylesheet and footer, with the signed-in account
// when there is one. A Referrer-Policy of no-referrer already set on rw
// is kept.
func (w *Web) Page(rw http.ResponseWriter, r *http.Request, status int, title string, body template.HTML) {
	w.renderFor(rw, w.visitor(r), status, "shell", page{Title: title, Data: body})
}

func (w *Web) renderError(rw http.ResponseWriter, req *request, status int, title, msg string) {
	w.renderFor(rw, req, status, "error", page{Title: title, Data: msg})
}

func (w *Web) home(rw http.ResponseWriter, r *http.Request) {
	if _, ok := w.AccountID(r); ok {
		http.Redirect(rw, r, SubscriptionsPath, http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, LoginPath, http.StatusSeeOther)
}

// --- sign in, register, sign out ---

type authForm struct {
	Next  string
	Email string
	Name  string
	Flash string
}

func nextOf(r *http.Request) string {
	next := r.FormValue("next")
	if !localPath(next) {
		return ""
	}
	return next
}

func (w *Web) loginForm(rw http.ResponseWriter, r *http.Request) {
	next := nextOf(r)
	if _, ok := w.AccountID(r); ok {
		http.Redirect(rw, r, cmp.Or(next, SubscriptionsPath), http.StatusSeeOther)
		return
	}
	f := authForm{Next: next}
	if r.URL.Query().Get("signed_out") == "1" {
		f.Flash = "You are signed out."
	}
	w.renderAuth(rw, r, http.StatusOK, "login", "Login", f, nil)
}

func (w *Web) renderAuth(rw http.ResponseWriter, r *http.Request, status int, name, title string, f authForm, errs []string) {
	tok, err := w.anonCSRF(rw, r)
	if err != nil {
		w.internal(rw, w.visitor(r), "show the form", err)
		return
	}
	w.render(rw, r, status, name, page{Title: title, CSRF: tok, Errors: errs, Flash: f.Flash, Data: f})
}

func (w *Web) parseAnonForm(rw http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(rw, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		w.renderError(rw, w.visitor(r), http.StatusBadRequest, "Bad form", "The form could not be read. Go back and try again.")
		return false
	}
	if !anonCSRFOK(r) {
		w.forbidden(rw, w.visitor(r))
		return false
	}
	return true
}

const badLogin = "The email address or password is not right. Check them and try again, or register to create an account."

func (w *Web) login(rw http.ResponseWriter, r *http.Request) {
	if !w.parseAnonForm(rw, r) {
		return
	}
	ctx := r.Context()
	email, pass := r.PostForm.Get("email"), r.PostForm.Get("password")
	f := authForm{Next: nextOf(r), Email: strings.TrimSpace(email)}
	if strings.TrimSpace(email) == "" || pass == "" {
		w.renderAuth(rw, r, http.StatusUnprocessableEntity, "login", "Login", f, []string{"Enter your email address and your password."})
		return
	}
	addr := authn.ClientAddr(r, w.opt.TrustProxy)
	acct := accountKey(email)
	pair, ipKey, acctKey := "signin:"+acct+"@"+addr, "signin-ip:"+addr, "signin-account:"+acct
	err := w.st.TakeAttempt(ctx,
		core.Limit{Key: pair, Max: w.opt.LoginFailuresPerAccountAddress, Window: w.opt.LoginWindow},
		core.Limit{Key: ipKey, Max: w.opt.LoginFailuresPerAddress, Window: w.opt.LoginWindow},
		core.Limit{Key: acctKey, Max: w.opt.LoginFailuresPerAccount, Window: w.opt.LoginWindow, Spacing: w.opt.LoginSlowdown})
	var limited *core.LimitedError
	if errors.As(err, &limited) {
		w.log.WarnContext(ctx, "web: sign-in rate limited", "ip", addr, "budget", strings.SplitN(limited.Key, ":", 2)[0])
		w.tooMany(rw, r, "login", "Login", f, limited.RetryAfter, "Too many failed sign-in attempts. For your security, wait %s and try again.")
		return
	}
	if err != nil {
		w.internal(rw, w.visitor(r), "check your sign-in", err)
		return
	}
	a, err := w.st.CheckPassword(ctx, email, pass)
	if errors.Is(err, core.ErrBadCredentials) {
		// The attempt stays taken: it was a failure.
		w.renderAuth(rw, r, http.StatusUnauthorized, "login", "Login", f, []string{badLogin})
		return
	}
	if err != nil {
		// Not the visitor's failure: give the attempt back.
		if rerr := w.st.ReturnAttempt(ctx, pair, ipKey, acctKey); rerr != nil {
			w.log.WarnContext(ctx, "web: return sign-in attempt", "err", rerr)
		}
		if errors.Is(err, password.ErrBusy) {
			w.busy(rw, r, "login", "Login", f)
			return
		}
		w.internal(rw, w.visitor(r), "check your sign-in", err)
		return
	}
	if err := w.st.ResetAttempts(ctx, pair); err != nil {
		w.log.WarnContext(ctx, "web: clear sign-in attempts", "err", err)
	}
	if err := w.st.ReturnAttempt(ctx, ipKey, acctKey); err != nil {
		w.log.WarnContext(ctx, "web: return sign-in attempt", "err", err)
	}
	if err := w.startSession(rw, r, a.ID); err != nil {
		w.internal(rw, w.visitor(r), "sign you in", err)
		return
	}
	w.log.InfoContext(ctx, "web: signed in", "account", a.ID)
	http.Redirect(rw, r, cmp.Or(f.Next, SubscriptionsPath), http.StatusSeeOther)
}

// tooMany answers 429 with the sign-in or register form and msg, whose
// %s is the wait ("15 minutes", "10 seconds").
func (w *Web) tooMany(rw http.ResponseWriter, r *http.Request, name, title string, f authForm, wait time.Duration, msg string) {
	secs := int(math.Ceil(wait.Seconds()))
	rw.Header().Set("Retry-After", strconv.Itoa(secs))
	in := fmt.Sprintf("%d seconds", secs)
	if secs > 90 {
		in = fmt.Sprintf("%d minutes", (secs+59)/60)
	}
	w.renderAuth(rw, r, http.StatusTooManyRequests, name, title, f, []string{fmt.Sprintf(msg, in)})
}

// busy answers 503 when every password hashing turn stayed taken.
func (w *Web) busy(rw http.ResponseWriter, r *http.Request, name, title string, f authForm) {
	rw.Header().Set("Retry-After", strconv.Itoa(busyRetryAfter))
	w.renderAuth(rw, r, http.StatusServiceUnavailable, name, title, f, []string{"Many people are signing in right now. Try again in a few seconds."})
}

// busyRetryAfter is the Retry-After, in seconds, of an answer refused
// because every password hashing turn was taken.
const busyRetryAfter = 2

func (w *Web) registerForm(rw http.ResponseWriter, r *http.Request) {
	w.renderAuth(rw, r, http.StatusOK, "register", "Register", authForm{Next: nextOf(r)}, nil)
}

func (w *Web) register(rw http.ResponseWriter, r *http.Request) {
	if !w.parseAnonForm(rw, r) {
		return
	}
	ctx := r.Context()
	f := authForm{Next: nextOf(r), Email: strings.TrimSpace(r.PostForm.Get("email")), Name: strings.TrimSpace(r.PostForm.Get("name"))}
	pass := r.PostForm.Get("password")
	if pass != r.PostForm.Get("password_confirm") {
		w.renderAuth(rw, r, http.StatusUnprocessableEntity, "register", "Register", f, []string{"The two passwords are not the same. Type the same password twice."})
		return
	}
	// The sign-up is counted before the account is made, in one atomic
	// step, so that concurrent requests cannot all see room for one more.
	signup := "signup:" + authn.ClientAddr(r, w.opt.TrustProxy)
	err := w.st.TakeAttempt(ctx, core.Limit{Key: signup, Max: w.opt.SignupsPerAddress, Window: w.opt.LoginWindow})
	var limited *core.LimitedError
	if errors.As(err, &limited) {
		w.tooMany(rw, r, "register", "Register", f, limited.RetryAfter, "Too many accounts were created from your network just now. Wait %s and try again.")
		return
	}
	if err != nil {
		w.internal(rw, w.visitor(r), "create your account", err)
		return
	}
	a, err := w.st.CreateAccount(ctx, f.Email, pass, f.Name)
	if err != nil {
		// No account was made: give the sign-up back.
		if rerr := w.st.ReturnAttempt(ctx, signup); rerr != nil {
			w.log.WarnContext(ctx, "web: return sign-up", "err", rerr)
		}
	}
	var inv *core.InvalidAccountError
	switch {
	case errors.As(err, &inv):
		msg := inv.Reason
		switch inv.Field {
		case "email":
			msg = "Email address: " + msg + "."
		case "password":
			msg = "Password: " + msg + "."
		case "name":
			msg = "Name: " + msg + "."
		}
		w.renderAuth(rw, r, http.StatusUnprocessableEntity, "register", "Register", f, []string{msg})
		return
	case errors.Is(err, core.ErrEmailTaken):
		w.renderAuth(rw, r, http.StatusConflict, "register", "Register", f, []string{"An account with this email address already exists. Login instead."})
		return
	case errors.Is(err, password.ErrBusy):
		w.busy(rw, r, "register", "Register", f)
		return
	case err != nil:
		w.internal(rw, w.visitor(r), "create your account", err)
		return
	}
	if err := w.startSession(rw, r, a.ID); err != nil {
		w.internal(rw, w.visitor(r), "sign you in", err)
		return
	}
	w.log.InfoContext(ctx, "web: account created", "account", a.ID)
	http.Redirect(rw, r, cmp.Or(f.Next, SubscriptionsPath), http.StatusSeeOther)
}

func (w *Web) logout(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		w.renderError(rw, w.visitor(r), http.StatusBadRequest, "Bad form", "The form could not be read.")
		return
	}
	sess, id, ok := w.session(r)
	if ok {
		if !tokenEqual(r.PostForm.Get(csrfField), sess.CSRFToken) {
			w.forbidden(rw, w.visitorAs(r, sess))
			return
		}
		if err := w.st.DeleteSession(r.Context(), id); err != nil {
			// Read again: whether the session is gone is not known.
			w.internal(rw, w.visitor(r), "sign you out", err)
			return
		}
	}
	http.SetCookie(rw, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: w.isSecure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(rw, r, LoginPath+"?signed_out=1", http.StatusSeeOther)
}

// --- My Subscriptions, See My Printers ---

// allEnrollments lists the account's enrollments without their supplies:
// the pages that list printers show no levels, and an account may have
// thousands of printers of 64 supplies each.
func (w *Web) allEnrollments(ctx context.Context, accountID string) ([]arsapi.Enrollment, error) {
	var out []arsapi.Enrollment
	f := core.ListFilter{Limit: 200, NoSupplies: true}
	for range 50 {
		l, err := w.st.ListEnrollments(ctx, accountID, f)
		if err != nil {
			return nil, err
		}
		out = append(out, l.Items...)
		if l.NextCursor == "" {
			break
		}
		f.Cursor = l.NextCursor
	}
	// Live plans first, then cancelled ones; newest first within each.
	slices.SortStableFunc(out, func(a, b arsapi.Enrollment) int {
		ac, bc := a.State == arsapi.StateCancelled, b.State == arsapi.StateCancelled
		if ac != bc {
			if ac {
				return 1
			}
			return -1
		}
		return b.CreatedAt.Compare(a.CreatedAt)
	})
	return out, nil
}

type subscriptionsData struct {
	Live, Cancelled int
}

func (w *Web) subscriptions(rw http.ResponseWriter, req *request) {
	es, err := w.allEnrollments(req.r.Context(), req.account.ID)
	if err != nil {
		w.internal(rw, req, "list your printers", err)
		return
	}
	var d subscriptionsData
	for _, e := range es {
		if e.State == arsapi.StateCancelled {
			d.Cancelled++
		} else {
			d.Live++
		}
	}
	w.renderFor(rw, req, http.StatusOK, "subscriptions", page{Title: "My Subscriptions", Nav: "subscriptions", Data: d})
}

func (w *Web) printers(rw http.ResponseWriter, req *request) {
	es, err := w.allEnrollments(req.r.Context(), req.account.ID)
	if err != nil {
		w.internal(rw, req, "list your printers", err)
		return
	}
	w.renderFor(rw, req, http.StatusOK, "printers", page{Title: "See My Printers", Nav: "printers", Data: es})
}

// --- View Printer Details ---

type supplyView struct {
	Name       string
	Kind       string // what a supply that is not ordered is, e.g. "waste tank"
	Level      int
	Known      bool
	Low        bool
	Width      int
	Background template.CSS
	LevelText  string
	// Forecast says when the supply will be empty (ink and toner only).
	Forecast string
}

var hexColor = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)

func supplyViews(e arsapi.Enrollment) []supplyView {
	var out []supplyView
	for _, s := range e.Supplies {
		v := supplyView{Name: supplyName(s), Level: s.Level, Known: s.Known()}
		var cols []string
		for _, c := range s.Colors {
			if hexColor.MatchString(c) {
				cols = append(cols, strings.ToLower(c))
			}
		}
		switch len(cols) {
		case 0:
			v.Background = "#6b7280"
		case 1:
			v.Background = template.CSS(cols[0])
		default:
			v.Background = template.CSS("linear-gradient(to right, " + strings.Join(cols, ", ") + ")")
		}
		switch {
		case !s.Reorderable():
			// A waste tank, drum or other part: what it is and its level
			// ("34% full"); it is never ordered, so never "Low".
			v.Kind = s.KindLabel()
			v.LevelText = s.LevelText()
			if v.Known {
				v.Width = s.Level
			}
			if v.LevelText == "unknown" {
				v.LevelText = "level unknown"
			}
		case v.Known:
			v.Width = s.Level
			v.LevelText = strconv.Itoa(s.Level) + "%"
			v.Low = reorder.Low(s, e.Threshold)
		case s.State != "":
			v.LevelText = s.State + ", the printer says (exact level unknown)"
			v.Low = reorder.Low(s, e.Threshold)
		case s.Level == printer.LevelSomeRemaining:
			v.LevelText = "some ink remaining (exact level unknown)"
		default:
			v.LevelText = "level unknown"
		}
		out = append(out, v)
	}
	return out
}

// chartDays is how far back View Printer Details draws the level history.
const chartDays = 90

// chartView is one supply's level chart: inline SVG drawn by levelchart
// (which escapes every text and admits only #RRGGBB colours) and its text
// alternative.
type chartView struct {
	Name    string
	SVG     template.HTML
	Summary string
}

// chartViews draws the charts of the supplies that are ordered (not waste
// tanks), in the printer's order.
func chartViews(e arsapi.Enrollment, lh arsapi.LevelHistory, now time.Time) []chartView {
	bySupply := map[string]arsapi.SupplyHistory{}
	for _, h := range lh.Supplies {
		bySupply[h.Name] = h
	}
	var out []chartView
	for i, s := range e.Supplies {
		h, ok := bySupply[s.Name]
		if !ok || !s.Reorderable() {
			continue
		}
		in := levelchart.Input{ID: fmt.Sprintf("chart-%d", i), Name: supplyName(s), Readings: h.Readings,
			Forecast: h.Forecast, Now: now, Since: now.Add(-chartDays * 24 * time.Hour), Low: e.Threshold}
		if s.Low > 0 {
			in.Low = s.Low
		}
		if len(s.Colors) > 0 {
			in.Color = s.Colors[0]
		}
		out = append(out, chartView{Name: in.Name, SVG: template.HTML(levelchart.SVG(in)), Summary: levelchart.Summary(in)})
	}
	return out
}

func supplyName(s printer.Supply) string {
	name := s.Name
	if s.ColorName != "" && !strings.Contains(strings.ToLower(name), strings.ToLower(s.ColorName)) {
		name += " (" + s.ColorName + ")"
	}
	return name
}

type printerData struct {
	E        arsapi.Enrollment
	Supplies []supplyView
	Charts   []chartView
	Orders   []arsapi.Order
	History  []core.EnrollmentEvent
	Reasons  []string // labels of the cancellation reasons
	// Done is the action just taken on an order ("skipped", "shipped").
	Done string
	// OrderSettings is the printer's order settings form.
	OrderSettings orderSettingsView
}

// enrollment reads the {id} enrollment of the signed-in account, writing
// 404 when it is not theirs.
func (w *Web) enrollment(rw http.ResponseWriter, req *request) (arsapi.Enrollment, bool) {
	e, err := w.st.GetEnrollment(req.r.Context(), req.account.ID, req.r.PathValue("id"))
	if errors.Is(err, core.ErrNotFound) {
		w.notFound(rw, req)
		return e, false
	}
	if err != nil {
		w.internal(rw, req, "read the printer", err)
		return e, false
	}
	return e, true
}

func (w *Web) reasonLabels(ids []string) []string {
	var out []string
	for _, id := range ids {
		if r, ok := w.cat.Reason(id); ok {
			out = append(out, r.Label)
		} else {
			out = append(out, id)
		}
	}
	return out
}

func (w *Web) printer(rw http.ResponseWriter, req *request) {
	e, ok := w.enrollment(rw, req)
	if !ok {
		return
	}
	w.printerPage(rw, req, http.StatusOK, e, nil)
}

// printerPage writes View Printer Details of e; os, when not nil, is the
// order settings form as typed, with its errors.
func (w *Web) printerPage(rw http.ResponseWriter, req *request, status int, e arsapi.Enrollment, os *orderSettingsView) {
	ctx := req.r.Context()
	orders, err := w.st.ListOrders(ctx, req.account.ID, e.ID, "", 50)
	if err != nil {
		w.internal(rw, req, "list the orders", err)
		return
	}
	hist, err := w.st.EnrollmentHistory(ctx, req.account.ID, e.ID)
	if err != nil {
		w.internal(rw, req, "read the history", err)
		return
	}
	if e.State == arsapi.StatePending && e.Provider == arsapi.ProviderAmazon && w.opt.AmazonSignInURL != nil {
		e.AmazonSignInURL = w.opt.AmazonSignInURL(e.ID, req.account.ID)
	}
	leave, ok := w.history.Enter(ctx, authn.HistoryKey)
	if !ok {
		if ctx.Err() == nil {
			rw.Header().Set("Retry-After", "1")
			w.renderError(rw, req, http.StatusServiceUnavailable, "Busy",
				"Too many printer pages are being prepared right now. Reload this page in a moment.")
		}
		return
	}
	lh, err := w.st.LevelHistory(ctx, req.account.ID, e.ID, time.Now().Add(-chartDays*24*time.Hour))
	if err != nil {
		leave()
		w.internal(rw, req, "read the level history", err)
		return
	}
	d := printerData{E: e, Supplies: supplyViews(e), Charts: chartViews(e, lh, time.Now()), Orders: orders.Items, History: hist,
		Done: req.r.URL.Query().Get("done")}
	// The turn ends once the charts are drawn, before the page is sent: a
	// browser that does not read it holds its own connection only.
	leave()
	for i, sh := range lh.Supplies {
		if i < len(d.Supplies) && i < len(e.Supplies) && e.Supplies[i].Name == sh.Name && e.Supplies[i].Reorderable() {
			d.Supplies[i].Forecast = sh.Forecast.Text()
		}
	}
	if e.Cancellation != nil {
		d.Reasons = w.reasonLabels(e.Cancellation.Reasons)
	}
	if os != nil {
		d.OrderSettings = *os
	} else if d.OrderSettings, err = w.orderSettings(ctx, req.account.ID, e.ID); err != nil {
		w.internal(rw, req, "read the order settings", err)
		return
	}
	if d.Done == "settings" {
		d.OrderSettings.Saved, d.Done = true, ""
	}
	w.renderFor(rw, req, status, "printer", page{Title: "View Printer Details", Nav: "printers", Data: d, Errors: d.OrderSettings.Errors})
}

// --- Manage Plan, Cancel Plan ---

type planData struct {
	E        arsapi.Enrollment
	Reasons  []reasonView
	Comment  string
	HasOther bool
	// Errors of one form, shown next to it: Section is "threshold" or
	// "cancel".
	Section string
	Errors  []string
}

type reasonView struct {
	arsapi.CancelReason
	Checked bool
}

func (w *Web) planPage(rw http.ResponseWriter, req *request, status int, e arsapi.Enrollment, section string, checked []string, comment string, errs []string) {
	d := planData{E: e, Comment: comment, Section: section, Errors: errs}
	for _, r := range w.cat.CancelReasons() {
		d.Reasons = append(d.Reasons, reasonView{CancelReason: r, Checked: slices.Contains(checked, r.ID)})
		if r.TakesComment {
			d.HasOther = true
		}
	}
	p := page{Title: "Manage Plan", Nav: "printers", Data: d}
	switch req.r.URL.Query().Get("done") {
	case "threshold":
		p.Flash = fmt.Sprintf("Saved: ink is ordered when a supply falls to %d%%.", e.Threshold)
	case "paused":
		p.Flash = "Ordering is paused. No ink is ordered until you resume."
	case "resumed":
		p.Flash = "Ordering is resumed."
	}
	w.renderFor(rw, req, status, "plan", p)
}

func (w *Web) plan(rw http.ResponseWriter, req *request) {
	e, ok := w.enrollment(rw, req)
	if !ok {
		return
	}
	if e.State == arsapi.StateCancelled {
		http.Redirect(rw, req.r, PrinterPath(e.ID), http.StatusSeeOther)
		return
	}
	w.planPage(rw, req, http.StatusOK, e, "", nil, "", nil)
}

func (w *Web) setThreshold(rw http.ResponseWriter, req *request) {
	e, ok := w.enrollment(rw, req)
	if !ok {
		return
	}
	badNumber := fmt.Sprintf("Enter a whole number from %d to %d.", core.MinThreshold, core.MaxThreshold)
	n, err := strconv.Atoi(strings.TrimSpace(req.r.PostForm.Get("threshold")))
	if err != nil {
		w.planPage(rw, req, http.StatusUnprocessableEntity, e, "threshold", nil, "", []string{badNumber})
		return
	}
	_, err = w.core.SetThreshold(req.r.Context(), req.account.ID, e.ID, n)
	var refused *arsapi.Problem
	if errors.As(err, &refused) {
		w.planPage(rw, req, http.StatusUnprocessableEntity, e, "threshold", nil, "", []string{badNumber})
		return
	}
	if w.changeFailed(rw, req, e, err) {
		return
	}
	http.Redirect(rw, req.r, PrinterPath(e.ID)+"/plan?done=threshold", http.StatusSeeOther)
}

func (w *Web) setPaused(rw http.ResponseWriter, req *request) {
	e, ok := w.enrollment(rw, req)
	if !ok {
		return
	}
	var paused bool
	switch req.r.PostForm.Get("action") {
	case "pause":
		paused = true
	case "resume":
	default:
		w.renderError(rw, req, http.StatusBadRequest, "Bad form", "The form could not be read. Go back and try again.")
		return
	}
	if _, err := w.core.SetPaused(req.r.Context(), req.account.ID, e.ID, paused); w.changeFailed(rw, req, e, err) {
		return
	}
	done := "resumed"
	if paused {
		done = "paused"
	}
	http.Redirect(rw, req.r, PrinterPath(e.ID)+"/plan?done="+done, http.StatusSeeOther)
}

func (w *Web) changeFailed(rw http.ResponseWriter, req *request, _ arsapi.Enrollment, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, core.ErrNotFound):
		w.notFound(rw, req)
	case errors.Is(err, core.ErrNotActive):
		w.renderError(rw, req, http.StatusConflict, "Plan not active",
			"This plan is cancelled or still waiting for its Amazon sign-in, so it cannot be changed.")
	default:
		w.internal(rw, req, "change the plan", err)
	}
	return true
}

func (w *Web) cancel(rw http.ResponseWriter, req *request) {
	ctx := req.r.Context()
	e, ok := w.enrollment(rw, req)
	if !ok {
		return
	}
	reasons := req.r.PostForm["reason"]
	comment := req.r.PostForm.Get("comment")
	ce, err := w.core.Cancel(ctx, req.account.ID, e.ID, arsapi.CancelRequest{Reasons: reasons, Comment: comment})
	var refused *arsapi.Problem
	switch {
	case errors.As(err, &refused):
		w.planPage(rw, req, http.StatusUnprocessableEntity, e, "cancel", reasons, comment, []string{cancelRefusal(refused)})
		return
	case errors.Is(err, core.ErrNotActive):
		http.Redirect(rw, req.r, PrinterPath(e.ID), http.StatusSeeOther)
		return
	case errors.Is(err, core.ErrInvalid):
		w.planPage(rw, req, http.StatusUnprocessableEntity, e, "cancel", reasons, comment, []string{invalidText(err)})
		return
	case w.changeFailed(rw, req, e, err):
		return
	}
	e = ce
	http.Redirect(rw, req.r, PrinterPath(e.ID)+"/cancelled", http.StatusSeeOther)
}

// cancelRefusal is the core's refusal of a cancellation as a sentence
// for the form.
func cancelRefusal(p *arsapi.Problem) string {
	switch p.Code {
	case arsapi.CodeNoReason:
		return "Select at least one reason for cancelling the plan."
	case arsapi.CodeUnknownReason:
		return "One of the reasons is not on the list any more. Reload the page and choose again."
	case arsapi.CodeInvalid:
		// The one invalid cancellation: a reason that takes a comment
		// without one.
		return "You chose Other: tell us your reason in the comment box."
	}
	return invalidText(p)
}

// invalidText is a core.ErrInvalid error as a sentence for a form:
// "comment is longer than 2000 bytes" becomes "Comment is longer than
// 2000 bytes."
func invalidText(err error) string {
	msg := core.InvalidDetail(err)
	if msg == "" {
		return "The form is not valid."
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

func (w *Web) cancelled(rw http.ResponseWriter, req *request) {
	e, ok := w.enrollment(rw, req)
	if !ok {
		return
	}
	if e.State != arsapi.StateCancelled || e.Cancellation == nil {
		http.Redirect(rw, req.r, PrinterPath(e.ID), http.StatusSeeOther)
		return
	}
	d := printerData{E: e, Reasons: w.reasonLabels(e.Cancellation.Reasons)}
	w.renderFor(rw, req, http.StatusOK, "cancelled", page{Title: "Plan cancelled", Nav: "printers", Data: d})
}

// --- About this service ---

type aboutData struct {
	Terms   arsapi.Terms
	Printer *arsapi.Enrollment
	// Models are the eligible models, with the series their printers
	// report.
	Models []arsapi.Model
}

func (w *Web) about(rw http.ResponseWriter, r *http.Request) {
	req := w.visitor(r)
	d := aboutData{Terms: w.cat.Terms(), Models: w.cat.Models()}
	if id := r.URL.Query().Get("printer"); id != "" && req.sess.AccountID != "" {
		e, err := w.st.GetEnrollment(r.Context(), req.sess.AccountID, id)
		switch {
		case errors.Is(err, core.ErrNotFound):
			w.notFound(rw, req)
			return
		case err != nil:
			w.internal(rw, req, "read the printer", err)
			return
		}
		d.Printer = &e
	}
	w.renderFor(rw, req, http.StatusOK, "about", page{Title: "About this service", Nav: "about", Data: d})
}

// --- Order inbox ---

type inboxData struct {
	Waiting []inboxOrder
	Bought  []inboxOrder
}

type inboxOrder struct {
	arsapi.Order
	Printer string // the printer's title, "" when its enrollment is unknown
}

// orderInbox lists the orders no fulfiller took (waiting for the owner
// to buy the ink) and the last ones marked bought.
func (w *Web) orderInbox(rw http.ResponseWriter, req *request) {
	ctx := req.r.Context()
	es, err := w.allEnrollments(ctx, req.account.ID)
	if err != nil {
		w.internal(rw, req, "list your printers", err)
		return
	}
	titles := make(map[string]string, len(es))
	for _, e := range es {
		titles[e.ID] = printerTitle(e)
	}
	view := func(state arsapi.OrderState, limit int) ([]inboxOrder, error) {
		l, err := w.st.ListAccountOrders(ctx, req.account.ID, state, "", limit)
		var out []inboxOrder
		for _, o := range l.Items {
			out = append(out, inboxOrder{Order: o, Printer: titles[o.EnrollmentID]})
		}
		return out, err
	}
	var d inboxData
	if d.Waiting, err = view(arsapi.OrderUnfulfilled, 200); err == nil {
		d.Bought, err = view(arsapi.OrderBought, 10)
	}
	if err != nil {
		w.internal(rw, req, "list your orders", err)
		return
	}
	p := page{Title: "Order inbox", Nav: "orders", Data: d}
	if req.r.URL.Query().Get("done") == "bought" {
		p.Flash = "Marked as bought."
	}
	w.renderFor(rw, req, http.StatusOK, "orders", p)
}

// holdAction skips a scheduled order or ships it now (the form's path
// says which), then shows its printer's page.
func (w *Web) holdAction(rw http.ResponseWriter, req *request) {
	ctx := req.r.Context()
	id := req.r.PathValue("id")
	skip := strings.HasSuffix(req.r.URL.Path, "/skip")
	act, done := w.st.ShipOrder, "shipped"
	if skip {
		act, done = w.st.SkipOrder, "skipped"
	}
	o, err := act(ctx, req.account.ID, id)
	switch {
	case errors.Is(err, core.ErrNotFound):
		w.notFound(rw, req)
		return
	case errors.Is(err, core.ErrOrderNotOpen):
		w.renderError(rw, req, http.StatusConflict, "Order no longer scheduled",
			"This order's hold is over (it was handed over) or it was skipped, so it can no longer be skipped or shipped early.")
		return
	case err != nil:
		w.internal(rw, req, "change the order", err)
		return
	}
	w.log.InfoContext(ctx, "web: order "+done, "account", req.account.ID, "order", id)
	http.Redirect(rw, req.r, PrinterPath(o.EnrollmentID)+"?done="+done+"#orders-heading", http.StatusSeeOther)
}

func (w *Web) markBought(rw http.ResponseWriter, req *request) {
	id := req.r.PathValue("id")
	_, err := w.st.MarkOrderBought(req.r.Context(), req.account.ID, id)
	switch {
	case errors.Is(err, core.ErrNotFound):
		w.notFound(rw, req)
		return
	case errors.Is(err, core.ErrOrderNotOpen):
		w.renderError(rw, req, http.StatusConflict, "Order not in the inbox",
			"This order is not waiting for you to buy it (it was shipped, failed or cancelled), so it cannot be marked bought.")
		return
	case err != nil:
		w.internal(rw, req, "mark the order bought", err)
		return
	}
	w.log.InfoContext(req.r.Context(), "web: order marked bought", "account", req.account.ID, "order", id)
	http.Redirect(rw, req.r, OrdersPath+"?done=bought", http.StatusSeeOther)
}
