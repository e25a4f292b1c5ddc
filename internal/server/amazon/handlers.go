package amazon

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// handleStart begins Login with Amazon for a pending amazon enrollment. The
// caller is the enrollment's owner, known from the signed start token in
// the link (see SignInURL); the route has no other authentication, so a
// request without a token is refused. It answers 302 to the LWA authorize URL
// with the parameters of "Using the LWA Web API" (Dash Replenishment):
// response_type=code, client_id, scope=dash:replenish, scope_data with
// device_model, serial and is_test_device, redirect_uri, state, and PKCE
// code_challenge (S256) as in "LWA Mobile SDK Overview". is_test_device is
// a JSON boolean, as in the "Test Device Purchases" sample request.
func (s *Service) handleStart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.URL.Query().Get("enrollment")
	if id == "" {
		s.page(w, http.StatusBadRequest, "Missing enrollment", "This link is incomplete: it names no enrollment. Open the link arsctl printed, or run `arsctl status` to get a new one.")
		return
	}
	tok := r.URL.Query().Get("token")
	if tok == "" {
		s.page(w, http.StatusUnauthorized, "Sign-in needed", "Open the sign-in link that arsctl printed for this printer; it identifies you.")
		return
	}
	c, err := s.seal.verifyStart(tok, s.cfg.Now())
	switch {
	case errors.Is(err, errExpiredStart):
		s.page(w, http.StatusGone, "Link expired", "This sign-in link has expired. Run `arsctl register` again (or `arsctl status --json` for the current link) to get a new one.")
		return
	case err != nil || c.EnrollmentID != id:
		s.page(w, http.StatusBadRequest, "Invalid link", "This sign-in link is not valid. Use the link arsctl printed, unchanged.")
		return
	}
	if err := s.st.UseAmazonStartToken(ctx, store.TokenHash(tok), c.Expires); errors.Is(err, store.ErrUsed) {
		s.page(w, http.StatusGone, "Link already used", "This sign-in link was already used. Each link works once: run `arsctl register` again to get a new one.")
		return
	} else if err != nil {
		s.internalError(w, r, "use start token", err)
		return
	}
	accountID := c.AccountID
	e, owner, err := s.st.LookupEnrollment(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && owner != accountID) {
		s.page(w, http.StatusNotFound, "No such enrollment", "There is no enrollment "+id+" in your account.")
		return
	} else if err != nil {
		s.internalError(w, r, "lookup enrollment", err)
		return
	}
	if e.Provider != arsapi.ProviderAmazon {
		s.page(w, http.StatusBadRequest, "Not an Amazon plan", "This printer's plan is not fulfilled by Amazon; there is nothing to sign in to.")
		return
	}
	switch e.State {
	case arsapi.StatePending:
	case arsapi.StateCancelled:
		s.page(w, http.StatusConflict, "Plan cancelled", "This plan was cancelled. Enroll the printer again to use Amazon Dash Replenishment.")
		return
	default:
		s.page(w, http.StatusOK, "Already set up", "This printer is already set up with Amazon Dash Replenishment. You can close this window.")
		return
	}

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
	s.log.InfoContext(ctx, "login with amazon started", "enrollment", id)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u.String(), http.StatusFound)
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
			msg = "You cancelled signing in with Amazon. The plan is still waiting; start again from a new link when ready."
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
	name := e.Printer.Label
	if name == "" {
		name = e.Printer.Model
	}
	s.page(w, http.StatusOK, "You're all set", "Your "+name+" will now order ink from Amazon when it runs low. You can close this window and return to the terminal.")
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}} · Auto Replenishment Service</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;line-height:1.5}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Text}}</p></body></html>
`))

func (s *Service) page(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, struct{ Title, Text string }{title, text})
}

func (s *Service) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.ErrorContext(r.Context(), "amazon handler failed", "step", what, "err", err)
	s.page(w, http.StatusInternalServerError, "Something went wrong", fmt.Sprintf("arsd could not complete this step (%s). Try again in a moment.", what))
}
