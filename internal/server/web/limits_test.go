package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/web"
)

// postAll sends every form to path at once from c and returns the
// answers' status codes, counted.
func (c *client) postAll(path string, forms []url.Values) map[int]int {
	c.e.t.Helper()
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		wg     sync.WaitGroup
		start  = make(chan struct{})
	)
	for _, f := range forms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := c.hc.PostForm(c.e.url+path, f)
			status := 0
			if err != nil {
				c.e.t.Errorf("POST %s: %v", path, err)
			} else {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				status = res.StatusCode
			}
			mu.Lock()
			counts[status]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return counts
}

// TestConcurrentSignInsCheckAtMostTheLimit sends 400 wrong-password
// sign-ins for one account from one address at once. The attempt is
// taken before the password is checked, atomically, so at most the
// limit's number of passwords are hashed; the rest are refused with 429
// and Retry-After, without hashing. Counting failures after the check
// let hundreds through.
func TestConcurrentSignInsCheckAtMostTheLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, web.Options{})
		e.client().register("victim@example.com", pw)
		c := e.client()
		tok := c.csrf(web.LoginPath)
		forms := make([]url.Values, 400)
		for i := range forms {
			forms[i] = url.Values{"csrf_token": {tok}, "email": {"victim@example.com"}, "password": {fmt.Sprintf("guess number %d", i)}}
		}
		before := e.st.Passwords.Count()
		got := c.postAll(web.LoginPath, forms)
		hashes := e.st.Passwords.Count() - before
		t.Logf("400 concurrent wrong sign-ins: %v, %d passwords hashed", got, hashes)
		if hashes > 5 {
			t.Errorf("%d passwords hashed, the limit is 5", hashes)
		}
		// 503 (and the attempt given back) when a hashing turn did not come
		// free in time, which a slow machine may see.
		if got[http.StatusUnauthorized] > 5 || got[http.StatusUnauthorized]+got[http.StatusTooManyRequests]+got[http.StatusServiceUnavailable] != 400 {
			t.Errorf("answers %v: want at most 5 × 401 and the rest 429 or 503", got)
		}
		r := c.post(web.LoginPath, url.Values{"csrf_token": {tok}, "email": {"victim@example.com"}, "password": {"one more guess"}})
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Errorf("after the attack: HTTP %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
		}
	})
}

// TestAttackerCannotLockOwnerOut: wrong passwords from one address limit
// that address for that account, not the owner signing in from another
// address; many attacking addresses slow the account down (one check per
// LoginSlowdown) but never lock it.
func TestAttackerCannotLockOwnerOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, web.Options{})
		var ahead atomic.Int64 // how far the store's clock is ahead
		e.st.Now = func() time.Time { return time.Now().UTC().Add(time.Duration(ahead.Load())) }
		e.client().register("owner@example.com", pw)
		login := func(c *client, password string) resp {
			t.Helper()
			tok := c.csrf(web.LoginPath)
			return c.post(web.LoginPath, url.Values{"csrf_token": {tok}, "email": {"owner@example.com"}, "password": {password}})
		}

		attacker := e.clientFrom("127.0.0.2")
		for i := range 5 {
			if r := login(attacker, "wrong password!"); r.status != http.StatusUnauthorized {
				t.Fatalf("attacker's wrong password %d: HTTP %d", i+1, r.status)
			}
		}
		r := login(attacker, "wrong password!")
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("attacker's 6th attempt: HTTP %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
		}
		mustContain(t, "limited attacker", r.body, "Too many failed sign-in attempts", "wait 15 minutes")
		if r := login(attacker, pw); r.status != http.StatusTooManyRequests {
			t.Errorf("the limited address with the right password: HTTP %d", r.status)
		}

		// The owner, from home, signs in at once.
		owner := e.clientFrom("127.0.0.9")
		if r := login(owner, pw); r.status != http.StatusSeeOther || r.location() != web.SubscriptionsPath {
			t.Fatalf("owner from another address: HTTP %d to %q: %.300s", r.status, r.location(), r.body)
		}

		// Two more attacking addresses: 15 failures on the account, past
		// its 10. The account slows down rather than locking.
		for _, ip := range []string{"127.0.0.3", "127.0.0.4"} {
			a := e.clientFrom(ip)
			for range 5 {
				login(a, "wrong password!")
			}
		}
		other := e.clientFrom("127.0.0.5")
		r = login(other, "wrong password!")
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("a fresh address right after the account's 10th failure: HTTP %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
		}
		mustContain(t, "slowed account", r.body, "seconds")
		ahead.Store(int64(11 * time.Second))
		home := e.clientFrom("127.0.0.9")
		if r := login(home, pw); r.status != http.StatusSeeOther {
			t.Fatalf("owner after the slow-down's wait: HTTP %d: %.300s", r.status, r.body)
		}
		if strings.Contains(e.log.String(), pw) {
			t.Error("a password is in the log")
		}
	})
}

// TestConcurrentSignUpsKeepTheLimit sends 30 registrations from one
// address at once: the sign-up is counted before the account is made, so
// at most 10 accounts (the limit) are created; reading the count first
// and recording it after let all 30 through.
func TestConcurrentSignUpsKeepTheLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, web.Options{})
		c := e.client()
		tok := c.csrf(web.RegisterPath)
		forms := make([]url.Values, 30)
		for i := range forms {
			forms[i] = url.Values{"csrf_token": {tok}, "email": {fmt.Sprintf("user%d@example.com", i)},
				"password": {pw}, "password_confirm": {pw}}
		}
		got := c.postAll(web.RegisterPath, forms)
		var n int
		if err := d.QueryRow(t.Context(), `SELECT COUNT(*) FROM accounts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		t.Logf("30 concurrent sign-ups: %v, %d accounts", got, n)
		// 503 (and the sign-up given back) when a hashing turn did not come
		// free in time, which a slow machine may see.
		if n > 10 || n == 0 || got[http.StatusSeeOther] != n || got[http.StatusSeeOther]+got[http.StatusTooManyRequests]+got[http.StatusServiceUnavailable] != 30 {
			t.Errorf("30 concurrent sign-ups from one address made %d accounts (answers %v); the limit is 10", n, got)
		}
		// Refused sign-ups are given back: 12 for a taken email from
		// another address leave room for an account from there.
		var taken string
		if err := d.QueryRow(t.Context(), `SELECT email FROM accounts LIMIT 1`).Scan(&taken); err != nil {
			t.Fatal(err)
		}
		o := e.clientFrom("127.0.0.2")
		otok := o.csrf(web.RegisterPath)
		for range 12 {
			r := o.post(web.RegisterPath, url.Values{"csrf_token": {otok}, "email": {taken}, "password": {pw}, "password_confirm": {pw}})
			if r.status != http.StatusConflict {
				t.Fatalf("taken email: HTTP %d", r.status)
			}
		}
		o.register("late@example.com", pw)
	})
}
