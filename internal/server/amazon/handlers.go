package amazon

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/arsctl/arsctl/internal/server/pagehead"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// The sign-in link is bound to the browser that opens it, and the owner
// sees what is being linked before leaving for Amazon:
//
//   - GET /v1/amazon/start (the link arsctl prints) checks the link and
//     shows which printer (model, masked serial) of which ARS account is
//     about to be linked to the Amazon account signed in next, with a
//     Continue button. A link sent to someone else shows the sender's
//     account, not theirs.
//   - POST /v1/amazon/start (Continue) carries a double-submit token (a
//     SameSite=Lax cookie set by the page and the same value in the form,
//     so another site cannot post it), spends the link, and answers the
//     redirect to Amazon together with a cookie bound to the LWA state
//     (an HMAC of it under a key derived from the token key).
//   - GET /v1/amazon/callback refuses a state without that cookie: an
//     Amazon authorization URL started by someone else and opened by a
//     victim signed in to Amazon comes back without it, so the victim's
//     Amazon grant cannot activate the other's enrollment.

const (
	startCSRFCookie = "ars_lwa_csrf"
	stateCookiePath = "/v1/amazon/"
)

// handleStart shows the confirmation page of a sign-in link.
func (s *Service) handleStart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, e, ok := s.startLink(w, r, q.Get("enrollment"), q.Get("token"))
	if !ok {
		return
	}
	csrf := ""
	if ck, err := r.Cookie(startCSRFCookie); err == nil && len(ck.Value) >= 32 && len(ck.Value) <= 128 {
		csrf = ck.Value
	} else {
		tok, err := store.RandomToken(32)
		if err != nil {
			s.internalError(w, r, "make form token", err)
			return
		}
		csrf = tok
		http.SetCookie(w, &http.Cookie{Name: startCSRFCookie, Value: csrf, Path: stateCookiePath,
			HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode})
	}
	account := c.AccountID
	if a, err := s.st.GetAccount(r.Context(), c.AccountID); err == nil {
		account = a.Email
	}
	s.html(w, http.StatusOK, "confirm", confirmPage{Title: "Link this printer to Amazon?", Printer: printerName(e.Printer),
		Serial: printer.MaskSerial(e.Printer.Serial), Account: account, Enrollment: e.ID, Token: q.Get("token"), CSRF: csrf})
}

// startLink checks a sign-in link (without spending it) and the
// enrollment it names: one of the link's account, with provider amazon,
// pending. Otherwise it answers and returns false.
func (s *Service) startLink(w http.ResponseWriter, r *http.Request, id, tok string) (startClaims, arsapi.Enrollment, bool) {
	ctx := r.Context()
	if id == "" {
		s.page(w, http.StatusBadRequest, "Missing enrollment", "This link is incomplete: it names no enrollment. Open the link arsctl printed, or run `arsctl status` to get a new one.")
		return startClaims{}, arsapi.Enrollment{}, false
	}
	if tok == "" {
		s.page(w, http.StatusUnauthorized, "Sign-in needed", "Open the sign-in link that arsctl printed for this printer; it identifies you.")
		return startClaims{}, arsapi.Enrollment{}, false
	}
	c, err := s.seal.verifyStart(tok, s.cfg.Now())
	switch {
	case errors.Is(err, errExpiredStart):
		s.page(w, http.StatusGone, "Link expired", "This sign-in link has expired. Run `arsctl register` again (or `arsctl status --json` for the current link) to get a new one.")
		return c, arsapi.Enrollment{}, false
	case err != nil || c.EnrollmentID != id:
		s.page(w, http.StatusBadRequest, "Invalid link", "This sign-in link is not valid. Use the link arsctl printed, unchanged.")
		return c, arsapi.Enrollment{}, false
	}
	e, owner, err := s.st.LookupEnrollment(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && owner != c.AccountID) {
		s.page(w, http.StatusNotFound, "No such enrollment", "There is no enrollment "+id+" in your account.")
		return c, e, false
	} else if err != nil {
		s.internalError(w, r, "lookup enrollment", err)
		return c, e, false
	}
	if e.Provider != arsapi.ProviderAmazon {
		s.page(w, http.StatusBadRequest, "Not an Amazon plan", "This printer's plan is not fulfilled by Amazon; there is nothing to sign in to.")
		return c, e, false
	}
	switch e.State {
	case arsapi.StatePending:
		return c, e, true
	case arsapi.StateCancelled:
		s.page(w, http.StatusConflict, "Plan cancelled", "This plan was cancelled. Enroll the printer again to use Amazon Dash Replenishment.")
	default:
		s.page(w, http.StatusOK, "Already set up", "This printer is already set up with Amazon Dash Replenishment. You can close this window.")
	}
	return c, e, false
}

// handleConfirm is the confirmation page's Continue: it spends the link
// and begins Login with Amazon. It answers 302 to the LWA authorize URL
// with the parameters of "Using the LWA Web API" (Dash Replenishment):
// response_type=code, client_id, scope=dash:replenish, scope_data with
// device_model, serial and is_test_device, redirect_uri, state, and PKCE
// code_challenge (S256) as in "LWA Mobile SDK Overview". is_test_device is
// a JSON boolean, as in the "Test Device Purchases" sample request.
func (s *Service) handleConfirm(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.page(w, http.StatusBadRequest, "Bad form", "The form could not be read. Open the link arsctl printed again.")
		return
	}
	ck, err := r.Cookie(startCSRFCookie)
	if got := r.PostForm.Get("csrf_token"); err != nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(ck.Value)) != 1 {
		s.page(w, http.StatusForbidden, "Form expired", "This form is out of date or did not come from this site, so nothing was started. Open the link arsctl printed again.")
		return
	}
	id, tok := r.PostForm.Get("enrollment"), r.PostForm.Get("token")
	c, e, ok := s.startLink(w, r, id, tok)
	if !ok {
		return
	}
	if err := s.st.UseAmazonStartToken(ctx, store.TokenHash(tok), c.Expires); errors.Is(err, store.ErrUsed) {
		s.page(w, http.StatusGone, "Link already used", "This sign-in link was already used: each link works once. To get a new one, run the same `arsctl register` again; it continues this printer's pending plan with a new link.")
		return
	} else if err != nil {
		s.internalError(w, r, "use start token", err)
		return
	}
	accountID := c.AccountID

	state, err := store.RandomToken(32)
	if err != nil {
		s.internalError(w, r, "make state", err)
		return
	}
	verifier, err := store.RandomToken(48) // 64 characters, within PKCE's 43..128
	if err != nil {
		s.internalError(w, r, "make verifier", err)
		return
	}
	sh := store.TokenHash(state)
	now := s.cfg.Now()
	if err := s.st.PutAmazonState(ctx, store.AmazonState{
		StateHash: sh, EnrollmentID: id, AccountID: accountID,
		Verifier: s.seal.seal(verifier, adVerifier(sh)), CreatedAt: now, ExpiresAt: now.Add(s.cfg.StateTTL),
	}); err != nil {
		s.internalError(w, r, "store state", err)
		return
	}
	scopeData, _ := json.Marshal(map[string]any{"dash:replenish": map[string]any{
		"device_model": s.cfg.DeviceModel, "serial": e.Printer.Serial, "is_test_device": s.cfg.TestDevice,
	}})
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id":             {s.cfg.ClientID},
		"scope":                 {"dash:replenish"},
		"scope_data":            {string(scopeData)},
		"response_type":         {"code"},
		"redirect_uri":          {s.RedirectURI()},
		"state":                 {state},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	u, err := url.Parse(s.cfg.AuthorizeURL)
	if err != nil {
		s.internalError(w, r, "authorize URL", err)
		return
	}
	u.RawQuery = q.Encode()
	http.SetCookie(w, s.stateCookie(state, s.cfg.StateTTL))
	s.log.InfoContext(ctx, "login with amazon started", "enrollment", id)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (s *Service) secure() bool { return strings.HasPrefix(s.cfg.PublicURL, "https://") }

// stateCookie binds an LWA state to this browser for maxAge (the state
// itself works once). Its name tells the states of one browser apart.
func (s *Service) stateCookie(state string, maxAge time.Duration) *http.Cookie {
	sum := sha256.Sum256([]byte(state))
	return &http.Cookie{Name: "ars_lwa_" + hex.EncodeToString(sum[:8]), Value: s.seal.bindState(state), Path: stateCookiePath,
		HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge / time.Second)}
}

// stateBound reports whether r comes from the browser that started state.
func (s *Service) stateBound(r *http.Request, state string) bool {
	c, err := r.Cookie(s.stateCookie(state, 0).Name)
	return err == nil && hmac.Equal([]byte(c.Value), []byte(s.seal.bindState(state)))
}

// handleCallback is the LWA redirect URI: it checks state (single use,
// bound to the enrollment, expiring), exchanges the code with the PKCE
// verifier at the token endpoint, stores the tokens sealed, and activates
// the enrollment.
func (s *Service) handleCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		s.page(w, http.StatusBadRequest, "Invalid sign-in answer", "Amazon's answer carries no state, so it cannot be matched to a printer. Start again from the link arsctl printed.")
		return
	}
	if !s.stateBound(r, state) {
		s.log.WarnContext(ctx, "login with amazon answer refused: not the browser that started it")
		s.page(w, http.StatusForbidden, "Sign-in started elsewhere",
			"This Amazon sign-in was not started in this browser, so it links nothing. If you did not just start linking a printer yourself, someone may be trying to use your Amazon account: close this page. Otherwise open the link arsctl printed, in this browser.")
		return
	}
	st, err := s.st.TakeAmazonState(ctx, store.TokenHash(state))
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.page(w, http.StatusBadRequest, "Unknown sign-in", "This sign-in answer does not belong to any sign-in started here. Start again from the link arsctl printed.")
		return
	case errors.Is(err, store.ErrUsed):
		s.page(w, http.StatusBadRequest, "Sign-in already completed", "This sign-in answer was already used. If your printer is not active yet, start again from a new link.")
		return
	case err != nil:
		s.internalError(w, r, "take state", err)
		return
	}
	if s.cfg.Now().After(st.ExpiresAt) {
		s.page(w, http.StatusBadRequest, "Sign-in expired", "This sign-in took too long and has expired. Start again from a new link (`arsctl register`).")
		return
	}
	if e := q.Get("error"); e != "" {
		msg := "Amazon did not complete the sign-in (" + e + "). The plan is still waiting; start again when ready."
		if e == "access_denied" {
			// arsctl, waiting for the plan to become active, sees it and
			// stops waiting.
			if err := s.st.DeclineAmazonState(ctx, st.StateHash); err != nil {
				s.internalError(w, r, "record the cancelled sign-in", err)
				return
			}
			msg = "You chose Cancel, so this printer is not linked to Amazon and nothing will be ordered. The plan stays pending: to link it, run the same `arsctl register` again, which gives a new link; to drop it, run `arsctl cancel`."
		}
		s.log.InfoContext(ctx, "login with amazon not completed", "enrollment", st.EnrollmentID, "error", e)
		s.page(w, http.StatusOK, "Sign-in not completed", msg)
		return
	}
	code := q.Get("code")
	if code == "" {
		s.page(w, http.StatusBadRequest, "Invalid sign-in answer", "Amazon's answer carries no authorization code.")
		return
	}
	verifier, err := s.seal.open(st.Verifier, adVerifier(st.StateHash))
	if err != nil {
		s.internalError(w, r, "open verifier", err)
		return
	}
	e, owner, err := s.st.LookupEnrollment(ctx, st.EnrollmentID)
	if err != nil || owner != st.AccountID {
		s.page(w, http.StatusNotFound, "No such enrollment", "The enrollment this sign-in was for no longer exists.")
		return
	}
	if e.State == arsapi.StateCancelled {
		s.page(w, http.StatusConflict, "Plan cancelled", "This plan was cancelled while you were signing in. Enroll the printer again.")
		return
	}
	t, err := s.tokenRequest(ctx, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {s.RedirectURI()},
		"code_verifier": {verifier},
	})
	if err != nil {
		s.log.WarnContext(ctx, "login with amazon code exchange failed", "enrollment", st.EnrollmentID, "err", err)
		s.page(w, http.StatusBadGateway, "Amazon sign-in failed", "Amazon did not accept the sign-in: "+err.Error()+". Start again from a new link.")
		return
	}
	if t.RefreshToken == "" {
		s.page(w, http.StatusBadGateway, "Amazon sign-in failed", "Amazon returned no refresh token, so orders could not be placed later.")
		return
	}
	now := s.cfg.Now()
	if err := s.st.PutAmazonLink(ctx, store.AmazonLink{
		EnrollmentID: st.EnrollmentID, AccountID: st.AccountID,
		DeviceModel: s.cfg.DeviceModel, Serial: e.Printer.Serial, TestDevice: s.cfg.TestDevice,
		AccessToken:     s.seal.seal(t.AccessToken, adAccess(st.EnrollmentID)),
		RefreshToken:    s.seal.seal(t.RefreshToken, adRefresh(st.EnrollmentID)),
		AccessExpiresAt: now.Add(time.Duration(t.ExpiresIn) * time.Second),
	}); err != nil {
		s.internalError(w, r, "store link", err)
		return
	}
	if err := s.st.ActivateEnrollment(ctx, st.EnrollmentID); errors.Is(err, store.ErrNotActive) {
		s.page(w, http.StatusConflict, "Plan cancelled", "This plan was cancelled while you were signing in. Enroll the printer again.")
		return
	} else if err != nil {
		s.internalError(w, r, "activate", err)
		return
	}
	s.log.InfoContext(ctx, "login with amazon completed; enrollment active", "enrollment", st.EnrollmentID)
	s.page(w, http.StatusOK, "You're all set", "Your printer "+printerName(e.Printer)+", serial "+printer.MaskSerial(e.Printer.Serial)+
		", will now order ink from Amazon when it runs low. You can close this window and return to the terminal.")
}

// printerName names a printer on the pages by its label and model,
// "2nd floor (TS5320)", or its model alone when it has no label.
func printerName(p arsapi.Printer) string {
	label := p.Label
	if label == "" {
		label = p.Nickname
	}
	if label == "" {
		return p.Model
	}
	return label + " (" + p.Model + ")"
}

var pageTmpl = template.Must(template.New("pages").Parse(`{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}} · Auto Replenishment Service</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;line-height:1.5}
button{font-size:1rem;padding:.4rem 1.2rem}</style>
</head><body><h1>{{.Title}}</h1>{{end}}
{{define "page"}}{{template "head" .}}<p>{{.Text}}</p></body></html>{{end}}
{{define "confirm"}}{{template "head" .}}
<p>You are about to let Amazon Dash Replenishment order ink for this printer with the Amazon account you sign in to next:</p>
<ul><li>Printer: <strong>{{.Printer}}</strong>, serial <strong>{{.Serial}}</strong></li>
<li>Auto Replenishment account: <strong>{{.Account}}</strong></li></ul>
<p>Continue only if this is your printer and you opened this link from arsctl yourself. Orders will be placed with, and paid from, the Amazon account you sign in to.</p>
<form method="post" action="/v1/amazon/start">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="enrollment" value="{{.Enrollment}}">
<input type="hidden" name="token" value="{{.Token}}">
<button type="submit" name="action" value="continue">Continue to Amazon</button></form></body></html>{{end}}`))

// confirmPage is what the confirmation page shows and posts.
type confirmPage struct {
	Title, Printer, Serial, Account string
	Enrollment, Token, CSRF         string
}

func (s *Service) page(w http.ResponseWriter, status int, title, text string) {
	s.html(w, status, "page", struct{ Title, Text string }{title, text})
}

// html renders a page with the headers of every arsd page; its forms may
// also lead to Amazon's authorization endpoint.
func (s *Service) html(w http.ResponseWriter, status int, name string, data any) {
	var amazonOrigin []string
	if u, err := url.Parse(s.cfg.AuthorizeURL); err == nil && u.Host != "" {
		amazonOrigin = append(amazonOrigin, u.Scheme+"://"+u.Host)
	}
	pagehead.Set(w.Header(), "no-referrer", amazonOrigin...)
	w.WriteHeader(status)
	_ = pageTmpl.ExecuteTemplate(w, name, data)
}

func (s *Service) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.ErrorContext(r.Context(), "amazon handler failed", "step", what, "err", err)
	s.page(w, http.StatusInternalServerError, "Something went wrong", fmt.Sprintf("arsd could not complete this step (%s). Try again in a moment.", what))
}
