package arsapi

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// APITokenPrefix starts every API token, so that secret scanners can
// recognise one.
const APITokenPrefix = "ars_pat_"

// MaxAPITokenDays is the longest life of an API token, in days.
const MaxAPITokenDays = 3650

// APIToken is a named API token of an account, without its secret.
type APIToken struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Hint is the token's last characters, to tell tokens apart.
	Hint       string    `json:"hint"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

// Active reports whether the token is accepted at now: not revoked and
// not expired.
func (t APIToken) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// CreateAPITokenRequest is the body of POST /v1/tokens.
type CreateAPITokenRequest struct {
	Name string `json:"name"`
	// ExpiresInDays is the token's life; 0 keeps it until revoked.
	ExpiresInDays int `json:"expires_in_days,omitempty"`
}

// CreatedAPIToken is the answer to POST /v1/tokens. Token, the secret,
// is in this answer only.
type CreatedAPIToken struct {
	APIToken
	Token string `json:"token"`
}

// CreateAPIToken creates a named API token (POST /v1/tokens). Only a
// sign-in may: with an API token the server answers a *Problem with
// status 403. The request is not retried, so that a lost answer never
// leaves two tokens.
func (c *Client) CreateAPIToken(ctx context.Context, req CreateAPITokenRequest) (CreatedAPIToken, error) {
	var t CreatedAPIToken
	err := c.do(ctx, http.MethodPost, "/v1/tokens", nil, req, &t, "")
	return t, err
}

// APITokens returns the account's API tokens, revoked and expired ones
// included, without their secrets (GET /v1/tokens).
func (c *Client) APITokens(ctx context.Context) ([]APIToken, error) {
	var l List[APIToken]
	err := c.do(ctx, http.MethodGet, "/v1/tokens", nil, nil, &l, "")
	return l.Items, err
}

// RevokeAPIToken revokes an API token (DELETE /v1/tokens/{id}). An
// unknown ID answers a *Problem with status 404.
func (c *Client) RevokeAPIToken(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/tokens/"+url.PathEscape(id), nil, nil, nil, "")
}
