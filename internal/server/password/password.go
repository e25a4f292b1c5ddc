// Package password hashes and checks account passwords with argon2id, a
// few at a time. Each hash takes 19 MiB of memory for tens of
// milliseconds, so a Hasher runs at most Concurrency of them at once:
// a flood of sign-in or sign-up requests waits for a turn, and past a
// short wait is refused with ErrBusy, instead of growing the process by
// 19 MiB per request.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters for new hashes (OWASP's recommendation: 19 MiB,
// 2 passes, 1 lane). Stored hashes carry their own parameters, so these
// may be raised later without breaking existing accounts.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Defaults of New.
const (
	MaxConcurrency = 4               // hashes at once, at most (fewer with fewer CPUs)
	DefaultWait    = 5 * time.Second // for a turn, before ErrBusy
)

// ErrBusy is returned when no hashing turn came free within the wait.
var ErrBusy = errors.New("too many password checks at once")

// ErrMalformed is returned by Verify for a stored hash it cannot read.
var ErrMalformed = errors.New("malformed password hash")

// Hasher hashes and checks passwords, at most a few at a time, and
// counts the hashes it computed.
type Hasher struct {
	turns chan struct{}
	wait  time.Duration
	count atomic.Int64
}

// New returns a Hasher running at most concurrency hashes at once, each
// caller waiting at most wait for a turn. Zero values take the defaults:
// one hash per CPU up to MaxConcurrency, and DefaultWait.
func New(concurrency int, wait time.Duration) *Hasher {
	if concurrency <= 0 {
		concurrency = min(runtime.GOMAXPROCS(0), MaxConcurrency)
	}
	if wait <= 0 {
		wait = DefaultWait
	}
	return &Hasher{turns: make(chan struct{}, concurrency), wait: wait}
}

// Count is how many hashes the Hasher has computed.
func (h *Hasher) Count() int64 { return h.count.Load() }

// key computes one argon2id key in a turn.
func (h *Hasher) key(ctx context.Context, password string, salt []byte, t, m uint32, p uint8, n uint32) ([]byte, error) {
	timer := time.NewTimer(h.wait)
	defer timer.Stop()
	select {
	case h.turns <- struct{}{}:
	case <-timer.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.turns }()
	h.count.Add(1)
	return argon2.IDKey([]byte(password), salt, t, m, p, n), nil
}

// Hash returns a PHC-style encoded argon2id hash of password:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (unpadded base64).
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key, err := h.key(ctx, password, salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify checks password against an encoded hash, in constant time.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, ErrMalformed
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrMalformed
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<22 || t > 64 {
		return false, ErrMalformed
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false, ErrMalformed
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 128 {
		return false, ErrMalformed
	}
	got, err := h.key(ctx, password, salt, t, m, p, uint32(len(want)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummySalt is hashed against when no account matches.
var dummySalt = []byte("ars-no-such-account")

// Spend computes one hash with the parameters of new hashes and throws
// it away: the check of a sign-in whose account does not exist, so that
// it costs the same time as a wrong password.
func (h *Hasher) Spend(ctx context.Context, password string) error {
	_, err := h.key(ctx, password, dummySalt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return err
}
