// Package oauthtest is test support for signing in to a running arsd
// without a person: it plays the browser on arsd's HTML pages (the web
// sign-in form with its CSRF token, the device approval and consent
// pages) and drives the real device authorization and authorization code
// flows over HTTP, as a person and arsctl would. Tests, benchmarks and
// `arsd demo` use it.
package oauthtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// Token signs in to the arsd at baseURL as email/password and returns
// its access and refresh tokens (client "arsctl", scopes
// "openid offline_access ars"). The account must exist. It fails the
// test on any error.
func Token(t testing.TB, baseURL, email, password string) *oauth2.Token {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tok, err := DeviceLogin(ctx, &http.Client{}, baseURL, email, password)
	if err != nil {
		t.Fatalf("sign in to %s as %s: %v", baseURL, email, err)
	}
	return tok
}
