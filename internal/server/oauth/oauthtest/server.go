package oauthtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/arsctl/arsctl/internal/server/oauth"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/internal/server/web/webtest"
)

// NewServer starts an HTTP server with the OAuth server (issuer = the
// server's URL) and webtest.Login on st, plus whatever extra registers, and
// returns them. The server stops when the test ends.
func NewServer(t testing.TB, st *store.Store, cfg oauth.Config, extra func(mux *http.ServeMux, oa *oauth.Server)) (*httptest.Server, *oauth.Server) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg.Issuer = srv.URL
	login := &webtest.Login{Store: st}
	oa, err := oauth.New(context.Background(), st, login, nil, cfg)
	if err != nil {
		t.Fatalf("oauth server: %v", err)
	}
	login.Routes(mux)
	oa.Routes(mux)
	if extra != nil {
		extra(mux, oa)
	}
	return srv, oa
}
