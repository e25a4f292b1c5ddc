// Package amazonemu emulates the parts of Amazon that arsd talks to for
// Amazon Dash Replenishment (DRS): the Login with Amazon (LWA) authorize
// page and token endpoint, and the DRS service endpoints replenish,
// slotStatus, deviceStatus and registration (deregistration).
//
// Tests cannot reach Amazon, so arsd's DRS client is tested against this
// emulator. It follows Amazon's published documentation; each handler
// names the document page its shapes come from. Where a document leaves a
// detail open (the exact text of an error body), the emulator picks one and
// says so.
//
// An Emulator is an http.Handler serving all paths on one host:
//
//	GET  /ap/oa                    LWA authorize (sign-in page, or auto-approve)
//	POST /ap/signin                the sign-in form's target
//	POST /auth/o2/token            LWA token endpoint
//	POST /replenish/{slotId}       DRS Replenish
//	POST /slotStatus/{slotId}      DRS SlotStatus
//	POST /deviceStatus             DRS DeviceStatus
//	DELETE /registration           DRS Deregistration (version 2.0)
//	GET  /subscriptionInfo         DRS GetSubscriptionInfo
//	/_emu/...                      test controls (see control.go)
//
// Test code controls it through methods (ExpireAccessTokens, RevokeRefresh,
// Deliver, ...) or, when it runs as a separate process
// (cmd/amazonemu), through the /_emu/ endpoints.
package amazonemu

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// DRS versioned media types, from the "Replenish Endpoint",
// "SlotStatus Endpoint", "DeviceStatus Endpoint" and "Deregistration
// Endpoint" pages of the Dash Replenishment Service documentation.
const (
	ReplenishInput     = "com.amazon.dash.replenishment.DrsReplenishInput@1.0"
	ReplenishResult    = "com.amazon.dash.replenishment.DrsReplenishResult@1.0"
	SlotStatusInput    = "com.amazon.dash.replenishment.DrsSlotStatusInput@1.0"
	SlotStatusResult   = "com.amazon.dash.replenishment.DrsSlotStatusResult@1.0"
	DeviceStatusInput  = "com.amazon.dash.replenishment.DrsDeviceStatusInput@1.0"
	DeviceStatusResult = "com.amazon.dash.replenishment.DrsDeviceStatusResult@1.0"
	DeregisterInput    = "com.amazon.dash.replenishment.DrsDeregisterInput@2.0"
	DeregisterResult   = "com.amazon.dash.replenishment.DrsDeregisterResult@1.0"
	SubscriptionInput  = "com.amazon.dash.replenishment.DrsSubscriptionInfoInput@1.0"
	SubscriptionResult = "com.amazon.dash.replenishment.DrsSubscriptionInfoResult@1.0"
)

// Replenish detail codes ("Replenish Endpoint", response example details).
const (
	StandardOrderPlaced = "STANDARD_ORDER_PLACED"
	TestOrderPlaced     = "TEST_ORDER_PLACED"
	OrderInProgress     = "ORDER_INPROGRESS"
)

// Error bodies. The DRS pages document 400 Bad Request for client errors
// "e.g. bad token" with a best-effort explanation in the body; Amazon's
// services answer a bad or expired access token with
// {"message":"Invalid token"}. The text for an unknown slot is not
// documented; the emulator uses the message below.
const (
	MsgInvalidToken = "Invalid token"
	MsgInvalidSlot  = "Invalid slot ID"
)

// Config configures an Emulator. Zero values get the defaults noted.
type Config struct {
	// ClientID and ClientSecret are the one LWA security profile the
	// emulator accepts. Defaults "amzn1.application-oa2-client.arsd-test"
	// and "arsd-test-secret".
	ClientID     string
	ClientSecret string
	// DeviceModels maps a DRS device model ID to its slot IDs. Default:
	// model "ars-printer" with slots "black", "cyan", "magenta", "yellow",
	// "photo-black".
	DeviceModels map[string][]string
	// AccessTokenTTL is how long an access token lives. Default one hour
	// (the LWA "Access Token" page: tokens are valid for sixty minutes).
	AccessTokenTTL time.Duration
	// CodeTTL is how long an authorization code may be exchanged. Default
	// five minutes (LWA "Authorization Code Grant").
	CodeTTL time.Duration
	// ExpiredStatus is the HTTP status DRS answers for an expired access
	// token: 400 (the default, as the DRS pages document) or 401.
	ExpiredStatus int
	// AutoApprove skips the sign-in page: /ap/oa redirects straight back
	// with a code, as if the user had signed in and agreed. A request may
	// also ask for it with the query parameter emu_auto_approve=1 when
	// AllowAutoApproveParam is set.
	AutoApprove           bool
	AllowAutoApproveParam bool
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.ClientID == "" {
		c.ClientID = "amzn1.application-oa2-client.arsd-test"
	}
	if c.ClientSecret == "" {
		c.ClientSecret = "arsd-test-secret"
	}
	if len(c.DeviceModels) == 0 {
		c.DeviceModels = map[string][]string{DefaultDeviceModel: DefaultSlots()}
	}
	if c.AccessTokenTTL <= 0 {
		c.AccessTokenTTL = time.Hour
	}
	if c.CodeTTL <= 0 {
		c.CodeTTL = 5 * time.Minute
	}
	if c.ExpiredStatus == 0 {
		c.ExpiredStatus = http.StatusBadRequest
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// DefaultDeviceModel is the device model the emulator knows by default.
const DefaultDeviceModel = "ars-printer"

// DefaultSlots are the slot IDs of DefaultDeviceModel.
func DefaultSlots() []string {
	return []string{"black", "cyan", "magenta", "yellow", "photo-black"}
}

// Device is a DRS device as registered by a consent (scope_data).
type Device struct {
	Model  string `json:"device_model"`
	Serial string `json:"serial"`
	Test   bool   `json:"is_test_device"`
}

func (d Device) key() string { return d.Model + "\x00" + d.Serial }

// Call is one recorded request to a DRS endpoint.
type Call struct {
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Slot   string    `json:"slot,omitempty"`
	Device Device    `json:"device"` // zero when the token was not valid
	Status int       `json:"status"`
	Detail string    `json:"detail,omitempty"` // detail code or error message
	At     time.Time `json:"at"`
}

// Order is an order placed through Replenish.
type Order struct {
	EventInstanceID string    `json:"event_instance_id"`
	Device          Device    `json:"device"`
	Slot            string    `json:"slot"`
	DetailCode      string    `json:"detail_code"`
	PlacedAt        time.Time `json:"placed_at"`
	Delivered       bool      `json:"delivered"`
}

type authRequest struct {
	clientID      string
	redirectURI   string
	state         string
	scope         string
	device        Device
	challenge     string
	challengeMeth string
}

type authCode struct {
	req     authRequest
	expires time.Time
	used    bool
}

type registration struct {
	device      Device
	refresh     string
	refreshDead bool
	slotStatus  map[string]json.RawMessage
	lastActive  string
}

type accessToken struct {
	reg     *registration
	expires time.Time
	revoked bool
}

// Emulator is the fake Amazon. Create it with New.
type Emulator struct {
	cfg Config
	mux *http.ServeMux

	mu       sync.Mutex
	pending  map[string]authRequest // sign-in page requests by ID
	codes    map[string]*authCode
	regs     map[string]*registration // by Device.key()
	byRefr   map[string]*registration // by refresh token
	access   map[string]*accessToken
	orders   []*Order
	calls    []Call
	tokenReq []string // grant types seen at the token endpoint
	deregs   []Device
	autoOK   bool
}

// New returns an emulator configured by cfg.
func New(cfg Config) *Emulator {
	cfg.defaults()
	e := &Emulator{
		cfg:     cfg,
		mux:     http.NewServeMux(),
		pending: map[string]authRequest{},
		codes:   map[string]*authCode{},
		regs:    map[string]*registration{},
		byRefr:  map[string]*registration{},
		access:  map[string]*accessToken{},
		autoOK:  cfg.AutoApprove,
	}
	e.mux.HandleFunc("GET /ap/oa", e.authorize)
	e.mux.HandleFunc("POST /ap/signin", e.signIn)
	e.mux.HandleFunc("POST /auth/o2/token", e.token)
	e.mux.HandleFunc("POST /replenish/{slot}", e.replenish)
	e.mux.HandleFunc("POST /slotStatus/{slot}", e.slotStatus)
	e.mux.HandleFunc("POST /deviceStatus", e.deviceStatus)
	e.mux.HandleFunc("DELETE /registration", e.deregister)
	e.mux.HandleFunc("GET /subscriptionInfo", e.subscriptionInfo)
	e.controlRoutes()
	return e
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

// ClientID returns the LWA client ID the emulator accepts.
func (e *Emulator) ClientID() string { return e.cfg.ClientID }

// ClientSecret returns the LWA client secret the emulator accepts.
func (e *Emulator) ClientSecret() string { return e.cfg.ClientSecret }

// SetAutoApprove turns the auto-approve mode of the authorize page on or off.
func (e *Emulator) SetAutoApprove(on bool) {
	e.mu.Lock()
	e.autoOK = on
	e.mu.Unlock()
}

func randToken(prefix string) string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// ---- Login with Amazon: authorize ----

// authorize implements the authorization request of the LWA "Authorization
// Code Grant" page, with the DRS parameters of the Dash Replenishment
// "Using the LWA Web API" page: scope dash:replenish and scope_data
// {"dash:replenish":{"device_model":..,"serial":..,"is_test_device":..}},
// and PKCE (code_challenge, code_challenge_method) as in the "LWA Mobile
// SDK Overview" page.
func (e *Emulator) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req, redirectErr, fatal := e.parseAuthRequest(q)
	if fatal != "" {
		// Without a valid client and redirect URI, LWA shows an error page
		// instead of redirecting (OAuth 2.0 §4.1.2.1).
		writeHTML(w, http.StatusBadRequest, "Login with Amazon: error", "<p>"+html.EscapeString(fatal)+"</p>")
		return
	}
	if redirectErr != "" {
		redirectError(w, r, req.redirectURI, req.state, "invalid_request", redirectErr)
		return
	}
	e.mu.Lock()
	auto := e.autoOK || (e.cfg.AllowAutoApproveParam && q.Get("emu_auto_approve") == "1")
	e.mu.Unlock()
	if auto {
		e.approve(w, r, req)
		return
	}
	id := randToken("")
	e.mu.Lock()
	e.pending[id] = req
	e.mu.Unlock()
	writeHTML(w, http.StatusOK, "Amazon Sign-In", signInForm(id, req.device))
}

func (e *Emulator) parseAuthRequest(q url.Values) (req authRequest, redirectErr, fatal string) {
	req = authRequest{
		clientID:      q.Get("client_id"),
		redirectURI:   q.Get("redirect_uri"),
		state:         q.Get("state"),
		scope:         q.Get("scope"),
		challenge:     q.Get("code_challenge"),
		challengeMeth: q.Get("code_challenge_method"),
	}
	if req.clientID != e.cfg.ClientID {
		return req, "", "unknown client_id"
	}
	u, err := url.Parse(req.redirectURI)
	if req.redirectURI == "" || err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return req, "", "missing or invalid redirect_uri"
	}
	if q.Get("response_type") != "code" {
		return req, "response_type must be code (DRS requires the authorization code grant)", ""
	}
	if !slices.Contains(strings.Fields(req.scope), "dash:replenish") {
		return req, "scope must include dash:replenish", ""
	}
	dev, err := parseScopeData(q.Get("scope_data"))
	if err != nil {
		return req, err.Error(), ""
	}
	slots, ok := e.cfg.DeviceModels[dev.Model]
	if !ok || len(slots) == 0 {
		return req, "unknown device_model " + dev.Model, ""
	}
	req.device = dev
	if req.challenge != "" || req.challengeMeth != "" {
		if req.challengeMeth != "S256" && req.challengeMeth != "plain" {
			return req, "code_challenge_method must be S256 or plain", ""
		}
		if len(req.challenge) < 43 || len(req.challenge) > 128 {
			return req, "code_challenge has a bad length", ""
		}
	}
	return req, "", ""
}

// parseScopeData reads the DRS scope_data JSON. is_test_device is accepted
// as a JSON boolean or the strings "true"/"false" (both appear in
// published examples).
func parseScopeData(s string) (Device, error) {
	if s == "" {
		return Device{}, fmt.Errorf("scope_data is required for dash:replenish")
	}
	var sd map[string]struct {
		Model  string          `json:"device_model"`
		Serial string          `json:"serial"`
		Test   json.RawMessage `json:"is_test_device"`
	}
	if err := json.Unmarshal([]byte(s), &sd); err != nil {
		return Device{}, fmt.Errorf("scope_data is not valid JSON")
	}
	d, ok := sd["dash:replenish"]
	if !ok || d.Model == "" || d.Serial == "" {
		return Device{}, fmt.Errorf("scope_data must give dash:replenish device_model and serial")
	}
	dev := Device{Model: d.Model, Serial: d.Serial}
	switch strings.Trim(string(d.Test), `"`) {
	case "", "false", "null":
	case "true":
		dev.Test = true
	default:
		return Device{}, fmt.Errorf("scope_data is_test_device must be true or false")
	}
	return dev, nil
}

func (e *Emulator) signIn(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeHTML(w, http.StatusBadRequest, "Amazon Sign-In", "<p>bad form</p>")
		return
	}
	id := r.PostForm.Get("request")
	e.mu.Lock()
	req, ok := e.pending[id]
	if ok {
		delete(e.pending, id)
	}
	e.mu.Unlock()
	if !ok {
		writeHTML(w, http.StatusBadRequest, "Amazon Sign-In", "<p>This sign-in request has expired. Start again.</p>")
		return
	}
	if r.PostForm.Get("cancel") != "" {
		redirectError(w, r, req.redirectURI, req.state, "access_denied", "The user denied the request.")
		return
	}
	if !strings.Contains(r.PostForm.Get("email"), "@") || r.PostForm.Get("password") == "" {
		// Keep the request for another try.
		e.mu.Lock()
		e.pending[id] = req
		e.mu.Unlock()
		writeHTML(w, http.StatusOK, "Amazon Sign-In",
			`<p class="error">Enter your email and password.</p>`+signInForm(id, req.device))
		return
	}
	e.approve(w, r, req)
}

func (e *Emulator) approve(w http.ResponseWriter, r *http.Request, req authRequest) {
	code := randToken("ANd")
	e.mu.Lock()
	e.codes[code] = &authCode{req: req, expires: e.cfg.Now().Add(e.cfg.CodeTTL)}
	e.mu.Unlock()
	u, _ := url.Parse(req.redirectURI)
	v := u.Query()
	v.Set("code", code)
	v.Set("scope", "dash:replenish")
	if req.state != "" {
		v.Set("state", req.state)
	}
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func redirectError(w http.ResponseWriter, r *http.Request, redirectURI, state, code, desc string) {
	u, _ := url.Parse(redirectURI)
	v := u.Query()
	v.Set("error", code)
	v.Set("error_description", desc)
	if state != "" {
		v.Set("state", state)
	}
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// ---- Login with Amazon: token ----

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// token implements the access token request of the LWA "Authorization Code
// Grant" page (grant_type authorization_code, with code_verifier for PKCE)
// and the refresh of the "Refresh Tokens" / "Request New Refresh and Access
// Tokens" sections (grant_type refresh_token). Errors are the OAuth 2.0
// JSON {"error":..,"error_description":..} LWA documents: invalid_request,
// invalid_client, invalid_grant, unsupported_grant_type.
func (e *Emulator) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the request body is not a form")
		return
	}
	f := r.PostForm
	e.mu.Lock()
	e.tokenReq = append(e.tokenReq, f.Get("grant_type"))
	e.mu.Unlock()
	id, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	if id != e.cfg.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(e.cfg.ClientSecret)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
		return
	}
	switch f.Get("grant_type") {
	case "authorization_code":
		e.exchangeCode(w, f)
	case "refresh_token":
		e.refresh(w, f)
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type is not supported")
	}
}

func (e *Emulator) exchangeCode(w http.ResponseWriter, f url.Values) {
	code := f.Get("code")
	if code == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "code is required")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ac, ok := e.codes[code]
	now := e.cfg.Now()
	switch {
	case !ok:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The authorization code is invalid")
		return
	case ac.used:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The authorization code has already been used")
		return
	case now.After(ac.expires):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The authorization code has expired")
		return
	}
	// A code is spent by its first exchange attempt, successful or not.
	ac.used = true
	if f.Get("redirect_uri") != ac.req.redirectURI {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
		return
	}
	if ac.req.challenge != "" {
		v := f.Get("code_verifier")
		if v == "" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "code_verifier is required")
			return
		}
		got := v
		if ac.req.challengeMeth == "S256" {
			sum := sha256.Sum256([]byte(v))
			got = base64.RawURLEncoding.EncodeToString(sum[:])
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(ac.req.challenge)) != 1 {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match code_challenge")
			return
		}
	}
	// A new consent replaces an earlier registration of the same device.
	if old, ok := e.regs[ac.req.device.key()]; ok {
		e.killRegistration(old)
	}
	reg := &registration{device: ac.req.device, refresh: randToken("Atzr|"), slotStatus: map[string]json.RawMessage{}}
	e.regs[reg.device.key()] = reg
	e.byRefr[reg.refresh] = reg
	at := e.issueAccess(reg)
	writeJSON(w, http.StatusOK, "", tokenResponse{AccessToken: at, RefreshToken: reg.refresh, TokenType: "bearer", ExpiresIn: int(e.cfg.AccessTokenTTL / time.Second)})
}

func (e *Emulator) refresh(w http.ResponseWriter, f url.Values) {
	rt := f.Get("refresh_token")
	if rt == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "refresh_token is required")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	reg, ok := e.byRefr[rt]
	if !ok || reg.refreshDead {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The refresh token is invalid or has been revoked")
		return
	}
	at := e.issueAccess(reg)
	// LWA returns the refresh token again; it stays valid until revoked.
	writeJSON(w, http.StatusOK, "", tokenResponse{AccessToken: at, RefreshToken: reg.refresh, TokenType: "bearer", ExpiresIn: int(e.cfg.AccessTokenTTL / time.Second)})
}

// issueAccess must be called with e.mu held.
func (e *Emulator) issueAccess(reg *registration) string {
	at := randToken("Atza|")
	e.access[at] = &accessToken{reg: reg, expires: e.cfg.Now().Add(e.cfg.AccessTokenTTL)}
	return at
}

// killRegistration revokes reg's refresh token, access tokens and
// authorization codes. Its callers also remove reg from e.regs (or replace
// it there), so a killed registration is never looked up again. It must be
// called with e.mu held.
func (e *Emulator) killRegistration(reg *registration) {
	delete(e.byRefr, reg.refresh)
	for _, t := range e.access {
		if t.reg == reg {
			t.revoked = true
		}
	}
	for _, c := range e.codes {
		if c.req.device.key() == reg.device.key() {
			c.used = true
		}
	}
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, "", map[string]string{"error": code, "error_description": desc})
}

// ---- Dash Replenishment ----

// drsAuth checks the versioning headers and the bearer token of a DRS
// call and, for the slot endpoints (slot not empty), that the slot is one
// of the device model's. On failure it records the call, writes the answer
// and returns nil.
func (e *Emulator) drsAuth(w http.ResponseWriter, r *http.Request, typeVersion, acceptType, slot string) *registration {
	fail := func(status int, msg string) *registration {
		e.record(Call{Method: r.Method, Path: r.URL.Path, Slot: slot, Status: status, Detail: msg})
		writeJSON(w, status, "", map[string]string{"message": msg})
		return nil
	}
	// "x-amzn-type-version and x-amzn-accept-type headers must be sent with
	// each call" (every DRS endpoint page, "Versioning").
	if r.Header.Get("x-amzn-type-version") != typeVersion {
		return fail(http.StatusBadRequest, "Unsupported x-amzn-type-version; expected "+typeVersion)
	}
	if r.Header.Get("x-amzn-accept-type") != acceptType {
		return fail(http.StatusBadRequest, "Unsupported x-amzn-accept-type; expected "+acceptType)
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return fail(http.StatusBadRequest, MsgInvalidToken)
	}
	e.mu.Lock()
	at, ok := e.access[tok]
	var status int
	switch {
	case !ok, at.revoked:
		status = http.StatusBadRequest
	case e.cfg.Now().After(at.expires):
		status = e.cfg.ExpiredStatus
	}
	e.mu.Unlock()
	if status != 0 {
		return fail(status, MsgInvalidToken)
	}
	reg := at.reg
	if slot != "" && !slices.Contains(e.cfg.DeviceModels[reg.device.Model], slot) {
		e.record(Call{Method: r.Method, Path: r.URL.Path, Slot: slot, Device: reg.device, Status: http.StatusBadRequest, Detail: MsgInvalidSlot})
		writeJSON(w, http.StatusBadRequest, "", map[string]string{"message": MsgInvalidSlot})
		return nil
	}
	return reg
}

func (e *Emulator) record(c Call) {
	e.mu.Lock()
	c.At = e.cfg.Now()
	e.calls = append(e.calls, c)
	e.mu.Unlock()
}

// replenish implements the "Replenish Endpoint" page: POST
// /replenish/{slotId}; 200 with {"eventInstanceId","detailCode"} where
// detailCode is STANDARD_ORDER_PLACED, TEST_ORDER_PLACED (device registered
// with is_test_device) or ORDER_INPROGRESS (an order for the slot is still
// out for delivery). The response carries x-amzn-type-version of the result.
func (e *Emulator) replenish(w http.ResponseWriter, r *http.Request) {
	slot := r.PathValue("slot")
	reg := e.drsAuth(w, r, ReplenishInput, ReplenishResult, slot)
	if reg == nil {
		return
	}
	e.mu.Lock()
	var open *Order
	for _, o := range e.orders {
		if o.Device.key() == reg.device.key() && o.Slot == slot && !o.Delivered {
			open = o
			break
		}
	}
	var res struct {
		EventInstanceID string `json:"eventInstanceId"`
		DetailCode      string `json:"detailCode"`
	}
	if open != nil {
		res.EventInstanceID = open.EventInstanceID
		res.DetailCode = OrderInProgress
	} else {
		o := &Order{EventInstanceID: randToken("amzn1.dash.v2.o.ar."), Device: reg.device, Slot: slot, PlacedAt: e.cfg.Now(), DetailCode: StandardOrderPlaced}
		if reg.device.Test {
			o.DetailCode = TestOrderPlaced
		}
		e.orders = append(e.orders, o)
		res.EventInstanceID, res.DetailCode = o.EventInstanceID, o.DetailCode
	}
	e.calls = append(e.calls, Call{Method: r.Method, Path: r.URL.Path, Slot: slot, Device: reg.device, Status: http.StatusOK, Detail: res.DetailCode, At: e.cfg.Now()})
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, ReplenishResult, res)
}

// slotStatus implements the "SlotStatus Endpoint" page: POST
// /slotStatus/{slotId} with the slot's quantities; 200 with no body.
func (e *Emulator) slotStatus(w http.ResponseWriter, r *http.Request) {
	slot := r.PathValue("slot")
	reg := e.drsAuth(w, r, SlotStatusInput, SlotStatusResult, slot)
	if reg == nil {
		return
	}
	var body json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
		e.record(Call{Method: r.Method, Path: r.URL.Path, Slot: slot, Device: reg.device, Status: http.StatusBadRequest, Detail: "bad body"})
		writeJSON(w, http.StatusBadRequest, "", map[string]string{"message": "The request body is not valid JSON"})
		return
	}
	e.mu.Lock()
	reg.slotStatus[slot] = body
	e.mu.Unlock()
	e.record(Call{Method: r.Method, Path: r.URL.Path, Slot: slot, Device: reg.device, Status: http.StatusOK})
	w.Header().Set("x-amzn-type-version", SlotStatusResult)
	w.WriteHeader(http.StatusOK)
}

// deviceStatus implements the "DeviceStatus Endpoint" page: POST
// /deviceStatus with {"mostRecentlyActiveDate": ISO 8601}; 200, no body.
func (e *Emulator) deviceStatus(w http.ResponseWriter, r *http.Request) {
	reg := e.drsAuth(w, r, DeviceStatusInput, DeviceStatusResult, "")
	if reg == nil {
		return
	}
	var body struct {
		MostRecentlyActiveDate string `json:"mostRecentlyActiveDate"`
	}
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body)
	if err == nil {
		_, err = time.Parse(time.RFC3339, body.MostRecentlyActiveDate)
	}
	if err != nil {
		e.record(Call{Method: r.Method, Path: r.URL.Path, Device: reg.device, Status: http.StatusBadRequest, Detail: "bad mostRecentlyActiveDate"})
		writeJSON(w, http.StatusBadRequest, "", map[string]string{"message": "mostRecentlyActiveDate must be an ISO 8601 date and time"})
		return
	}
	e.mu.Lock()
	reg.lastActive = body.MostRecentlyActiveDate
	e.mu.Unlock()
	e.record(Call{Method: r.Method, Path: r.URL.Path, Device: reg.device, Status: http.StatusOK})
	w.Header().Set("x-amzn-type-version", DeviceStatusResult)
	w.WriteHeader(http.StatusOK)
}

// deregister implements version 2.0 of the "Deregistration Endpoint" page:
// DELETE /registration; it invalidates the device's access tokens, refresh
// tokens and authorization codes.
func (e *Emulator) deregister(w http.ResponseWriter, r *http.Request) {
	reg := e.drsAuth(w, r, DeregisterInput, DeregisterResult, "")
	if reg == nil {
		return
	}
	e.mu.Lock()
	e.killRegistration(reg)
	delete(e.regs, reg.device.key())
	e.deregs = append(e.deregs, reg.device)
	e.mu.Unlock()
	e.record(Call{Method: r.Method, Path: r.URL.Path, Device: reg.device, Status: http.StatusOK})
	w.Header().Set("x-amzn-type-version", DeregisterResult)
	w.WriteHeader(http.StatusOK)
}

// subscriptionInfo implements the "GetSubscriptionInfo Endpoint": which
// slots of the device the customer subscribed (here: all of the model's).
func (e *Emulator) subscriptionInfo(w http.ResponseWriter, r *http.Request) {
	reg := e.drsAuth(w, r, SubscriptionInput, SubscriptionResult, "")
	if reg == nil {
		return
	}
	slots := map[string]bool{}
	for _, s := range e.cfg.DeviceModels[reg.device.Model] {
		slots[s] = true
	}
	e.record(Call{Method: r.Method, Path: r.URL.Path, Device: reg.device, Status: http.StatusOK})
	writeJSON(w, http.StatusOK, SubscriptionResult, map[string]any{"slotsSubscriptionStatus": slots})
}

// ---- assertions and controls for tests ----

// Calls returns every DRS call recorded so far.
func (e *Emulator) Calls() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

// replenished reports whether c is a successful (200) replenish call.
func (c Call) replenished() bool {
	return c.Method == http.MethodPost && strings.HasPrefix(c.Path, "/replenish/") && c.Status == http.StatusOK
}

// ReplenishCalls counts the successful (200) replenish calls for a slot of
// the device with the given serial; an empty serial counts every device.
func (e *Emulator) ReplenishCalls(serial, slot string) int {
	n := 0
	for _, c := range e.Calls() {
		if c.replenished() && c.Slot == slot && (serial == "" || c.Device.Serial == serial) {
			n++
		}
	}
	return n
}

// Orders returns the orders placed so far.
func (e *Emulator) Orders() []Order {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Order, len(e.orders))
	for i, o := range e.orders {
		out[i] = *o
	}
	return out
}

// Deregistrations returns the devices deregistered through DELETE /registration.
func (e *Emulator) Deregistrations() []Device {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.deregs)
}

// Registered reports whether the device with this serial holds a live
// registration.
func (e *Emulator) Registered(serial string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.regs {
		if r.device.Serial == serial {
			return true
		}
	}
	return false
}

// TokenRequests returns the grant types of every token request, in order.
func (e *Emulator) TokenRequests() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.tokenReq)
}

// LastActive returns the last mostRecentlyActiveDate reported by the
// device with this serial through DeviceStatus.
func (e *Emulator) LastActive(serial string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.regs {
		if r.device.Serial == serial {
			return r.lastActive
		}
	}
	return ""
}

// ExpireAccessTokens makes every access token issued so far expired (of
// every device when serial is empty).
func (e *Emulator) ExpireAccessTokens(serial string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	past := e.cfg.Now().Add(-time.Second)
	for _, t := range e.access {
		if serial == "" || t.reg.device.Serial == serial {
			t.expires = past
			n++
		}
	}
	return n
}

// RevokeRefresh revokes the device's authorization as a customer does from
// their Amazon account: its refresh token stops working and its access
// tokens are invalid.
func (e *Emulator) RevokeRefresh(serial string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, r := range e.regs {
		if serial == "" || r.device.Serial == serial {
			r.refreshDead = true
			for _, t := range e.access {
				if t.reg == r {
					t.revoked = true
				}
			}
			n++
		}
	}
	return n
}

// Deliver marks the open orders of a slot (every slot when slot is empty)
// of the device with this serial as delivered, so that the next replenish
// places a new order instead of answering ORDER_INPROGRESS.
func (e *Emulator) Deliver(serial, slot string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, o := range e.orders {
		if !o.Delivered && (serial == "" || o.Device.Serial == serial) && (slot == "" || o.Slot == slot) {
			o.Delivered = true
			n++
		}
	}
	return n
}

// State is a snapshot of the emulator for assertions over HTTP.
type State struct {
	Calls           []Call         `json:"calls"`
	Orders          []Order        `json:"orders"`
	Deregistrations []Device       `json:"deregistrations"`
	Registered      []Device       `json:"registered"`
	TokenRequests   []string       `json:"token_requests"`
	Replenish       map[string]int `json:"replenish"` // "serial/slot" -> successful replenish calls
}

// Snapshot returns the emulator's state.
func (e *Emulator) Snapshot() State {
	s := State{Calls: e.Calls(), Orders: e.Orders(), Deregistrations: e.Deregistrations(), TokenRequests: e.TokenRequests(), Replenish: map[string]int{}}
	for _, c := range s.Calls {
		if c.replenished() {
			s.Replenish[c.Device.Serial+"/"+c.Slot]++
		}
	}
	e.mu.Lock()
	for _, r := range e.regs {
		s.Registered = append(s.Registered, r.device)
	}
	e.mu.Unlock()
	sort.Slice(s.Registered, func(i, j int) bool { return s.Registered[i].key() < s.Registered[j].key() })
	return s
}

// ---- output helpers ----

func writeJSON(w http.ResponseWriter, status int, typeVersion string, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if typeVersion != "" {
		w.Header().Set("x-amzn-type-version", typeVersion)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeHTML(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>%s</title>
<style>body{font-family:sans-serif;max-width:22rem;margin:3rem auto}label{display:block;margin:.6rem 0}
input[type=email],input[type=password]{width:100%%;padding:.3rem}button{margin-top:.8rem;padding:.4rem 1rem}
.error{color:#b00}</style></head>
<body><h1>%s</h1>%s</body></html>
`, html.EscapeString(title), html.EscapeString(title), body)
}

func signInForm(requestID string, d Device) string {
	test := ""
	if d.Test {
		test = " (test device: orders are not charged or shipped)"
	}
	return `<p>Sign in with Amazon to let your printer ` + html.EscapeString(d.Model) + ` order ink automatically` + html.EscapeString(test) + `.</p>
<form method="post" action="/ap/signin">
<input type="hidden" name="request" value="` + html.EscapeString(requestID) + `">
<label>Email <input type="email" name="email" id="ap_email" autocomplete="username"></label>
<label>Password <input type="password" name="password" id="ap_password" autocomplete="current-password"></label>
<button type="submit" id="signInSubmit">Sign-In</button>
<button type="submit" name="cancel" value="1" id="cancel">Cancel</button>
</form>`
}
