package amazon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/amazonemu"
	"github.com/arsctl/arsctl/internal/server/amazon"
	"github.com/arsctl/arsctl/internal/server/api"
	"github.com/arsctl/arsctl/internal/server/catalogue"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/formbrowser"
	"github.com/arsctl/arsctl/internal/server/orders"
	"github.com/arsctl/arsctl/internal/server/servertest"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// apiTokenAuth authenticates the API's bearer tokens with the store's
// API tokens (the same check arsd's OAuth server makes for them).
type apiTokenAuth struct{ st *store.Store }

func (a apiTokenAuth) Authenticate(r *http.Request) (string, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", errors.New("no bearer token")
	}
	return a.st.CheckAPIToken(r.Context(), tok)
}

// TestEndToEnd is issue 4's Amazon flow through arsd's real API, store,
// order dispatcher and Amazon provider, against the emulator, both on
// 127.0.0.1: create an amazon enrollment -> start -> Amazon's authorize
// page -> callback -> enrollment active -> a low level report -> replenish
// called exactly once, also after a second identical report -> cancel ->
// the registration is deleted at Amazon.
func TestEndToEnd(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		logs := &servertest.LogBuffer{}
		log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		t.Cleanup(func() {
			if l := logs.String(); strings.Contains(l, "Atza|") || strings.Contains(l, "Atzr|") || strings.Contains(l, "ars_pat_") {
				t.Errorf("logs contain a token:\n%s", l)
			}
		})

		emu := amazonemu.New(amazonemu.Config{AutoApprove: true,
			DeviceModels: map[string][]string{"ars-printer": {"slot-black", "slot-cyan"}}})
		emuSrv := httptest.NewServer(emu)
		defer emuSrv.Close()

		st := store.New(d)
		cat, err := catalogue.New(catalogue.Config{}, "http://127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		srv := httptest.NewServer(mux)
		defer srv.Close()

		amz, err := amazon.New(st, log, amazon.Config{
			ClientID: emu.ClientID(), ClientSecret: emu.ClientSecret(),
			AuthorizeURL: emuSrv.URL + "/ap/oa", TokenURL: emuSrv.URL + "/auth/o2/token", DRSBaseURL: emuSrv.URL,
			DeviceModel: "ars-printer", Slots: map[string]string{"black": "slot-black", "cyan": "slot-cyan"},
			TestDevice: true, PublicURL: srv.URL, Key: bytes.Repeat([]byte{1}, 32),
		})
		if err != nil {
			t.Fatal(err)
		}
		disp := orders.New(st, orders.Config{Amazon: amz, Logger: log, PollInterval: 50 * time.Millisecond,
			MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
		st.OrdersPlaced = disp.Poke
		a, err := api.New(api.Options{Store: st, Catalogue: cat, Auth: apiTokenAuth{st}, Logger: log, PublicURL: srv.URL,
			Deregisterer: disp, AmazonSignInURL: amz.SignInURL, SignupsPerMinute: 1000})
		if err != nil {
			t.Fatal(err)
		}
		a.Routes(mux)
		amz.Routes(mux)
		done := make(chan error, 1)
		go func() { done <- disp.Run(ctx) }()
		defer func() { cancel(); <-done }()

		acct, err := st.CreateAccount(ctx, "owner@example.com", "correct horse battery", "Owner")
		if err != nil {
			t.Fatal(err)
		}
		token, _, err := st.CreateAPIToken(ctx, acct.ID, "e2e", 0)
		if err != nil {
			t.Fatal(err)
		}
		call := func(method, path string, body, out any) int {
			t.Helper()
			var rd io.Reader
			if body != nil {
				b, _ := json.Marshal(body)
				rd = bytes.NewReader(b)
			}
			req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, rd)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if out != nil && resp.StatusCode < 300 {
				if err := json.Unmarshal(b, out); err != nil {
					t.Fatalf("%s %s: %v: %s", method, path, err, b)
				}
			}
			if resp.StatusCode >= 300 {
				t.Logf("%s %s: %d %s", method, path, resp.StatusCode, b)
			}
			return resp.StatusCode
		}

		// 1. Enroll with provider amazon: pending, with a sign-in link.
		var en arsapi.Enrollment
		if s := call("POST", "/v1/enrollments", arsapi.CreateEnrollmentRequest{Provider: arsapi.ProviderAmazon,
			Printer: arsapi.Printer{Model: "TS8320", Serial: "E2E-SERIAL-1", Label: "2nd floor"}, TermsVersion: cat.Terms().Version}, &en); s != http.StatusCreated {
			t.Fatalf("create enrollment: %d", s)
		}
		if en.State != arsapi.StatePending || !strings.HasPrefix(en.AmazonSignInURL, srv.URL+"/v1/amazon/start?") {
			t.Fatalf("enrollment %+v", en)
		}

		// 2. The browser: start -> Amazon authorize (auto-approve) -> callback.
		// The confirmation page names the printer and the account; its
		// Continue leads to Amazon.
		var hops []string
		browser, err := formbrowser.New(&http.Client{CheckRedirect: func(r *http.Request, via []*http.Request) error {
			hops = append(hops, r.URL.Scheme+"://"+r.URL.Host+r.URL.Path)
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		page, err := browser.Get(ctx, en.AmazonSignInURL)
		if err != nil {
			t.Fatal(err)
		}
		confirm := page.Form(func(f *formbrowser.Form) bool { return f.HasButton("action") })
		if txt := string(page.Body); page.Status != http.StatusOK || confirm == nil || !strings.Contains(txt, "owner@example.com") ||
			!strings.Contains(txt, "2nd floor (TS8320)") || !strings.Contains(txt, "****AL-1") || strings.Contains(txt, "E2E-SERIAL-1") {
			t.Fatalf("confirmation page: %s", txt)
		}
		if page, err = browser.Submit(ctx, page, confirm, nil, "continue"); err != nil {
			t.Fatal(err)
		}
		// The last page names the printer by its label and model.
		if page.Status != http.StatusOK || !strings.Contains(page.Text(), "all set") || !strings.Contains(string(page.Body), "Your printer 2nd floor (TS8320), serial ****AL-1,") {
			t.Fatalf("sign-in ended with %s", page.Text())
		}
		if want := []string{emuSrv.URL + "/ap/oa", srv.URL + "/v1/amazon/callback"}; strings.Join(hops, " ") != strings.Join(want, " ") {
			t.Errorf("redirects %v, want %v", hops, want)
		}

		// 3. Active.
		if call("GET", "/v1/enrollments/"+en.ID, nil, &en); en.State != arsapi.StateActive {
			t.Fatalf("enrollment is %s after sign-in, want active", en.State)
		}

		// 4. A low level: one order, handed to Amazon once.
		report := arsapi.LevelReport{ReadAt: time.Now().UTC(), Supplies: []printer.Supply{
			{Name: "BK", Type: "inkCartridge", ColorName: "black", Colors: []string{"#000000"}, Level: 5},
			{Name: "C", Type: "inkCartridge", ColorName: "cyan", Colors: []string{"#00FFFF"}, Level: 80},
		}}
		var res arsapi.LevelReportResult
		if s := call("POST", "/v1/enrollments/"+en.ID+"/levels", report, &res); s != http.StatusOK || len(res.Orders) != 1 {
			t.Fatalf("level report: %d %+v", s, res)
		}
		orderID := res.Orders[0].ID
		var o arsapi.Order
		servertest.Eventually(t, "the order to be handed to Amazon", func() bool {
			var l arsapi.List[arsapi.Order]
			call("GET", "/v1/enrollments/"+en.ID+"/orders", nil, &l)
			for _, x := range l.Items {
				if x.ID == orderID && x.Fulfilment == amazon.Name {
					o = x
					return true
				}
			}
			return false
		})
		if o.State != arsapi.OrderPlaced || o.ExternalID == "" {
			t.Errorf("order after hand-over: %+v", o)
		}

		// 5. The same report again: no new order, no second replenish.
		report.ReadAt = report.ReadAt.Add(time.Minute)
		res = arsapi.LevelReportResult{}
		if s := call("POST", "/v1/enrollments/"+en.ID+"/levels", report, &res); s != http.StatusOK || len(res.Orders) != 0 {
			t.Fatalf("second report: %d %+v", s, res)
		}
		if n, err := disp.DispatchOnce(ctx); err != nil || n != 0 {
			t.Errorf("outbox after the second report: %d orders, %v", n, err)
		}
		if n := emu.ReplenishCalls("E2E-SERIAL-1", "slot-black"); n != 1 {
			t.Errorf("replenish called %d times for slot-black, want 1", n)
		}
		if n := len(emu.Orders()); n != 1 {
			t.Errorf("Amazon has %d orders, want 1", n)
		}

		// 6. Cancel: the registration is deleted at Amazon, tokens here.
		if s := call("POST", "/v1/enrollments/"+en.ID+"/cancel", arsapi.CancelRequest{Reasons: []string{cat.ReasonIDs()[0]}}, &en); s != http.StatusOK || en.State != arsapi.StateCancelled {
			t.Fatalf("cancel: %d %s", s, en.State)
		}
		if got := emu.Deregistrations(); len(got) != 1 || got[0].Serial != "E2E-SERIAL-1" || got[0].Model != "ars-printer" {
			t.Errorf("deregistrations %+v", got)
		}
		if emu.Registered("E2E-SERIAL-1") {
			t.Error("device still registered at Amazon")
		}
		if _, err := st.GetAmazonLink(ctx, en.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("tokens kept after cancel: %v", err)
		}
	})
}
