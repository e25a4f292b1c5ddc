package provider_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/api"
	"github.com/arsctl/arsctl/internal/server/catalogue"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/provider"
)

// tokens authenticates "Bearer <account id>" for accounts created by the
// test; the API, store and database are the real ones.
type tokens struct{ ids map[string]bool }

func (t tokens) Authenticate(r *http.Request) (string, error) {
	id, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !t.ids[id] {
		return "", errors.New("bad token")
	}
	return id, nil
}

// bearer signs requests in as one account and counts them.
type bearer struct {
	tok string
	n   *atomic.Int64
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	b.n.Add(1)
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.tok)
	return http.DefaultTransport.RoundTrip(r)
}

type env struct {
	st      *store.Store
	srv     *httptest.Server
	clients []*arsapi.Client
	// requests counts each client's requests.
	requests []*atomic.Int64
}

func newEnv(t *testing.T, accounts int) *env {
	t.Helper()
	st := store.New(dbtest.SQLite(t))
	srv := httptest.NewUnstartedServer(nil)
	cat, err := catalogue.New(catalogue.Config{}, "http://"+srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	auth := tokens{ids: map[string]bool{}}
	a, err := api.New(api.Options{Store: st, Catalogue: cat, Auth: auth, PublicURL: "http://" + srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Routes(mux)
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	e := &env{st: st, srv: srv}
	for i := range accounts {
		acct, err := st.CreateAccount(context.Background(), "owner"+string(rune('a'+i))+"@example.com", "correct horse battery", "")
		if err != nil {
			t.Fatal(err)
		}
		auth.ids[acct.ID] = true
		n := new(atomic.Int64)
		e.requests = append(e.requests, n)
		e.clients = append(e.clients, arsapi.New(srv.URL, arsapi.WithHTTPClient(&http.Client{Transport: bearer{acct.ID, n}})))
	}
	return e
}

func pixma(serial string) printer.Printer {
	return printer.Printer{Name: "Canon TS8320 series", Make: "Canon", Model: "TS8320 series", Serial: serial, UUID: "e3248000-80ce-11db-8000-" + strings.Repeat("0", 12-len(serial)) + strings.ToLower(serial)}
}

func TestCanonEnroll(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 2)
	p, err := provider.Get("canon", e.clients[0])
	if err != nil {
		t.Fatal(err)
	}
	terms, err := e.clients[0].Terms(ctx)
	if err != nil || terms.Version == "" {
		t.Fatalf("Terms = %+v, %v", terms, err)
	}

	before := e.requests[0].Load()
	enr, err := p.Enroll(ctx, pixma("KNMA01234"), provider.EnrollOptions{TermsVersion: terms.Version, Label: "office"})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.requests[0].Load() - before; n != 1 {
		t.Errorf("Enroll sent %d requests, want 1", n)
	}
	if enr.Existing || enr.State != arsapi.StateActive || enr.Provider != arsapi.ProviderCanon || enr.Printer.Model != "TS8320" || enr.Printer.Label != "office" {
		t.Fatalf("Enroll = %+v", enr)
	}
	if enr.NeedsSignIn() {
		t.Error("a canon enrollment needs no sign-in")
	}

	before = e.requests[0].Load()
	again, err := p.Enroll(ctx, pixma("KNMA01234"), provider.EnrollOptions{TermsVersion: terms.Version})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.requests[0].Load() - before; n != 2 {
		t.Errorf("Enroll of an enrolled printer sent %d requests, want 2 (create, then read the existing one)", n)
	}
	if !again.Existing || again.ID != enr.ID {
		t.Fatalf("second Enroll = %+v, want existing %s", again, enr.ID)
	}

	// The same printer from another account.
	other, _ := provider.Get("canon", e.clients[1])
	_, err = other.Enroll(ctx, pixma("KNMA01234"), provider.EnrollOptions{TermsVersion: terms.Version})
	var refused *provider.NotEnrollableError
	if !errors.As(err, &refused) {
		t.Fatalf("other account: err = %v, want NotEnrollableError", err)
	}

	list, err := p.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != enr.ID {
		t.Fatalf("List = %+v, %v", list, err)
	}
	amz, _ := provider.Get("amazon", e.clients[0])
	if l, err := amz.List(ctx); err != nil || len(l) != 0 {
		t.Fatalf("amazon List = %+v, %v; want none", l, err)
	}
	if orders, err := p.Orders(ctx, enr.ID); err != nil || len(orders) != 0 {
		t.Fatalf("Orders = %+v, %v", orders, err)
	}
}

func TestEnrollRejects(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 1)
	p, _ := provider.Get("canon", e.clients[0])
	opts := provider.EnrollOptions{TermsVersion: catalogue.DefaultTermsVersion}

	bad := pixma("KNMA00001")
	bad.Model = "MG2500 series"
	_, err := p.Enroll(ctx, bad, opts)
	var inel *provider.IneligibleError
	if !errors.As(err, &inel) || len(inel.Eligible) == 0 || strings.Count(err.Error(), "TS8320") != 1 {
		t.Fatalf("ineligible: err = %v", err)
	}

	// The server's answer and the check against models read beforehand
	// give the same error; the local one also names another make.
	models, err := e.clients[0].Models(ctx)
	if err != nil {
		t.Fatal(err)
	}
	withModels := opts
	withModels.Models = models
	before := e.requests[0].Load()
	_, err = p.Enroll(ctx, bad, withModels)
	if !errors.As(err, &inel) || len(inel.Eligible) == 0 || strings.Count(err.Error(), "TS8320") != 1 {
		t.Fatalf("ineligible, checked locally: err = %v", err)
	}
	if n := e.requests[0].Load() - before; n != 0 {
		t.Errorf("an ineligible printer checked against the models sent %d requests", n)
	}
	epson := pixma("X8KK00001")
	epson.Make, epson.Model = "EPSON", "ET-2850 Series"
	if _, err := p.Enroll(ctx, epson, withModels); !errors.As(err, &inel) || inel.OtherMake != "EPSON" {
		t.Fatalf("another make: err = %v", err)
	}
	ambiguous := pixma("KNMA00003")
	ambiguous.Model = "TS9500 series"
	var amb *provider.AmbiguousModelError
	if _, err := p.Enroll(ctx, ambiguous, opts); !errors.As(err, &amb) || len(amb.Candidates) < 2 {
		t.Fatalf("ambiguous series, server's answer: err = %v", err)
	}
	if _, err := p.Enroll(ctx, ambiguous, withModels); !errors.As(err, &amb) || len(amb.Candidates) < 2 {
		t.Fatalf("ambiguous series, checked locally: err = %v", err)
	}

	_, err = p.Enroll(ctx, pixma(""), opts)
	if !errors.Is(err, provider.ErrNoSerial) {
		t.Fatalf("no serial: err = %v", err)
	}

	_, err = p.Enroll(ctx, pixma("KNMA00002"), provider.EnrollOptions{TermsVersion: "1999-01"})
	var prob *arsapi.Problem
	if !errors.As(err, &prob) || prob.Code != arsapi.CodeTermsOutdated {
		t.Fatalf("old terms: err = %v", err)
	}
	if l, _ := p.List(ctx); len(l) != 0 {
		t.Fatalf("rejected enrollments were created: %+v", l)
	}
}

func TestCancelAndEnrollAgain(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 1)
	p, _ := provider.Get("canon", e.clients[0])
	opts := provider.EnrollOptions{TermsVersion: catalogue.DefaultTermsVersion}
	first, err := p.Enroll(ctx, pixma("KNMA01111"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Cancel(ctx, first.ID, arsapi.CancelRequest{}); err == nil {
		t.Fatal("Cancel with no reason succeeded")
	}
	reasons, err := e.clients[0].CancelReasons(ctx)
	if err != nil || len(reasons) == 0 {
		t.Fatalf("CancelReasons = %v, %v", reasons, err)
	}
	got, err := p.Cancel(ctx, first.ID, arsapi.CancelRequest{Reasons: []string{reasons[0].ID}})
	if err != nil || got.State != arsapi.StateCancelled {
		t.Fatalf("Cancel = %+v, %v", got, err)
	}
	// The same request again is answered from the idempotency record.
	if again, err := p.Cancel(ctx, first.ID, arsapi.CancelRequest{Reasons: []string{reasons[0].ID}}); err != nil || again.State != arsapi.StateCancelled {
		t.Fatalf("repeated Cancel = %+v, %v", again, err)
	}

	// Enrolling again after a cancellation is a new enrollment, although
	// the first request's idempotency record still exists.
	second, err := p.Enroll(ctx, pixma("KNMA01111"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.ID == first.ID || second.Existing || second.State != arsapi.StateActive {
		t.Fatalf("re-enroll = %+v (first %s)", second, first.ID)
	}
}

// TestEnrollAfterInterruptedRun: a request that reached the server but
// whose answer was lost (the process was killed) is finished by a re-run
// with the same key, without a second enrollment.
func TestEnrollAfterInterruptedRun(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 1)
	pr := pixma("KNMA02222")
	req := arsapi.CreateEnrollmentRequest{
		Provider:     arsapi.ProviderCanon,
		Printer:      arsapi.Printer{Model: "TS8320", Serial: pr.Serial, UUID: pr.UUID},
		TermsVersion: catalogue.DefaultTermsVersion,
	}
	created, err := e.clients[0].CreateEnrollment(ctx, req, provider.NewIdempotencyKey())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := provider.Get("canon", e.clients[0])
	enr, err := p.Enroll(ctx, pr, provider.EnrollOptions{TermsVersion: catalogue.DefaultTermsVersion})
	if err != nil {
		t.Fatal(err)
	}
	if enr.ID != created.ID {
		t.Fatalf("re-run enrolled %s, want the interrupted %s", enr.ID, created.ID)
	}
	all, _ := e.clients[0].ListEnrollments(ctx)
	if len(all) != 1 {
		t.Fatalf("%d enrollments, want 1", len(all))
	}
}

func TestAmazonWait(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 1)
	p, _ := provider.Get("amazon", e.clients[0])
	enr, err := p.Enroll(ctx, pixma("KNMA03333"), provider.EnrollOptions{TermsVersion: catalogue.DefaultTermsVersion})
	if err != nil {
		t.Fatal(err)
	}
	if enr.State != arsapi.StatePending || !enr.NeedsSignIn() || !strings.Contains(enr.SignInURL(), "/v1/amazon/start?enrollment="+enr.ID) {
		t.Fatalf("Enroll = %+v", enr)
	}

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = enr.Wait(short, 10*time.Millisecond)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait before sign-in: err = %v", err)
	}

	// The server's Amazon callback activates the enrollment.
	go func() {
		time.Sleep(30 * time.Millisecond)
		_ = e.st.ActivateEnrollment(context.Background(), enr.ID)
	}()
	got, err := enr.Wait(ctx, 10*time.Millisecond)
	if err != nil || got.State != arsapi.StateActive || enr.State != arsapi.StateActive {
		t.Fatalf("Wait = %+v, %v", got, err)
	}

	// A pending enrollment that is cancelled ends the wait with an error.
	enr2, err := p.Enroll(ctx, pixma("KNMA04444"), provider.EnrollOptions{TermsVersion: catalogue.DefaultTermsVersion})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Cancel(ctx, enr2.ID, arsapi.CancelRequest{Reasons: []string{"other"}, Comment: "changed my mind"}); err != nil {
		t.Fatal(err)
	}
	if _, err := enr2.Wait(ctx, 10*time.Millisecond); !errors.Is(err, provider.ErrSignInFailed) {
		t.Fatalf("Wait on cancelled: err = %v", err)
	}
}

func TestNewIdempotencyKey(t *testing.T) {
	k := provider.NewIdempotencyKey()
	if k == provider.NewIdempotencyKey() {
		t.Fatal("two attempts got the same key")
	}
	if !strings.HasPrefix(k, "arsctl-enroll-") || len(k) > 255 {
		t.Fatalf("key %q", k)
	}
}

func TestCheckAndChoose(t *testing.T) {
	models := []arsapi.Model{
		{Name: "TS5320", Make: "Canon", Aliases: []string{"TS5320a"}, Series: []string{"TS5300 series"}},
		{Name: "TS9520", Make: "Canon", Aliases: []string{"TS9520a"}, Series: []string{"TS9500 series"}},
		{Name: "TS9521C", Make: "Canon", Aliases: []string{"TS9521Ca"}, Series: []string{"TS9500 series"}},
	}
	one := provider.Check(models, "Canon", "TS5300 series")
	if !one.OK || one.Model != "TS5320" || one.Ambiguous() || one.Series != "TS5300 series" {
		t.Fatalf("TS5300 series: %+v", one)
	}
	if m, err := one.Choose("TS5300 series", ""); err != nil || m != "TS5320" {
		t.Errorf("Choose() = %q, %v", m, err)
	}
	if m, err := one.Choose("TS5300 series", "ts5320a"); err != nil || m != "TS5320" {
		t.Errorf("Choose(alias) = %q, %v", m, err)
	}
	if _, err := one.Choose("TS5300 series", "TS9520"); err == nil || !strings.Contains(err.Error(), "not TS9520") {
		t.Errorf("Choose(other model) = %v", err)
	}

	two := provider.Check(models, "Canon", "TS9500 series")
	if !two.OK || two.Model != "" || !two.Ambiguous() || strings.Join(two.Candidates, ",") != "TS9520,TS9521C" {
		t.Fatalf("TS9500 series: %+v", two)
	}
	var amb *provider.AmbiguousModelError
	if _, err := two.Choose("TS9500 series", ""); !errors.As(err, &amb) || len(amb.Candidates) != 2 {
		t.Errorf("Choose() = %v, want AmbiguousModelError", err)
	}
	if m, err := two.Choose("TS9500 series", "TS9521C"); err != nil || m != "TS9521C" {
		t.Errorf("Choose(TS9521C) = %q, %v", m, err)
	}

	epson := provider.Check(models, "EPSON", "ET-2850 Series")
	if epson.OK || epson.OtherMake != "EPSON" || !strings.Contains(epson.Why, "does not serve EPSON printers") {
		t.Errorf("EPSON: %+v", epson)
	}
	if msg := (&provider.IneligibleError{Model: "EPSON ET-2850 Series", OtherMake: epson.OtherMake, Why: epson.Why, Eligible: epson.Eligible}).Error(); strings.Contains(msg, "TS5320") {
		t.Errorf("another make is handed the model list: %q", msg)
	}
	mx := provider.Check(models, "Canon", "MX490 series")
	if mx.OK || mx.OtherMake != "" || len(mx.Eligible) != 3 {
		t.Errorf("MX490: %+v", mx)
	}
}

func TestGet(t *testing.T) {
	c := arsapi.New("http://127.0.0.1:1")
	for _, name := range []string{"canon", "AMAZON", " canon "} {
		p, err := provider.Get(name, c)
		if err != nil {
			t.Fatalf("Get(%q): %v", name, err)
		}
		if !strings.EqualFold(string(p.Name()), strings.TrimSpace(name)) || p.Title() == "" || p.Description() == "" {
			t.Errorf("Get(%q) = %s, %q, %q", name, p.Name(), p.Title(), p.Description())
		}
	}
	if _, err := provider.Get("ink-r-us", c); err == nil || !strings.Contains(err.Error(), "canon, amazon") {
		t.Errorf("Get of an unknown provider: %v", err)
	}
	all := provider.All(c)
	if len(all) != len(provider.Names()) {
		t.Fatalf("All = %d providers, Names = %v", len(all), provider.Names())
	}
	for i, p := range all {
		if string(p.Name()) != provider.Names()[i] {
			t.Errorf("All()[%d] = %s, want %s", i, p.Name(), provider.Names()[i])
		}
	}
}
