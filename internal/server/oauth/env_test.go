package oauth

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/servertest"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/internal/server/web/webtest"
)

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
	web := &webtest.Login{Store: st}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.oa, err = New(context.Background(), st, web, log, cfg)
	if err != nil {
		t.Fatal(err)
	}
	web.Routes(mux)
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
