package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// maxIdemKey is the longest Idempotency-Key accepted.
const maxIdemKey = 255

// DefaultIdemKeysPerDay is how many new Idempotency-Keys one account (or,
// for sign-ups, one client address) may send in 24 hours (from the
// first), unless Options.IdemKeysPerDay says otherwise: each is kept with
// its answer for a day. Replays of a kept key are not counted.
const DefaultIdemKeysPerDay = 10000

// signupScope, followed by the client address, is the idempotency scope
// of requests made before there is an account (sign-up). No account ID
// starts with "-".
const signupScope = "-signup-"

// keyLocks serializes requests that carry the same idempotency key in
// this process, so that a retry arriving while the first attempt runs
// waits for it and replays its answer. Across replicas the store's
// LockIdem does the same; keyLocks keeps a process's own retries from
// taking a lock session each.
type keyLocks struct {
	seed  maphash.Seed
	once  sync.Once
	locks [64]sync.Mutex
}

func (k *keyLocks) lock(scope, key string) func() {
	k.once.Do(func() { k.seed = maphash.MakeSeed() })
	var h maphash.Hash
	h.SetSeed(k.seed)
	h.WriteString(scope)
	h.WriteByte(0)
	h.WriteString(key)
	m := &k.locks[h.Sum64()%uint64(len(k.locks))]
	m.Lock()
	return m.Unlock
}

// recorder captures an answer so that it can be stored for replay.
type recorder struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.buf.Write(b)
	return r.ResponseWriter.Write(b)
}

// idempotent runs a mutating handler under the request's Idempotency-Key:
// a repeated key with the same request replays the stored answer; with a
// different request it answers 422 idempotency_reused. Only successes
// (2xx) are stored: a request refused (validation, a conflict such as a
// printer enrolled elsewhere, 401, 429, 5xx) is run again when repeated,
// so that fixing the cause is enough for the same request to succeed.
// body is the request body already read; scope is the account (or
// signupScope and the client address).
func (a *API) idempotent(w http.ResponseWriter, r *http.Request, scope string, body []byte, h func(w http.ResponseWriter)) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		h(w)
		return
	}
	if len(key) > maxIdemKey {
		writeProblem(w, r, problem(http.StatusBadRequest, arsapi.CodeInvalid,
			"Idempotency-Key is longer than "+strconv.Itoa(maxIdemKey)+" characters"))
		return
	}
	if !printableASCII(key) {
		// The key is stored as text: PostgreSQL refuses bytes that are
		// not UTF-8 where SQLite keeps them, so both refuse them here.
		writeProblem(w, r, problem(http.StatusBadRequest, arsapi.CodeInvalid,
			"Idempotency-Key must be printable ASCII characters (a UUID is a good key)"))
		return
	}
	sum := sha256.New()
	sum.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	sum.Write(body)
	hash := hex.EncodeToString(sum.Sum(nil))

	unlock := a.idem.lock(scope, key)
	defer unlock()
	unlockReplicas, err := a.st.LockIdem(r.Context(), scope, key)
	if err != nil {
		a.internal(w, r, "lock the idempotency key", err)
		return
	}
	defer unlockReplicas()

	rec, err := a.st.GetIdem(r.Context(), scope, key)
	switch {
	case err == nil:
		if rec.RequestHash != hash {
			writeProblem(w, r, problem(http.StatusUnprocessableEntity, arsapi.CodeIdempotencyReuse,
				"this Idempotency-Key was already used for a different request; use a new key for a new request"))
			return
		}
		ctype := "application/json"
		if rec.Status >= 400 {
			ctype = "application/problem+json"
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(rec.Status)
		_, _ = w.Write(rec.Body)
		return
	case !errors.Is(err, core.ErrNotFound):
		a.internal(w, r, "read the idempotency record", err)
		return
	}
	// A new key will be kept IdemTTL: one client cannot store them
	// without bound. Replays above take nothing.
	err = a.st.TakeAttempt(r.Context(), core.Limit{Key: "idem:" + scope, Max: a.opt.IdemKeysPerDay, Window: 24 * time.Hour})
	var limited *core.LimitedError
	if errors.As(err, &limited) {
		w.Header().Set("Retry-After", strconv.Itoa(limited.RetryAfterSeconds()))
		writeProblem(w, r, problem(http.StatusTooManyRequests, arsapi.CodeRateLimited,
			fmt.Sprintf("more than %d new Idempotency-Keys in 24 hours; send the request without one, or try again later", a.opt.IdemKeysPerDay)))
		return
	} else if err != nil {
		a.internal(w, r, "count the idempotency key", err)
		return
	}

	rw := &recorder{ResponseWriter: w}
	h(rw)
	if rw.status < 200 || rw.status >= 300 {
		return
	}
	if err := a.st.PutIdem(r.Context(), scope, key, core.IdemRecord{RequestHash: hash, Status: rw.status, Body: rw.buf.Bytes()}); err != nil {
		// The answer was sent; a retry will simply run the request again.
		a.log.WarnContext(r.Context(), "api: storing idempotency record failed", "route", r.Pattern, "err", err)
	}
}

// printableASCII reports whether s is made of the characters of a
// structured field string (RFC 8941), as the Idempotency-Key header is
// defined: ASCII from space to tilde.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
