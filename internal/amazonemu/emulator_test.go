package amazonemu

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

type emuEnv struct {
	t   *testing.T
	emu *Emulator
	srv *httptest.Server
	hc  *http.Client
}

func newEmu(t *testing.T, cfg Config) *emuEnv {
	e := New(cfg)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &emuEnv{t: t, emu: e, srv: srv, hc: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-0123456789"

func challenge(v string) string {
	s := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

func (e *emuEnv) authorizeQuery(mod func(url.Values)) url.Values {
	q := url.Values{
		"client_id": {e.emu.ClientID()}, "response_type": {"code"}, "scope": {"dash:replenish"},
		"scope_data":   {`{"dash:replenish":{"device_model":"ars-printer","serial":"S1","is_test_device":"true"}}`},
		"redirect_uri": {"http://127.0.0.1:9/cb"}, "state": {"st-1"},
		"code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"},
	}
	if mod != nil {
		mod(q)
	}
	return q
}

func (e *emuEnv) do(req *http.Request) (*http.Response, string) {
	e.t.Helper()
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (e *emuEnv) get(path string) (*http.Response, string) {
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	return e.do(req)
}

func (e *emuEnv) form(path string, v url.Values) (*http.Response, string) {
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

func (e *emuEnv) code(q url.Values) string {
	e.t.Helper()
	resp, body := e.get("/ap/oa?" + q.Encode())
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize: %d %s", resp.StatusCode, body)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("state") != q.Get("state") || loc.Query().Get("code") == "" {
		e.t.Fatalf("redirect %s", loc)
	}
	return loc.Query().Get("code")
}

func (e *emuEnv) exchange(code, v string) (int, map[string]any) {
	resp, body := e.form("/auth/o2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"http://127.0.0.1:9/cb"}, "client_id": {e.emu.ClientID()}, "client_secret": {e.emu.ClientSecret()}, "code_verifier": {v}})
	var m map[string]any
	_ = json.Unmarshal([]byte(body), &m)
	return resp.StatusCode, m
}

func (e *emuEnv) drs(method, path, typeVersion, accept, token string, body string) (*http.Response, string) {
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if typeVersion != "" {
		req.Header.Set("x-amzn-type-version", typeVersion)
	}
	if accept != "" {
		req.Header.Set("x-amzn-accept-type", accept)
	}
	return e.do(req)
}

func TestAuthorizeValidation(t *testing.T) {
	e := newEmu(t, Config{AutoApprove: true})
	// No redirect for a bad client or redirect URI: an error page.
	for _, mod := range []func(url.Values){
		func(q url.Values) { q.Set("client_id", "other") },
		func(q url.Values) { q.Del("redirect_uri") },
		func(q url.Values) { q.Set("redirect_uri", "/relative") },
	} {
		if resp, _ := e.get("/ap/oa?" + e.authorizeQuery(mod).Encode()); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("bad client/redirect: %d", resp.StatusCode)
		}
	}
	// Other errors go back to the client as error=invalid_request.
	for name, mod := range map[string]func(url.Values){
		"token response": func(q url.Values) { q.Set("response_type", "token") },
		"profile scope":  func(q url.Values) { q.Set("scope", "profile") },
		"no scope_data":  func(q url.Values) { q.Del("scope_data") },
		"bad scope_data": func(q url.Values) { q.Set("scope_data", "{") },
		"no serial":      func(q url.Values) { q.Set("scope_data", `{"dash:replenish":{"device_model":"ars-printer"}}`) },
		"unknown model":  func(q url.Values) { q.Set("scope_data", `{"dash:replenish":{"device_model":"x","serial":"1"}}`) },
		"bad test flag": func(q url.Values) {
			q.Set("scope_data", `{"dash:replenish":{"device_model":"ars-printer","serial":"1","is_test_device":"maybe"}}`)
		},
		"bad method":      func(q url.Values) { q.Set("code_challenge_method", "S512") },
		"short challenge": func(q url.Values) { q.Set("code_challenge", "abc") },
	} {
		resp, _ := e.get("/ap/oa?" + e.authorizeQuery(mod).Encode())
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("state") != "st-1" {
			t.Errorf("%s: %d %s", name, resp.StatusCode, loc)
		}
	}
}

func TestTokenFlow(t *testing.T) {
	e := newEmu(t, Config{AutoApprove: true})
	q := e.authorizeQuery(nil)

	// PKCE mismatch, then the right verifier; then the code is spent.
	code := e.code(q)
	if s, m := e.exchange(code, verifier+"x"); s != 400 || m["error"] != "invalid_grant" {
		t.Errorf("wrong verifier: %d %v", s, m)
	}
	if s, m := e.exchange(code, verifier); s != 400 || m["error"] != "invalid_grant" {
		t.Errorf("code after a failed attempt: %d %v", s, m)
	}
	code = e.code(q)
	if s, m := e.exchange(code, ""); s != 400 || m["error"] != "invalid_request" {
		t.Errorf("no verifier: %d %v", s, m)
	}
	code = e.code(q)
	s, m := e.exchange(code, verifier)
	if s != 200 || !strings.HasPrefix(m["access_token"].(string), "Atza|") || !strings.HasPrefix(m["refresh_token"].(string), "Atzr|") || m["token_type"] != "bearer" || m["expires_in"].(float64) != 3600 {
		t.Fatalf("exchange: %d %v", s, m)
	}
	if s, m := e.exchange(code, verifier); s != 400 || m["error"] != "invalid_grant" {
		t.Errorf("code reuse: %d %v", s, m)
	}
	// Client authentication.
	resp, body := e.form("/auth/o2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refresh_token"].(string)},
		"client_id": {e.emu.ClientID()}, "client_secret": {"wrong"}})
	if resp.StatusCode != 401 || !strings.Contains(body, "invalid_client") {
		t.Errorf("wrong secret: %d %s", resp.StatusCode, body)
	}
	resp, body = e.form("/auth/o2/token", url.Values{"grant_type": {"password"}, "client_id": {e.emu.ClientID()}, "client_secret": {e.emu.ClientSecret()}})
	if resp.StatusCode != 400 || !strings.Contains(body, "unsupported_grant_type") {
		t.Errorf("password grant: %d %s", resp.StatusCode, body)
	}
	// Refresh.
	resp, body = e.form("/auth/o2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refresh_token"].(string)},
		"client_id": {e.emu.ClientID()}, "client_secret": {e.emu.ClientSecret()}})
	var r map[string]any
	_ = json.Unmarshal([]byte(body), &r)
	if resp.StatusCode != 200 || r["access_token"] == m["access_token"] || r["refresh_token"] != m["refresh_token"] {
		t.Errorf("refresh: %d %s", resp.StatusCode, body)
	}
}

func TestDRS(t *testing.T) {
	e := newEmu(t, Config{AutoApprove: true})
	_, m := e.exchange(e.code(e.authorizeQuery(nil)), verifier)
	tok := m["access_token"].(string)

	// Versioning headers are required.
	if resp, body := e.drs("POST", "/replenish/cyan", "", ReplenishResult, tok, ""); resp.StatusCode != 400 || !strings.Contains(body, "x-amzn-type-version") {
		t.Errorf("no type version: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.drs("POST", "/replenish/cyan", ReplenishInput, "", tok, ""); resp.StatusCode != 400 {
		t.Errorf("no accept type: %d", resp.StatusCode)
	}
	// Tokens.
	for _, bad := range []string{"", "Atza|nope"} {
		if resp, body := e.drs("POST", "/replenish/cyan", ReplenishInput, ReplenishResult, bad, ""); resp.StatusCode != 400 || strings.TrimSpace(body) != `{"message":"Invalid token"}` {
			t.Errorf("token %q: %d %s", bad, resp.StatusCode, body)
		}
	}
	// Orders: test device, then in progress, then a new one after delivery.
	resp, body := e.drs("POST", "/replenish/cyan", ReplenishInput, ReplenishResult, tok, "")
	if resp.StatusCode != 200 || resp.Header.Get("x-amzn-type-version") != ReplenishResult || !strings.Contains(body, TestOrderPlaced) || !strings.Contains(body, "eventInstanceId") {
		t.Errorf("replenish: %d %s", resp.StatusCode, body)
	}
	if _, body := e.drs("POST", "/replenish/cyan", ReplenishInput, ReplenishResult, tok, ""); !strings.Contains(body, OrderInProgress) {
		t.Errorf("second replenish: %s", body)
	}
	if resp, body := e.drs("POST", "/replenish/teal", ReplenishInput, ReplenishResult, tok, ""); resp.StatusCode != 400 || !strings.Contains(body, MsgInvalidSlot) {
		t.Errorf("unknown slot: %d %s", resp.StatusCode, body)
	}
	e.emu.Deliver("S1", "cyan")
	if _, body := e.drs("POST", "/replenish/cyan", ReplenishInput, ReplenishResult, tok, ""); !strings.Contains(body, TestOrderPlaced) {
		t.Errorf("after delivery: %s", body)
	}
	if n := e.emu.ReplenishCalls("S1", "cyan"); n != 3 {
		t.Errorf("ReplenishCalls = %d, want 3", n)
	}
	// Slot and device status.
	if resp, _ := e.drs("POST", "/slotStatus/cyan", SlotStatusInput, SlotStatusResult, tok, `{"remainingQuantityInUnit":3,"originalQuantityInUnit":10}`); resp.StatusCode != 200 {
		t.Errorf("slotStatus: %d", resp.StatusCode)
	}
	if resp, _ := e.drs("POST", "/deviceStatus", DeviceStatusInput, DeviceStatusResult, tok, `{"mostRecentlyActiveDate":"yesterday"}`); resp.StatusCode != 400 {
		t.Errorf("bad deviceStatus date: %d", resp.StatusCode)
	}
	if resp, _ := e.drs("POST", "/deviceStatus", DeviceStatusInput, DeviceStatusResult, tok, `{"mostRecentlyActiveDate":"2026-11-26T08:00:00Z"}`); resp.StatusCode != 200 || e.emu.LastActive("S1") == "" {
		t.Errorf("deviceStatus: %d", resp.StatusCode)
	}
	if resp, body := e.drs("GET", "/subscriptionInfo", SubscriptionInput, SubscriptionResult, tok, ""); resp.StatusCode != 200 || !strings.Contains(body, `"cyan":true`) {
		t.Errorf("subscriptionInfo: %d %s", resp.StatusCode, body)
	}
	// Expiry answers the configured status; refresh gives a working token.
	e.emu.ExpireAccessTokens("S1")
	if resp, body := e.drs("POST", "/replenish/black", ReplenishInput, ReplenishResult, tok, ""); resp.StatusCode != 400 || !strings.Contains(body, MsgInvalidToken) {
		t.Errorf("expired: %d %s", resp.StatusCode, body)
	}
	// Deregistration invalidates the access and refresh tokens.
	_, body = e.form("/auth/o2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refresh_token"].(string)},
		"client_id": {e.emu.ClientID()}, "client_secret": {e.emu.ClientSecret()}})
	var r map[string]any
	_ = json.Unmarshal([]byte(body), &r)
	tok = r["access_token"].(string)
	if resp, _ := e.drs("DELETE", "/registration", DeregisterInput, DeregisterResult, tok, ""); resp.StatusCode != 200 {
		t.Fatalf("deregister: %d", resp.StatusCode)
	}
	if got := e.emu.Deregistrations(); len(got) != 1 || got[0].Serial != "S1" || !got[0].Test {
		t.Errorf("deregistrations %+v", got)
	}
	if resp, _ := e.drs("POST", "/replenish/black", ReplenishInput, ReplenishResult, tok, ""); resp.StatusCode != 400 {
		t.Errorf("token after deregistration: %d", resp.StatusCode)
	}
	resp, body = e.form("/auth/o2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refresh_token"].(string)},
		"client_id": {e.emu.ClientID()}, "client_secret": {e.emu.ClientSecret()}})
	if resp.StatusCode != 400 || !strings.Contains(body, "invalid_grant") {
		t.Errorf("refresh after deregistration: %d %s", resp.StatusCode, body)
	}
}

func TestControlEndpoints(t *testing.T) {
	e := newEmu(t, Config{ExpiredStatus: http.StatusUnauthorized})
	// Auto-approve off: the sign-in page.
	resp, body := e.get("/ap/oa?" + e.authorizeQuery(nil).Encode())
	if resp.StatusCode != 200 || !strings.Contains(body, "Sign-In") {
		t.Fatalf("sign-in page: %d", resp.StatusCode)
	}
	if resp, _ := e.form("/_emu/auto-approve?on=true", nil); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	_, m := e.exchange(e.code(e.authorizeQuery(nil)), verifier)
	tok := m["access_token"].(string)
	e.drs("POST", "/replenish/cyan", ReplenishInput, ReplenishResult, tok, "")
	if _, body := e.form("/_emu/expire?serial=S1", nil); !strings.Contains(body, `"affected":1`) {
		t.Errorf("expire: %s", body)
	}
	if resp, _ := e.drs("POST", "/replenish/black", ReplenishInput, ReplenishResult, tok, ""); resp.StatusCode != 401 {
		t.Errorf("expired with ExpiredStatus 401: %d", resp.StatusCode)
	}
	if _, body := e.form("/_emu/deliver?serial=S1&slot=cyan", nil); !strings.Contains(body, `"affected":1`) {
		t.Errorf("deliver: %s", body)
	}
	if _, body := e.form("/_emu/revoke?serial=S1", nil); !strings.Contains(body, `"affected":1`) {
		t.Errorf("revoke: %s", body)
	}
	_, body = e.get("/_emu/state")
	var st State
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if st.Replenish["S1/cyan"] != 1 || len(st.Orders) != 1 || !st.Orders[0].Delivered || len(st.Registered) != 1 {
		t.Errorf("state %+v", st)
	}
}

func TestSignInForm(t *testing.T) {
	e := newEmu(t, Config{})
	_, body := e.get("/ap/oa?" + e.authorizeQuery(nil).Encode())
	i := strings.Index(body, `name="request" value="`)
	id := body[i+len(`name="request" value="`):]
	id = id[:strings.IndexByte(id, '"')]
	// Missing password: the form again.
	resp, body := e.form("/ap/signin", url.Values{"request": {id}, "email": {"a@b.c"}})
	if resp.StatusCode != 200 || !strings.Contains(body, "Enter your email and password") {
		t.Errorf("no password: %d", resp.StatusCode)
	}
	resp, _ = e.form("/ap/signin", url.Values{"request": {id}, "email": {"a@b.c"}, "password": {"x"}})
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st-1" {
		t.Errorf("sign-in: %d %s", resp.StatusCode, loc)
	}
	// The request is spent.
	if resp, _ := e.form("/ap/signin", url.Values{"request": {id}, "email": {"a@b.c"}, "password": {"x"}}); resp.StatusCode != 400 {
		t.Errorf("reused request: %d", resp.StatusCode)
	}
}

func FuzzScopeData(f *testing.F) {
	f.Add(`{"dash:replenish":{"device_model":"m","serial":"s","is_test_device":true}}`)
	f.Add(`{"dash:replenish":{"device_model":"m","serial":"s","is_test_device":"false"}}`)
	f.Add(`{"dash:replenish":null}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseScopeData(s)
		if err == nil && (d.Model == "" || d.Serial == "") {
			t.Fatalf("accepted %q without model or serial", s)
		}
	})
}

// FuzzAuthorize sends arbitrary query strings to the authorize page: it
// answers, never panics, and redirects only to the given redirect URI.
func FuzzAuthorize(f *testing.F) {
	e := New(Config{AutoApprove: true})
	f.Add("client_id=amzn1.application-oa2-client.arsd-test&redirect_uri=http://x/cb&response_type=code&scope=dash:replenish&scope_data=%7B%7D")
	f.Add("%zz&&==")
	f.Fuzz(func(t *testing.T, q string) {
		req := httptest.NewRequest("GET", "/ap/oa", nil)
		req.URL.RawQuery = q
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code == http.StatusFound {
			loc := rec.Header().Get("Location")
			want := req.URL.Query().Get("redirect_uri")
			u, _ := url.Parse(want)
			if u == nil || !strings.HasPrefix(loc, (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()) {
				t.Fatalf("redirected to %q for redirect_uri %q", loc, want)
			}
		}
	})
}

func TestAutoApproveParam(t *testing.T) {
	q := func(e *emuEnv) string {
		return "/ap/oa?" + e.authorizeQuery(func(v url.Values) { v.Set("emu_auto_approve", "1") }).Encode()
	}
	on := newEmu(t, Config{AllowAutoApproveParam: true})
	if resp, _ := on.get(q(on)); resp.StatusCode != http.StatusFound {
		t.Errorf("allowed: %d, want a redirect", resp.StatusCode)
	}
	off := newEmu(t, Config{})
	if resp, _ := off.get(q(off)); resp.StatusCode != http.StatusOK {
		t.Errorf("not allowed: %d, want the sign-in page", resp.StatusCode)
	}
}
