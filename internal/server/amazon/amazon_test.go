package amazon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/amazonemu"
	"github.com/arsctl/arsctl/internal/server/amazon"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/formbrowser"
	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/internal/server/servertest"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// clock is a settable time source shared by the service under test.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

type env struct {
	t      *testing.T
	emu    *amazonemu.Emulator
	emuURL string
	d      *db.DB
	st     *store.Store
	svc    *amazon.Service
	cfg    amazon.Config // the service's, for more replicas
	arsd   string
	clock  *clock
	logs   *servertest.LogBuffer
	http   *http.Client
}

const account = "acct-1"

func newEnv(t *testing.T, d *db.DB, ecfg amazonemu.Config, mod func(*amazon.Config)) *env {
	t.Helper()
	e := &env{t: t, d: d, st: store.New(d), clock: &clock{}, logs: &servertest.LogBuffer{}}
	if ecfg.DeviceModels == nil {
		ecfg.DeviceModels = map[string][]string{"ars-printer": {"slot-black", "slot-cyan", "slot-magenta", "slot-yellow"}}
	}
	e.emu = amazonemu.New(ecfg)
	emuSrv := httptest.NewServer(e.emu)
	t.Cleanup(emuSrv.Close)
	e.emuURL = emuSrv.URL

	mux := http.NewServeMux()
	arsd := httptest.NewServer(mux)
	t.Cleanup(arsd.Close)
	e.arsd = arsd.URL
	cfg := amazon.Config{
		ClientID: e.emu.ClientID(), ClientSecret: e.emu.ClientSecret(),
		AuthorizeURL: emuSrv.URL + "/ap/oa", TokenURL: emuSrv.URL + "/auth/o2/token", DRSBaseURL: emuSrv.URL,
		DeviceModel: "ars-printer",
		Slots:       map[string]string{"black": "slot-black", "cyan": "slot-cyan", "Magenta": "slot-magenta", "Y": "slot-yellow", "photo": "slot-photo"},
		TestDevice:  true,
		PublicURL:   arsd.URL,
		Key:         bytes.Repeat([]byte{7}, 32),
		Now:         e.clock.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	e.cfg = cfg
	svc, err := amazon.New(e.st, slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc.Routes(mux)
	e.svc = svc
	e.http = browserClient()
	t.Cleanup(func() {
		if l := e.logs.String(); strings.Contains(l, "Atza|") || strings.Contains(l, "Atzr|") {
			t.Errorf("logs contain a token:\n%s", l)
		}
	})
	return e
}

func (e *env) createEnrollment(serial string) arsapi.Enrollment {
	e.t.Helper()
	en, err := e.st.CreateEnrollment(context.Background(), account, arsapi.CreateEnrollmentRequest{
		Provider: arsapi.ProviderAmazon, Printer: arsapi.Printer{Model: "TS8320", Serial: serial}, TermsVersion: "1",
	}, 15)
	if err != nil {
		e.t.Fatal(err)
	}
	if en.State != arsapi.StatePending {
		e.t.Fatalf("new amazon enrollment is %s, want pending", en.State)
	}
	return en
}

func (e *env) get(u string) (*http.Response, string) {
	e.t.Helper()
	return e.getWith(e.http, u)
}

func (e *env) getWith(hc *http.Client, u string) (*http.Response, string) {
	e.t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// browserClient is a browser that keeps cookies and does not follow
// redirects (the tests look at each).
func browserClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// start opens a sign-in link in the browser hc and presses Continue on
// the confirmation page; it returns the answer to Continue (a redirect to
// Amazon), or the link's page when it has no form.
func (e *env) start(hc *http.Client, link string) (*http.Response, string) {
	e.t.Helper()
	resp, body := e.getWith(hc, link)
	forms, _ := formbrowser.ParseForms([]byte(body))
	if resp.StatusCode != http.StatusOK || len(forms) != 1 {
		return resp, body
	}
	v := url.Values{}
	for _, in := range forms[0].Inputs {
		v.Set(in.Name, in.Value)
	}
	resp, err := hc.PostForm(e.arsd+forms[0].Action, v)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn runs start -> authorize (auto-approve) -> callback and returns
// the callback page.
func (e *env) signIn(en arsapi.Enrollment) (*http.Response, string) {
	e.t.Helper()
	resp, body := e.start(e.http, e.svc.SignInURL(en.ID, account))
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("start: %d %s", resp.StatusCode, body)
	}
	resp, body = e.get(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize: %d %s", resp.StatusCode, body)
	}
	return e.get(resp.Header.Get("Location"))
}

func (e *env) activate(serial string) arsapi.Enrollment {
	e.t.Helper()
	en := e.createEnrollment(serial)
	resp, body := e.signIn(en)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "You&#39;re all set") {
		e.t.Fatalf("callback: %d %s", resp.StatusCode, body)
	}
	got, _, err := e.st.LookupEnrollment(context.Background(), en.ID)
	if err != nil || got.State != arsapi.StateActive {
		e.t.Fatalf("enrollment after callback: %s %v", got.State, err)
	}
	return got
}

func order(en arsapi.Enrollment, id, color string) fulfil.Order {
	return fulfil.Order{ID: id, EnrollmentID: en.ID, AccountID: account, Provider: "amazon", PrinterModel: en.Printer.Model,
		Serial: en.Printer.Serial, Supply: color + " ink", SupplyType: "inkCartridge", Color: color, Level: 5}
}

func TestSignInActivatesEnrollment(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, amazonemu.Config{AutoApprove: true}, nil)
		en := e.createEnrollment("SN-1")

		resp, body := e.start(e.http, e.svc.SignInURL(en.ID, account))
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("start: %d %s", resp.StatusCode, body)
		}
		loc, _ := url.Parse(resp.Header.Get("Location"))
		q := loc.Query()
		if got := loc.Scheme + "://" + loc.Host + loc.Path; got != e.emuURL+"/ap/oa" {
			t.Errorf("redirect to %s", got)
		}
		for k, want := range map[string]string{
			"response_type": "code", "client_id": e.emu.ClientID(), "scope": "dash:replenish",
			"redirect_uri": e.arsd + "/v1/amazon/callback", "code_challenge_method": "S256",
		} {
			if q.Get(k) != want {
				t.Errorf("%s = %q, want %q", k, q.Get(k), want)
			}
		}
		var sd map[string]map[string]any
		if err := json.Unmarshal([]byte(q.Get("scope_data")), &sd); err != nil {
			t.Fatal(err)
		}
		if r := sd["dash:replenish"]; r["device_model"] != "ars-printer" || r["serial"] != "SN-1" || r["is_test_device"] != true {
			t.Errorf("scope_data = %v", sd)
		}
		if len(q.Get("state")) < 32 || len(q.Get("code_challenge")) != 43 {
			t.Errorf("state %q, code_challenge %q", q.Get("state"), q.Get("code_challenge"))
		}

		resp, _ = e.get(loc.String())
		resp, body = e.get(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "all set") {
			t.Fatalf("callback: %d %s", resp.StatusCode, body)
		}
		got, _, err := e.st.LookupEnrollment(context.Background(), en.ID)
		if err != nil || got.State != arsapi.StateActive {
			t.Fatalf("enrollment %s %v, want active", got.State, err)
		}
		if !e.emu.Registered("SN-1") {
			t.Error("emulator has no registration for SN-1")
		}
		// The tokens are stored encrypted.
		var access, refresh []byte
		if err := d.QueryRow(context.Background(), `SELECT access_token, refresh_token FROM amazon_links WHERE enrollment_id = ?`, en.ID).Scan(&access, &refresh); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(access, []byte("Atza|")) || bytes.Contains(refresh, []byte("Atzr|")) || len(access) < 40 {
			t.Errorf("tokens stored in clear: %q %q", access, refresh)
		}

		// The callback URL replayed: state already used.
		resp, body = e.get(e.arsd + "/v1/amazon/callback?" + url.Values{"state": {q.Get("state")}, "code": {"x"}}.Encode())
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "already") {
			t.Errorf("replayed callback: %d %s", resp.StatusCode, body)
		}
	})
}

func TestStartLinkErrors(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{AutoApprove: true}, nil)
	en := e.createEnrollment("SN-2")
	link := e.svc.SignInURL(en.ID, account)

	if resp, body := e.start(e.http, link); resp.StatusCode != http.StatusFound {
		t.Fatalf("first use: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.start(e.http, link); resp.StatusCode != http.StatusGone || !strings.Contains(body, "already used") ||
		!strings.Contains(body, "To get a new one, run the same `arsctl register` again") {
		t.Errorf("second use: %d %s", resp.StatusCode, body)
	}
	// Another account's link (forged account in a valid token) finds nothing.
	if resp, _ := e.get(e.svc.SignInURL(en.ID, "someone-else")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("other account: %d", resp.StatusCode)
	}
	// A tampered token.
	u, _ := url.Parse(e.svc.SignInURL(en.ID, account))
	q := u.Query()
	q.Set("token", q.Get("token")+"x")
	u.RawQuery = q.Encode()
	if resp, _ := e.get(u.String()); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("tampered token: %d", resp.StatusCode)
	}
	// A token for another enrollment.
	other := e.createEnrollment("SN-3")
	u, _ = url.Parse(e.svc.SignInURL(other.ID, account))
	q = u.Query()
	q.Set("enrollment", en.ID)
	u.RawQuery = q.Encode()
	if resp, _ := e.get(u.String()); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("token of another enrollment: %d", resp.StatusCode)
	}
	// No token and no authenticated account.
	if resp, _ := e.get(e.arsd + "/v1/amazon/start?enrollment=" + en.ID); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", resp.StatusCode)
	}
	// Expired link.
	stale := e.svc.SignInURL(other.ID, account)
	e.clock.Advance(25 * time.Hour)
	if resp, body := e.get(stale); resp.StatusCode != http.StatusGone || !strings.Contains(body, "expired") {
		t.Errorf("expired link: %d %s", resp.StatusCode, body)
	}
}

func TestCallbackStateErrors(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{AutoApprove: true}, nil)
	for _, tc := range []struct {
		query, want string
		status      int
	}{
		{"", "no state", http.StatusBadRequest},
		{"state=nope&code=x", "not started in this browser", http.StatusForbidden},
	} {
		resp, body := e.get(e.arsd + "/v1/amazon/callback?" + tc.query)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%q: %d %s", tc.query, resp.StatusCode, body)
		}
	}
	// An expired state.
	en := e.createEnrollment("SN-4")
	resp, _ := e.start(e.http, e.svc.SignInURL(en.ID, account))
	resp, _ = e.get(resp.Header.Get("Location"))
	e.clock.Advance(16 * time.Minute)
	resp, body := e.get(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired") {
		t.Errorf("expired state: %d %s", resp.StatusCode, body)
	}
	if got, _, _ := e.st.LookupEnrollment(context.Background(), en.ID); got.State != arsapi.StatePending {
		t.Errorf("enrollment is %s after an expired sign-in", got.State)
	}
}

func TestInteractiveSignInPage(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{}, nil)
	en := e.createEnrollment("SN-5")
	resp, _ := e.start(e.http, e.svc.SignInURL(en.ID, account))
	resp, body := e.get(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Sign in with Amazon") || !strings.Contains(body, `name="password"`) {
		t.Fatalf("sign-in page: %d %s", resp.StatusCode, body)
	}
	i := strings.Index(body, `name="request" value="`)
	reqID := body[i+len(`name="request" value="`):]
	reqID = reqID[:strings.IndexByte(reqID, '"')]
	resp, err := e.http.PostForm(e.emuURL+"/ap/signin", url.Values{"request": {reqID}, "email": {"owner@example.com"}, "password": {"pw"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	resp, body = e.get(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "all set") {
		t.Fatalf("callback: %d %s", resp.StatusCode, body)
	}
}

func TestDeniedSignInLeavesEnrollmentPending(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{}, nil)
	en := e.createEnrollment("SN-6")
	resp, _ := e.start(e.http, e.svc.SignInURL(en.ID, account))
	_, body := e.get(resp.Header.Get("Location"))
	i := strings.Index(body, `name="request" value="`)
	reqID := body[i+len(`name="request" value="`):]
	reqID = reqID[:strings.IndexByte(reqID, '"')]
	resp, err := e.http.PostForm(e.emuURL+"/ap/signin", url.Values{"request": {reqID}, "cancel": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, body = e.get(resp.Header.Get("Location"))
	if !strings.Contains(body, "You chose Cancel") || !strings.Contains(body, "run the same `arsctl register` again") {
		t.Errorf("denied page: %s", body)
	}
	if got, _, _ := e.st.LookupEnrollment(context.Background(), en.ID); got.State != arsapi.StatePending {
		t.Errorf("enrollment is %s, want pending", got.State)
	}
	// The Cancel is recorded for arsctl, which is waiting; a new sign-in
	// clears it.
	if at, err := e.svc.SignInDeclined(context.Background(), en.ID); err != nil || at.IsZero() {
		t.Errorf("declined at %v, %v; want the time of the Cancel", at, err)
	}
	resp, _ = e.start(e.http, e.svc.SignInURL(en.ID, account))
	resp.Body.Close()
	if at, err := e.svc.SignInDeclined(context.Background(), en.ID); err != nil || !at.IsZero() {
		t.Errorf("after a new sign-in started: declined at %v, %v; want none", at, err)
	}
}

func TestPlaceDetailCodes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, amazonemu.Config{AutoApprove: true}, nil)
		en := e.activate("SN-10")
		res, err := e.svc.Place(ctx, order(en, "o1", "cyan"))
		if err != nil {
			t.Fatal(err)
		}
		if res.State != "placed" || res.Detail != amazon.DetailTestOrderPlaced || res.ExternalID == "" {
			t.Errorf("first order: %+v", res)
		}
		res2, err := e.svc.Place(ctx, order(en, "o1", "cyan"))
		if err != nil {
			t.Fatal(err)
		}
		if res2.State != "in_progress" || res2.Detail != amazon.DetailOrderInProgress {
			t.Errorf("second order while the first is out: %+v", res2)
		}
		if e.emu.Deliver("SN-10", "slot-cyan") != 1 {
			t.Fatal("nothing delivered")
		}
		res3, err := e.svc.Place(ctx, order(en, "o2", "cyan"))
		if err != nil || res3.State != "placed" || res3.ExternalID == res.ExternalID {
			t.Errorf("after delivery: %+v %v", res3, err)
		}
		if n := len(e.emu.Orders()); n != 2 {
			t.Errorf("emulator has %d orders, want 2", n)
		}
		// Supply matched by name when there is no colour, case-insensitively.
		o := order(en, "o3", "")
		o.Supply = "y"
		if res, err := e.svc.Place(ctx, o); err != nil || res.State != "placed" {
			t.Errorf("by supply name: %+v %v", res, err)
		}
	})
}

func TestPlaceStandardOrder(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{AutoApprove: true}, func(c *amazon.Config) { c.TestDevice = false })
	en := e.activate("SN-11")
	res, err := e.svc.Place(context.Background(), order(en, "o1", "black"))
	if err != nil || res.Detail != amazon.DetailStandardOrderPlaced {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestExpiredTokenIsRefreshedAndRetriedOnce(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{AutoApprove: true, ExpiredStatus: status}, nil)
			en := e.activate("SN-20")
			if e.emu.ExpireAccessTokens("SN-20") == 0 {
				t.Fatal("no token expired")
			}
			res, err := e.svc.Place(ctx, order(en, "o1", "black"))
			if err != nil || res.State != "placed" {
				t.Fatalf("%+v %v", res, err)
			}
			var statuses []int
			for _, c := range e.emu.Calls() {
				statuses = append(statuses, c.Status)
			}
			if len(statuses) != 2 || statuses[0] != status || statuses[1] != http.StatusOK {
				t.Errorf("DRS calls answered %v, want [%d 200]", statuses, status)
			}
			if got := e.emu.TokenRequests(); len(got) != 2 || got[1] != "refresh_token" {
				t.Errorf("token requests %v", got)
			}
			// The refreshed token was stored: the next call needs no refresh.
			if _, err := e.svc.Place(ctx, order(en, "o2", "cyan")); err != nil {
				t.Fatal(err)
			}
			if got := e.emu.TokenRequests(); len(got) != 2 {
				t.Errorf("token requests after a second order %v", got)
			}
		})
	}
}

func TestKnownExpiryRefreshesBeforeCalling(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{AutoApprove: true, AccessTokenTTL: time.Hour}, nil)
	en := e.activate("SN-21")
	e.clock.Advance(2 * time.Hour)
	if _, err := e.svc.Place(context.Background(), order(en, "o1", "black")); err != nil {
		t.Fatal(err)
	}
	calls := e.emu.Calls()
	if len(calls) != 1 || calls[0].Status != http.StatusOK {
		t.Errorf("calls %+v, want one successful replenish", calls)
	}
	if got := e.emu.TokenRequests(); len(got) != 2 || got[1] != "refresh_token" {
		t.Errorf("token requests %v", got)
	}
}

func TestRevokedAuthorizationIsPermanent(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{AutoApprove: true}, nil)
	en := e.activate("SN-30")
	e.emu.RevokeRefresh("SN-30")
	_, err := e.svc.Place(context.Background(), order(en, "o1", "black"))
	if !errors.Is(err, fulfil.ErrPermanent) {
		t.Fatalf("err = %v, want ErrPermanent", err)
	}
	if !strings.Contains(err.Error(), "revoked") {
		t.Errorf("error does not say revoked: %v", err)
	}
	if n := e.emu.ReplenishCalls("", "slot-black"); n != 0 {
		t.Errorf("%d orders placed", n)
	}
	// Cancelling then still cleans up locally.
	if err := e.svc.Deregister(context.Background(), en.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.GetAmazonLink(context.Background(), en.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("link after deregister: %v", err)
	}
}

func TestUnknownSlotIsPermanent(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{AutoApprove: true}, nil)
	en := e.activate("SN-40")
	// "photo" maps to slot-photo, which the device model does not have.
	_, err := e.svc.Place(context.Background(), order(en, "o1", "photo"))
	if !errors.Is(err, fulfil.ErrPermanent) || !strings.Contains(err.Error(), amazonemu.MsgInvalidSlot) {
		t.Errorf("unknown slot: %v", err)
	}
	// No mapping at all.
	_, err = e.svc.Place(context.Background(), order(en, "o2", "gray"))
	if !errors.Is(err, fulfil.ErrPermanent) || !strings.Contains(err.Error(), "no Dash Replenishment slot") {
		t.Errorf("unmapped supply: %v", err)
	}
	// An enrollment that never signed in.
	pending := e.createEnrollment("SN-41")
	_, err = e.svc.Place(context.Background(), order(pending, "o3", "black"))
	if !errors.Is(err, fulfil.ErrPermanent) {
		t.Errorf("unlinked enrollment: %v", err)
	}
}

func TestServerErrorsAreRetryable(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{AutoApprove: true}, nil)
	en := e.activate("SN-50")
	// Point DRS at a server that fails, in front of the emulator.
	var fail sync.Mutex
	failing := true
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail.Lock()
		f := failing
		fail.Unlock()
		if f {
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
			return
		}
		e.emu.ServeHTTP(w, r)
	}))
	defer front.Close()
	svc, err := amazon.New(e.st, nil, amazon.Config{ClientID: e.emu.ClientID(), ClientSecret: e.emu.ClientSecret(),
		AuthorizeURL: e.emuURL + "/ap/oa", TokenURL: e.emuURL + "/auth/o2/token", DRSBaseURL: front.URL,
		DeviceModel: "ars-printer", Slots: map[string]string{"black": "slot-black"}, PublicURL: e.arsd, Key: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Place(context.Background(), order(en, "o1", "black"))
	if err == nil || errors.Is(err, fulfil.ErrPermanent) {
		t.Fatalf("503: err = %v, want a retryable error", err)
	}
	fail.Lock()
	failing = false
	fail.Unlock()
	if _, err := svc.Place(context.Background(), order(en, "o1", "black")); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	// DRS unreachable.
	front.Close()
	if _, err := svc.Place(context.Background(), order(en, "o2", "black")); err == nil || errors.Is(err, fulfil.ErrPermanent) {
		t.Errorf("unreachable: err = %v, want retryable", err)
	}
}

func TestDeregister(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, amazonemu.Config{AutoApprove: true}, nil)
		en := e.activate("SN-60")
		if err := e.svc.Deregister(ctx, en.ID); err != nil {
			t.Fatal(err)
		}
		if got := e.emu.Deregistrations(); len(got) != 1 || got[0].Serial != "SN-60" {
			t.Errorf("deregistrations %+v", got)
		}
		if e.emu.Registered("SN-60") {
			t.Error("still registered")
		}
		if _, err := e.st.GetAmazonLink(ctx, en.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("link after deregister: %v", err)
		}
		if _, err := e.svc.Place(ctx, order(en, "o1", "black")); !errors.Is(err, fulfil.ErrPermanent) {
			t.Errorf("place after deregister: %v", err)
		}
		// Twice, and for an enrollment never linked: nothing to do.
		if err := e.svc.Deregister(ctx, en.ID); err != nil {
			t.Error(err)
		}
		if len(e.emu.Deregistrations()) != 1 {
			t.Error("deregistered twice")
		}
	})
}

func TestDeviceStatus(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{AutoApprove: true}, nil)
	en := e.activate("SN-70")
	at := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	sent, err := e.svc.ReportDeviceStatus(ctx, en.ID, at)
	if err != nil || !sent {
		t.Fatalf("sent %v err %v", sent, err)
	}
	if got := e.emu.LastActive("SN-70"); got != "2026-11-26T08:00:00Z" {
		t.Errorf("mostRecentlyActiveDate %q", got)
	}
	if sent, _ := e.svc.ReportDeviceStatus(ctx, en.ID, at.Add(time.Minute)); sent {
		t.Error("second report within a day was sent")
	}
	e.clock.Advance(25 * time.Hour)
	if sent, err := e.svc.ReportDeviceStatus(ctx, en.ID, at.Add(25*time.Hour)); !sent || err != nil {
		t.Errorf("next day: sent %v err %v", sent, err)
	}
}

// TestDeviceStatusAcrossReplicas has three replicas (three services on one
// database) report levels of one device at once, twice: Amazon gets one
// DeviceStatus call in all, as the daily cadence is kept in the database
// rather than in each replica's memory.
func TestDeviceStatusAcrossReplicas(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, amazonemu.Config{AutoApprove: true}, nil)
		en := e.activate("SN-71")
		replicas := []*amazon.Service{e.svc}
		for range 2 {
			svc, err := amazon.New(store.New(d), nil, e.cfg)
			if err != nil {
				t.Fatal(err)
			}
			replicas = append(replicas, svc)
		}
		at := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		for range 2 {
			for _, svc := range replicas {
				wg.Go(func() {
					if _, err := svc.ReportDeviceStatus(ctx, en.ID, at); err != nil {
						t.Error(err)
					}
				})
			}
		}
		wg.Wait()
		n := 0
		for _, c := range e.emu.Calls() {
			if c.Path == "/deviceStatus" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d DeviceStatus calls from 3 replicas within a day, want 1", n)
		}
	})
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	_, err := amazon.New(store.New(dbtest.SQLite(t)), nil, amazon.Config{Key: make([]byte, 32)})
	if err == nil || !strings.Contains(err.Error(), "client ID") {
		t.Errorf("err = %v", err)
	}
	_, err = amazon.New(nil, nil, amazon.Config{ClientID: "a", ClientSecret: "b", DeviceModel: "m", PublicURL: "http://x", Key: []byte("short")})
	if err == nil || !strings.Contains(err.Error(), "32 bytes") {
		t.Errorf("err = %v", err)
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := amazon.LoadKey("", dir)
	if err != nil || len(k1) != 32 {
		t.Fatalf("%v %d", err, len(k1))
	}
	fi, err := os.Stat(filepath.Join(dir, amazon.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := amazon.LoadKey("", dir)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("reloaded key differs: %v", err)
	}
	hexKey := strings.Repeat("ab", 32)
	if k, err := amazon.LoadKey(hexKey, ""); err != nil || k[0] != 0xab {
		t.Errorf("hex key: %v", err)
	}
	if _, err := amazon.LoadKey("too-short", ""); err == nil {
		t.Error("short key accepted")
	}
}

func TestCallbackWhenAmazonRefusesTheCode(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{AutoApprove: true}, func(c *amazon.Config) { c.ClientSecret = "wrong-secret" })
	en := e.createEnrollment("SN-80")
	resp, body := e.signIn(en)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "invalid_client") {
		t.Errorf("callback: %d %s", resp.StatusCode, body)
	}
	if got, _, _ := e.st.LookupEnrollment(context.Background(), en.ID); got.State != arsapi.StatePending {
		t.Errorf("enrollment is %s, want pending", got.State)
	}
	if _, err := e.st.GetAmazonLink(context.Background(), en.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("link stored after a failed exchange: %v", err)
	}
}

func TestCancelledWhileSigningIn(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{AutoApprove: true}, nil)
	en := e.createEnrollment("SN-81")
	resp, _ := e.start(e.http, e.svc.SignInURL(en.ID, account))
	resp, _ = e.get(resp.Header.Get("Location"))
	if _, err := e.st.CancelEnrollment(ctx, account, en.ID, arsapi.CancelRequest{Reasons: []string{"other"}}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.get(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "cancelled") {
		t.Errorf("callback: %d %s", resp.StatusCode, body)
	}
	// Starting again for a cancelled plan says so too.
	if resp, _ := e.get(e.svc.SignInURL(en.ID, account)); resp.StatusCode != http.StatusConflict {
		t.Errorf("start after cancel: %d", resp.StatusCode)
	}
}

func TestTokensNeedTheKey(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{AutoApprove: true}, nil)
	en := e.activate("SN-82")
	other, err := amazon.New(e.st, nil, amazon.Config{ClientID: e.emu.ClientID(), ClientSecret: e.emu.ClientSecret(),
		TokenURL: e.emuURL + "/auth/o2/token", DRSBaseURL: e.emuURL, DeviceModel: "ars-printer",
		Slots: map[string]string{"black": "slot-black"}, PublicURL: e.arsd, Key: bytes.Repeat([]byte{8}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.Place(context.Background(), order(en, "o1", "black"))
	if !errors.Is(err, fulfil.ErrPermanent) || !strings.Contains(err.Error(), "does not decrypt") {
		t.Errorf("err = %v", err)
	}
	if n := len(e.emu.Calls()); n != 0 {
		t.Errorf("%d DRS calls made without a usable token", n)
	}
}

func TestConcurrentPlacesWithExpiredToken(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{AutoApprove: true}, nil)
	en := e.activate("SN-83")
	e.emu.ExpireAccessTokens("SN-83")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			_, err := e.svc.Place(context.Background(), order(en, "o"+string(rune('a'+i)), []string{"black", "cyan"}[i%2]))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(e.emu.Orders()); n != 2 {
		t.Errorf("Amazon has %d orders, want 2 (one per slot)", n)
	}
}

func TestSlotForPrefersTheSupplyName(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{AutoApprove: true}, func(c *amazon.Config) {
		c.Slots = map[string]string{"PGBK": "slot-pgbk", "black": "slot-black", "#00ffff": "slot-cyan"}
	})
	for _, tc := range []struct{ supply, color, want string }{
		{"PGBK", "black", "slot-pgbk"},
		{"BK", "black", "slot-black"},
		{"C", "#00FFFF", "slot-cyan"},
		// Canon's own names (testdata/canon-series): the code in
		// parentheses, then the name before it; Canon's marker colours
		// name no colorant.
		{"Black(PGBK)", "#000000", "slot-pgbk"},
		{"Black(BK)", "#000000", "slot-black"},
	} {
		got, ok := e.svc.SlotFor(fulfil.Order{Supply: tc.supply, Color: tc.color})
		if !ok || got != tc.want {
			t.Errorf("SlotFor(%s, %s) = %q, %v; want %q", tc.supply, tc.color, got, ok, tc.want)
		}
	}
	if _, ok := e.svc.SlotFor(fulfil.Order{Supply: "Waste", Color: ""}); ok {
		t.Error("a supply with no mapping got a slot")
	}
}

// BenchmarkPlace measures one replenish hand-over: the stored link read,
// token decryption and POST /replenish to the emulator over loopback.
func BenchmarkPlace(b *testing.B) {
	d := dbtest.SQLite(b)
	st := store.New(d)
	emu := amazonemu.New(amazonemu.Config{AutoApprove: true, DeviceModels: map[string][]string{"ars-printer": {"slot-black"}}})
	emuSrv := httptest.NewServer(emu)
	defer emuSrv.Close()
	mux := http.NewServeMux()
	arsd := httptest.NewServer(mux)
	defer arsd.Close()
	svc, err := amazon.New(st, nil, amazon.Config{ClientID: emu.ClientID(), ClientSecret: emu.ClientSecret(),
		AuthorizeURL: emuSrv.URL + "/ap/oa", TokenURL: emuSrv.URL + "/auth/o2/token", DRSBaseURL: emuSrv.URL,
		DeviceModel: "ars-printer", Slots: map[string]string{"black": "slot-black"}, PublicURL: arsd.URL, Key: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		b.Fatal(err)
	}
	svc.Routes(mux)
	ctx := context.Background()
	en, err := st.CreateEnrollment(ctx, account, arsapi.CreateEnrollmentRequest{Provider: arsapi.ProviderAmazon,
		Printer: arsapi.Printer{Model: "TS8320", Serial: "BENCH"}, TermsVersion: "1"}, 15)
	if err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{}
	resp, err := hc.Get(svc.SignInURL(en.ID, account))
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("sign-in: %v %v", resp, err)
	}
	resp.Body.Close()
	o := order(en, "bench", "black")
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Place(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSignInBoundToBrowser is the attack on the Amazon sign-in: someone
// with a pending amazon enrollment of their own starts its sign-in and
// sends Amazon's authorization URL (their state inside) to a victim
// signed in to Amazon. Amazon sends the victim's browser back with the
// victim's grant; it must not activate the other's enrollment.
func TestSignInBoundToBrowser(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, amazonemu.Config{AutoApprove: true}, nil)
		en := e.createEnrollment("SN-TAKEN")
		attacker, victim := browserClient(), browserClient()
		resp, body := e.start(attacker, e.svc.SignInURL(en.ID, account))
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("start: %d %s", resp.StatusCode, body)
		}
		resp, body = e.getWith(victim, resp.Header.Get("Location"))
		back := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(back, e.arsd+"/v1/amazon/callback?") {
			t.Fatalf("Amazon answered the victim %d %s %s", resp.StatusCode, back, body)
		}
		resp, body = e.getWith(victim, back)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "not started in this browser") {
			t.Errorf("the victim's callback: %d %s", resp.StatusCode, body)
		}
		if got, _, _ := e.st.LookupEnrollment(context.Background(), en.ID); got.State != arsapi.StatePending {
			t.Errorf("the enrollment is %s after the victim's callback", got.State)
		}
		if _, err := e.st.GetAmazonLink(context.Background(), en.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a link was stored: %v", err)
		}
		if e.emu.Registered("SN-TAKEN") {
			t.Error("the victim's Amazon grant was exchanged for the device")
		}
	})
}

// TestStartConfirmCSRF: Continue posted by another site (the link's
// fields, no page cookie) starts nothing and leaves the link usable.
func TestStartConfirmCSRF(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{AutoApprove: true}, nil)
	en := e.createEnrollment("SN-CSRF")
	link, _ := url.Parse(e.svc.SignInURL(en.ID, account))
	for _, tok := range []string{"", "forged-token-forged-token-forged-token"} {
		resp, err := browserClient().PostForm(e.arsd+"/v1/amazon/start", url.Values{"enrollment": {en.ID},
			"token": {link.Query().Get("token")}, "csrf_token": {tok}, "action": {"continue"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("forged Continue with csrf_token %q: %d", tok, resp.StatusCode)
		}
	}
	if resp, body := e.start(e.http, link.String()); resp.StatusCode != http.StatusFound {
		t.Errorf("the link after forged posts: %d %s", resp.StatusCode, body)
	}
}

// TestPageHeaders: the Amazon pages have the headers of every arsd page;
// forms may lead only to arsd and to Amazon's authorization endpoint.
func TestPageHeaders(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), amazonemu.Config{AutoApprove: true}, nil)
	en := e.createEnrollment("SN-HDR")
	for _, u := range []string{e.svc.SignInURL(en.ID, account), e.arsd + "/v1/amazon/callback", e.arsd + "/v1/amazon/start?enrollment=x"} {
		resp, _ := e.get(u)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" ||
			h.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(csp, "default-src 'none'") ||
			!strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "form-action 'self' "+e.emuURL+";") {
			t.Errorf("%s: headers %v", u, h)
		}
	}
}
