// OAuth state of the authorization server (package oauth): its errors,
// the hashing of secrets and the signing keys. The authorization requests
// and codes, device codes, tokens and API tokens are in oauth_*.go and
// apitokens.go.

package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of the OAuth state.
var (
	// ErrTokenReused is returned when a refresh token or an authorization
	// code that was already used is presented again. The store has revoked
	// every token of the same sign-in (the token family) before returning.
	ErrTokenReused = errors.New("token was already used; its sign-in has been revoked")
	// ErrTokenRevoked is returned for a token that was revoked.
	ErrTokenRevoked = errors.New("token was revoked")
	// ErrTokenExpired is returned for a token past its expiry.
	ErrTokenExpired = errors.New("token has expired")
	// ErrUserCodeTaken is returned by StoreDeviceAuthorization when the user
	// code is held by another live device authorization.
	ErrUserCodeTaken = errors.New("user code already in use")
	// ErrDeviceDecided is returned by DecideDevice when the device
	// authorization was already approved, denied or has expired.
	ErrDeviceDecided = errors.New("this code was already used or has expired")
)

// TokenHash returns the hex SHA-256 of a token, code or secret: the only
// form in which the store keeps them.
func TokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func joinList(s []string) string { return strings.Join(s, " ") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

func oaNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func oaTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// OAuthKey is a key of the OAuth server, persisted so that restarts and
// replicas share it.
type OAuthKey struct {
	Slot      string
	KID       string
	Alg       string
	Material  []byte
	CreatedAt time.Time
}

// EnsureOAuthKey returns the key stored in slot, creating it with gen
// when the slot is empty. Concurrent callers, in this process or in other
// replicas, all receive the same key: the first insert wins.
func (s *Store) EnsureOAuthKey(ctx context.Context, slot string, gen func() (kid, alg string, material []byte, err error)) (OAuthKey, error) {
	k, err := s.getOAuthKey(ctx, slot)
	if err == nil {
		return k, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return OAuthKey{}, err
	}
	kid, alg, material, err := gen()
	if err != nil {
		return OAuthKey{}, fmt.Errorf("generate %s key: %w", slot, err)
	}
	_, err = s.DB.Exec(ctx, `INSERT INTO oauth_keys (slot, kid, alg, material, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (slot) DO NOTHING`, slot, kid, alg, material, oaNanos(s.Now()))
	if err != nil {
		return OAuthKey{}, fmt.Errorf("store %s key: %w", slot, err)
	}
	return s.getOAuthKey(ctx, slot)
}

func (s *Store) getOAuthKey(ctx context.Context, slot string) (OAuthKey, error) {
	k := OAuthKey{Slot: slot}
	var created int64
	err := s.DB.QueryRow(ctx, `SELECT kid, alg, material, created_at FROM oauth_keys WHERE slot = ?`, slot).
		Scan(&k.KID, &k.Alg, &k.Material, &created)
	if err != nil {
		return OAuthKey{}, readErr(err, "read "+slot+" key")
	}
	k.CreatedAt = oaTime(created)
	return k, nil
}
