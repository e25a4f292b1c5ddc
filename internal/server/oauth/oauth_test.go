package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/formbrowser"
	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/internal/server/web/webtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

func TestDiscovery(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), Config{})
	resp, err := http.Get(e.srv.URL + DiscoveryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer         string   `json:"issuer"`
		Authorization  string   `json:"authorization_endpoint"`
		Token          string   `json:"token_endpoint"`
		Device         string   `json:"device_authorization_endpoint"`
		Revocation     string   `json:"revocation_endpoint"`
		JWKS           string   `json:"jwks_uri"`
		GrantTypes     []string `json:"grant_types_supported"`
		CodeChallenges []string `json:"code_challenge_methods_supported"`
		Scopes         []string `json:"scopes_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	u := e.srv.URL
	if doc.Issuer != u || doc.Authorization != u+AuthorizePath || doc.Token != u+TokenPath ||
		doc.Device != u+DeviceAuthPath || doc.Revocation != u+RevokePath || doc.JWKS != u+KeysPath {
		t.Errorf("discovery endpoints = %+v", doc)
	}
	for _, g := range []string{"authorization_code", "refresh_token", deviceGrant} {
		if !slices.Contains(doc.GrantTypes, g) {
			t.Errorf("grant_types_supported %v lacks %s", doc.GrantTypes, g)
		}
	}
	if !slices.Equal(doc.CodeChallenges, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported = %v", doc.CodeChallenges)
	}
	if !slices.Contains(doc.Scopes, arsapi.ScopeARS) || !slices.Contains(doc.Scopes, "offline_access") {
		t.Errorf("scopes_supported = %v", doc.Scopes)
	}
}

// loopback is arsctl's side of RFC 8252: a listener on 127.0.0.1 at a
// port of its choosing that receives the redirect.
type loopback struct {
	url string
	got chan url.Values
}

func newLoopback(t *testing.T) *loopback {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lb := &loopback{url: "http://" + ln.Addr().String() + "/callback", got: make(chan url.Values, 1)}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		select {
		case lb.got <- r.URL.Query():
		default:
		}
		io.WriteString(w, "signed in; return to the terminal")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return lb
}

// codeFlow runs the authorization code flow with PKCE through the
// browser b and the loopback listener lb; it returns the callback query.
func codeFlow(t *testing.T, e *env, b *formbrowser.Browser, lb *loopback, cfg *oauth2.Config, state string, opts ...oauth2.AuthCodeOption) url.Values {
	t.Helper()
	page, err := oauthtest.Authorize(context.Background(), b, cfg.AuthCodeURL(state, opts...), e.email, e.password, true)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case q := <-lb.got:
		return q
	default:
		t.Fatalf("the loopback redirect was not reached; last page %s", page.Text())
		return nil
	}
}

func TestAuthorizationCodePKCE(t *testing.T) {
	each(t, Config{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		b, err := formbrowser.New(http.DefaultClient)
		if err != nil {
			t.Fatal(err)
		}
		lb := newLoopback(t)
		cfg := CLIConfig(e.srv.URL)
		cfg.RedirectURL = lb.url
		verifier := oauth2.GenerateVerifier()
		q := codeFlow(t, e, b, lb, cfg, "st-1", oauth2.S256ChallengeOption(verifier))
		if q.Get("state") != "st-1" || q.Get("code") == "" {
			t.Fatalf("callback query = %v", q)
		}
		code := q.Get("code")

		// Without the verifier the code is refused (and burnt).
		if _, err := cfg.Exchange(ctx, code); err == nil {
			t.Fatal("code exchanged without code_verifier")
		}
		// A second round, now signed in: the browser session is reused,
		// on another loopback port.
		lb2 := newLoopback(t)
		cfg.RedirectURL = lb2.url
		verifier = oauth2.GenerateVerifier()
		q = codeFlow(t, e, b, lb2, cfg, "st-2", oauth2.S256ChallengeOption(verifier))
		if q.Get("state") != "st-2" || q.Get("code") == "" {
			t.Fatalf("callback query = %v", q)
		}
		_, err = cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption("wrong-"+verifier))
		if err == nil {
			t.Fatal("code exchanged with a wrong code_verifier")
		}
		q = codeFlow(t, e, b, lb2, cfg, "st-3", oauth2.S256ChallengeOption(verifier))
		tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
			t.Fatalf("token response lacks refresh or id token: %+v", tok)
		}
		if exp := time.Until(tok.Expiry); exp < 14*time.Minute || exp > 16*time.Minute {
			t.Errorf("access token lives %v, want 15m", exp)
		}
		acct, err := e.authenticate(tok.AccessToken)
		if err != nil || acct != e.acct {
			t.Fatalf("Authenticate = %q, %v", acct, err)
		}
		// A token without the "ars" scope does not open the API.
		narrow := *cfg
		narrow.Scopes = []string{"openid"}
		nq := codeFlow(t, e, b, lb2, &narrow, "st-4", oauth2.S256ChallengeOption(verifier))
		nt, err := narrow.Exchange(ctx, nq.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.authenticate(nt.AccessToken); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("token without the ars scope: %v", err)
		}
		// The userinfo endpoint knows the account.
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+UserinfoPath, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var ui map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&ui)
		resp.Body.Close()
		if ui["sub"] != e.acct {
			t.Errorf("userinfo = %d %v", resp.StatusCode, ui)
		}
		// The code works once; replaying it revokes what it gave.
		if _, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); err == nil {
			t.Fatal("code exchanged twice")
		}
		if _, err := e.authenticate(tok.AccessToken); !errors.Is(err, store.ErrTokenRevoked) {
			t.Fatalf("access token after code replay: %v", err)
		}
		if st, _ := refresh(t, e, tok.RefreshToken); st != 400 {
			t.Fatalf("refresh after code replay = %d", st)
		}
	})
}

func TestAuthorizeRefusals(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), Config{})
	jar, _ := cookiejar.New(nil)
	noRedirect := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	lb := newLoopback(t)
	cfg := CLIConfig(e.srv.URL)
	cfg.RedirectURL = lb.url
	get := func(u string) *http.Response {
		t.Helper()
		resp, err := noRedirect.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// No PKCE: an error goes back to the client.
	resp := get(cfg.AuthCodeURL("s"))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_request" {
		t.Errorf("no PKCE: %d %s", resp.StatusCode, loc)
	}
	// plain PKCE is refused too.
	resp = get(cfg.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq"),
		oauth2.SetAuthURLParam("code_challenge_method", "plain")))
	loc, _ = url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("error") == "" {
		t.Errorf("plain PKCE accepted: %s", loc)
	}
	// A non-loopback redirect is refused without redirecting there.
	evil := CLIConfig(e.srv.URL)
	evil.RedirectURL = "http://evil.example/callback"
	resp = get(evil.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if strings.Contains(resp.Header.Get("Location"), "evil.example") {
		t.Errorf("redirected to an unregistered URI: %s", resp.Header.Get("Location"))
	}
	// A good request without a session goes to the login step, then to /login.
	resp = get(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if !strings.HasPrefix(resp.Header.Get("Location"), loginStepPath+"?authRequestID=") {
		t.Fatalf("authorize redirected to %q", resp.Header.Get("Location"))
	}
	resp = get(e.srv.URL + resp.Header.Get("Location"))
	want := "/login?next=" + url.QueryEscape(loginStepPath+"?authRequestID=")
	if !strings.HasPrefix(resp.Header.Get("Location"), want) {
		t.Fatalf("login step redirected to %q, want %s...", resp.Header.Get("Location"), want)
	}
}

// tokenPost posts a form to the token endpoint and decodes the answer.
func tokenPost(t *testing.T, e *env, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(e.srv.URL+TokenPath, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("token endpoint answered %d, not JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, m
}

func deviceStart(t *testing.T, e *env) *oauth2.DeviceAuthResponse {
	t.Helper()
	da, err := CLIConfig(e.srv.URL).DeviceAuth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return da
}

func poll(t *testing.T, e *env, deviceCode string) (int, map[string]any) {
	t.Helper()
	return tokenPost(t, e, url.Values{"grant_type": {deviceGrant}, "device_code": {deviceCode}, "client_id": {arsapi.CLIClientID}})
}

func TestDeviceFlow(t *testing.T) {
	each(t, Config{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		da := deviceStart(t, e)
		if da.Interval != 5 || da.UserCode == "" || !strings.HasPrefix(da.VerificationURI, e.srv.URL+DevicePath) ||
			da.VerificationURIComplete != da.VerificationURI+"?user_code="+da.UserCode {
			t.Fatalf("device authorization = %+v", da)
		}
		// Pending, then too fast, then pending again after waiting.
		if st, m := poll(t, e, da.DeviceCode); st != 400 || m["error"] != "authorization_pending" {
			t.Fatalf("first poll = %d %v", st, m)
		}
		if st, m := poll(t, e, da.DeviceCode); st != 400 || m["error"] != "slow_down" {
			t.Fatalf("fast poll = %d %v", st, m)
		}
		e.clock.Add(10 * time.Second) // interval is now 10s
		if st, m := poll(t, e, da.DeviceCode); m["error"] != "authorization_pending" {
			t.Fatalf("poll after 10s = %d %v", st, m)
		}
		e.clock.Add(5 * time.Second)
		if _, m := poll(t, e, da.DeviceCode); m["error"] != "slow_down" {
			t.Fatalf("poll after 5s with a 10s interval = %v", m)
		}
		if st, m := poll(t, e, "no-such-code"); st != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("unknown device code = %d %v", st, m)
		}

		// The person signs in and approves; the next poll gets tokens, once.
		if err := oauthtest.ApproveDevice(ctx, http.DefaultClient, da.VerificationURIComplete, e.email, e.password, true); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Minute)
		st, m := poll(t, e, da.DeviceCode)
		if st != 200 || m["access_token"] == nil || m["refresh_token"] == nil {
			t.Fatalf("poll after approval = %d %v", st, m)
		}
		acct, err := e.authenticate(m["access_token"].(string))
		if err != nil || acct != e.acct {
			t.Fatalf("Authenticate = %q, %v", acct, err)
		}
		e.clock.Add(time.Minute)
		if st, m := poll(t, e, da.DeviceCode); st == 200 {
			t.Fatalf("device code gave tokens twice: %v", m)
		}

		// Denied.
		da = deviceStart(t, e)
		if err := oauthtest.ApproveDevice(ctx, http.DefaultClient, da.VerificationURIComplete, e.email, e.password, false); err != nil {
			t.Fatal(err)
		}
		if st, m := poll(t, e, da.DeviceCode); st != 400 || m["error"] != "access_denied" {
			t.Fatalf("denied = %d %v", st, m)
		}
		// Expired.
		da = deviceStart(t, e)
		e.clock.Add(11 * time.Minute)
		if st, m := poll(t, e, da.DeviceCode); st != 400 || m["error"] != "expired_token" {
			t.Fatalf("expired = %d %v", st, m)
		}
		if err := oauthtest.ApproveDevice(ctx, http.DefaultClient, da.VerificationURIComplete, e.email, e.password, true); err == nil {
			t.Fatal("an expired code was approved")
		}
		// A wrong password never reaches the approval.
		da = deviceStart(t, e)
		err = oauthtest.ApproveDevice(ctx, http.DefaultClient, da.VerificationURIComplete, e.email, "wrong password!", true)
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("wrong password: %v", err)
		}
	})
}

func TestDevicePageCSRF(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), Config{})
	ctx := context.Background()
	da := deviceStart(t, e)
	b, _ := formbrowser.New(http.DefaultClient)
	page, err := b.Get(ctx, da.VerificationURIComplete)
	if err != nil {
		t.Fatal(err)
	}
	f := page.Form(func(f *formbrowser.Form) bool { return f.HasType("password") })
	if _, err := b.Submit(ctx, page, f, oauthtest.SignInFields(f, e.email, e.password), ""); err != nil {
		t.Fatal(err)
	}
	// Signed in, but a forged form (no or wrong token) is refused.
	for _, tok := range []string{"", "forged"} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+DevicePath+"/decide",
			strings.NewReader(url.Values{"user_code": {da.UserCode}, "action": {"approve"}, "csrf_token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := b.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("forged approval with token %q answered %d", tok, resp.StatusCode)
		}
	}
	// The token of another session of the same account is refused too:
	// a token seen once (a shared screen, a log) is worth nothing in
	// another browser.
	other := signedInBrowser(t, e)
	otherPage, err := other.Get(ctx, da.VerificationURIComplete)
	if err != nil {
		t.Fatal(err)
	}
	otherTok := otherPage.Form(func(f *formbrowser.Form) bool { return f.Has("user_code") }).Value("csrf_token")
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+DevicePath+"/decide",
		strings.NewReader(url.Values{"user_code": {da.UserCode}, "action": {"approve"}, "csrf_token": {otherTok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if otherTok == "" || resp.StatusCode != http.StatusForbidden {
		t.Errorf("approval with another session's token %q answered %d", otherTok, resp.StatusCode)
	}
	if d, err := e.st.DeviceByUserCode(ctx, da.UserCode); err != nil || d.State != store.DevicePending {
		t.Fatalf("after forged posts: %+v, %v", d, err)
	}
}

func refresh(t *testing.T, e *env, rt string) (int, map[string]any) {
	t.Helper()
	return tokenPost(t, e, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {arsapi.CLIClientID}})
}

func TestRefreshRotationAndReuse(t *testing.T) {
	each(t, Config{}, func(t *testing.T, e *env) {
		tok, err := oauthtest.DeviceLogin(context.Background(), http.DefaultClient, e.srv.URL, e.email, e.password)
		if err != nil {
			t.Fatal(err)
		}
		st, m := refresh(t, e, tok.RefreshToken)
		if st != 200 {
			t.Fatalf("refresh = %d %v", st, m)
		}
		rt2, at2 := m["refresh_token"].(string), m["access_token"].(string)
		if rt2 == "" || rt2 == tok.RefreshToken {
			t.Fatalf("refresh token not rotated")
		}
		if _, err := e.authenticate(at2); err != nil {
			t.Fatal(err)
		}
		// Reusing the old refresh token revokes the whole sign-in.
		if st, m := refresh(t, e, tok.RefreshToken); st != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("reuse = %d %v", st, m)
		}
		if st, m := refresh(t, e, rt2); st != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("new token after reuse = %d %v", st, m)
		}
		if _, err := e.authenticate(at2); !errors.Is(err, ErrInvalidToken) || !errors.Is(err, store.ErrTokenRevoked) {
			t.Fatalf("access token after reuse: %v", err)
		}
		// Narrowing scopes on refresh works; widening does not.
		tok, _ = oauthtest.DeviceLogin(context.Background(), http.DefaultClient, e.srv.URL, e.email, e.password)
		st, m = tokenPost(t, e, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
			"client_id": {arsapi.CLIClientID}, "scope": {"openid offline_access ars email"}})
		if st != 400 || m["error"] != "invalid_scope" {
			t.Fatalf("widened scope = %d %v", st, m)
		}
	})
}

func TestRevocation(t *testing.T) {
	each(t, Config{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		revoke := func(token, hint string) int {
			t.Helper()
			form := url.Values{"token": {token}, "client_id": {arsapi.CLIClientID}}
			if hint != "" {
				form.Set("token_type_hint", hint)
			}
			resp, err := http.PostForm(e.srv.URL+RevokePath, form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		// Revoking the refresh token (arsctl auth logout) ends the sign-in.
		tok, err := oauthtest.DeviceLogin(ctx, http.DefaultClient, e.srv.URL, e.email, e.password)
		if err != nil {
			t.Fatal(err)
		}
		if st := revoke(tok.RefreshToken, "refresh_token"); st != 200 {
			t.Fatalf("revoke refresh = %d", st)
		}
		if _, err := e.authenticate(tok.AccessToken); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("access token after logout: %v", err)
		}
		if st, _ := refresh(t, e, tok.RefreshToken); st != 400 {
			t.Fatalf("refresh after logout = %d", st)
		}
		// Revoking an access token.
		tok, _ = oauthtest.DeviceLogin(ctx, http.DefaultClient, e.srv.URL, e.email, e.password)
		if st := revoke(tok.AccessToken, "access_token"); st != 200 {
			t.Fatalf("revoke access = %d", st)
		}
		if _, err := e.authenticate(tok.AccessToken); !errors.Is(err, store.ErrTokenRevoked) {
			t.Fatalf("revoked access token: %v", err)
		}
		// Unknown tokens are fine (RFC 7009).
		if st := revoke("nonsense", ""); st != 200 {
			t.Fatalf("revoke unknown = %d", st)
		}
	})
}

func TestAccessTokenExpiry(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), Config{AccessTokenTTL: 2 * time.Minute})
	tok, err := oauthtest.DeviceLogin(context.Background(), http.DefaultClient, e.srv.URL, e.email, e.password)
	if err != nil {
		t.Fatal(err)
	}
	if exp := time.Until(tok.Expiry); exp > 2*time.Minute || exp < time.Minute {
		t.Errorf("expires_in %v with a 2m TTL", exp)
	}
	if _, err := e.authenticate(tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(3 * time.Minute)
	_, err = e.authenticate(tok.AccessToken)
	if !errors.Is(err, ErrInvalidToken) || !errors.Is(err, store.ErrTokenExpired) {
		t.Fatalf("expired token: %v", err)
	}
	// The refresh token still works and gives a live access token.
	st, m := refresh(t, e, tok.RefreshToken)
	if st != 200 {
		t.Fatalf("refresh = %d %v", st, m)
	}
	if _, err := e.authenticate(m["access_token"].(string)); err != nil {
		t.Fatal(err)
	}
	// Garbage, tampered and missing tokens.
	for _, bad := range []string{"x", tok.AccessToken + "x", strings.Replace(tok.AccessToken, ".", ".e30.", 1)} {
		if _, err := e.authenticate(bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("token %.10q...: %v", bad, err)
		}
	}
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	if _, err := e.oa.Authenticator().Authenticate(r); !errors.Is(err, ErrNoToken) {
		t.Errorf("no token: %v", err)
	}
}

func TestKeysSharedByReplicas(t *testing.T) {
	each(t, Config{}, func(t *testing.T, e *env) {
		tok, err := oauthtest.DeviceLogin(context.Background(), http.DefaultClient, e.srv.URL, e.email, e.password)
		if err != nil {
			t.Fatal(err)
		}
		// A second server on the same database (another replica, or a
		// restart) accepts the token and signs with the same key.
		other, err := New(context.Background(), e.st, &webtest.Login{Store: e.st}, nil, Config{Issuer: e.srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		if other.storage.signer.id != e.oa.storage.signer.id {
			t.Fatal("replicas use different signing keys")
		}
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if acct, err := other.Authenticator().Authenticate(r); err != nil || acct != e.acct {
			t.Fatalf("replica Authenticate = %q, %v", acct, err)
		}
	})
}

func apiCall(t *testing.T, e *env, method, path, bearer, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestAPITokens(t *testing.T) {
	each(t, Config{}, func(t *testing.T, e *env) {
		tok, err := oauthtest.DeviceLogin(context.Background(), http.DefaultClient, e.srv.URL, e.email, e.password)
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := apiCall(t, e, "POST", tokensPath, "", `{"name":"x"}`); st != 401 {
			t.Fatalf("create without sign-in = %d", st)
		}
		st, body := apiCall(t, e, "POST", tokensPath, tok.AccessToken, `{"name":"fleet enrollment","expires_in_days":90}`)
		if st != 201 {
			t.Fatalf("create = %d %s", st, body)
		}
		var created arsapi.CreatedAPIToken
		if err := json.Unmarshal(body, &created); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(created.Token, store.APITokenPrefix) || created.Name != "fleet enrollment" {
			t.Fatalf("created = %+v", created)
		}
		if acct, err := e.authenticate(created.Token); err != nil || acct != e.acct {
			t.Fatalf("API token Authenticate = %q, %v", acct, err)
		}
		// An API token cannot mint API tokens.
		if st, _ := apiCall(t, e, "POST", tokensPath, created.Token, `{"name":"y"}`); st != 403 {
			t.Fatalf("API token created a token: %d", st)
		}
		st, body = apiCall(t, e, "GET", tokensPath, tok.AccessToken, "")
		if st != 200 || strings.Contains(string(body), created.Token) || !strings.Contains(string(body), created.ID) {
			t.Fatalf("list = %d %s", st, body)
		}
		if st, _ := apiCall(t, e, "DELETE", tokensPath+"/"+created.ID, tok.AccessToken, ""); st != 204 {
			t.Fatalf("revoke = %d", st)
		}
		if _, err := e.authenticate(created.Token); !errors.Is(err, store.ErrTokenRevoked) {
			t.Fatalf("revoked API token: %v", err)
		}
		if st, _ := apiCall(t, e, "DELETE", tokensPath+"/nope", tok.AccessToken, ""); st != 404 {
			t.Fatalf("revoke unknown = %d", st)
		}
		if st, _ := apiCall(t, e, "POST", tokensPath, tok.AccessToken, `{"name":""}`); st != 422 {
			t.Fatalf("empty name = %d", st)
		}
	})
}

func TestTokenEndpointRateLimit(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), Config{TokenFailures: 5, TokenFailureEvery: time.Hour})
	var last int
	for i := range 8 {
		last, _ = refresh(t, e, fmt.Sprintf("guess-%d", i))
		if i < 5 && last != 400 {
			t.Fatalf("attempt %d = %d", i, last)
		}
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("after 8 bad refresh tokens: %d, want 429", last)
	}
	// Behind a trusted proxy, clients are told apart by X-Forwarded-For.
	e = newEnv(t, dbtest.SQLite(t), Config{TokenFailures: 2, TokenFailureEvery: time.Hour, TrustProxy: true})
	post := func(xff string) int {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+TokenPath, strings.NewReader(url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {"guess"}, "client_id": {arsapi.CLIClientID}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 3 {
		last = post("203.0.113.50, 192.0.2.1") // the first entry is the client's own
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("client 192.0.2.1 after 3 failures: %d", last)
	}
	if st := post("192.0.2.2"); st != 400 {
		t.Fatalf("another client behind the same proxy: %d, want 400", st)
	}
}

// TestTokensNeverLogged runs every flow with debug logging, from arsd and
// from the OIDC library, and checks that no secret appears in the logs.
func TestTokensNeverLogged(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), Config{})
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	ctx := context.Background()

	var secrets []string
	tok, err := oauthtest.DeviceLogin(ctx, http.DefaultClient, e.srv.URL, e.email, e.password)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, tok.AccessToken, tok.RefreshToken, e.password)
	_, m := refresh(t, e, tok.RefreshToken)
	secrets = append(secrets, m["access_token"].(string), m["refresh_token"].(string))
	refresh(t, e, tok.RefreshToken) // reuse: an error path
	da := deviceStart(t, e)
	secrets = append(secrets, da.DeviceCode)
	poll(t, e, da.DeviceCode)
	poll(t, e, da.DeviceCode)

	b, _ := formbrowser.New(http.DefaultClient)
	lb := newLoopback(t)
	cfg := CLIConfig(e.srv.URL)
	cfg.RedirectURL = lb.url
	v := oauth2.GenerateVerifier()
	q := codeFlow(t, e, b, lb, cfg, "s", oauth2.S256ChallengeOption(v))
	secrets = append(secrets, q.Get("code"), v)
	ct, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, ct.AccessToken, ct.RefreshToken)
	_, body := apiCall(t, e, "POST", tokensPath, ct.AccessToken, `{"name":"ci"}`)
	var created arsapi.CreatedAPIToken
	_ = json.Unmarshal(body, &created)
	secrets = append(secrets, created.Token)
	cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v)) // replay: an error path
	e.authenticate(created.Token + "x")
	e.authenticate(ct.AccessToken + "x")

	logs := e.logs.String()
	if logs == "" {
		t.Fatal("nothing was logged; the test checks nothing")
	}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("a secret is empty; the flow did not run")
		}
		// Any 12-character piece of a secret would be a leak.
		for i := 0; i+12 <= len(s); i += 6 {
			if strings.Contains(logs, s[i:i+12]) {
				t.Fatalf("a secret (%.4s...) appears in the logs", s)
			}
		}
	}
}

// TestRefreshLoopKeepsFewTokens: every refresh added a refresh token (kept,
// used, for 30 days to catch replays) and an access token, so a client
// refreshing in a loop grew both tables without bound. A sign-in keeps
// store.FamilyTokensKept of each; the latest tokens work, and a replay of
// the refresh token just used still ends the sign-in.
func TestRefreshLoopKeepsFewTokens(t *testing.T) {
	each(t, Config{}, func(t *testing.T, e *env) {
		tok, err := oauthtest.DeviceLogin(context.Background(), http.DefaultClient, e.srv.URL, e.email, e.password)
		if err != nil {
			t.Fatal(err)
		}
		rt, prev, at := tok.RefreshToken, "", ""
		for range 3 * store.FamilyTokensKept {
			e.clock.Add(time.Second)
			st, m := refresh(t, e, rt)
			if st != 200 {
				t.Fatalf("refresh = %d %v", st, m)
			}
			prev, rt, at = rt, m["refresh_token"].(string), m["access_token"].(string)
		}
		count := func(table string) (n int) {
			t.Helper()
			if err := e.d.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table+` WHERE account_id = ?`, e.acct).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count("oauth_refresh_tokens"); n != store.FamilyTokensKept+1 {
			t.Errorf("%d refresh tokens kept after %d refreshes, want %d", n, 3*store.FamilyTokensKept, store.FamilyTokensKept+1)
		}
		if n := count("oauth_access_tokens"); n != store.FamilyTokensKept {
			t.Errorf("%d access tokens kept, want %d", n, store.FamilyTokensKept)
		}
		if _, err := e.authenticate(at); err != nil {
			t.Fatalf("latest access token: %v", err)
		}
		if st, m := refresh(t, e, prev); st != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("replay of the previous refresh token = %d %v", st, m)
		}
		if _, err := e.authenticate(at); !errors.Is(err, store.ErrTokenRevoked) {
			t.Fatalf("access token after the replay: %v, want revoked", err)
		}
	})
}
