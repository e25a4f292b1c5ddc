package oauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/arsctl/arsctl/internal/server/store"
)

// An authorization request of the code flow is bound to the browser that
// started it, and completed only with that browser's consent:
//
//   - /oauth/authorize answers with a cookie that names the request and
//     holds an HMAC of its ID under a key kept in the database: only that
//     browser has it, and no one can make it up.
//   - The login step (/oauth/login), the consent form and the callback
//     that hands out the code (/oauth/authorize/callback) refuse a request
//     without its cookie. A request started by someone else (who then
//     sends the login link to a signed-in owner, and polls the callback
//     for the code) cannot be completed or read.
//   - Before a code is issued, the signed-in owner sees which client, on
//     which loopback address, wants to act for which account, and
//     chooses Allow or Deny on a form bound to the web session and the
//     request (RFC 8252, section 8.6). Deny answers access_denied to the
//     client's redirect URI (RFC 6749, section 4.1.2.1).

const bindingCookiePrefix = "ars_authz_"

// bindingCookie is the cookie binding request id to this browser; a
// negative maxAge removes it.
func (s *Server) bindingCookie(id string, maxAge time.Duration) *http.Cookie {
	secure := strings.HasPrefix(s.cfg.Issuer, "https://")
	name := bindingCookiePrefix + id
	if secure {
		// Only this host over HTTPS can set it: no cookie tossing from a
		// sibling domain.
		name = "__Host-" + name
	}
	c := &http.Cookie{Name: name, Value: s.bindingValue(id), Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge / time.Second)}
	if maxAge < 0 {
		c.Value, c.MaxAge = "", -1
	}
	return c
}

func (s *Server) bindingValue(id string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("authorize-browser\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// bound reports whether r comes from the browser that started request id.
func (s *Server) bound(r *http.Request, id string) bool {
	c, err := r.Cookie(s.bindingCookie(id, 0).Name)
	return id != "" && err == nil && hmac.Equal([]byte(c.Value), []byte(s.bindingValue(id)))
}

// bindBrowser fronts the authorize endpoint: when the library sends the
// browser to the login step for a new request, the answer also sets the
// request's binding cookie.
func (s *Server) bindBrowser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&bindingWriter{ResponseWriter: w, s: s}, r)
	})
}

type bindingWriter struct {
	http.ResponseWriter
	s           *Server
	wroteHeader bool
}

func (b *bindingWriter) WriteHeader(code int) {
	if !b.wroteHeader {
		b.wroteHeader = true
		if id, ok := loginStepRequest(b.Header().Get("Location")); ok {
			http.SetCookie(b.ResponseWriter, b.s.bindingCookie(id, b.s.cfg.AuthRequestTTL))
		}
	}
	b.ResponseWriter.WriteHeader(code)
}

func (b *bindingWriter) Write(p []byte) (int, error) {
	if !b.wroteHeader {
		b.WriteHeader(http.StatusOK)
	}
	return b.ResponseWriter.Write(p)
}

// loginStepRequest returns the request ID of a redirect to the login step.
func loginStepRequest(location string) (string, bool) {
	u, err := url.Parse(location)
	if err != nil || u.Path != loginStepPath || u.Host != "" {
		return "", false
	}
	id := u.Query().Get("authRequestID")
	return id, id != ""
}

// callbackGuard fronts the callback that issues the code: only the
// browser that started the request gets it. The binding cookie is spent.
func (s *Server) callbackGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			s.requestExpired(w, r)
			return
		}
		id := r.Form.Get("id")
		if !s.bound(r, id) {
			s.notThisBrowser(w, r)
			return
		}
		http.SetCookie(w, s.bindingCookie(id, -1))
		next.ServeHTTP(w, r)
	})
}

func (s *Server) requestExpired(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusBadRequest, "done", pageData{Title: "Sign-in request expired",
		Message: "This sign-in request is unknown, was already used or has expired. Start again from arsctl (arsctl auth login)."})
}

func (s *Server) notThisBrowser(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusForbidden, "done", pageData{Title: "Sign-in started elsewhere",
		Message: "This sign-in was not started in this browser, so arsd will not complete it here. " +
			"If you did not just run arsctl auth login yourself, someone may be trying to act as you: close this page. " +
			"Otherwise run arsctl auth login again and use the browser it opens."})
}

// liveRequest reads authorization request id for the browser that
// started it; otherwise it answers and returns false.
func (s *Server) liveRequest(w http.ResponseWriter, r *http.Request, id string) (store.AuthRequest, bool) {
	a, err := s.st.GetAuthRequest(r.Context(), id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.ErrorContext(r.Context(), "read auth request", "err", err)
		}
		s.requestExpired(w, r)
		return a, false
	}
	if !s.bound(r, id) {
		s.notThisBrowser(w, r)
		return a, false
	}
	if a.Done {
		s.requestExpired(w, r)
		return a, false
	}
	return a, true
}

const consentPurpose = "consent"

// loginStep is where the library sends the browser during the
// authorization code flow. The browser that started the request signs in
// if it has to, then is asked to allow or deny the client.
func (s *Server) loginStep(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	a, ok := s.liveRequest(w, r, id)
	if !ok {
		return
	}
	acct, sid, ok := s.sessions.Session(r)
	if !ok {
		s.redirectToLogin(w, r, loginStepPath+"?authRequestID="+url.QueryEscape(id))
		return
	}
	client := clientName(a.ClientID)
	s.render(w, r, http.StatusOK, "consent", pageData{Title: "Allow " + client + "?", Client: client,
		Where: redirectHost(a.RedirectURI), Account: s.accountName(r.Context(), acct), Scopes: scopeTexts(a.Scopes),
		CSRF: s.formToken(sid, consentPurpose, id), RequestID: id})
}

// redirectHost is the host and port of a redirect URI, as the consent
// page shows it.
func redirectHost(redirectURI string) string {
	if u, err := url.Parse(redirectURI); err == nil && u.Host != "" {
		return u.Host
	}
	return redirectURI
}

// consentDecide records the owner's choice on the consent page: Allow
// completes the request and goes on to the callback (which issues the
// code); Deny drops it and answers access_denied to the client.
func (s *Server) consentDecide(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.formExpired(w, r)
		return
	}
	id := r.PostForm.Get("authRequestID")
	a, ok := s.liveRequest(w, r, id)
	if !ok {
		return
	}
	acct, sid, ok := s.sessions.Session(r)
	if !ok {
		s.redirectToLogin(w, r, loginStepPath+"?authRequestID="+url.QueryEscape(id))
		return
	}
	if !s.formTokenOK(r, sid, consentPurpose, id) {
		s.formExpired(w, r)
		return
	}
	client := clientName(a.ClientID)
	// Go on with a new navigation rather than a redirect: browsers apply
	// this form's CSP form-action to every redirect that follows, and the
	// last one leaves for the client's loopback address.
	switch r.PostForm.Get("action") {
	case "approve":
		if err := s.st.CompleteAuthRequest(r.Context(), id, acct); err != nil {
			s.requestExpired(w, r)
			return
		}
		s.log.InfoContext(r.Context(), "sign-in allowed", "account", acct, "client", a.ClientID)
		s.render(w, r, http.StatusOK, "continue", pageData{Title: "Signed in", Client: client,
			Next: authorizeCallback + "?id=" + url.QueryEscape(id)})
	case "deny":
		if err := s.st.DeleteAuthRequest(r.Context(), id); err != nil {
			s.log.ErrorContext(r.Context(), "delete auth request", "err", err)
		}
		http.SetCookie(w, s.bindingCookie(id, -1))
		s.log.InfoContext(r.Context(), "sign-in denied", "account", acct, "client", a.ClientID)
		s.render(w, r, http.StatusOK, "continue", pageData{Title: "Request denied", Client: client,
			Next: deniedRedirect(a)})
	default:
		s.render(w, r, http.StatusBadRequest, "done", pageData{Title: "Choose Allow or Deny", Message: "Go back and choose Allow or Deny."})
	}
}

// deniedRedirect is the client's redirect URI (checked when the request
// was made) with error=access_denied and the client's state.
func deniedRedirect(a store.AuthRequest) string {
	u, err := url.Parse(a.RedirectURI)
	if err != nil {
		return "/"
	}
	q := u.Query()
	q.Set("error", "access_denied")
	q.Set("error_description", "the account owner denied the request")
	if a.State != "" {
		q.Set("state", a.State)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
