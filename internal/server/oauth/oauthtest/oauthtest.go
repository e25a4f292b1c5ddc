// Package oauthtest gives tests real OAuth tokens from a running arsd,
// without a browser: it drives the real device authorization flow over
// HTTP (device code, web sign-in form with its CSRF token, approval,
// token request), exactly as a person and arsctl would.
package oauthtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/server/oauth"
)

// Token signs in to the arsd at baseURL as email/password and returns
// its access and refresh tokens (client "arsctl", scopes
// "openid offline_access ars"). The account must exist. It fails the
// test on any error.
func Token(t testing.TB, baseURL, email, password string) *oauth2.Token {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tok, err := oauth.DeviceLogin(ctx, &http.Client{}, baseURL, email, password)
	if err != nil {
		t.Fatalf("sign in to %s as %s: %v", baseURL, email, err)
	}
	return tok
}
