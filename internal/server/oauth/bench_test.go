package oauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// BenchmarkAuthenticate measures the cost a bearer token adds to every
// ARS API v1 request: JWT access tokens (signature check + revocation
// lookup) and API tokens (hash lookup), on SQLite.
func BenchmarkAuthenticate(b *testing.B) {
	d := dbtest.SQLite(b)
	e := newEnvTB(b, d)
	tok, err := oauthtest.DeviceLogin(context.Background(), http.DefaultClient, e.srv.URL, e.email, e.password)
	if err != nil {
		b.Fatal(err)
	}
	hc := oauth2.NewClient(context.Background(), oauth2.StaticTokenSource(tok))
	created, err := arsapi.New(e.srv.URL, arsapi.WithHTTPClient(hc)).CreateAPIToken(context.Background(), arsapi.CreateAPITokenRequest{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	auth := e.oa.Authenticator()
	for _, bc := range []struct{ name, tok string }{{"jwt", tok.AccessToken}, {"api-token", created.Token}} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/v1/enrollments", nil)
			r.Header.Set("Authorization", "Bearer "+bc.tok)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := auth.Authenticate(r); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
