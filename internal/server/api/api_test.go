package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/api/openapitest"
	"github.com/arsctl/arsctl/internal/server/catalogue"
	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/internal/server/jsonbody"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// testAuth accepts "Authorization: Bearer test-<account ID>" for accounts
// that exist in the store. It stands in for the OAuth server in these
// handler tests only.
type testAuth struct{ st *store.Store }

func (a testAuth) Authenticate(r *http.Request) (string, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer test-")
	if !ok || tok == "" {
		return "", errors.New("no test token")
	}
	if _, err := a.st.GetAccount(r.Context(), tok); err != nil {
		return "", err
	}
	return tok, nil
}

// fakeDeregisterer records deregistrations; Amazon's servers are not
// reachable from tests (the amazon package tests the real one against the
// emulator).
type recordingDeregisterer struct {
	mu  sync.Mutex
	ids []string
}

func (d *recordingDeregisterer) Deregister(ctx context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ids = append(d.ids, id)
	return nil
}

type env struct {
	t     *testing.T
	srv   *httptest.Server
	st    *store.Store
	cat   *catalogue.Catalogue
	dereg *recordingDeregisterer
	hc    *http.Client
}

func newEnv(t *testing.T, d *db.DB, opts ...func(*Options)) *env {
	t.Helper()
	st := store.New(d)
	cat, err := catalogue.New(catalogue.Config{}, "http://127.0.0.1:8787")
	if err != nil {
		t.Fatal(err)
	}
	dereg := &recordingDeregisterer{}
	o := Options{Store: st, Catalogue: cat, Auth: testAuth{st}, PublicURL: "http://127.0.0.1:8787", Deregisterer: dereg, SignupsPerMinute: 1000}
	for _, f := range opts {
		f(&o)
	}
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, st: st, cat: cat, dereg: dereg, hc: &http.Client{Transport: openapitest.NewTransport(t, srv.URL, nil)}}
}

// account creates an account through the API and returns its token.
func (e *env) account(email string) string {
	e.t.Helper()
	var acct arsapi.Account
	e.mustDo("POST", "/v1/accounts", "", arsapi.CreateAccountRequest{Email: email, Password: "correct horse battery", Name: "Test"}, 201, &acct)
	return "test-" + acct.ID
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) problem(t *testing.T) arsapi.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body %s", ct, r.body)
	}
	var p arsapi.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decode problem: %v: %s", err, r.body)
	}
	if p.Status != r.status {
		t.Errorf("problem status %d, answer %d", p.Status, r.status)
	}
	return p
}

// do sends a request; body may be a string (sent as is) or a value
// (JSON-encoded). headers are name, value pairs.
func (e *env) do(method, path, token string, body any, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (e *env) mustDo(method, path, token string, body any, want int, out any, headers ...string) resp {
	e.t.Helper()
	r := e.do(method, path, token, body, headers...)
	if r.status != want {
		e.t.Fatalf("%s %s = %d, want %d: %s", method, path, r.status, want, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			e.t.Fatalf("%s %s: decode: %v: %s", method, path, err, r.body)
		}
	}
	return r
}

func enrollReq(model, serial string) arsapi.CreateEnrollmentRequest {
	return arsapi.CreateEnrollmentRequest{
		Provider:     arsapi.ProviderCanon,
		Printer:      arsapi.Printer{Model: model, Serial: serial, UUID: "urn:uuid:0A1B2C3D-0000-1000-8000-00000000AAAA"},
		TermsVersion: catalogue.DefaultTermsVersion,
	}
}

func TestCatalogueEndpoints(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	var terms arsapi.Terms
	e.mustDo("GET", "/v1/terms", "", nil, 200, &terms)
	if terms.Version != catalogue.DefaultTermsVersion || terms.AboutURL != "http://127.0.0.1:8787/about" || terms.Text == "" {
		t.Errorf("terms = %+v", terms)
	}
	var models arsapi.List[arsapi.Model]
	e.mustDo("GET", "/v1/models", "", nil, 200, &models)
	if len(models.Items) != 13 || !slices.ContainsFunc(models.Items, func(m arsapi.Model) bool {
		return m.Name == "TS8320" && m.Make == "Canon" && slices.Contains(m.Aliases, "TS8320a") && slices.Equal(m.Series, []string{"TS8300 series"})
	}) {
		t.Errorf("models = %+v", models.Items)
	}
	var reasons arsapi.List[arsapi.CancelReason]
	e.mustDo("GET", "/v1/cancel-reasons", "", nil, 200, &reasons)
	if len(reasons.Items) != 6 {
		t.Errorf("reasons = %+v", reasons.Items)
	}
}

// TestEnrollSeries: printers report their series, never the regional
// model; arsd keeps both the series and the model the owner confirmed,
// asks which model when a series covers several, and turns away a printer
// of another make without the model list.
func TestEnrollSeries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ann := e.account("ann@example.com")
		series := func(model, series, serial string) arsapi.CreateEnrollmentRequest {
			r := enrollReq(model, serial)
			r.Printer.Series = series
			return r
		}

		// A series of one model: the model is inferred, the series kept.
		var en arsapi.Enrollment
		e.mustDo("POST", "/v1/enrollments", ann, enrollReq("Canon TS5300 series", "KMZS00001"), 201, &en)
		if en.Printer.Model != "TS5320" || en.Printer.Series != "Canon TS5300 series" {
			t.Errorf("series of one: %+v", en.Printer)
		}
		// The model confirmed, with the series reported.
		e.mustDo("POST", "/v1/enrollments", ann, series("ts9521ca", "TS9500 series", "KMZS00002"), 201, &en)
		if en.Printer.Model != "TS9521C" || en.Printer.Series != "TS9500 series" {
			t.Errorf("confirmed: %+v", en.Printer)
		}
		var got arsapi.Enrollment
		e.mustDo("GET", "/v1/enrollments/"+en.ID, ann, nil, 200, &got)
		if got.Printer != en.Printer {
			t.Errorf("stored %+v, created %+v", got.Printer, en.Printer)
		}

		// A series of two without the model: which one?
		r := e.do("POST", "/v1/enrollments", ann, enrollReq("TS9500 series", "KMZS00003"))
		if p := r.problem(t); r.status != 422 || p.Code != arsapi.CodeAmbiguousModel || !slices.Equal(p.Candidates, []string{"TS9520", "TS9521C"}) {
			t.Errorf("ambiguous: %d %+v", r.status, p)
		}
		// A model the series does not cover.
		r = e.do("POST", "/v1/enrollments", ann, series("TS8320", "TS9500 series", "KMZS00004"))
		if p := r.problem(t); r.status != 422 || p.Code != arsapi.CodeInvalid || !strings.Contains(p.Detail, "TS9520") {
			t.Errorf("model outside series: %d %+v", r.status, p)
		}
		// Another make: told so, without the model list.
		r = e.do("POST", "/v1/enrollments", ann, enrollReq("EPSON ET-2850 Series", "KMZS00005"))
		if p := r.problem(t); r.status != 422 || p.Code != arsapi.CodeIneligibleModel || len(p.Eligible) != 0 ||
			!strings.Contains(p.Detail, "does not serve EPSON printers") || strings.Contains(p.Detail, "TS8320") {
			t.Errorf("another make: %d %+v", r.status, p)
		}
		// A Canon series that is not eligible: the list.
		r = e.do("POST", "/v1/enrollments", ann, enrollReq("Canon MX490 series", "KMZS00006"))
		if p := r.problem(t); r.status != 422 || p.Code != arsapi.CodeIneligibleModel || !slices.Contains(p.Eligible, "TS8320") {
			t.Errorf("not eligible: %d %+v", r.status, p)
		}
	})
}

func TestAuthRequired(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/account"},
		{"GET", "/v1/enrollments"},
		{"POST", "/v1/enrollments"},
		{"GET", "/v1/enrollments/x"},
		{"POST", "/v1/enrollments/x/cancel"},
		{"POST", "/v1/enrollments/x/levels"},
		{"GET", "/v1/enrollments/x/orders"},
	} {
		for _, tok := range []string{"", "test-nobody"} {
			var body any
			if tc.method == "POST" {
				body = map[string]any{}
			}
			r := e.do(tc.method, tc.path, tok, body)
			if r.status != 401 {
				t.Errorf("%s %s (token %q) = %d, want 401", tc.method, tc.path, tok, r.status)
				continue
			}
			p := r.problem(t)
			if p.Code != arsapi.CodeUnauthenticated {
				t.Errorf("code = %q", p.Code)
			}
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
			if tok != "" && !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("WWW-Authenticate = %q, want error=invalid_token", r.header.Get("WWW-Authenticate"))
			}
		}
	}
}

func TestAccounts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		tok := e.account("Ann@Example.com")
		var acct arsapi.Account
		e.mustDo("GET", "/v1/account", tok, nil, 200, &acct)
		if acct.Email != "ann@example.com" || acct.Name != "Test" || "test-"+acct.ID != tok {
			t.Errorf("account = %+v", acct)
		}
		r := e.do("POST", "/v1/accounts", "", arsapi.CreateAccountRequest{Email: "ann@example.com", Password: "another long password"})
		if r.status != 409 || r.problem(t).Code != arsapi.CodeEmailTaken {
			t.Errorf("taken email: %d %s", r.status, r.body)
		}
		r = e.do("POST", "/v1/accounts", "", arsapi.CreateAccountRequest{Email: "bob@example.com", Password: "short"})
		if r.status != 422 || !strings.Contains(r.problem(t).Detail, "password") {
			t.Errorf("short password: %d %s", r.status, r.body)
		}
		r = e.do("POST", "/v1/accounts", "", arsapi.CreateAccountRequest{Email: "not an email", Password: "long enough password"})
		if r.status != 422 || !strings.Contains(r.problem(t).Detail, "email") {
			t.Errorf("bad email: %d %s", r.status, r.body)
		}
		// Sign-up replays under the same Idempotency-Key.
		body := arsapi.CreateAccountRequest{Email: "cat@example.com", Password: "long enough password"}
		var a1, a2 arsapi.Account
		e.mustDo("POST", "/v1/accounts", "", body, 201, &a1, "Idempotency-Key", "signup-1")
		r2 := e.mustDo("POST", "/v1/accounts", "", body, 201, &a2, "Idempotency-Key", "signup-1")
		if a1.ID != a2.ID || r2.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay: %+v vs %+v (%v)", a1, a2, r2.header)
		}
	})
}

// TestSignupIdempotencyKeyIsPerClient: two clients at different
// addresses that use the same Idempotency-Key for their sign-ups each get
// their own account, and each retry replays its own client's answer.
// With one key space for every client, the second was refused with 422
// (or, with the first one's body, handed the first one's account).
func TestSignupIdempotencyKeyIsPerClient(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		st := store.New(d)
		cat, _ := catalogue.New(catalogue.Config{}, "http://x")
		a, err := New(Options{Store: st, Catalogue: cat, Auth: testAuth{st}, SignupsPerMinute: 1000})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		a.Routes(mux)
		signup := func(addr, email string) (int, arsapi.Account, http.Header) {
			t.Helper()
			req := httptest.NewRequest("POST", "/v1/accounts", strings.NewReader(`{"email":"`+email+`","password":"long enough password"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "signup-1")
			req.RemoteAddr = addr + ":5555"
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			var acct arsapi.Account
			if w.Code == http.StatusCreated {
				if err := json.Unmarshal(w.Body.Bytes(), &acct); err != nil {
					t.Fatal(err)
				}
			}
			return w.Code, acct, w.Header()
		}
		s1, a1, _ := signup("192.0.2.7", "one@example.com")
		s2, a2, _ := signup("198.51.100.9", "two@example.com")
		if s1 != http.StatusCreated || s2 != http.StatusCreated || a1.Email != "one@example.com" || a2.Email != "two@example.com" || a1.ID == a2.ID {
			t.Fatalf("two clients with one key: HTTP %d %+v and HTTP %d %+v, want two accounts", s1, a1, s2, a2)
		}
		r1, b1, h1 := signup("192.0.2.7", "one@example.com")
		r2, b2, h2 := signup("198.51.100.9", "two@example.com")
		if r1 != http.StatusCreated || b1.ID != a1.ID || h1.Get("Idempotent-Replayed") != "true" ||
			r2 != http.StatusCreated || b2.ID != a2.ID || h2.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retries: HTTP %d %+v (%v) and HTTP %d %+v (%v), want each client's own account replayed", r1, b1, h1, r2, b2, h2)
		}
		// Another address sending the first client's request is not
		// handed the first client's answer.
		if s, _, h := signup("203.0.113.5", "one@example.com"); s != http.StatusConflict || h.Get("Idempotent-Replayed") != "" {
			t.Errorf("the first client's request from a third address: HTTP %d (%v), want 409 email_taken", s, h)
		}
	})
}

// TestSignupRateLimit sends 30 sign-ups from one address at once with
// a limit of 10 a minute: the sign-up is counted in the database before
// the account is made, so at most 10 accounts are made, on every
// replica sharing the database; the rest get 429 with Retry-After.
func TestSignupRateLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		st := store.New(d)
		cat, _ := catalogue.New(catalogue.Config{}, "http://x")
		var replicas []http.Handler
		for range 2 {
			a, err := New(Options{Store: st, Catalogue: cat, Auth: testAuth{st}, SignupsPerMinute: 10})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			a.Routes(mux)
			replicas = append(replicas, mux)
		}
		var (
			mu     sync.Mutex
			counts = map[int]int{}
			wg     sync.WaitGroup
		)
		for i := range 30 {
			wg.Go(func() {
				req := httptest.NewRequest("POST", "/v1/accounts", strings.NewReader(fmt.Sprintf(`{"email":"x%d@example.com","password":"long enough password"}`, i)))
				req.Header.Set("Content-Type", "application/json")
				req.RemoteAddr = "192.0.2.7:5555"
				w := httptest.NewRecorder()
				replicas[i%2].ServeHTTP(w, req)
				if w.Code == 429 && w.Header().Get("Retry-After") == "" {
					t.Error("429 without Retry-After")
				}
				mu.Lock()
				counts[w.Code]++
				mu.Unlock()
			})
		}
		wg.Wait()
		var n int
		if err := d.QueryRow(t.Context(), `SELECT COUNT(*) FROM accounts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		t.Logf("30 concurrent sign-ups on two replicas: %v, %d accounts", counts, n)
		// 503 (and the sign-up given back) when a hashing turn did not come
		// free in time, which a slow machine may see.
		if n > 10 || n == 0 || counts[201] != n || counts[201]+counts[429]+counts[503] != 30 {
			t.Errorf("30 concurrent sign-ups from one address made %d accounts (answers %v); the limit is 10", n, counts)
		}
		// A refused sign-up is given back: from a fresh address, eleven
		// for a taken email leave room for an account.
		signup := func(email string) int {
			req := httptest.NewRequest("POST", "/v1/accounts", strings.NewReader(`{"email":"`+email+`","password":"long enough password"}`))
			req.Header.Set("Content-Type", "application/json")
			req.RemoteAddr = "198.51.100.9:5555"
			w := httptest.NewRecorder()
			replicas[0].ServeHTTP(w, req)
			return w.Code
		}
		var taken string
		if err := d.QueryRow(t.Context(), `SELECT email FROM accounts LIMIT 1`).Scan(&taken); err != nil {
			t.Fatal(err)
		}
		for range 11 {
			if code := signup(taken); code != 409 {
				t.Fatalf("taken email: HTTP %d", code)
			}
		}
		if code := signup("new@example.com"); code != 201 {
			t.Errorf("a new account after refused sign-ups: HTTP %d", code)
		}
	})
}

func TestEnrollments(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ann := e.account("ann@example.com")
		bob := e.account("bob@example.com")

		var en arsapi.Enrollment
		r := e.mustDo("POST", "/v1/enrollments", ann, enrollReq("Canon TS8320a series", "KMZX00001"), 201, &en)
		if en.State != arsapi.StateActive || en.Printer.Model != "TS8320" || en.Printer.Serial != "KMZX00001" ||
			en.Printer.UUID != "0a1b2c3d-0000-1000-8000-00000000aaaa" || en.TermsVersion != catalogue.DefaultTermsVersion || en.Threshold != catalogue.DefaultThreshold {
			t.Errorf("enrollment = %+v", en)
		}
		if r.header.Get("Location") != "/v1/enrollments/"+en.ID {
			t.Errorf("Location = %q", r.header.Get("Location"))
		}

		// The same printer again in the same account: 409 naming it.
		r = e.do("POST", "/v1/enrollments", ann, enrollReq("TS8320", "KMZX00001"))
		if p := r.problem(t); r.status != 409 || p.Code != arsapi.CodeAlreadyEnrolled || p.EnrollmentID != en.ID {
			t.Errorf("re-enroll own: %d %+v", r.status, p)
		}
		// Another account: 409 not_enrollable, telling nothing more.
		r = e.do("POST", "/v1/enrollments", bob, enrollReq("TS8320", "kmzx00001"))
		if p := r.problem(t); r.status != 409 || p.Code != arsapi.CodeNotEnrollable || p.EnrollmentID != "" || strings.Contains(string(r.body), en.ID) {
			t.Errorf("re-enroll other: %d %s", r.status, r.body)
		}

		// Ineligible model.
		r = e.do("POST", "/v1/enrollments", ann, enrollReq("MG3600 series", "X1"))
		if p := r.problem(t); r.status != 422 || p.Code != arsapi.CodeIneligibleModel || !slices.Contains(p.Eligible, "TS8320") {
			t.Errorf("ineligible: %d %+v", r.status, p)
		}
		// Outdated terms.
		req := enrollReq("TS6320", "X2")
		req.TermsVersion = "2019-01"
		r = e.do("POST", "/v1/enrollments", ann, req)
		if p := r.problem(t); r.status != 422 || p.Code != arsapi.CodeTermsOutdated {
			t.Errorf("terms: %d %+v", r.status, p)
		}
		// Bad input.
		for name, body := range map[string]any{
			"unknown field":  `{"provider":"canon","printer":{"model":"TS6320","serial":"X3"},"terms_version":"` + catalogue.DefaultTermsVersion + `","plan":"gold"}`,
			"trailing data":  `{"provider":"canon"} {}`,
			"not json":       `provider=canon`,
			"wrong type":     `{"provider":1}`,
			"empty":          ``,
			"bad provider":   arsapi.CreateEnrollmentRequest{Provider: "hp", Printer: arsapi.Printer{Model: "TS6320", Serial: "X3"}, TermsVersion: catalogue.DefaultTermsVersion},
			"no serial":      arsapi.CreateEnrollmentRequest{Provider: "canon", Printer: arsapi.Printer{Model: "TS6320"}, TermsVersion: catalogue.DefaultTermsVersion},
			"no model":       arsapi.CreateEnrollmentRequest{Provider: "canon", Printer: arsapi.Printer{Serial: "X3"}, TermsVersion: catalogue.DefaultTermsVersion},
			"no terms":       arsapi.CreateEnrollmentRequest{Provider: "canon", Printer: arsapi.Printer{Model: "TS6320", Serial: "X3"}},
			"serial control": arsapi.CreateEnrollmentRequest{Provider: "canon", Printer: arsapi.Printer{Model: "TS6320", Serial: "X\x013"}, TermsVersion: catalogue.DefaultTermsVersion},
		} {
			r := e.do("POST", "/v1/enrollments", ann, body)
			p := r.problem(t)
			if (r.status != 400 && r.status != 422) || p.Code != arsapi.CodeInvalid || p.Detail == "" {
				t.Errorf("%s: %d %+v", name, r.status, p)
			}
			if name == "unknown field" && !strings.Contains(p.Detail, `unknown field "plan"`) {
				t.Errorf("unknown field detail = %q", p.Detail)
			}
		}
		r = e.do("POST", "/v1/enrollments", ann, strings.Repeat(" ", jsonbody.MaxBytes+1))
		if r.status != 413 {
			t.Errorf("huge body: %d", r.status)
		}

		// Get: own, another's (404), unknown (404).
		var got arsapi.Enrollment
		e.mustDo("GET", "/v1/enrollments/"+en.ID, ann, nil, 200, &got)
		if got.ID != en.ID {
			t.Errorf("get = %+v", got)
		}
		for _, tc := range []struct{ tok, id string }{{bob, en.ID}, {ann, "no-such-id"}} {
			r := e.do("GET", "/v1/enrollments/"+tc.id, tc.tok, nil)
			if r.status != 404 || r.problem(t).Code != arsapi.CodeNotFound {
				t.Errorf("get %s: %d %s", tc.id, r.status, r.body)
			}
		}

		// Amazon enrollments are pending with a sign-in URL.
		areq := enrollReq("TS702a", "AMZ0001")
		areq.Provider = arsapi.ProviderAmazon
		var amz arsapi.Enrollment
		e.mustDo("POST", "/v1/enrollments", ann, areq, 201, &amz)
		if amz.State != arsapi.StatePending || amz.AmazonSignInURL != "http://127.0.0.1:8787/v1/amazon/start?enrollment="+amz.ID {
			t.Errorf("amazon enrollment = %+v", amz)
		}

		// List with filters and pagination.
		for i := range 5 {
			e.mustDo("POST", "/v1/enrollments", ann, enrollReq("TS5320", "PAGE"+string(rune('A'+i))), 201, nil)
		}
		var all []arsapi.Enrollment
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			var l arsapi.List[arsapi.Enrollment]
			e.mustDo("GET", "/v1/enrollments?limit=3&cursor="+cursor, ann, nil, 200, &l)
			all = append(all, l.Items...)
			if l.NextCursor == "" {
				break
			}
			cursor = l.NextCursor
		}
		if len(all) != 7 {
			t.Errorf("listed %d enrollments, want 7", len(all))
		}
		var l arsapi.List[arsapi.Enrollment]
		e.mustDo("GET", "/v1/enrollments?state=pending", ann, nil, 200, &l)
		if len(l.Items) != 1 || l.Items[0].ID != amz.ID || l.Items[0].AmazonSignInURL == "" {
			t.Errorf("state=pending: %+v", l.Items)
		}
		e.mustDo("GET", "/v1/enrollments?serial=KMZX00001", ann, nil, 200, &l)
		if len(l.Items) != 1 || l.Items[0].ID != en.ID {
			t.Errorf("serial filter: %+v", l.Items)
		}
		e.mustDo("GET", "/v1/enrollments", bob, nil, 200, &l)
		if len(l.Items) != 0 {
			t.Errorf("bob sees %d enrollments", len(l.Items))
		}
		for _, q := range []string{"state=gone", "limit=0", "limit=201", "limit=x", "cursor=!!"} {
			if r := e.do("GET", "/v1/enrollments?"+q, ann, nil); r.status != 400 || r.problem(t).Code != arsapi.CodeInvalid {
				t.Errorf("?%s: %d %s", q, r.status, r.body)
			}
		}
	})
}

func TestIdempotentCreate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ann := e.account("ann@example.com")
		var first arsapi.Enrollment
		e.mustDo("POST", "/v1/enrollments", ann, enrollReq("TS8320", "IDEM1"), 201, &first, "Idempotency-Key", "k1")
		// Concurrent retries with the same key all get the first answer.
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				r := e.do("POST", "/v1/enrollments", ann, enrollReq("TS8320", "IDEM1"), "Idempotency-Key", "k1")
				var got arsapi.Enrollment
				if r.status != 201 || json.Unmarshal(r.body, &got) != nil || got.ID != first.ID || r.header.Get("Idempotent-Replayed") != "true" {
					t.Errorf("replay = %d %s", r.status, r.body)
				}
			})
		}
		wg.Wait()
		// The same key with another body is refused.
		r := e.do("POST", "/v1/enrollments", ann, enrollReq("TS8320", "IDEM2"), "Idempotency-Key", "k1")
		if r.status != 422 || r.problem(t).Code != arsapi.CodeIdempotencyReuse {
			t.Errorf("reuse: %d %s", r.status, r.body)
		}
		// Keys are per account: bob's k1 is his own.
		bob := e.account("bob@example.com")
		e.mustDo("POST", "/v1/enrollments", bob, enrollReq("TS8320", "IDEM3"), 201, nil, "Idempotency-Key", "k1")
		// Concurrent first attempts with one key create one enrollment.
		var mu sync.Mutex
		ids := map[string]bool{}
		var wg2 sync.WaitGroup
		for range 10 {
			wg2.Go(func() {
				r := e.do("POST", "/v1/enrollments", ann, enrollReq("TS6320", "IDEM4"), "Idempotency-Key", "k4")
				var got arsapi.Enrollment
				if r.status != 201 || json.Unmarshal(r.body, &got) != nil {
					t.Errorf("concurrent = %d %s", r.status, r.body)
					return
				}
				mu.Lock()
				ids[got.ID] = true
				mu.Unlock()
			})
		}
		wg2.Wait()
		if len(ids) != 1 {
			t.Errorf("concurrent creates with one key made %d enrollments", len(ids))
		}
	})
}

// TestIdempotencyKeepsNoRefusals replays a user's sequence: bob's enroll
// conflicts with ann's enrollment of the same printer, ann cancels, and
// bob's same request under the same key then enrolls: the refusal was not
// kept for replay. An invalid request is not kept either.
// TestIdempotencyAcrossReplicas sends concurrent first attempts with one
// key to two replicas (two APIs on one PostgreSQL database): one
// enrollment is created and every attempt gets its answer, as on one
// replica. Each replica's own lock alone let both create, and the loser
// answered 409.
func TestIdempotencyAcrossReplicas(t *testing.T) {
	d := dbtest.Postgres(t)
	replicas := []*env{newEnv(t, d), newEnv(t, d)}
	ann := replicas[0].account("ann@example.com")
	for round := range 5 {
		serial, key := fmt.Sprintf("REPL%d", round), fmt.Sprintf("k%d", round)
		var mu sync.Mutex
		ids := map[string]bool{}
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				r := replicas[i%2].do("POST", "/v1/enrollments", ann, enrollReq("TS6320", serial), "Idempotency-Key", key)
				var got arsapi.Enrollment
				if r.status != 201 || json.Unmarshal(r.body, &got) != nil {
					t.Errorf("attempt on replica %d = %d %s", i%2, r.status, r.body)
					return
				}
				mu.Lock()
				ids[got.ID] = true
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(ids) != 1 {
			t.Errorf("concurrent creates with one key on two replicas made %d enrollments", len(ids))
		}
	}
}

func TestIdempotencyKeepsNoRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ann, bob := e.account("ann@example.com"), e.account("bob@example.com")
		var anns arsapi.Enrollment
		e.mustDo("POST", "/v1/enrollments", ann, enrollReq("TS8320", "REFUSE1"), 201, &anns)
		r := e.do("POST", "/v1/enrollments", bob, enrollReq("TS8320", "REFUSE1"), "Idempotency-Key", "bob-1")
		if r.status != 409 || r.problem(t).Code != arsapi.CodeNotEnrollable {
			t.Fatalf("bob while ann's is active: %d %s", r.status, r.body)
		}
		e.mustDo("POST", "/v1/enrollments/"+anns.ID+"/cancel", ann, arsapi.CancelRequest{Reasons: []string{"other"}, Comment: "sold it"}, 200, nil)
		var bobs arsapi.Enrollment
		r = e.mustDo("POST", "/v1/enrollments", bob, enrollReq("TS8320", "REFUSE1"), 201, &bobs, "Idempotency-Key", "bob-1")
		if r.header.Get("Idempotent-Replayed") != "" || bobs.State != arsapi.StateActive {
			t.Fatalf("bob after ann cancelled: replayed %q, %+v", r.header.Get("Idempotent-Replayed"), bobs)
		}
		// Now the success is kept and replayed.
		r = e.mustDo("POST", "/v1/enrollments", bob, enrollReq("TS8320", "REFUSE1"), 201, nil, "Idempotency-Key", "bob-1")
		if r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("success not replayed")
		}
		// A refused (invalid) request is run again, not replayed.
		bad := enrollReq("TS8320", "")
		for range 2 {
			r := e.do("POST", "/v1/enrollments", bob, bad, "Idempotency-Key", "bob-2")
			if r.status != 400 && r.status != 422 || r.header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("invalid: %d replayed %q %s", r.status, r.header.Get("Idempotent-Replayed"), r.body)
			}
		}
	})
}

func TestCancel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ann := e.account("ann@example.com")
		bob := e.account("bob@example.com")
		var en arsapi.Enrollment
		e.mustDo("POST", "/v1/enrollments", ann, enrollReq("TS8320", "CXL1"), 201, &en)
		path := "/v1/enrollments/" + en.ID + "/cancel"

		r := e.do("POST", path, ann, arsapi.CancelRequest{})
		if p := r.problem(t); r.status != 422 || p.Code != arsapi.CodeNoReason || !slices.Equal(p.Reasons, e.cat.ReasonIDs()) {
			t.Errorf("no reason: %d %+v", r.status, p)
		}
		r = e.do("POST", path, ann, arsapi.CancelRequest{Reasons: []string{"too-expensive", "bored"}})
		if p := r.problem(t); r.status != 422 || p.Code != arsapi.CodeUnknownReason || !strings.Contains(p.Detail, `"bored"`) || len(p.Reasons) != 6 {
			t.Errorf("unknown reason: %d %+v", r.status, p)
		}
		r = e.do("POST", path, ann, arsapi.CancelRequest{Reasons: []string{"other"}})
		if p := r.problem(t); r.status != 422 || p.Code != arsapi.CodeInvalid {
			t.Errorf("other without comment: %d %+v", r.status, p)
		}
		r = e.do("POST", path, bob, arsapi.CancelRequest{Reasons: []string{"too-expensive"}})
		if r.status != 404 {
			t.Errorf("bob cancels ann's: %d", r.status)
		}

		var c arsapi.Enrollment
		e.mustDo("POST", path, ann, arsapi.CancelRequest{Reasons: []string{"too-expensive", "other", "too-expensive"}, Comment: "moving abroad"}, 200, &c)
		if c.State != arsapi.StateCancelled || c.Cancellation == nil || !slices.Equal(c.Cancellation.Reasons, []string{"too-expensive", "other"}) || c.Cancellation.Comment != "moving abroad" {
			t.Errorf("cancelled = %+v %+v", c, c.Cancellation)
		}
		r = e.do("POST", path, ann, arsapi.CancelRequest{Reasons: []string{"printing-less"}})
		if r.status != 409 || r.problem(t).Code != arsapi.CodeNotActive {
			t.Errorf("cancel twice: %d %s", r.status, r.body)
		}
		// Levels are refused once cancelled.
		r = e.do("POST", "/v1/enrollments/"+en.ID+"/levels", ann, arsapi.LevelReport{Supplies: []printer.Supply{{Name: "BK", Level: 1}}})
		if r.status != 409 || r.problem(t).Code != arsapi.CodeNotActive {
			t.Errorf("levels after cancel: %d %s", r.status, r.body)
		}
		// The printer can be enrolled again, by anyone.
		e.mustDo("POST", "/v1/enrollments", bob, enrollReq("TS8320", "CXL1"), 201, nil)
		if len(e.dereg.ids) != 0 {
			t.Errorf("canon cancel deregistered %v", e.dereg.ids)
		}

		// Cancelling an amazon enrollment deregisters it.
		areq := enrollReq("TS702", "CXL2")
		areq.Provider = arsapi.ProviderAmazon
		var amz arsapi.Enrollment
		e.mustDo("POST", "/v1/enrollments", ann, areq, 201, &amz)
		e.mustDo("POST", "/v1/enrollments/"+amz.ID+"/cancel", ann, arsapi.CancelRequest{Reasons: []string{"delivery-problems"}}, 200, nil)
		if !slices.Equal(e.dereg.ids, []string{amz.ID}) {
			t.Errorf("deregistered %v, want [%s]", e.dereg.ids, amz.ID)
		}
	})
}

func TestLevelsAndOrders(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ann := e.account("ann@example.com")
		bob := e.account("bob@example.com")
		var en arsapi.Enrollment
		e.mustDo("POST", "/v1/enrollments", ann, enrollReq("TS8320", "LVL1"), 201, &en)
		levels := "/v1/enrollments/" + en.ID + "/levels"
		t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		report := func(at time.Time, bk, cy int) arsapi.LevelReport {
			return arsapi.LevelReport{ReadAt: at, Supplies: []printer.Supply{
				{Name: "PGBK", Type: "inkCartridge", ColorName: "black", Colors: []string{"#000000"}, Level: bk, Low: 10},
				{Name: "C", Type: "inkCartridge", ColorName: "cyan", Colors: []string{"#00FFFF"}, Level: cy},
			}}
		}
		var res arsapi.LevelReportResult
		e.mustDo("POST", levels, ann, report(t0, 50, 60), 200, &res)
		if len(res.Orders) != 0 {
			t.Errorf("orders at 50%%: %+v", res.Orders)
		}
		e.mustDo("POST", levels, ann, report(t0.Add(time.Minute), 8, printer.LevelUnknown), 200, &res)
		if len(res.Orders) != 1 || res.Orders[0].Supply != "PGBK" || res.Orders[0].LevelAtOrder != 8 {
			t.Fatalf("orders at 8%%: %+v", res.Orders)
		}
		// 50 concurrent identical reports place no second order.
		var wg sync.WaitGroup
		var mu sync.Mutex
		extra := 0
		for i := range 50 {
			wg.Go(func() {
				var rr arsapi.LevelReportResult
				r := e.do("POST", levels, ann, report(t0.Add(time.Duration(2+i%3)*time.Minute), 5, 3))
				if r.status != 200 || json.Unmarshal(r.body, &rr) != nil {
					t.Errorf("concurrent report: %d %s", r.status, r.body)
					return
				}
				mu.Lock()
				for _, o := range rr.Orders {
					if o.Supply == "PGBK" {
						extra++
					}
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		if extra != 0 {
			t.Errorf("%d extra PGBK orders", extra)
		}
		var orders arsapi.List[arsapi.Order]
		e.mustDo("GET", "/v1/enrollments/"+en.ID+"/orders", ann, nil, 200, &orders)
		count := map[string]int{}
		for _, o := range orders.Items {
			count[o.Supply]++
			if o.EnrollmentID != en.ID || o.State == "" || len(o.History) == 0 {
				t.Errorf("order = %+v", o)
			}
		}
		if count["PGBK"] != 1 || count["C"] != 1 {
			t.Errorf("orders per supply = %v", count)
		}
		var page arsapi.List[arsapi.Order]
		e.mustDo("GET", "/v1/enrollments/"+en.ID+"/orders?limit=1", ann, nil, 200, &page)
		if len(page.Items) != 1 || page.NextCursor == "" {
			t.Errorf("page = %+v", page)
		}
		if r := e.do("GET", "/v1/enrollments/"+en.ID+"/orders", bob, nil); r.status != 404 {
			t.Errorf("bob lists ann's orders: %d", r.status)
		}
		if r := e.do("POST", levels, bob, report(t0, 1, 1)); r.status != 404 {
			t.Errorf("bob reports on ann's: %d", r.status)
		}
		var got arsapi.Enrollment
		e.mustDo("GET", "/v1/enrollments/"+en.ID, ann, nil, 200, &got)
		if len(got.Supplies) != 2 || got.LevelsReadAt == nil {
			t.Errorf("enrollment after reports = %+v", got)
		}

		for name, body := range map[string]any{
			"no supplies":   arsapi.LevelReport{},
			"bad level":     arsapi.LevelReport{Supplies: []printer.Supply{{Name: "BK", Level: 101}}},
			"very negative": arsapi.LevelReport{Supplies: []printer.Supply{{Name: "BK", Level: -4}}},
			"no name":       arsapi.LevelReport{Supplies: []printer.Supply{{Level: 4}}},
			"duplicate":     arsapi.LevelReport{Supplies: []printer.Supply{{Name: "BK", Level: 4}, {Name: "BK", Level: 5}}},
			"unknown field": `{"supplies":[{"name":"BK","level":4,"ink":"yes"}]}`,
			"bad class":     arsapi.LevelReport{Supplies: []printer.Supply{{Name: "BK", Level: 4, Class: "full"}}},
		} {
			r := e.do("POST", levels, ann, body)
			if (r.status != 400 && r.status != 422) || r.problem(t).Code != arsapi.CodeInvalid {
				t.Errorf("%s: %d %s", name, r.status, r.body)
			}
		}
	})
}

func FuzzDecodeEnrollment(f *testing.F) {
	for _, s := range []string{`{"provider":"canon","printer":{"model":"TS8320","serial":"X"},"terms_version":"1"}`, `{}`, `[]`, `{"a":1}`, `{"provider":"canon"}{}`, "\xff"} {
		f.Add([]byte(s))
	}
	cat, err := catalogue.New(catalogue.Config{}, "http://x")
	if err != nil {
		f.Fatal(err)
	}
	c, err := core.New(core.Config{Store: nopCoreStore{}, Catalogue: cat})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/v1/enrollments", bytes.NewReader(body))
		var req arsapi.CreateEnrollmentRequest
		if p := jsonbody.Decode(r, body, &req); p != nil {
			if p.Status != 400 && p.Status != 415 {
				t.Fatalf("status %d", p.Status)
			}
			return
		}
		// The core's rules refuse what they refuse before the store
		// (which here fails everything) is asked; they must not panic.
		_, _ = c.Create(context.Background(), "acct", req)
		var rep arsapi.LevelReport
		if jsonbody.Decode(r, body, &rep) == nil {
			_, _ = c.ReportLevels(context.Background(), "acct", "e1", rep)
		}
	})
}

// TestOrderInbox replays an owner's use of the order inbox: an order no
// fulfiller took is listed under state=unfulfilled (for its account only),
// marked bought (twice: the same answer), and an order that is not in the
// inbox cannot be marked.
func TestOrderInbox(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ann, bob := e.account("ann@example.com"), e.account("bob@example.com")
		var en arsapi.Enrollment
		e.mustDo("POST", "/v1/enrollments", ann, enrollReq("TS8320", "INBOX1"), 201, &en)
		var res arsapi.LevelReportResult
		e.mustDo("POST", "/v1/enrollments/"+en.ID+"/levels", ann, arsapi.LevelReport{Supplies: []printer.Supply{
			{Name: "C", Level: 5, Type: "inkCartridge"}, {Name: "M", Level: 5, Type: "inkCartridge"}}}, 200, &res)
		if len(res.Orders) != 2 {
			t.Fatalf("orders = %+v", res.Orders)
		}
		inboxed, placed := res.Orders[0].ID, res.Orders[1].ID
		if err := e.st.RecordDispatch(context.Background(), inboxed, arsapi.FulfilmentInbox,
			fulfil.Result{State: string(arsapi.OrderUnfulfilled), Detail: "no fulfiller"}, nil, time.Time{}); err != nil {
			t.Fatal(err)
		}

		var l arsapi.List[arsapi.Order]
		e.mustDo("GET", "/v1/orders?state=unfulfilled", ann, nil, 200, &l)
		if len(l.Items) != 1 || l.Items[0].ID != inboxed || l.Items[0].State != arsapi.OrderUnfulfilled {
			t.Fatalf("inbox = %+v", l.Items)
		}
		e.mustDo("GET", "/v1/orders", ann, nil, 200, &l)
		if len(l.Items) != 2 {
			t.Errorf("all orders = %+v", l.Items)
		}
		e.mustDo("GET", "/v1/orders", bob, nil, 200, &l)
		if len(l.Items) != 0 {
			t.Errorf("bob sees ann's orders: %+v", l.Items)
		}
		if r := e.do("GET", "/v1/orders?state=lost", ann, nil); r.status != 400 || r.problem(t).Code != arsapi.CodeInvalid {
			t.Errorf("bad state: %d %s", r.status, r.body)
		}

		if r := e.do("POST", "/v1/orders/"+inboxed+"/bought", bob, nil); r.status != 404 {
			t.Errorf("bob marks ann's order: %d %s", r.status, r.body)
		}
		for range 2 {
			var o arsapi.Order
			e.mustDo("POST", "/v1/orders/"+inboxed+"/bought", ann, nil, 200, &o)
			if o.State != arsapi.OrderBought {
				t.Fatalf("bought = %+v", o)
			}
		}
		if r := e.do("POST", "/v1/orders/"+placed+"/bought", ann, struct{}{}); r.status != 409 || r.problem(t).Code != arsapi.CodeOrderNotOpen {
			t.Errorf("mark a placed order: %d %s", r.status, r.body)
		}
		e.mustDo("GET", "/v1/orders?state=unfulfilled", ann, nil, 200, &l)
		if len(l.Items) != 0 {
			t.Errorf("inbox after bought = %+v", l.Items)
		}
	})
}

// TestLabelAndFormerNickname: the printer's label is "label" in requests
// and answers; the former "nickname" is still accepted in requests.
func TestLabelAndFormerNickname(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	ann := e.account("ann@example.com")
	for serial, body := range map[string]string{
		"LABEL1": `{"provider":"canon","printer":{"model":"TS8320","serial":"LABEL1","label":"2nd floor"},"terms_version":"` + catalogue.DefaultTermsVersion + `"}`,
		"LABEL2": `{"provider":"canon","printer":{"model":"TS8320","serial":"LABEL2","nickname":"2nd floor"},"terms_version":"` + catalogue.DefaultTermsVersion + `"}`,
	} {
		r := e.do("POST", "/v1/enrollments", ann, json.RawMessage(body))
		var got map[string]any
		if r.status != 201 || json.Unmarshal(r.body, &got) != nil {
			t.Fatalf("%s: %d %s", serial, r.status, r.body)
		}
		pr, _ := got["printer"].(map[string]any)
		if pr["label"] != "2nd floor" || pr["nickname"] != nil {
			t.Errorf("%s: printer = %v, want label only", serial, pr)
		}
	}
}

// TestBidiAndControlCharactersRefused sends labels and supply names
// that would reorder or hide text on an owner's terminal (U+202E, the
// right-to-left override, makes "Office\u202Etxt.exe" read
// "Officeexe.txt") or that PostgreSQL cannot store (NUL): each is refused
// with 422 saying which character, on both databases.
func TestBidiAndControlCharactersRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ann := e.account("ann@example.com")
		for _, nick := range []string{"Office\u202Etxt.exe", "Office\u2066x\u2069", "Office\u200F", "Office\x00", "Office\x1b[31m", "Off\u0085ice"} {
			req := enrollReq("TS8320", "BIDI1")
			req.Printer.Label = nick
			r := e.do("POST", "/v1/enrollments", ann, req)
			if p := r.problem(t); r.status != 422 || !strings.Contains(p.Detail, "printer.label contains the") {
				t.Errorf("label %q: %d %q", nick, r.status, p.Detail)
			}
		}
		var en arsapi.Enrollment
		e.mustDo("POST", "/v1/enrollments", ann, enrollReq("TS8320", "BIDI1"), 201, &en)
		for _, name := range []string{"BK\u202E", "BK\x00", "BK\u2028"} {
			r := e.do("POST", "/v1/enrollments/"+en.ID+"/levels", ann, arsapi.LevelReport{Supplies: []printer.Supply{{Name: name, Level: 50}}})
			if p := r.problem(t); r.status != 422 || !strings.Contains(p.Detail, "supplies[0].name contains the") {
				t.Errorf("supply name %q: %d %q", name, r.status, p.Detail)
			}
		}
		// Right-to-left text itself is welcome.
		req := enrollReq("TS8320", "BIDI2")
		req.Printer.Label = "מדפסת המשרד"
		e.mustDo("POST", "/v1/enrollments", ann, req, 201, nil)
	})
}

// TestReadAtWindow reports levels read far in the past (1600, which
// nanoseconds since 1970 cannot hold, and just over 30 days ago) and in
// the future (just over 5 minutes ahead, 9999): each answers 422 and
// stores nothing, on both databases; readings at both ends of the window
// are taken, and later reports still place orders.
func TestReadAtWindow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ann := e.account("ann@example.com")
		var en arsapi.Enrollment
		e.mustDo("POST", "/v1/enrollments", ann, enrollReq("TS8320", "WINDOW1"), 201, &en)
		levels := "/v1/enrollments/" + en.ID + "/levels"
		report := func(at time.Time, level int) arsapi.LevelReport {
			return arsapi.LevelReport{ReadAt: at, Supplies: []printer.Supply{{Name: "C", Type: "inkCartridge", ColorName: "cyan", Level: level}}}
		}
		now := time.Now().UTC()
		for _, at := range []time.Time{
			time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
			now.Add(-arsapi.MaxReadAtAge - time.Minute),
			now.Add(arsapi.MaxReadAtAhead + time.Minute),
			time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
		} {
			r := e.do("POST", levels, ann, report(at, 1))
			if p := r.problem(t); r.status != 422 || p.Code != arsapi.CodeInvalid || !strings.Contains(p.Detail, "read_at "+at.Format(time.RFC3339)+" is outside the accepted window") {
				t.Errorf("read_at %s: %d %q", at, r.status, p.Detail)
			}
		}
		var got arsapi.Enrollment
		e.mustDo("GET", "/v1/enrollments/"+en.ID, ann, nil, 200, &got)
		if got.LevelsReadAt != nil || len(got.Supplies) != 0 {
			t.Fatalf("refused reports were stored: %+v", got)
		}

		// The oldest reading taken, then a newer low one orders, then the
		// newest reading taken: each one is stored.
		var res arsapi.LevelReportResult
		for _, step := range []struct {
			at     time.Time
			level  int
			orders int
		}{
			{now.Add(-arsapi.MaxReadAtAge + time.Minute), 60, 0},
			{now.Add(-time.Minute), 5, 1},
			{now.Add(arsapi.MaxReadAtAhead - time.Minute), 100, 0},
		} {
			e.mustDo("POST", levels, ann, report(step.at, step.level), 200, &res)
			if len(res.Orders) != step.orders {
				t.Errorf("report at %s placed %d orders, want %d", step.at, len(res.Orders), step.orders)
			}
			e.mustDo("GET", "/v1/enrollments/"+en.ID, ann, nil, 200, &got)
			if got.LevelsReadAt == nil || !got.LevelsReadAt.Equal(step.at.Truncate(time.Nanosecond)) || got.Supplies[0].Level != step.level {
				t.Errorf("after the report at %s: levels read at %v, %+v", step.at, got.LevelsReadAt, got.Supplies)
			}
		}
	})
}

// TestNotEnrollableTellsNothing plays an account that tries the serials
// of printers another account enrolled, to learn which exist (a Canon
// serial is also the printer's admin password): the answer names neither
// the other account nor its enrollment nor that one exists elsewhere,
// and after core.NotEnrollablePerHourDefault such answers every new enrollment of the
// prober, even of a free serial, answers 429 and creates nothing; other
// accounts are not held back.
// TestConcurrentEnrollmentsTakeNoRefusals: an account enrolling many
// printers at once (register --from with a fleet file) is not refused
// for the budget of refused enrollments, which only refusals count. With
// an attempt held by every enrollment while it ran, the sixth at once got
// 429.
func TestConcurrentEnrollmentsTakeNoRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ann := e.account("ann@example.com")
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 10 * core.NotEnrollablePerHourDefault {
			wg.Go(func() {
				<-start
				if r := e.do("POST", "/v1/enrollments", ann, enrollReq("TS8320", fmt.Sprintf("KMCC%05d", i))); r.status != 201 {
					t.Errorf("enrollment %d of many at once: %d %s", i, r.status, r.body)
				}
			})
		}
		close(start)
		wg.Wait()
	})
}

func TestNotEnrollableTellsNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ann, mallory, carol := e.account("ann@example.com"), e.account("mallory@example.com"), e.account("carol@example.com")
		var anns []arsapi.Enrollment
		for i := range core.NotEnrollablePerHourDefault + 1 {
			var en arsapi.Enrollment
			e.mustDo("POST", "/v1/enrollments", ann, enrollReq("TS8320", fmt.Sprintf("KMPR%05d", i)), 201, &en)
			anns = append(anns, en)
		}
		annID := strings.TrimPrefix(ann, "test-")
		for i := range core.NotEnrollablePerHourDefault {
			r := e.do("POST", "/v1/enrollments", mallory, enrollReq("TS8320", fmt.Sprintf("kmpr%05d", i)))
			p := r.problem(t)
			if r.status != 409 || p.Code != arsapi.CodeNotEnrollable || p.EnrollmentID != "" {
				t.Fatalf("try %d: %d %s", i, r.status, r.body)
			}
			for _, secret := range []string{anns[i].ID, annID, "ann@example.com", "another account", "already"} {
				if strings.Contains(string(r.body), secret) {
					t.Errorf("the answer tells %q: %s", secret, r.body)
				}
			}
		}
		for _, serial := range []string{fmt.Sprintf("KMPR%05d", core.NotEnrollablePerHourDefault), "KMFREE0001"} {
			r := e.do("POST", "/v1/enrollments", mallory, enrollReq("TS8320", serial))
			if p := r.problem(t); r.status != 429 || p.Code != arsapi.CodeRateLimited || r.header.Get("Retry-After") == "" {
				t.Errorf("%s after %d refusals: %d %s", serial, core.NotEnrollablePerHourDefault, r.status, r.body)
			}
		}
		var list arsapi.List[arsapi.Enrollment]
		e.mustDo("GET", "/v1/enrollments", mallory, nil, 200, &list)
		if len(list.Items) != 0 {
			t.Errorf("the prober has enrollments: %+v", list.Items)
		}
		e.mustDo("POST", "/v1/enrollments", carol, enrollReq("TS8320", "KMFREE0001"), 201, nil)
		r := e.do("POST", "/v1/enrollments", carol, enrollReq("TS8320", "KMPR00000"))
		if r.status != 409 || r.problem(t).Code != arsapi.CodeNotEnrollable {
			t.Errorf("another account after the prober: %d %s", r.status, r.body)
		}
	})
}

// TestIdempotencyKeyBytes: an Idempotency-Key with bytes that are not
// printable ASCII (here not UTF-8, which PostgreSQL cannot store as text)
// answers 400 on every route that takes one, alike on both databases,
// and nothing is done; a printable key still works.
func TestIdempotencyKeyBytes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ann := e.account("ann@example.com")
		var en arsapi.Enrollment
		e.mustDo("POST", "/v1/enrollments", ann, enrollReq("TS8320", "KEYBYTES1"), 201, &en)
		send := func(path, token, body, key string) (int, string) {
			t.Helper()
			req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			req.Header.Set("Idempotency-Key", key)
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		enroll, _ := json.Marshal(enrollReq("TS8320", "KEYBYTES2"))
		for _, c := range []struct{ path, token, body string }{
			{"/v1/accounts", "", `{"email":"keybytes@example.com","password":"correct horse battery"}`},
			{"/v1/enrollments", ann, string(enroll)},
			{"/v1/enrollments/" + en.ID + "/levels", ann, `{"supplies":[{"name":"PGBK","level":50}]}`},
			{"/v1/enrollments/" + en.ID + "/cancel", ann, `{"reasons":["other"]}`},
		} {
			for _, key := range []string{"\xff\xfe", "caf\xc3\xa9"} {
				if st, body := send(c.path, c.token, c.body, key); st != http.StatusBadRequest {
					t.Errorf("POST %s with Idempotency-Key %q: %d %s", c.path, key, st, body)
				}
			}
		}
		var got arsapi.Enrollment
		e.mustDo("GET", "/v1/enrollments/"+en.ID, ann, nil, 200, &got)
		if got.State != arsapi.StateActive {
			t.Errorf("after refused requests the enrollment is %s", got.State)
		}
		if st, body := send("/v1/enrollments", ann, string(enroll), "0b7c-4f1e good key"); st != http.StatusCreated {
			t.Errorf("a printable key: %d %s", st, body)
		}
	})
}

// TestEnrollWithLevels: the levels read as the printer was enrolled are
// its first report (its status shows them at once, and a supply already
// low is ordered as a report would order it); levels that are not a
// valid report are left out and the enrollment is created all the same.
func TestEnrollWithLevels(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	ann := e.account("ann@example.com")
	body := func(serial, supplies string) json.RawMessage {
		return json.RawMessage(`{"provider":"canon","printer":{"model":"TS8320","serial":"` + serial + `"},"terms_version":"` +
			catalogue.DefaultTermsVersion + `","levels":{"supplies":` + supplies + `}}`)
	}
	r := e.do("POST", "/v1/enrollments", ann, body("LEVELS1", `[{"name":"BK","type":"ink","color_name":"black","level":60},{"name":"C","type":"ink","color_name":"cyan","level":3}]`))
	var got arsapi.Enrollment
	if r.status != 201 || json.Unmarshal(r.body, &got) != nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got.LevelsReadAt == nil || len(got.Supplies) != 2 || got.Supplies[0].Level != 60 {
		t.Errorf("the answer lacks the levels: %s", r.body)
	}
	var orders arsapi.List[arsapi.Order]
	e.mustDo("GET", "/v1/enrollments/"+got.ID+"/orders", ann, nil, 200, &orders)
	if len(orders.Items) != 1 || orders.Items[0].Supply != "C" {
		t.Errorf("orders after enrolling with C at 3%%: %+v", orders.Items)
	}
	// A supply listed twice is not a valid report: no levels, but enrolled.
	r = e.do("POST", "/v1/enrollments", ann, body("LEVELS2", `[{"name":"BK","level":60},{"name":"BK","level":50}]`))
	got = arsapi.Enrollment{}
	if r.status != 201 || json.Unmarshal(r.body, &got) != nil || got.LevelsReadAt != nil || len(got.Supplies) != 0 {
		t.Errorf("invalid levels: %d %s", r.status, r.body)
	}
}

// nopCoreStore is a core.Store whose calls that a create or a level
// report makes fail, for fuzzing the core's rules in front of it.
type nopCoreStore struct{ core.Store }

var errNop = errors.New("no store")

func (nopCoreStore) CheckAttempt(context.Context, core.Limit) error { return nil }
func (nopCoreStore) CreateEnrollment(context.Context, string, arsapi.CreateEnrollmentRequest, int) (arsapi.Enrollment, error) {
	return arsapi.Enrollment{}, errNop
}
func (nopCoreStore) ReportLevels(context.Context, string, string, arsapi.LevelReport) (arsapi.LevelReportResult, error) {
	return arsapi.LevelReportResult{}, errNop
}

// TestEnrollmentCap: an account that enrolls serial after serial, many at
// once, gets Store.MaxEnrollments of them and then 409
// too_many_enrollments (every enrollment was accepted, holding a serial
// each); cancelling one does not make room until a day after it was
// created, so that enrolling and cancelling in a loop does not grow the
// database either. Another account is not affected.
func TestEnrollmentCap(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		now := time.Now()
		e.st.Now = func() time.Time { return now }
		const max = 8
		e.st.MaxEnrollments = max
		mallory, ann := e.account("mallory@example.com"), e.account("ann@example.com")
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			created []string
			capped  int
		)
		start := make(chan struct{})
		for i := range max + 20 {
			wg.Go(func() {
				<-start
				r := e.do("POST", "/v1/enrollments", mallory, enrollReq("TS8320", fmt.Sprintf("CAP%05d", i)))
				mu.Lock()
				defer mu.Unlock()
				switch r.status {
				case 201:
					var en arsapi.Enrollment
					if err := json.Unmarshal(r.body, &en); err != nil {
						t.Error(err)
					}
					created = append(created, en.ID)
				case 409:
					if p := r.problem(t); p.Code != arsapi.CodeTooManyEnrollments {
						t.Errorf("enrollment %d: code %q, want %q", i, p.Code, arsapi.CodeTooManyEnrollments)
					}
					capped++
				default:
					t.Errorf("enrollment %d: %d %s", i, r.status, r.body)
				}
			})
		}
		close(start)
		wg.Wait()
		if len(created) != max || capped != 20 {
			t.Fatalf("%d enrollments created and %d refused at once, want %d and 20", len(created), capped, max)
		}
		e.mustDo("POST", "/v1/enrollments/"+created[0]+"/cancel", mallory, arsapi.CancelRequest{Reasons: []string{"too-expensive"}}, 200, nil)
		if r := e.do("POST", "/v1/enrollments", mallory, enrollReq("TS8320", "CAPMORE1")); r.status != 409 {
			t.Errorf("after cancelling one enrolled today: %d %s, want 409", r.status, r.body)
		}
		e.mustDo("POST", "/v1/enrollments", ann, enrollReq("TS8320", "ANNCAP1"), 201, nil)

		now = now.Add(core.EnrollmentCapWindow + time.Minute)
		e.mustDo("POST", "/v1/enrollments", mallory, enrollReq("TS8320", "CAPMORE1"), 201, nil)
		if r := e.do("POST", "/v1/enrollments", mallory, enrollReq("TS8320", "CAPMORE2")); r.status != 409 {
			t.Errorf("a day later, with %d live: %d %s, want 409", max, r.status, r.body)
		}
	})
}

// TestIdempotencyKeysPerDay: every new Idempotency-Key is kept a day with
// its answer, so one account sending a new key with every request grew
// idempotency_keys without bound. An account stores IdemKeysPerDay new
// keys a day, then gets 429 (and nothing is stored or done); replays of a
// kept key still answer, requests without a key still work, and another
// account has its own budget.
func TestIdempotencyKeysPerDay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		const perDay = 5
		e := newEnv(t, d, func(o *Options) { o.IdemKeysPerDay = perDay })
		mallory, ann := e.account("mallory@example.com"), e.account("ann@example.com")
		var en arsapi.Enrollment
		e.mustDo("POST", "/v1/enrollments", mallory, enrollReq("TS8320", "IDEM0"), 201, &en)
		report := arsapi.LevelReport{ReadAt: time.Now().UTC().Add(-time.Minute), Supplies: []printer.Supply{{Name: "BK", Type: "inkCartridge", Level: 50}}}
		for i := range perDay {
			e.mustDo("POST", "/v1/enrollments/"+en.ID+"/levels", mallory, report, 200, nil, "Idempotency-Key", fmt.Sprint("k", i))
		}
		r := e.do("POST", "/v1/enrollments", mallory, enrollReq("TS8320", "IDEM1"), "Idempotency-Key", "one-more")
		if p := r.problem(t); r.status != 429 || p.Code != arsapi.CodeRateLimited || r.header.Get("Retry-After") == "" {
			t.Errorf("key %d of the day: %d %s", perDay+1, r.status, r.body)
		}
		var n int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM idempotency_keys WHERE account_id = ?`,
			strings.TrimPrefix(mallory, "test-")).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != perDay {
			t.Errorf("%d idempotency records kept, want %d", n, perDay)
		}
		if r := e.do("GET", "/v1/enrollments?serial=IDEM1", mallory, nil); !strings.Contains(string(r.body), `"items":[]`) {
			t.Errorf("the refused request enrolled: %s", r.body)
		}
		e.mustDo("POST", "/v1/enrollments/"+en.ID+"/levels", mallory, report, 200, nil, "Idempotency-Key", "k0")
		e.mustDo("POST", "/v1/enrollments", mallory, enrollReq("TS8320", "IDEM2"), 201, nil)
		e.mustDo("POST", "/v1/enrollments", ann, enrollReq("TS8320", "IDEM3"), 201, nil, "Idempotency-Key", "one-more")
	})
}
