package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// orderSettingsView is the order settings form of the account (Settings
// page) or of one printer (View Printer Details).
type orderSettingsView struct {
	Action string // where the form posts
	// Printer is true on a printer's page: "" then means "as the account".
	Printer bool
	Policy  string // as set ("" inherits)
	Hold    string // as set, as typed ("" inherits)
	Eff     arsapi.EffectiveOrderSettings
	// Inherited is what a printer gets from its account (Printer only).
	Inherited arsapi.EffectiveOrderSettings
	// Default is the server's, which an account that set neither gets.
	Default arsapi.EffectiveOrderSettings
	Saved   bool
	Errors  []string
}

// HoldText is the hold window that applies, in words.
func (v orderSettingsView) HoldText() string { return holdWords(v.Eff.HoldMinutes) }

// InheritedHold is the hold window a printer gets from its account.
func (v orderSettingsView) InheritedHold() string { return holdWords(v.Inherited.HoldMinutes) }

// DefaultHold is the server's default hold window, in words.
func (v orderSettingsView) DefaultHold() string { return holdWords(v.Default.HoldMinutes) }

func holdWords(m int) string {
	if m == 0 {
		return "no hold"
	}
	return arsapi.HoldText(m)
}

// orderSettingsPath is where the order settings form of the account (id
// "") or of a printer posts.
func orderSettingsPath(id string) string {
	if id == "" {
		return SettingsPath + "/orders"
	}
	return PrinterPath(id) + "/order-settings"
}

// orderSettings reads the order settings form of the account (id "") or
// of one of its printers, through the core.
func (w *Web) orderSettings(ctx context.Context, accountID, id string) (orderSettingsView, error) {
	set, err := w.core.OrderSettings(ctx, accountID, id)
	if err != nil {
		return orderSettingsView{}, err
	}
	v := orderSettingsView{Action: orderSettingsPath(id), Printer: id != "", Policy: set.Policy, Default: w.core.DefaultOrderSettings()}
	if set.HoldMinutes != nil {
		v.Hold = arsapi.HoldText(*set.HoldMinutes)
		if *set.HoldMinutes == 0 {
			v.Hold = "0"
		}
	}
	if set.Effective != nil {
		v.Eff = *set.Effective
	}
	if id != "" {
		acct, err := w.core.OrderSettings(ctx, accountID, "")
		if err != nil {
			return orderSettingsView{}, err
		}
		if acct.Effective != nil {
			v.Inherited = *acct.Effective
		}
	}
	return v, nil
}

// readOrderSettingsForm reads the order settings form: policy "" (as the
// account, or the server's default) or a policy's name; hold "" (the
// same) or a hold window as arsapi.ParseHold reads it. The messages say
// what to fix.
func readOrderSettingsForm(f url.Values) (arsapi.OrderSettings, []string) {
	var (
		set  arsapi.OrderSettings
		errs []string
	)
	set.Policy = f.Get("policy")
	if set.Policy != "" && core.CheckOrderSettings(arsapi.OrderSettings{Policy: set.Policy}) != nil {
		errs = append(errs, "Choose an order policy from the list.")
	}
	if h := strings.TrimSpace(f.Get("hold")); h != "" {
		m, err := arsapi.ParseHold(h)
		if err != nil {
			errs = append(errs, "Enter the hold as a duration such as 24h, 90m or 2d (up to 14d), 0 for no hold, or leave it empty.")
		} else {
			set.HoldMinutes = &m
		}
	}
	return set, errs
}

// saveOrderSettings saves the order settings form of the account (id "")
// or of one of its printers through the core. It returns false, with the
// form as typed and what to fix, when the form is refused, and writes
// the error page on any other failure.
func (w *Web) saveOrderSettings(rw http.ResponseWriter, req *request, id string) (orderSettingsView, bool) {
	ctx := req.r.Context()
	set, errs := readOrderSettingsForm(req.r.PostForm)
	if errs == nil {
		_, err := w.core.SetOrderSettings(ctx, req.account.ID, id, set)
		var refused *arsapi.Problem
		switch {
		case errors.As(err, &refused):
			errs = []string{refused.Detail}
		case errors.Is(err, core.ErrNotFound):
			w.notFound(rw, req)
			return orderSettingsView{}, false
		case err != nil:
			w.internal(rw, req, "save the order settings", err)
			return orderSettingsView{}, false
		default:
			w.log.InfoContext(ctx, "web: order settings saved", "account", req.account.ID, "enrollment", id)
			return orderSettingsView{}, true
		}
	}
	v, err := w.orderSettings(ctx, req.account.ID, id)
	if err != nil {
		w.internal(rw, req, "read the order settings", err)
		return orderSettingsView{}, false
	}
	v.Policy, v.Hold, v.Errors = req.r.PostForm.Get("policy"), strings.TrimSpace(req.r.PostForm.Get("hold")), errs
	return v, false
}

func (w *Web) saveAccountOrderSettings(rw http.ResponseWriter, req *request) {
	v, ok := w.saveOrderSettings(rw, req, "")
	switch {
	case ok:
		http.Redirect(rw, req.r, SettingsPath+"?done=orders#order-settings", http.StatusSeeOther)
	case v.Action != "":
		w.settingsPage(rw, req, http.StatusUnprocessableEntity, v)
	}
}

func (w *Web) savePrinterOrderSettings(rw http.ResponseWriter, req *request) {
	e, ok := w.enrollment(rw, req)
	if !ok {
		return
	}
	v, ok := w.saveOrderSettings(rw, req, e.ID)
	switch {
	case ok:
		http.Redirect(rw, req.r, PrinterPath(e.ID)+"?done=settings#order-settings", http.StatusSeeOther)
	case v.Action != "":
		w.printerPage(rw, req, http.StatusUnprocessableEntity, e, &v)
	}
}

// settingFrom says where an order setting comes from, in words.
func settingFrom(from string) string {
	switch from {
	case arsapi.SettingFromPrinter:
		return "set for this printer"
	case arsapi.SettingFromAccount:
		return "set for the account"
	}
	return "the service's default"
}
