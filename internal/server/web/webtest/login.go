// Package webtest stands in for internal/server/web in tests of the
// components that need a signed-in browser session but not the account
// pages themselves.
package webtest

import (
	"crypto/rand"
	"encoding/hex"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/arsctl/arsctl/internal/server/store"
)

// Login is a minimal but real password sign-in for tests that run the
// OAuth server without internal/server/web: GET /login shows a form with
// a CSRF token, POST /login checks the password with the store, starts a
// web session (cookie) and goes to next. It implements oauth.Sessions
// (the session cookie's account).
type Login struct{ Store *store.Store }

const sessionCookie = "webtest_session"

// Session implements oauth.Sessions.
func (l *Login) Session(r *http.Request) (accountID, sessionID string, ok bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", "", false
	}
	s, err := l.Store.GetSession(r.Context(), c.Value)
	if err != nil {
		return "", "", false
	}
	return s.AccountID, c.Value, true
}

var loginForm = template.Must(template.New("login").Parse(`<!doctype html><title>Sign in</title>
{{if .Err}}<p>{{.Err}}</p>{{end}}
<form method="post" action="/login"><input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="next" value="{{.Next}}">
<input type="email" name="email"><input type="password" name="password"><button>Sign in</button></form>`))

// Routes registers GET and POST /login.
func (l *Login) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		csrf := hex.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: "webtest_csrf", Value: csrf, Path: "/", HttpOnly: true})
		_ = loginForm.Execute(w, map[string]string{"CSRF": csrf, "Next": r.URL.Query().Get("next")})
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("webtest_csrf")
		if err != nil || r.PostFormValue("csrf") != c.Value {
			http.Error(w, "bad csrf token", http.StatusForbidden)
			return
		}
		a, err := l.Store.CheckPassword(r.Context(), r.PostFormValue("email"), r.PostFormValue("password"))
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			_ = loginForm.Execute(w, map[string]string{"CSRF": c.Value, "Next": r.PostFormValue("next"), "Err": "wrong email or password"})
			return
		}
		id, _, err := l.Store.CreateSession(r.Context(), a.ID, time.Hour)
		if err != nil {
			http.Error(w, "could not start a session", http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true})
		next := r.PostFormValue("next")
		if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
			next = "/"
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
}
