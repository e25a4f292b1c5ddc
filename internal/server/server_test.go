package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/amazonemu"
	"github.com/arsctl/arsctl/internal/server/api/openapitest"
	"github.com/arsctl/arsctl/internal/server/catalogue"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/formbrowser"
	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
	"github.com/arsctl/arsctl/internal/server/servertest"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/internal/server/webhook"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// hook receives webhook events and checks their signatures.
type hook struct {
	t      *testing.T
	secret []byte
	mu     sync.Mutex
	events []webhook.Event
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := webhook.Verify(h.secret, r.Header.Get(webhook.HeaderTimestamp), body, r.Header.Get(webhook.HeaderSignature), time.Hour); err != nil {
		h.t.Errorf("webhook signature: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev webhook.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		h.t.Errorf("webhook body: %v", err)
	}
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *hook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

// TestEndToEnd runs arsd in-process with the Amazon emulator and a webhook
// receiver and drives it as arsctl does: sign-up, device sign-in (real
// OAuth tokens), enrollments with both providers, level reports that
// place exactly one order each, fulfilment, cancellation with
// deregistration. Every API request and answer is checked against
// docs/api/openapi.yaml.
func TestEndToEnd(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "arsd.db")
			if dialect == "postgres" {
				dsn = dbtest.PostgresDSN(t)
			}
			testEndToEnd(t, dsn)
		})
	}
}

func testEndToEnd(t *testing.T, dsn string) {
	ctx := context.Background()
	emu := amazonemu.New(amazonemu.Config{AutoApprove: true})
	emuSrv := httptest.NewServer(emu)
	defer emuSrv.Close()
	h := &hook{t: t, secret: []byte("0123456789abcdef-webhook")}
	hookSrv := httptest.NewServer(h)
	defer hookSrv.Close()

	logs := &servertest.LogBuffer{}
	base, stop, err := Start(ctx, Config{
		Addr:     "127.0.0.1:0",
		Database: dsn,
		DataDir:  t.TempDir(),
		Logger:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Amazon: AmazonConfig{
			ClientID: emu.ClientID(), ClientSecret: emu.ClientSecret(),
			AuthorizeURL: emuSrv.URL + "/ap/oa", TokenURL: emuSrv.URL + "/auth/o2/token", DRSBaseURL: emuSrv.URL,
			DeviceModel: amazonemu.DefaultDeviceModel,
			Slots:       map[string]string{"black": "black", "cyan": "cyan", "magenta": "magenta", "yellow": "yellow"},
			TestDevice:  true,
		},
		Webhook:          WebhookConfig{URL: hookSrv.URL, Secret: string(h.secret)},
		DispatchInterval: Duration(100 * time.Millisecond),
	})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = stop()
		}
	}()

	checked := &http.Client{Transport: openapitest.NewTransport(t, base, nil)}
	pub := arsapi.New(base, arsapi.WithHTTPClient(checked))
	const email, password = "owner@example.com", "a long enough password"
	if _, err := pub.CreateAccount(ctx, arsapi.CreateAccountRequest{Email: email, Password: password, Name: "Owner"}); err != nil {
		t.Fatal(err)
	}
	tok := oauthtest.Token(t, base, email, password)
	c := arsapi.New(base, arsapi.WithHTTPClient(&http.Client{Transport: &oauth2.Transport{
		Source: oauth2.StaticTokenSource(tok), Base: openapitest.NewTransport(t, base, nil)}}))

	acct, err := c.Account(ctx)
	if err != nil || acct.Email != email {
		t.Fatalf("account = %+v, %v", acct, err)
	}
	terms, err := c.Terms(ctx)
	if err != nil || terms.AboutURL != base+"/about" {
		t.Fatalf("terms = %+v, %v", terms, err)
	}
	// The about page is served (by the web pages).
	if res, err := http.Get(terms.AboutURL); err != nil || res.StatusCode != 200 {
		t.Fatalf("about page: %v %v", res, err)
	}

	// Canon: active at once; a low level places one order, handed to the webhook.
	const canonSerial = "KMZX-CANON-0001"
	en, err := c.CreateEnrollment(ctx, arsapi.CreateEnrollmentRequest{
		Provider: arsapi.ProviderCanon, Printer: arsapi.Printer{Model: "Canon TS8320 series", Serial: canonSerial}, TermsVersion: terms.Version,
	}, "enroll-canon-1")
	if err != nil || en.State != arsapi.StateActive {
		t.Fatalf("canon enrollment = %+v, %v", en, err)
	}
	_, err = c.CreateEnrollment(ctx, arsapi.CreateEnrollmentRequest{
		Provider: arsapi.ProviderCanon, Printer: arsapi.Printer{Model: "TS8320", Serial: canonSerial}, TermsVersion: terms.Version,
	}, "")
	var p *arsapi.Problem
	if !errors.As(err, &p) || p.Code != arsapi.CodeAlreadyEnrolled || p.EnrollmentID != en.ID {
		t.Fatalf("enrolling twice: %v", err)
	}
	report := func(id string, at time.Time, black int) arsapi.LevelReportResult {
		t.Helper()
		res, err := c.ReportLevels(ctx, id, arsapi.LevelReport{ReadAt: at, Supplies: []printer.Supply{
			{Name: "BK", Type: "inkCartridge", ColorName: "black", Colors: []string{"#000000"}, Level: black, Low: 10},
			{Name: "C", Type: "inkCartridge", ColorName: "cyan", Colors: []string{"#00FFFF"}, Level: 70, Low: 10},
		}})
		if err != nil {
			t.Fatalf("report: %v", err)
		}
		return res
	}
	t0 := time.Now().UTC().Add(-time.Hour)
	first := report(en.ID, t0, 5)
	if len(first.Orders) != 1 {
		t.Fatalf("low canon report placed %d orders", len(first.Orders))
	}
	// The order is scheduled for the default hold of 24 hours; the
	// webhook is told (order.scheduled), and nothing is handed over
	// until the owner ships it now.
	o := first.Orders[0]
	if o.State != arsapi.OrderScheduled || o.HoldUntil == nil || o.HoldUntil.Before(time.Now().Add(23*time.Hour)) {
		t.Fatalf("new order %+v, want scheduled for 24 h", o)
	}
	if res := report(en.ID, t0.Add(time.Minute), 4); len(res.Orders) != 0 {
		t.Fatalf("second low report placed %d orders", len(res.Orders))
	}
	servertest.Eventually(t, "the order.scheduled event", func() bool { return h.count() == 1 })
	h.mu.Lock()
	ev := h.events[0]
	h.mu.Unlock()
	if ev.Type != webhook.EventScheduled || ev.ID != o.ID+":scheduled" || ev.HoldUntil == nil || ev.Order.Supply != "BK" || ev.Reason == "" {
		t.Fatalf("scheduled event %+v", ev)
	}
	if os, err := c.ListOrders(ctx, en.ID); err != nil || len(os) != 1 || os[0].State != arsapi.OrderScheduled {
		t.Fatalf("orders while held: %+v, %v", os, err)
	}
	if _, err := c.ShipOrder(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, "the webhook event", func() bool { return h.count() == 2 })
	servertest.Eventually(t, "the order to be handed over", func() bool {
		os, err := c.ListOrders(ctx, en.ID)
		return err == nil && len(os) == 1 && os[0].Fulfilment == webhook.Name
	})
	if _, err := c.SkipOrder(ctx, o.ID); !errors.As(err, &p) || p.Code != arsapi.CodeOrderNotOpen {
		t.Fatalf("skip after the hand-over: %v", err)
	}

	// Amazon: pending until Login with Amazon; then orders go to DRS.
	const amzSerial = "KMZX-AMZN-0002"
	amz, err := c.CreateEnrollment(ctx, arsapi.CreateEnrollmentRequest{
		Provider: arsapi.ProviderAmazon, Printer: arsapi.Printer{Model: "TS6320a", Serial: amzSerial}, TermsVersion: terms.Version,
	}, "enroll-amazon-1")
	if err != nil || amz.State != arsapi.StatePending || !strings.HasPrefix(amz.AmazonSignInURL, base+"/v1/amazon/start?") {
		t.Fatalf("amazon enrollment = %+v, %v", amz, err)
	}
	// start (confirmation page) -> Continue -> Amazon authorize -> callback
	browser, err := formbrowser.New(&http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	page, err := browser.Get(ctx, amz.AmazonSignInURL)
	if err != nil {
		t.Fatal(err)
	}
	confirm := page.Form(func(f *formbrowser.Form) bool { return f.HasButton("action") })
	if confirm == nil {
		t.Fatalf("no confirmation form: %s", page.Text())
	}
	if page, err = browser.Submit(ctx, page, confirm, nil, "continue"); err != nil || page.Status != http.StatusOK {
		t.Fatalf("sign-in with Amazon: %v %v", page, err)
	}
	if amz, err = c.GetEnrollment(ctx, amz.ID); err != nil || amz.State != arsapi.StateActive || amz.AmazonSignInURL != "" {
		t.Fatalf("after sign-in: %+v, %v", amz, err)
	}
	// This printer's plan hands orders over at once (no hold).
	zero := 0
	if set, err := c.SetOrderSettings(ctx, amz.ID, arsapi.OrderSettings{HoldMinutes: &zero}); err != nil || *set.HoldMinutes != 0 {
		t.Fatalf("order settings: %+v, %v", set, err)
	}
	if res := report(amz.ID, t0, 3); len(res.Orders) != 1 || res.Orders[0].State != arsapi.OrderPlaced {
		t.Fatalf("low amazon report placed %d orders", len(res.Orders))
	}
	report(amz.ID, t0.Add(time.Minute), 2)
	servertest.Eventually(t, "the DRS replenish call", func() bool { return emu.ReplenishCalls(amzSerial, "black") >= 1 })
	servertest.Eventually(t, "the amazon order to be recorded", func() bool {
		os, err := c.ListOrders(ctx, amz.ID)
		return err == nil && len(os) == 1 && os[0].Fulfilment == "amazon-drs" && os[0].ExternalID != ""
	})
	if n := emu.ReplenishCalls(amzSerial, "black"); n != 1 {
		t.Errorf("replenish called %d times, want 1", n)
	}
	// Level reports tell DRS the device is active: once, not per report.
	deviceStatus := func() int {
		n := 0
		for _, call := range emu.Calls() {
			if call.Path == "/deviceStatus" && call.Status == http.StatusOK && call.Device.Serial == amzSerial {
				n++
			}
		}
		return n
	}
	servertest.Eventually(t, "the DRS deviceStatus call", func() bool { return deviceStatus() >= 1 })
	if n := deviceStatus(); n != 1 {
		t.Errorf("deviceStatus called %d times after two reports, want 1 (daily)", n)
	}

	// Cancel: a reason is required; amazon is deregistered.
	_, err = c.CancelEnrollment(ctx, amz.ID, arsapi.CancelRequest{}, "")
	if !errors.As(err, &p) || p.Code != arsapi.CodeNoReason || len(p.Reasons) == 0 {
		t.Fatalf("cancel without reason: %v", err)
	}
	cx, err := c.CancelEnrollment(ctx, amz.ID, arsapi.CancelRequest{Reasons: []string{"prefer-buying-myself"}}, "cancel-1")
	if err != nil || cx.State != arsapi.StateCancelled {
		t.Fatalf("cancel = %+v, %v", cx, err)
	}
	if emu.Registered(amzSerial) {
		t.Error("the device is still registered with DRS after cancel")
	}
	if _, err := c.ReportLevels(ctx, amz.ID, arsapi.LevelReport{Supplies: []printer.Supply{{Name: "BK", Level: 1}}}); !errors.As(err, &p) || p.Code != arsapi.CodeNotActive {
		t.Errorf("report after cancel: %v", err)
	}
	all, err := c.ListEnrollments(ctx)
	if err != nil || len(all) != 2 {
		t.Errorf("list = %d, %v", len(all), err)
	}

	// Operations.
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
		res, err := checked.Get(base + path)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, res, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(b), want) {
			t.Errorf("%s = %q", path, b)
		}
	}
	res, err := checked.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, re := range []string{
		`arsd_level_reports_total 4`,
		`arsd_orders_placed_total 2`,
		`arsd_enrollments_created_total\{provider="amazon"\} 1`,
		`arsd_cancellations_total\{reason="prefer-buying-myself"\} 1`,
		`arsd_http_requests_total\{code="200",method="POST",route="/v1/enrollments/\{id\}/levels"\} 4`,
		`arsd_http_request_duration_seconds_count\{method="GET",route="/v1/terms"\} \d+`,
		`arsd_enrollments\{provider="amazon",state="\w+"\} 1`,
		`arsd_orders\{state="shipped"\} \d+`,
		`arsd_dispatch_pending_orders \d+`,
		`arsd_dispatch_lag_seconds \d`,
	} {
		if !regexp.MustCompile(re).Match(metrics) {
			t.Errorf("metrics lack %s", re)
		}
	}

	if err := stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	stopped = true
	// Secrets never reach the logs.
	l := logs.String()
	for name, secret := range map[string]string{
		"access token": tok.AccessToken, "refresh token": tok.RefreshToken, "password": password,
		"canon serial": canonSerial, "amazon serial": amzSerial, "webhook secret": string(h.secret),
	} {
		if secret != "" && strings.Contains(l, secret) {
			t.Errorf("logs contain the %s", name)
		}
	}
	if !strings.Contains(l, `"msg":"enrollment created"`) || !strings.Contains(l, `"msg":"arsd shutting down"`) {
		t.Errorf("expected log lines missing:\n%s", l)
	}
}

// TestRoutesDocumented checks that every /v1 route arsd serves is in
// docs/api/openapi.yaml and every documented path is served.
func TestRoutesDocumented(t *testing.T) {
	emu := amazonemu.New(amazonemu.Config{})
	s, err := New(context.Background(), Config{
		Addr: "127.0.0.1:0", Database: filepath.Join(t.TempDir(), "a.db"), DataDir: t.TempDir(),
		Amazon: AmazonConfig{ClientID: emu.ClientID(), ClientSecret: emu.ClientSecret(), DeviceModel: "m"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	doc := openapitest.Doc(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
			concrete := strings.NewReplacer("{id}", "some-id").Replace(path)
			pattern, ok := s.Route(method, concrete)
			if !ok {
				t.Errorf("%s %s is documented but not served", method, path)
				continue
			}
			if _, p, _ := strings.Cut(pattern, " "); p != path && pattern != path {
				t.Errorf("%s %s is served by %q", method, path, pattern)
			}
		}
	}
	// Every route under /v1 and the operations routes must be documented.
	var routes []string
	routes = append(routes, s.APIRoutes()...)
	routes = append(routes, OpsRoutes...)
	routes = append(routes, "GET /v1/amazon/start", "POST /v1/amazon/start", "GET /v1/amazon/callback", "GET /v1/tokens", "POST /v1/tokens", "DELETE /v1/tokens/{id}")
	for _, r := range routes {
		if !documented[r] {
			t.Errorf("route %q is not in %s", r, openapitest.DocPath())
		}
	}
	// Probe: anything the mux answers under /v1 is in the document.
	for _, probe := range []string{"GET /v1/amazon/status", "POST /v1/account", "PUT /v1/enrollments/x", "DELETE /v1/enrollments/x", "GET /v1/enrollments/x/history", "POST /v1/enrollments/x/pause"} {
		method, path, _ := strings.Cut(probe, " ")
		if pattern, ok := s.Route(method, path); ok && !documented[pattern] {
			t.Errorf("%s is served by undocumented %q", probe, pattern)
		}
	}
}

// TestJanitorPurgesIdempotency: the janitor deletes expired idempotency
// records and keeps fresh ones.
func TestJanitorPurgesIdempotency(t *testing.T) {
	ctx := context.Background()
	s, err := New(ctx, Config{Addr: "127.0.0.1:0", Database: filepath.Join(t.TempDir(), "a.db"), DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old := time.Now().Add(-store.IdemTTL - time.Hour)
	s.st.Now = func() time.Time { return old }
	if err := s.st.PutIdem(ctx, "acct", "k", store.IdemRecord{RequestHash: "h", Status: 201}); err != nil {
		t.Fatal(err)
	}
	s.st.Now = func() time.Time { return time.Now().UTC() }
	if err := s.st.PutIdem(ctx, "acct", "fresh", store.IdemRecord{RequestHash: "h", Status: 201}); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { s.janitor(rctx, 5*time.Millisecond); close(done) }()
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM idempotency_keys`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d idempotency records left, want 1", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done // the janitor returns when its context ends
	if _, err := s.st.GetIdem(ctx, "acct", "fresh"); err != nil {
		t.Errorf("fresh record: %v", err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "arsd.db")
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(context.Background(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	_, err = New(context.Background(), Config{Database: path})
	if !errors.Is(err, db.ErrSchemaTooNew) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "newer arsd") {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaults(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_DATA_HOME", home)
	var c Config
	if err := c.defaults(); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8787" || c.PublicURL != "http://127.0.0.1:8787" || c.Database != filepath.Join(home, "arsd", "arsd.db") || c.DataDir != filepath.Join(home, "arsd") {
		t.Errorf("defaults = %+v", c)
	}
	c = Config{Addr: "0.0.0.0:9000", TLSCert: "c", TLSKey: "k", Database: "postgres://u:secret@h/db"}
	if err := c.defaults(); err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "https://127.0.0.1:9000" {
		t.Errorf("PublicURL = %q", c.PublicURL)
	}
	if got := redactDSN(c.Database); strings.Contains(got, "secret") {
		t.Errorf("redactDSN = %q", got)
	}
	for _, bad := range []Config{{TLSCert: "c"}, {PublicURL: "ftp://x"}, {PublicURL: "https://x/path"}} {
		bad.Database = "x.db"
		if err := bad.defaults(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestLoadConfigFile(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "arsd.yaml")
	os.WriteFile(yml, []byte(`
listen: 127.0.0.1:9999
public_url: https://ars.example.com
access_token_ttl: 5m
cors_origins: [https://app.example.com]
catalogue:
  default_threshold: 20
  models:
    - name: X100
      aliases: [X100a]
  cancel_reasons:
    - {id: moving, label: Moving house}
    - {id: other, label: Other, takes_comment: true}
amazon:
  client_id: amzn1.x
  slots: {black: slot-1}
webhook:
  url: https://backoffice.example.com/ars
`), 0o600)
	var c Config
	if err := LoadConfigFile(yml, &c); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.PublicURL != "https://ars.example.com" || time.Duration(c.AccessTokenTTL) != 5*time.Minute ||
		c.Catalogue.DefaultThreshold != 20 || len(c.Catalogue.Models) != 1 || c.Catalogue.Models[0].Aliases[0] != "X100a" ||
		len(c.Catalogue.CancelReasons) != 2 || !c.Catalogue.CancelReasons[1].TakesComment ||
		c.Amazon.Slots["black"] != "slot-1" || c.Webhook.URL == "" || len(c.CORSOrigins) != 1 {
		t.Errorf("config = %+v", c)
	}
	js := filepath.Join(dir, "arsd.json")
	os.WriteFile(js, []byte(`{"listen":"127.0.0.1:1","catalogue":{"terms":{"version":"v2","title":"T","text":"x"}}}`), 0o600)
	c = Config{}
	if err := LoadConfigFile(js, &c); err != nil || c.Catalogue.Terms.Version != "v2" {
		t.Errorf("json config: %+v %v", c, err)
	}
	for name, body := range map[string]string{
		"bad.yaml": "listen: [1, 2]\n",
		"unk.yaml": "lisen: 127.0.0.1:1\n",
		"dur.json": `{"access_token_ttl": "soon"}`,
		"syn.yaml": "a: b: c\n",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		c = Config{}
		if err := LoadConfigFile(p, &c); err == nil {
			t.Errorf("%s: no error", name)
		} else if name == "unk.yaml" && !strings.Contains(err.Error(), "lisen") {
			t.Errorf("unknown key error does not name it: %v", err)
		}
	}
	if err := LoadConfigFile(filepath.Join(dir, "missing.yaml"), &c); err == nil {
		t.Error("missing file: no error")
	}
}

// TestExampleConfig keeps docs/arsd.example.yaml loadable and valid.
func TestExampleConfig(t *testing.T) {
	var c Config
	if err := LoadConfigFile(filepath.Join("..", "..", "docs", "arsd.example.yaml"), &c); err != nil {
		t.Fatal(err)
	}
	if c.Amazon.ClientID == "" || c.Webhook.URL == "" || len(c.Catalogue.CancelReasons) != 3 || c.Email.SMTPHost == "" || c.Email.From == "" {
		t.Errorf("example = %+v", c)
	}
	if _, err := catalogue.New(c.Catalogue, c.PublicURL); err != nil {
		t.Errorf("example catalogue: %v", err)
	}
}

// TestExampleConfigListsEverySetting: every setting of Config (and of its
// sections) appears in docs/arsd.example.yaml, set or commented out, so
// that the example is where an operator finds them all.
func TestExampleConfigListsEverySetting(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "arsd.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	example := string(b)
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" || name == "" {
				continue
			}
			key := regexp.MustCompile(`(?m)(^|[\s{,#])` + regexp.QuoteMeta(name) + `:`)
			if !key.MatchString(example) {
				t.Errorf("docs/arsd.example.yaml does not list %s%s", prefix, name)
			}
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && strings.HasPrefix(ft.PkgPath(), "github.com/arsctl/arsctl/internal/server") {
				walk(prefix+name+".", ft)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
}

// TestWarnsProviderWithoutFulfiller: a default arsd (no webhook, no
// Amazon) says at start that canon orders go to the order inbox; with a
// webhook it says nothing of the kind.
func TestWarnsProviderWithoutFulfiller(t *testing.T) {
	for _, hook := range []string{"", "http://127.0.0.1:9/hook"} {
		logs := &servertest.LogBuffer{}
		_, stop, err := Start(context.Background(), Config{
			Addr:     "127.0.0.1:0",
			Database: filepath.Join(t.TempDir(), "arsd.db"),
			DataDir:  t.TempDir(),
			Logger:   slog.New(slog.NewJSONHandler(logs, nil)),
			Webhook:  WebhookConfig{URL: hook, Secret: "0123456789abcdef-webhook"},
		})
		if err != nil {
			t.Fatal(err)
		}
		_ = stop()
		warned := strings.Contains(logs.String(), "no fulfiller for canon orders") && strings.Contains(logs.String(), "/subscriptions/orders")
		if warned != (hook == "") {
			t.Errorf("webhook %q: warned %v\n%s", hook, warned, logs.String())
		}
		if strings.Contains(logs.String(), "no fulfiller for amazon") {
			t.Errorf("warned about amazon, which this server does not offer")
		}
	}
}
