package oauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/arsctl/arsctl/internal/server/db/dbtest"
)

// BenchmarkAuthenticate measures the cost a bearer token adds to every
// ARS API v1 request: JWT access tokens (signature check + revocation
// lookup) and API tokens (hash lookup), on SQLite.
func BenchmarkAuthenticate(b *testing.B) {
	d := dbtest.SQLite(b)
	e := newEnvTB(b, d)
	tok, err := DeviceLogin(context.Background(), http.DefaultClient, e.srv.URL, e.email, e.password)
	if err != nil {
		b.Fatal(err)
	}
	api, err := CreateAPIToken(context.Background(), http.DefaultClient, e.srv.URL, tok.AccessToken, "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	auth := e.oa.Authenticator()
	for _, bc := range []struct{ name, tok string }{{"jwt", tok.AccessToken}, {"api-token", api}} {
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
