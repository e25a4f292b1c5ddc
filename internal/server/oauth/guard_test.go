package oauth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/formbrowser"
	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
	"github.com/arsctl/arsctl/internal/server/web/webtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// oauthPost posts form to path, from client address xff (behind a
// trusted proxy) and, when user is set, with HTTP Basic client
// authentication. It returns the status, the headers and the JSON answer.
func oauthPost(t *testing.T, e *env, path, xff, user string, form url.Values) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	if user != "" {
		req.SetBasicAuth(user, "secret")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, resp.Header, m
}

// TestUnknownClient: a client_id other than arsctl's, at the token and
// device authorization endpoints, answers invalid_client (401 with
// WWW-Authenticate when the client authenticated with HTTP Basic, 400
// otherwise) and counts as a failure of the address.
func TestUnknownClient(t *testing.T) {
	each(t, Config{TokenFailures: 4, TokenFailureEvery: time.Hour}, func(t *testing.T, e *env) {
		for _, c := range []struct {
			path string
			form url.Values
		}{
			{TokenPath, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {"evil"}}},
			{DeviceAuthPath, url.Values{"client_id": {"evil"}, "scope": {"openid ars"}}},
		} {
			st, _, m := oauthPost(t, e, c.path, "", "", c.form)
			if st != http.StatusBadRequest || m["error"] != "invalid_client" {
				t.Errorf("%s with an unknown client_id: %d %v", c.path, st, m)
			}
			form := url.Values{}
			for k, v := range c.form {
				if k != "client_id" {
					form[k] = v
				}
			}
			st, h, m := oauthPost(t, e, c.path, "", "evil", form)
			if st != http.StatusUnauthorized || m["error"] != "invalid_client" || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("%s with an unknown client in Basic auth: %d %v %v", c.path, st, h, m)
			}
		}
		// Four failures: the address is now refused, arsctl included.
		if st, _, m := oauthPost(t, e, DeviceAuthPath, "", "", url.Values{"client_id": {arsapi.CLIClientID}}); st != http.StatusTooManyRequests {
			t.Errorf("after 4 unknown clients, device authorization = %d %v", st, m)
		}
		if st, _ := refresh(t, e, "x"); st != http.StatusTooManyRequests {
			t.Errorf("after 4 unknown clients, token request = %d", st)
		}
	})
}

// TestDeviceAuthorizationLimits: one address starts DeviceStarts device
// sign-ins, then waits; all addresses together keep at most
// MaxLiveDeviceCodes codes alive, and more can start once they expire.
func TestDeviceAuthorizationLimits(t *testing.T) {
	each(t, Config{DeviceStarts: 3, DeviceStartEvery: time.Hour, MaxLiveDeviceCodes: 5, TrustProxy: true}, func(t *testing.T, e *env) {
		start := func(addr string) (int, http.Header, map[string]any) {
			return oauthPost(t, e, DeviceAuthPath, addr, "", url.Values{"client_id": {arsapi.CLIClientID}, "scope": {"openid ars"}})
		}
		for i := range 3 {
			if st, _, m := start("192.0.2.1"); st != http.StatusOK {
				t.Fatalf("start %d from one address: %d %v", i, st, m)
			}
		}
		st, h, m := start("192.0.2.1")
		if st != http.StatusTooManyRequests || m["error"] != "slow_down" || h.Get("Retry-After") != "3600" {
			t.Fatalf("4th start from one address: %d %v %v", st, h, m)
		}
		// Other addresses: two more codes, then the cap.
		for _, a := range []string{"192.0.2.2", "192.0.2.3"} {
			if st, _, m := start(a); st != http.StatusOK {
				t.Fatalf("start from %s: %d %v", a, st, m)
			}
		}
		st, h, m = start("192.0.2.4")
		if st != http.StatusServiceUnavailable || m["error"] != "temporarily_unavailable" || h.Get("Retry-After") == "" {
			t.Fatalf("start beyond the cap: %d %v %v", st, h, m)
		}
		if n, err := e.st.CountLiveDeviceCodes(context.Background()); err != nil || n != 5 {
			t.Fatalf("live device codes = %d, %v; want 5", n, err)
		}
		// Once they expire, device sign-ins start again.
		e.clock.Add(11 * time.Minute)
		if st, _, m := start("192.0.2.5"); st != http.StatusOK {
			t.Fatalf("start after the codes expired: %d %v", st, m)
		}
	})
}

// TestCORS: the OpenID endpoints allow no web origin by default and only
// the configured ones otherwise, never with credentials.
func TestCORS(t *testing.T) {
	probe := func(t *testing.T, e *env, origin string) map[string]http.Header {
		t.Helper()
		out := map[string]http.Header{}
		for _, r := range []struct{ method, path string }{
			{http.MethodGet, DiscoveryPath}, {http.MethodGet, KeysPath}, {http.MethodGet, UserinfoPath},
			{http.MethodOptions, TokenPath}, {http.MethodOptions, RevokePath}, {http.MethodOptions, UserinfoPath},
		} {
			req, _ := http.NewRequest(r.method, e.srv.URL+r.path, nil)
			req.Header.Set("Origin", origin)
			if r.method == http.MethodOptions {
				req.Header.Set("Access-Control-Request-Method", http.MethodPost)
				req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("%s %s from %s allows credentials", r.method, r.path, origin)
			}
			out[r.method+" "+r.path] = resp.Header
		}
		return out
	}
	e := newEnv(t, dbtest.SQLite(t), Config{})
	for r, h := range probe(t, e, "https://evil.example") {
		if v := h.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("default: %s: Access-Control-Allow-Origin %q", r, v)
		}
	}
	e = newEnv(t, dbtest.SQLite(t), Config{CORSOrigins: []string{"https://app.example"}})
	for r, h := range probe(t, e, "https://evil.example") {
		if v := h.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("configured: %s: another origin got Access-Control-Allow-Origin %q", r, v)
		}
	}
	for r, h := range probe(t, e, "https://app.example") {
		if v := h.Get("Access-Control-Allow-Origin"); v != "https://app.example" {
			t.Errorf("%s: the configured origin got Access-Control-Allow-Origin %q", r, v)
		}
	}
	if _, err := New(context.Background(), e.st, nil, nil, Config{Issuer: e.srv.URL, CORSOrigins: []string{"https://app.example/path"}}); err == nil {
		t.Error("an origin with a path was accepted")
	}
}

// TestDiscoveryAdvertisesWhatWorks: discovery offers response type code,
// public clients only, and grants each of which works here.
func TestDiscoveryAdvertisesWhatWorks(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), Config{})
	ctx := context.Background()
	resp, err := http.Get(e.srv.URL + DiscoveryPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	list := func(k string) []string {
		var out []string
		for _, v := range doc[k].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	if got := list("response_types_supported"); !slices.Equal(got, []string{"code"}) {
		t.Errorf("response_types_supported = %v", got)
	}
	for _, k := range []string{"token_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
		if got := list(k); !slices.Equal(got, []string{"none"}) {
			t.Errorf("%s = %v", k, got)
		}
	}
	if _, ok := doc["introspection_endpoint"]; ok {
		t.Error("introspection is advertised; it needs a confidential client, which arsd has none of")
	}

	// Each advertised grant, run here.
	var refreshToken string
	works := map[string]func() error{
		"authorization_code": func() error {
			b, _ := formbrowser.New(http.DefaultClient)
			lb := newLoopback(t)
			cfg := CLIConfig(e.srv.URL)
			cfg.RedirectURL = lb.url
			v := oauth2.GenerateVerifier()
			q := codeFlow(t, e, b, lb, cfg, "s", oauth2.S256ChallengeOption(v))
			tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v))
			if err == nil {
				refreshToken = tok.RefreshToken
			}
			return err
		},
		"refresh_token": func() error {
			if st, m := refresh(t, e, refreshToken); st != http.StatusOK {
				return &oauth2.RetrieveError{ErrorCode: m["error"].(string)}
			}
			return nil
		},
		deviceGrant: func() error {
			_, err := oauthtest.DeviceLogin(ctx, http.DefaultClient, e.srv.URL, e.email, e.password)
			return err
		},
	}
	// Run in this order: the code grant gives the refresh token.
	order := []string{"authorization_code", "refresh_token", deviceGrant}
	grants := list("grant_types_supported")
	if !slices.Equal(slices.Sorted(slices.Values(grants)), slices.Sorted(slices.Values(order))) {
		t.Errorf("grant_types_supported = %v, want exactly %v (the grants tested here)", grants, order)
	}
	for _, g := range order {
		if err := works[g](); err != nil {
			t.Errorf("advertised grant %q fails: %v", g, err)
		}
	}
}

// replicaOf starts a second authorization server on e's database: another
// arsd replica.
func replicaOf(t *testing.T, e *env, cfg Config) *env {
	t.Helper()
	r := *e
	mux := http.NewServeMux()
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	cfg.Issuer = r.srv.URL
	web := &webtest.Login{Store: e.st}
	oa, err := New(context.Background(), e.st, web, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.oa = oa
	web.Routes(mux)
	oa.Routes(mux)
	return &r
}

// TestLimitsAcrossReplicas: failed token requests and device sign-ins
// started from one address are counted once over every replica, as the
// budgets are kept in the database; each replica's own count let an
// address have the budget once per replica.
func TestLimitsAcrossReplicas(t *testing.T) {
	cfg := Config{TokenFailures: 4, TokenFailureEvery: time.Hour, DeviceStarts: 2, DeviceStartEvery: time.Hour, TrustProxy: true}
	a := newEnv(t, dbtest.Postgres(t), cfg)
	b := replicaOf(t, a, cfg)
	replicas := []*env{a, b}
	guess := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"guess"}, "client_id": {arsapi.CLIClientID}}
	for i := range 4 {
		if st, _, m := oauthPost(t, replicas[i%2], TokenPath, "192.0.2.7", "", guess); st != http.StatusBadRequest {
			t.Fatalf("failure %d: %d %v", i+1, st, m)
		}
	}
	for i, r := range replicas {
		if st, h, _ := oauthPost(t, r, TokenPath, "192.0.2.7", "", guess); st != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
			t.Errorf("replica %d after 4 failures over two replicas: %d, want 429 with Retry-After", i, st)
		}
	}
	start := url.Values{"client_id": {arsapi.CLIClientID}, "scope": {"openid ars"}}
	for i, r := range replicas {
		if st, _, m := oauthPost(t, r, DeviceAuthPath, "192.0.2.8", "", start); st != http.StatusOK {
			t.Fatalf("device start %d: %d %v", i+1, st, m)
		}
	}
	if st, _, m := oauthPost(t, a, DeviceAuthPath, "192.0.2.8", "", start); st != http.StatusTooManyRequests || m["error"] != "slow_down" {
		t.Errorf("third device start over two replicas: %d %v, want 429 slow_down", st, m)
	}
}

// TestAuthorizeFlood: anyone may start authorization requests, each kept
// until it expires. A request larger than any arsctl makes is refused
// and nothing is stored; one address starts AuthorizeStarts requests,
// then waits; all addresses together keep at most MaxLiveAuthRequests
// alive, and more can start once they expire.
func TestAuthorizeFlood(t *testing.T) {
	each(t, Config{AuthorizeStarts: 3, AuthorizeStartEvery: time.Hour, MaxLiveAuthRequests: 5, TrustProxy: true}, func(t *testing.T, e *env) {
		ctx := context.Background()
		cfg := CLIConfig(e.srv.URL)
		cfg.RedirectURL = "http://127.0.0.1:45678/callback"
		start := func(addr, state string) (*http.Response, string) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), nil)
			req.Header.Set("X-Forwarded-For", addr)
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp, string(b)
		}
		live := func() int {
			t.Helper()
			n, err := e.st.CountLiveAuthRequests(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		// 30 KB of state (and a nonce alike) were stored as given: a few
		// thousand such requests filled the database with hundreds of MB.
		big := strings.Repeat("a", 30<<10)
		if resp, body := start("192.0.2.9", big); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("an authorization request with 30 KB of state: %d %s", resp.StatusCode, body)
		}
		if n := live(); n != 0 {
			t.Fatalf("after an oversized request, %d requests are stored", n)
		}
		for i := range 3 {
			if resp, body := start("192.0.2.1", "s"); resp.StatusCode != http.StatusFound {
				t.Fatalf("start %d from one address: %d %s", i, resp.StatusCode, body)
			}
		}
		resp, body := start("192.0.2.1", "s")
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3600" {
			t.Fatalf("4th start from one address: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		for _, a := range []string{"192.0.2.2", "192.0.2.3"} {
			if resp, body := start(a, "s"); resp.StatusCode != http.StatusFound {
				t.Fatalf("start from %s: %d %s", a, resp.StatusCode, body)
			}
		}
		resp, body = start("192.0.2.4", "s")
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("start beyond the cap: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		if n := live(); n != 5 {
			t.Fatalf("live authorization requests = %d, want 5", n)
		}
		// Once they expire, sign-ins start again.
		e.clock.Add(11 * time.Minute)
		if resp, body := start("192.0.2.5", "s"); resp.StatusCode != http.StatusFound {
			t.Fatalf("start after the requests expired: %d %s", resp.StatusCode, body)
		}
	})
}
