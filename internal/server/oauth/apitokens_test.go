package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// TestAPITokenBodyChecks sends POST /v1/tokens the bodies every other API
// route refuses: it answers as they do (the shared JSON body decoder),
// and creates no token.
func TestAPITokenBodyChecks(t *testing.T) {
	each(t, Config{}, func(t *testing.T, e *env) {
		tok, err := oauthtest.DeviceLogin(context.Background(), http.DefaultClient, e.srv.URL, e.email, e.password)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			what, ctype string
			body        io.Reader
			status      int
		}{
			{"10 MB", "application/json", strings.NewReader(`{"name":"` + strings.Repeat("a", 10<<20) + `"}`), http.StatusRequestEntityTooLarge},
			{"text/plain", "text/plain", strings.NewReader(`{"name":"plain"}`), http.StatusUnsupportedMediaType},
			{"trailing garbage", "application/json", strings.NewReader(`{"name":"trailing"} garbage`), http.StatusBadRequest},
			{"two objects", "application/json", strings.NewReader(`{"name":"one"}{"name":"two"}`), http.StatusBadRequest},
			{"unknown field", "application/json", strings.NewReader(`{"name":"x","scope":"admin"}`), http.StatusBadRequest},
			{"NUL in the name", "application/json", strings.NewReader(`{"name":"ci\u0000"}`), http.StatusUnprocessableEntity},
			{"bidi in the name", "application/json", strings.NewReader(`{"name":"ci\u202etxt.exe"}`), http.StatusUnprocessableEntity},
			{"empty name", "application/json", strings.NewReader(`{"name":""}`), http.StatusUnprocessableEntity},
		} {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+tokensPath, tc.body)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			req.Header.Set("Content-Type", tc.ctype)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var p arsapi.Problem
			if res.StatusCode != tc.status || json.Unmarshal(b, &p) != nil || p.Code != arsapi.CodeInvalid {
				t.Errorf("%s: HTTP %d %s, want %d and a problem", tc.what, res.StatusCode, b, tc.status)
			}
		}
		list, err := e.st.ListAPITokens(context.Background(), e.acct)
		if err != nil || len(list) != 0 {
			t.Errorf("tokens after refused requests: %+v, %v", list, err)
		}
	})
}

// TestTooManyTokensNamesTheCommand: the answer to one token too many says
// how to revoke one with arsctl, not only the API route.
func TestTooManyTokensNamesTheCommand(t *testing.T) {
	each(t, Config{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		for i := range store.MaxAPITokens {
			if _, _, err := e.st.CreateAPIToken(ctx, e.acct, fmt.Sprintf("t%d", i), 0); err != nil {
				t.Fatal(err)
			}
		}
		tok, err := oauthtest.DeviceLogin(ctx, http.DefaultClient, e.srv.URL, e.email, e.password)
		if err != nil {
			t.Fatal(err)
		}
		st, body := apiCall(t, e, "POST", tokensPath, tok.AccessToken, `{"name":"one too many"}`)
		if st != http.StatusConflict || !strings.Contains(string(body), arsapi.CodeTooManyTokens) {
			t.Fatalf("one too many = %d %s", st, body)
		}
		if !strings.Contains(string(body), "arsctl auth token revoke") || !strings.Contains(string(body), "DELETE /v1/tokens/{id}") {
			t.Fatalf("the problem does not name both ways to revoke a token: %s", body)
		}
	})
}
