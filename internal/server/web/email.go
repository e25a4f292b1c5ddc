package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/notify"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// SettingsPath is the page of the account's settings: order emails and
// when ink is ordered.
const SettingsPath = notify.SettingsPath

// NotifyStore is what the email settings and one-click link pages need;
// *store.Store implements it.
type NotifyStore interface {
	NotifySettings(ctx context.Context, accountID string) (core.NotifySettings, error)
	SetNotifySettings(ctx context.Context, accountID string, ns core.NotifySettings) (core.NotifySettings, error)
	OrderAccount(ctx context.Context, orderID string) (string, error)
	GetOrder(ctx context.Context, accountID, orderID string) (arsapi.Order, error)
	UseLink(ctx context.Context, id, orderID string, expires time.Time) error
	ReleaseLink(ctx context.Context, id string) error
	LinkUsed(ctx context.Context, id string) (bool, error)
}

// OrderActions skips or ships a scheduled order of an account: what the
// one-click links of order emails do. ErrOrderNotOpen (store) when the
// order is no longer scheduled.
type OrderActions interface {
	SkipOrder(ctx context.Context, accountID, orderID string) (arsapi.Order, error)
	ShipOrder(ctx context.Context, accountID, orderID string) (arsapi.Order, error)
}

type settingsData struct {
	EmailOn   bool
	Email     string
	Sending   bool // the server has an SMTP server configured
	Saved     bool
	FieldErrs string
	// OrderSettings is the account's order settings form.
	OrderSettings orderSettingsView
}

func (w *Web) settings(rw http.ResponseWriter, req *request) {
	w.settingsPage(rw, req, http.StatusOK, orderSettingsView{})
}

// settingsPage writes the Settings page; an order settings form with an
// Action (as typed, with errors) replaces the saved one.
func (w *Web) settingsPage(rw http.ResponseWriter, req *request, status int, os orderSettingsView) {
	ns, err := w.st.NotifySettings(req.r.Context(), req.account.ID)
	if err != nil {
		w.internal(rw, req, "read your settings", err)
		return
	}
	if os.Action == "" {
		if os, err = w.orderSettings(req.r.Context(), req.account.ID, ""); err != nil {
			w.internal(rw, req, "read your settings", err)
			return
		}
	}
	done := req.r.URL.Query().Get("done")
	os.Saved = done == "orders"
	d := settingsData{EmailOn: ns.EmailOn, Email: ns.Email, Sending: w.opt.EmailSending, Saved: done == "saved", OrderSettings: os}
	p := page{Title: "Settings", Nav: "settings", Data: d, Errors: os.Errors}
	if d.Saved {
		p.Flash = "Your email settings are saved."
	}
	w.renderFor(rw, req, status, "settings", p)
}

func (w *Web) saveSettings(rw http.ResponseWriter, req *request) {
	f := req.r.PostForm
	on := f.Get("email_on")
	if on != "" && on != "on" {
		w.renderError(rw, req, http.StatusBadRequest, "Bad form", "The form could not be read. Go back and try again.")
		return
	}
	addr := strings.TrimSpace(f.Get("email"))
	ns := core.NotifySettings{EmailOn: on == "on", Email: addr}
	if _, err := w.st.SetNotifySettings(req.r.Context(), req.account.ID, ns); err != nil {
		var inv *core.InvalidAccountError
		if errors.As(err, &inv) {
			os, err := w.orderSettings(req.r.Context(), req.account.ID, "")
			if err != nil {
				w.internal(rw, req, "read your settings", err)
				return
			}
			d := settingsData{EmailOn: ns.EmailOn, Email: addr, Sending: w.opt.EmailSending, OrderSettings: os,
				FieldErrs: "Enter an email address like name@example.com, or leave it empty to use " + req.account.Email + "."}
			w.renderFor(rw, req, http.StatusUnprocessableEntity, "settings",
				page{Title: "Settings", Nav: "settings", Data: d, Errors: []string{d.FieldErrs}})
			return
		}
		w.internal(rw, req, "save your settings", err)
		return
	}
	w.log.InfoContext(req.r.Context(), "web: email settings saved", "account", req.account.ID, "email_on", ns.EmailOn)
	http.Redirect(rw, req.r, SettingsPath+"?done=saved", http.StatusSeeOther)
}

// --- one-click links of order emails ---

type linkData struct {
	Token   string
	Action  string // "skip" or "ship"
	Order   arsapi.Order
	Printer string
	Expires time.Time
	Done    bool
}

// linkHeaders keep the token out of Referer headers, caches and search
// engines.
func linkHeaders(rw http.ResponseWriter) {
	h := rw.Header()
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Robots-Tag", "noindex, nofollow")
}

// openLink parses and checks the {token} of a link request against its
// order's account, writing the error page when it does not hold. Forged,
// cross-account and unknown-order links all read "not valid".
func (w *Web) openLink(rw http.ResponseWriter, r *http.Request) (notify.Link, string, bool) {
	req := w.visitor(r)
	bad := func() (notify.Link, string, bool) {
		w.renderError(rw, req, http.StatusNotFound, "Link not valid",
			"This link is not valid. Use the link exactly as it came in the email, or manage the order from View Printer Details.")
		return notify.Link{}, "", false
	}
	if w.opt.Links == nil || w.opt.OrderActions == nil {
		return bad()
	}
	l, err := notify.ParseLink(r.PathValue("token"))
	if err != nil {
		return bad()
	}
	account, err := w.st.OrderAccount(r.Context(), l.OrderID)
	if errors.Is(err, core.ErrNotFound) {
		return bad()
	}
	if err != nil {
		w.internal(rw, req, "read the order", err)
		return notify.Link{}, "", false
	}
	switch err := w.opt.Links.Verify(l, account); {
	case errors.Is(err, notify.ErrLinkExpired):
		w.renderError(rw, req, http.StatusGone, "Link expired",
			"This link has expired: the order's hold is over, so it has been handed over. See the order on View Printer Details.")
		return notify.Link{}, "", false
	case err != nil:
		return bad()
	}
	used, err := w.st.LinkUsed(r.Context(), l.ID())
	if err != nil {
		w.internal(rw, req, "read the link", err)
		return notify.Link{}, "", false
	}
	if used {
		w.linkUsed(rw, req)
		return notify.Link{}, "", false
	}
	return l, account, true
}

func (w *Web) linkUsed(rw http.ResponseWriter, req *request) {
	w.renderError(rw, req, http.StatusConflict, "Link already used",
		"This link was already used; each link works once. See the order on View Printer Details.")
}

func (w *Web) linkPage(rw http.ResponseWriter, r *http.Request, status int, l notify.Link, account string, done bool) {
	req := w.visitor(r)
	o, err := w.st.GetOrder(r.Context(), account, l.OrderID)
	if err != nil {
		w.internal(rw, req, "read the order", err)
		return
	}
	d := linkData{Token: r.PathValue("token"), Action: l.Action.String(), Order: o, Expires: l.Expires, Done: done}
	if e, err := w.st.GetEnrollment(r.Context(), account, o.EnrollmentID); err == nil {
		d.Printer = printerTitle(e)
	}
	p := page{Title: "Confirm", Data: d}
	if !done {
		tok, err := w.anonCSRF(rw, r)
		if err != nil {
			w.internal(rw, req, "prepare the form", err)
			return
		}
		p.CSRF = tok
	}
	if req.account != nil {
		p.Account = req.account
	}
	w.render(rw, r, status, "link", p)
}

// linkConfirm shows what a link would do, with a button: a GET never
// acts, so mail scanners and link previews that fetch it change nothing.
func (w *Web) linkConfirm(rw http.ResponseWriter, r *http.Request) {
	linkHeaders(rw)
	l, account, ok := w.openLink(rw, r)
	if !ok {
		return
	}
	w.linkPage(rw, r, http.StatusOK, l, account, false)
}

// linkAct does what the link says, once, after the confirm page's POST
// with its double-submit token.
func (w *Web) linkAct(rw http.ResponseWriter, r *http.Request) {
	linkHeaders(rw)
	r.Body = http.MaxBytesReader(rw, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || !anonCSRFOK(r) {
		w.forbidden(rw, w.visitor(r))
		return
	}
	l, account, ok := w.openLink(rw, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if err := w.st.UseLink(ctx, l.ID(), l.OrderID, l.Expires); errors.Is(err, core.ErrLinkUsed) {
		w.linkUsed(rw, w.visitor(r))
		return
	} else if err != nil {
		w.internal(rw, w.visitor(r), "use the link", err)
		return
	}
	var err error
	if l.Action == notify.ActionSkip {
		_, err = w.opt.OrderActions.SkipOrder(ctx, account, l.OrderID)
	} else {
		_, err = w.opt.OrderActions.ShipOrder(ctx, account, l.OrderID)
	}
	switch {
	case err == nil:
		w.log.InfoContext(ctx, "web: order "+l.Action.String()+" by email link", "account", account, "order", l.OrderID)
		w.linkPage(rw, r, http.StatusOK, l, account, true)
	case errors.Is(err, core.ErrOrderNotOpen):
		w.renderError(rw, w.visitor(r), http.StatusConflict, "Order already handled",
			"This order is no longer waiting: it was skipped, shipped or handed over already. See it on View Printer Details.")
	default:
		// A passing failure: the link may be tried again.
		if rerr := w.st.ReleaseLink(context.WithoutCancel(ctx), l.ID()); rerr != nil {
			w.log.ErrorContext(ctx, "web: release link", "err", rerr)
		}
		w.internal(rw, w.visitor(r), l.Action.String()+" the order", err)
	}
}
