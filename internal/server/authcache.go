package server

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/arsctl/arsctl/internal/server/authn"
)

// jwtExpiry reads the "exp" claim of a bearer JWT without verifying it
// (the token was just verified by the authenticator), so that a cached
// check never outlives the token.
func jwtExpiry(header string) (time.Time, bool) {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return time.Time{}, false
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Exp == "" {
		return time.Time{}, false
	}
	f, err := claims.Exp.Float64()
	if err != nil {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// DefaultAuthCacheTTL is how long a successful bearer-token check is
// reused. Checking a token costs a signature verification and a database
// read; a monitor or fleet script reporting levels sends the same token
// many times a second. The cost: a revoked or expired token keeps working
// for at most this long.
const DefaultAuthCacheTTL = 2 * time.Second

// maxAuthCache bounds the number of remembered tokens.
const maxAuthCache = 10000

// authCache remembers successful authentications for a short time, keyed
// by a hash of the Authorization header (the token itself is not kept).
type authCache struct {
	next authn.Authenticator
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	entries map[[32]byte]authEntry
}

type authEntry struct {
	account string
	until   time.Time
}

func newAuthCache(next authn.Authenticator, ttl time.Duration) authn.Authenticator {
	if ttl <= 0 {
		return next
	}
	return &authCache{next: next, ttl: ttl, now: time.Now, entries: make(map[[32]byte]authEntry)}
}

// Authenticate implements authn.Authenticator.
func (c *authCache) Authenticate(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return c.next.Authenticate(r)
	}
	key := sha256.Sum256([]byte(h))
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.account, nil
	}
	acct, err := c.next.Authenticate(r)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if len(c.entries) >= maxAuthCache {
		for k, v := range c.entries {
			if !now.Before(v.until) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxAuthCache {
			clear(c.entries)
		}
	}
	until := now.Add(c.ttl)
	if exp, ok := jwtExpiry(h); ok && exp.Before(until) {
		until = exp // never past the token's own expiry
	}
	c.entries[key] = authEntry{account: acct, until: until}
	c.mu.Unlock()
	return acct, nil
}
