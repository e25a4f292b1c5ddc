package oauth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/arsctl/arsctl/internal/server/pagehead"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// pageCSS styles the pages when no account pages lay them out (Layout).
const pageCSS = `body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}input[type=text]{font-size:1.4rem;letter-spacing:.15em;text-transform:uppercase;width:12ch}
button{font-size:1rem;padding:.4rem 1.2rem;margin-right:.5rem}.errors{color:#b00020}.scopes li{margin:.2rem 0}`

// siteTitle ends every page's title, as on the account pages.
const siteTitle = " · Auto Replenishment Service"

// The pages: each "name-body" is the page's content, laid out by the
// account pages (Layout) or, without them, by "name".
const pagesTemplate = `{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{{.Title}}` + siteTitle + `</title>
<style>` + pageCSS + `</style></head><body><main id="main">{{end}}
{{define "code-body"}}<div class="narrow"><h1>Connect a device</h1>
<p>Enter the code shown by <code>arsctl</code> on your device.</p>
{{if .Error}}<div class="errors" role="alert" id="errors"><p>{{.Error}}</p></div>{{end}}
<form method="post" action="/device" class="form">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<div class="field"><label for="user_code">Code</label>
<input id="user_code" type="text" name="user_code" value="{{.UserCode}}" autocomplete="off" autofocus required maxlength="16"{{if .Error}} aria-describedby="errors"{{end}}></div>
<div><button class="button" type="submit">Continue</button></div></form></div>{{end}}
{{define "confirm-body"}}<div class="narrow"><h1>Allow {{.Client}}?</h1>
<p><strong>{{.Client}}</strong> asks to sign in to your account <strong>{{.Account}}</strong> with code <strong>{{.UserCode}}</strong>.
Allow it only if you started this on your own device.</p>
<p>It will be able to:</p><ul class="scopes">{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
<form method="post" action="/device/decide">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="user_code" value="{{.UserCode}}">
<button class="button" type="submit" name="action" value="approve">Allow</button>
<button class="button secondary" type="submit" name="action" value="deny">Deny</button></form></div>{{end}}
{{define "consent-body"}}<div class="narrow"><h1>Allow {{.Client}}?</h1>
<p><strong>{{.Client}}</strong> on <strong>{{.Where}}</strong> wants to act for <strong>{{.Account}}</strong>.
Allow it only if you just ran <code>arsctl auth login</code> on this computer.</p>
<p>It will be able to:</p><ul class="scopes">{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
<form method="post" action="` + loginStepPath + `">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="authRequestID" value="{{.RequestID}}">
<button class="button" type="submit" name="action" value="approve">Allow</button>
<button class="button secondary" type="submit" name="action" value="deny">Deny</button></form></div>{{end}}
{{define "done-body"}}<div class="narrow"><h1>{{.Title}}</h1><p>{{.Message}}</p></div>{{end}}
{{define "code"}}{{template "head" .}}{{template "code-body" .}}</main></body></html>{{end}}
{{define "confirm"}}{{template "head" .}}{{template "confirm-body" .}}</main></body></html>{{end}}
{{define "consent"}}{{template "head" .}}{{template "consent-body" .}}</main></body></html>{{end}}
{{define "done"}}{{template "head" .}}{{template "done-body" .}}</main></body></html>{{end}}
{{define "continue"}}<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="0;url={{.Next}}"><title>{{.Title}}` + siteTitle + `</title>
<link rel="stylesheet" href="/static/style.css"></head><body><main id="main" class="wrap"><div class="narrow"><h1>{{.Title}}</h1>
<p>Returning to {{.Client}}… <a href="{{.Next}}">Continue</a></p></div></main></body></html>{{end}}`

// Layout lays pages out as the account pages are (*web.Web does): the
// same title, header, stylesheet and footer. Sessions that implement it
// lay out these pages too.
type Layout interface {
	Page(rw http.ResponseWriter, r *http.Request, status int, title string, body template.HTML)
}

type pages struct{ t *template.Template }

func newPages() (*pages, error) {
	t, err := template.New("pages").Parse(pagesTemplate)
	if err != nil {
		return nil, err
	}
	return &pages{t: t}, nil
}

type pageData struct {
	Title    string
	Error    string
	CSRF     string
	UserCode string
	Client   string
	Account  string
	Scopes   []string
	Message  string
	Next     string
	// Where is the client's loopback address, RequestID the
	// authorization request (consent page).
	Where     string
	RequestID string
}

// render writes the page name: in the account pages' layout when the
// sessions come with one, else on its own. The pages' URLs may hold a
// user code or an authorization request: no referrer.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	if l, ok := s.sessions.(Layout); ok && name != "continue" {
		var body bytes.Buffer
		if err := s.pages.t.ExecuteTemplate(&body, name+"-body", d); err == nil {
			w.Header().Set("Referrer-Policy", "no-referrer")
			l.Page(w, r, status, d.Title, template.HTML(body.String()))
			return
		}
	}
	pagehead.Set(w.Header(), "no-referrer")
	w.WriteHeader(status)
	_ = s.pages.t.ExecuteTemplate(w, name, d)
}

var scopeText = map[string]string{
	"openid":         "know who you are (your account ID)",
	"offline_access": "stay signed in until you sign out",
	arsapi.ScopeARS:  "enroll, view and cancel your printers' ink plans",
	"email":          "see your email address",
	"profile":        "see your name",
}

var clientNames = map[string]string{arsapi.CLIClientID: "arsctl (command-line tool)"}

// clientName is how the pages name a client.
func clientName(clientID string) string {
	if n, ok := clientNames[clientID]; ok {
		return n
	}
	return clientID
}

// scopeTexts says what the scopes allow, in words.
func scopeTexts(scopes []string) []string {
	var out []string
	for _, sc := range scopes {
		if t, ok := scopeText[sc]; ok {
			out = append(out, t)
		}
	}
	return out
}

// accountName is how the pages name an account: its email address.
func (s *Server) accountName(ctx context.Context, accountID string) string {
	if a, err := s.st.GetAccount(ctx, accountID); err == nil {
		return a.Email
	}
	return accountID
}

// redirectToLogin sends the browser to the web sign-in page, to come back
// to next (a local path) afterwards.
func (s *Server) redirectToLogin(w http.ResponseWriter, r *http.Request, next string) {
	http.Redirect(w, r, s.cfg.LoginPath+"?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// formToken is the anti-forgery token of the forms of these pages: an
// HMAC, under a key kept in the database (so that every replica accepts
// it), of what the form is for, the browser's web session and what it
// acts on. No other site can produce it, and it is worth nothing in
// another session, even of the same account.
func (s *Server) formToken(sessionID string, purpose ...string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("form\x00" + sessionID))
	for _, p := range purpose {
		m.Write([]byte("\x00" + p))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// formTokenOK checks the csrf_token field of a parsed form.
func (s *Server) formTokenOK(r *http.Request, sessionID string, purpose ...string) bool {
	got := r.PostForm.Get("csrf_token")
	return got != "" && hmac.Equal([]byte(got), []byte(s.formToken(sessionID, purpose...)))
}

const devicePurpose = "device-page"

// NormalizeUserCode turns what a person typed ("bcdf ghjk", "BCDF-GHJK")
// into the stored form "BCDF-GHJK".
func NormalizeUserCode(in string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(in) {
		if c >= 'A' && c <= 'Z' {
			b.WriteRune(c)
		}
	}
	s := b.String()
	if len(s) != 8 {
		return s
	}
	return s[:4] + "-" + s[4:]
}

// codeLookups is an account's budget of user code lookups (against
// guessing codes): 10, then one every 6 seconds, in the database so that
// it holds across replicas.
func codeLookups(accountID string) store.Limit {
	return store.Burst("device-code-lookups:"+accountID, 10, 6*time.Second)
}

// deviceForm shows the user code form (pre-filled from
// verification_uri_complete).
func (s *Server) deviceForm(w http.ResponseWriter, r *http.Request) {
	code := NormalizeUserCode(r.URL.Query().Get("user_code"))
	_, sid, ok := s.sessions.Session(r)
	if !ok {
		next := DevicePath
		if code != "" {
			next += "?user_code=" + url.QueryEscape(code)
		}
		s.redirectToLogin(w, r, next)
		return
	}
	s.render(w, r, http.StatusOK, "code", pageData{Title: "Connect a device", CSRF: s.formToken(sid, devicePurpose), UserCode: code})
}

// signedInPost reads a device page form posted by a signed-in browser
// with the token of its session; otherwise it answers and returns false.
func (s *Server) signedInPost(w http.ResponseWriter, r *http.Request) (acct, sid string, ok bool) {
	acct, sid, ok = s.sessions.Session(r)
	if !ok {
		s.redirectToLogin(w, r, DevicePath)
		return "", "", false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || !s.formTokenOK(r, sid, devicePurpose) {
		s.formExpired(w, r)
		return "", "", false
	}
	return acct, sid, true
}

func (s *Server) formExpired(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusForbidden, "done", pageData{Title: "Form expired",
		Message: "This form is out of date or did not come from arsd. Go back, reload the page and try again."})
}

// deviceConfirm looks up the entered user code and asks the user to
// allow or deny the client.
func (s *Server) deviceConfirm(w http.ResponseWriter, r *http.Request) {
	acct, sid, ok := s.signedInPost(w, r)
	if !ok {
		return
	}
	code := NormalizeUserCode(r.PostForm.Get("user_code"))
	form := pageData{Title: "Connect a device", CSRF: s.formToken(sid, devicePurpose), UserCode: code}
	if err := s.st.TakeAttempt(r.Context(), codeLookups(acct)); errors.As(err, new(*store.LimitedError)) {
		form.Error = "Too many attempts. Wait a minute and try again."
		s.render(w, r, http.StatusTooManyRequests, "code", form)
		return
	} else if err != nil {
		s.log.ErrorContext(r.Context(), "take a code lookup", "err", err)
		form.Error = "Something went wrong on our side. Try again in a moment."
		s.render(w, r, http.StatusInternalServerError, "code", form)
		return
	}
	d, err := s.st.DeviceByUserCode(r.Context(), code)
	if err != nil || d.State != store.DevicePending {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.ErrorContext(r.Context(), "read device code", "err", err)
		}
		form.Error = "That code is not valid or has expired. Check the code your device shows, or start again there."
		s.render(w, r, http.StatusBadRequest, "code", form)
		return
	}
	client := clientName(d.ClientID)
	s.render(w, r, http.StatusOK, "confirm", pageData{Title: "Allow " + client + "?", CSRF: form.CSRF,
		UserCode: code, Client: client, Account: s.accountName(r.Context(), acct), Scopes: scopeTexts(d.Scopes)})
}

// deviceDecide records the user's decision.
func (s *Server) deviceDecide(w http.ResponseWriter, r *http.Request) {
	acct, _, ok := s.signedInPost(w, r)
	if !ok {
		return
	}
	code := NormalizeUserCode(r.PostForm.Get("user_code"))
	approve := r.PostForm.Get("action") == "approve"
	if !approve && r.PostForm.Get("action") != "deny" {
		s.render(w, r, http.StatusBadRequest, "done", pageData{Title: "Choose Allow or Deny", Message: "Go back and choose Allow or Deny."})
		return
	}
	err := s.st.DecideDevice(r.Context(), code, acct, approve)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrDeviceDecided):
		s.render(w, r, http.StatusBadRequest, "done", pageData{Title: "Code no longer valid",
			Message: "This code was already used or has expired. Start again on your device."})
	case err != nil:
		s.log.ErrorContext(r.Context(), "decide device code", "err", err)
		s.render(w, r, http.StatusInternalServerError, "done", pageData{Title: "Something went wrong", Message: "Please try again."})
	case approve:
		s.log.InfoContext(r.Context(), "device sign-in approved", "account", acct)
		s.render(w, r, http.StatusOK, "done", pageData{Title: "Device connected",
			Message: "You are signed in on your device. You can close this page and return to your terminal."})
	default:
		s.log.InfoContext(r.Context(), "device sign-in denied", "account", acct)
		s.render(w, r, http.StatusOK, "done", pageData{Title: "Request denied",
			Message: "The device was not signed in. You can close this page."})
	}
}
