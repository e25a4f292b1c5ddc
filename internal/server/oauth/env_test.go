package oauth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/servertest"
	"github.com/arsctl/arsctl/internal/server/store"
)

// testWeb is a real password sign-in for these tests, on the store's
// accounts and web sessions: GET /login shows a form with a CSRF token,
// POST /login checks the password, starts a session (cookie) and goes to
// next. It stands in for internal/server/web's pages.
type testWeb struct{ st *store.Store }

const testSessionCookie = "test_session"

func (w *testWeb) AccountID(r *http.Request) (string, bool) {
	c, err := r.Cookie(testSessionCookie)
	if err != nil {
		return "", false
	}
	s, err := w.st.GetSession(r.Context(), c.Value)
	if err != nil {
		return "", false
	}
	return s.AccountID, true
}

var loginForm = template.Must(template.New("login").Parse(`<!doctype html><title>Sign in</title>
{{if .Err}}<p>{{.Err}}</p>{{end}}
<form method="post" action="/login"><input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="next" value="{{.Next}}">
<input type="email" name="email"><input type="password" name="password"><button>Sign in</button></form>`))

func (w *testWeb) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", func(rw http.ResponseWriter, r *http.Request) {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		csrf := hex.EncodeToString(b)
		http.SetCookie(rw, &http.Cookie{Name: "test_csrf", Value: csrf, Path: "/", HttpOnly: true})
		_ = loginForm.Execute(rw, map[string]string{"CSRF": csrf, "Next": r.URL.Query().Get("next")})
	})
	mux.HandleFunc("POST /login", func(rw http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("test_csrf")
		if err != nil || r.PostFormValue("csrf") != c.Value {
			http.Error(rw, "bad csrf", http.StatusForbidden)
			return
		}
		a, err := w.st.CheckPassword(r.Context(), r.PostFormValue("email"), r.PostFormValue("password"))
		if err != nil {
			rw.WriteHeader(http.StatusUnauthorized)
			_ = loginForm.Execute(rw, map[string]string{"CSRF": c.Value, "Next": r.PostFormValue("next"), "Err": "wrong email or password"})
			return
		}
		id, _, err := w.st.CreateSession(r.Context(), a.ID, time.Hour)
		if err != nil {
			http.Error(rw, err.Error(), 500)
			return
		}
		http.SetCookie(rw, &http.Cookie{Name: testSessionCookie, Value: id, Path: "/", HttpOnly: true})
		next := r.PostFormValue("next")
		if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
			next = "/"
		}
		http.Redirect(rw, r, next, http.StatusSeeOther)
	})
}

type env struct {
	t        testing.TB
	d        *db.DB
	st       *store.Store
	clock    *servertest.Clock
	srv      *httptest.Server
	oa       *Server
	logs     *servertest.LogBuffer
	acct     string
	email    string
	password string
}

func newEnv(t *testing.T, d *db.DB, cfg Config) *env { return newEnvCfg(t, d, cfg) }

func newEnvTB(t testing.TB, d *db.DB) *env { return newEnvCfg(t, d, Config{}) }

func newEnvCfg(t testing.TB, d *db.DB, cfg Config) *env {
	t.Helper()
	st := store.New(d)
	c := servertest.NewClock(time.Now().UTC())
	st.Now = c.Now
	e := &env{t: t, d: d, st: st, clock: c, logs: &servertest.LogBuffer{}, email: "owner@example.com", password: "correct horse battery"}
	a, err := st.CreateAccount(context.Background(), e.email, e.password, "Owner")
	if err != nil {
		t.Fatal(err)
	}
	e.acct = a.ID
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	cfg.Issuer = e.srv.URL
	web := &testWeb{st: st}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.oa, err = New(context.Background(), st, web, log, cfg)
	if err != nil {
		t.Fatal(err)
	}
	web.routes(mux)
	e.oa.Routes(mux)
	return e
}

// each runs fn against a fresh environment on each database.
func each(t *testing.T, cfg Config, fn func(t *testing.T, e *env)) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) { fn(t, newEnv(t, d, cfg)) })
}

// authenticate runs the Authenticator on a request carrying tok.
func (e *env) authenticate(tok string) (string, error) {
	r := httptest.NewRequest(http.MethodGet, "/v1/enrollments", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return e.oa.Authenticator().Authenticate(r)
}
