// Package clitest helps test arsctl commands: a scripted Prompter, a real
// ARS API server (the real API handlers, store and SQLite database; bearer
// tokens are account IDs) and simulated printers on 127.0.0.1.
package clitest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/internal/printersim/simtest"
	"github.com/arsctl/arsctl/internal/prompt"
	"github.com/arsctl/arsctl/internal/server/api"
	"github.com/arsctl/arsctl/internal/server/catalogue"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Answer is one scripted answer: the prompt's title must contain Title.
// Value answers Select and Input, Values MultiSelect, Yes Confirm; Err is
// returned instead (e.g. prompt.ErrAborted for Ctrl-C).
type Answer struct {
	Title  string
	Value  string
	Values []string
	Yes    bool
	Err    error
}

// Prompter answers prompts from a script and records what was asked.
type Prompter struct {
	T       testing.TB
	mu      sync.Mutex
	Answers []Answer
	Asked   []string
	// Options records the labels offered by the last Select/MultiSelect;
	// Offered those of each, in order.
	Options []string
	Offered [][]string
	// Descriptions records the description shown with each Select and
	// Confirm, in order.
	Descriptions []string
}

func (p *Prompter) next(kind, title string) Answer {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Asked = append(p.Asked, kind+": "+title)
	if len(p.Answers) == 0 {
		p.T.Errorf("unexpected %s prompt %q", kind, title)
		return Answer{Err: errors.New("unexpected prompt")}
	}
	a := p.Answers[0]
	p.Answers = p.Answers[1:]
	if !strings.Contains(title, a.Title) {
		p.T.Errorf("%s prompt %q, want one containing %q", kind, title, a.Title)
	}
	return a
}

func (p *Prompter) record(options []prompt.Option) {
	p.Options = p.Options[:0]
	for _, o := range options {
		p.Options = append(p.Options, o.Label)
	}
	p.Offered = append(p.Offered, slices.Clone(p.Options))
}

// Select implements prompt.Prompter; Value may be an option's value or,
// prefixed with "label:", a substring of its label.
func (p *Prompter) Select(title, desc string, options []prompt.Option) (string, error) {
	a := p.next("select", title)
	p.describe(desc)
	p.record(options)
	if a.Err != nil {
		return "", a.Err
	}
	if l, ok := strings.CutPrefix(a.Value, "label:"); ok {
		for _, o := range options {
			if strings.Contains(o.Label, l) {
				return o.Value, nil
			}
		}
		p.T.Errorf("no option of %q has a label containing %q", title, l)
	}
	return a.Value, nil
}

func (p *Prompter) describe(desc string) {
	p.mu.Lock()
	p.Descriptions = append(p.Descriptions, desc)
	p.mu.Unlock()
}

// MultiSelect implements prompt.Prompter.
func (p *Prompter) MultiSelect(title, _ string, options []prompt.Option, _ int) ([]string, error) {
	a := p.next("multiselect", title)
	p.record(options)
	return a.Values, a.Err
}

// Confirm implements prompt.Prompter.
func (p *Prompter) Confirm(title, desc, _, _ string, _ bool) (bool, error) {
	a := p.next("confirm", title)
	p.describe(desc)
	return a.Yes, a.Err
}

// Input implements prompt.Prompter.
func (p *Prompter) Input(title, _ string, _ func(string) error) (string, error) {
	a := p.next("input", title)
	return a.Value, a.Err
}

// Password implements prompt.Prompter.
func (p *Prompter) Password(title string) (string, error) {
	a := p.next("password", title)
	return a.Value, a.Err
}

// Done fails the test if scripted answers are left.
func (p *Prompter) Done() {
	p.T.Helper()
	if len(p.Answers) > 0 {
		p.T.Errorf("%d scripted answers not used, first %+v; asked %q", len(p.Answers), p.Answers[0], p.Asked)
	}
}

// API is a running ARS API server on a fresh SQLite database.
type API struct {
	URL   string
	Store *store.Store
	auth  *tokens

	mu       sync.Mutex
	requests []string
}

// Requests returns the requests the server has answered since the last
// call, as "GET /v1/models" (with the query, if any), in order.
func (a *API) Requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.requests
	a.requests = nil
	return r
}

type tokens struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (t *tokens) Authenticate(r *http.Request) (string, error) {
	id, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	t.mu.Lock()
	defer t.mu.Unlock()
	if !ok || !t.ids[id] {
		return "", errors.New("bad token")
	}
	return id, nil
}

// StartAPI starts the ARS API v1 handlers with a real store.
func StartAPI(t testing.TB) *API {
	t.Helper()
	st := store.New(dbtest.SQLite(t))
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	cat, err := catalogue.New(catalogue.Config{}, base)
	if err != nil {
		t.Fatal(err)
	}
	auth := &tokens{ids: map[string]bool{}}
	a, err := api.New(api.Options{Store: st, Catalogue: cat, Auth: auth, PublicURL: base})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Routes(mux)
	out := &API{Store: st, auth: auth}
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out.mu.Lock()
		out.requests = append(out.requests, r.Method+" "+r.URL.RequestURI())
		out.mu.Unlock()
		mux.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	out.URL = srv.URL
	return out
}

// Account creates an account and returns a bearer token for it.
func (a *API) Account(t testing.TB, email string) string {
	t.Helper()
	acct, err := a.Store.CreateAccount(context.Background(), email, "correct horse battery", "")
	if err != nil {
		t.Fatal(err)
	}
	a.auth.mu.Lock()
	a.auth.ids[acct.ID] = true
	a.auth.mu.Unlock()
	return acct.ID
}

// Client returns an API client using token ("" for none).
func (a *API) Client(token string) *arsapi.Client {
	hc := http.DefaultClient
	if token != "" {
		hc = &http.Client{Transport: bearer(token)}
	}
	return arsapi.New(a.URL, arsapi.WithHTTPClient(hc))
}

type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

// Printer starts a simulated printer on 127.0.0.1 (simtest.Start).
func Printer(t testing.TB, cfg printersim.Config) *printersim.Printer {
	t.Helper()
	return simtest.Start(t, cfg)
}

// Serial returns a distinct test serial number.
func Serial(i int) string { return fmt.Sprintf("KNMA%05d", i) }
