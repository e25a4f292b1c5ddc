// Package authn carries the authenticated account through a request's
// context. The API's bearer token middleware (api.requireAccount) stores
// the account ID with WithAccount; the API handlers read it with
// AccountID. The web pages read their session cookie themselves and do
// not use it.
package authn

import (
	"context"
	"net/http"
)

type accountKey struct{}

// WithAccount returns ctx carrying the authenticated account ID.
func WithAccount(ctx context.Context, accountID string) context.Context {
	return context.WithValue(ctx, accountKey{}, accountID)
}

// AccountID returns the authenticated account ID, if any.
func AccountID(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(accountKey{}).(string)
	return id, ok && id != ""
}

// Authenticator authenticates API requests (bearer tokens). It returns the
// account ID, or an error when the request carries no valid credentials.
type Authenticator interface {
	Authenticate(r *http.Request) (accountID string, err error)
}
