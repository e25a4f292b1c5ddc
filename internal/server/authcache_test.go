package server

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

type countingAuth struct {
	calls int
	valid map[string]string
}

func (c *countingAuth) Authenticate(r *http.Request) (string, error) {
	c.calls++
	if acct, ok := c.valid[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]; ok {
		return acct, nil
	}
	return "", errors.New("invalid")
}

func TestAuthCache(t *testing.T) {
	next := &countingAuth{valid: map[string]string{"good": "acct-1", "other": "acct-2"}}
	now := time.Unix(1000, 0)
	c := newAuthCache(next, 2*time.Second).(*authCache)
	c.now = func() time.Time { return now }
	req := func(tok string) *http.Request {
		r, _ := http.NewRequest("GET", "/", nil)
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		return r
	}
	for range 3 {
		if acct, err := c.Authenticate(req("good")); acct != "acct-1" || err != nil {
			t.Fatalf("good = %q, %v", acct, err)
		}
	}
	if next.calls != 1 {
		t.Errorf("%d checks for one token, want 1", next.calls)
	}
	if acct, _ := c.Authenticate(req("other")); acct != "acct-2" {
		t.Errorf("other = %q", acct)
	}
	// Failures are not remembered.
	for range 2 {
		if _, err := c.Authenticate(req("bad")); err == nil {
			t.Error("bad token accepted")
		}
	}
	if _, err := c.Authenticate(req("")); err == nil {
		t.Error("no token accepted")
	}
	calls := next.calls
	now = now.Add(2 * time.Second)
	c.Authenticate(req("good"))
	if next.calls != calls+1 {
		t.Error("expired entry reused")
	}
	// A JWT is never reused past its "exp".
	jwt := "h." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","exp":1001}`)) + ".sig"
	next.valid[jwt] = "acct-3"
	now = time.Unix(1000, 500e6)
	calls = next.calls
	c.Authenticate(req(jwt))
	now = time.Unix(1001, 100e6)
	c.Authenticate(req(jwt))
	if next.calls != calls+2 {
		t.Errorf("a cached check outlived the token's exp")
	}
	if exp, ok := jwtExpiry("Bearer " + jwt); !ok || !exp.Equal(time.Unix(1001, 0)) {
		t.Errorf("jwtExpiry = %v, %v", exp, ok)
	}
	for _, bad := range []string{"Bearer x.y", "Bearer a.!!!.c", "Basic a.b.c", "Bearer a." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":"soon"}`)) + ".c"} {
		if _, ok := jwtExpiry(bad); ok {
			t.Errorf("jwtExpiry(%q) ok", bad)
		}
	}
	if got := newAuthCache(next, 0); got != next {
		t.Error("ttl 0 should disable the cache")
	}
}
