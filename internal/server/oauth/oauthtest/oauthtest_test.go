package oauthtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/oauth"
	"github.com/arsctl/arsctl/internal/server/store"
)

func TestToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		st := store.New(d)
		a, err := st.CreateAccount(context.Background(), "it@example.com", "a long enough password", "IT")
		if err != nil {
			t.Fatal(err)
		}
		srv, oa := NewServer(t, st, oauth.Config{}, nil)
		check := func(tok string) {
			t.Helper()
			r := httptest.NewRequest(http.MethodGet, "/v1/enrollments", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			acct, err := oa.Authenticator().Authenticate(r)
			if err != nil || acct != a.ID {
				t.Fatalf("Authenticate = %q, %v", acct, err)
			}
		}
		tok := Token(t, srv.URL, "it@example.com", "a long enough password")
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token")
		}
		check(tok.AccessToken)
		check(APIToken(t, srv.URL, "it@example.com", "a long enough password", "printer fleet"))
	})
}
