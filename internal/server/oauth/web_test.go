package oauth_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/server/catalogue"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/oauth"
	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/internal/server/web"
)

// TestWithWebSignIn runs both grants through the real account pages
// (internal/server/web): their sign-in form, CSRF token and session.
func TestWithWebSignIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		st := store.New(d)
		a, err := st.CreateAccount(ctx, "owner@example.com", "correct horse battery", "Owner")
		if err != nil {
			t.Fatal(err)
		}
		srv, oa := newWebOAuth(t, st)
		check := func(tok string) {
			t.Helper()
			r := httptest.NewRequest(http.MethodGet, "/v1/enrollments", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			acct, err := oa.Authenticator().Authenticate(r)
			if err != nil || acct != a.ID {
				t.Fatalf("Authenticate = %q, %v", acct, err)
			}
		}

		// Device grant.
		tok, err := oauthtest.DeviceLogin(ctx, nil, srv.URL, "owner@example.com", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		check(tok.AccessToken)
		if err := oauthtest.ApproveDevice(ctx, nil, srv.URL+oauth.DevicePath, "owner@example.com", "wrong password", true); err == nil {
			t.Fatal("wrong password approved a device")
		}

		// Authorization code + PKCE on a loopback redirect.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		codes := make(chan string, 1)
		cb := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			select {
			case codes <- r.URL.Query().Get("code"):
			default:
			}
		})}
		go cb.Serve(ln)
		defer cb.Close()
		cfg := oauth.CLIConfig(srv.URL)
		cfg.RedirectURL = "http://" + ln.Addr().String() + "/callback"
		v := oauth2.GenerateVerifier()
		if err := oauthtest.SignInBrowser(ctx, nil, cfg.AuthCodeURL("x", oauth2.S256ChallengeOption(v)), "owner@example.com", "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		var code string
		select {
		case code = <-codes:
		default:
			t.Fatal("the loopback listener got no code")
		}
		tok, err = cfg.Exchange(ctx, code, oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		check(tok.AccessToken)
	})
}

// newWebOAuth serves the account pages and the authorization server on one
// test server, wired as arsd wires them (web sessions sign OAuth users in).
func newWebOAuth(t *testing.T, st *store.Store) (*httptest.Server, *oauth.Server) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cat, err := catalogue.New(catalogue.Config{}, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	w, err := web.New(web.Options{Store: st, Catalogue: cat, PublicURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	oa, err := oauth.New(context.Background(), st, w, nil, oauth.Config{Issuer: srv.URL, LoginPath: web.LoginPath})
	if err != nil {
		t.Fatal(err)
	}
	w.Routes(mux)
	oa.Routes(mux)
	return srv, oa
}
