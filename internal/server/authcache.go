package server

import (
	"crypto/sha256"
	"net/http"
	"sync"
	"time"

	"github.com/arsctl/arsctl/internal/server/authn"
)

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
	c.entries[key] = authEntry{account: acct, until: now.Add(c.ttl)}
	c.mu.Unlock()
	return acct, nil
}
