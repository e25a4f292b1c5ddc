// Package api serves ARS API v1, the JSON API under /v1 that arsctl and
// other programs use: the catalogue (terms, eligible models, cancel
// reasons), enrollments, level reports, orders and accounts. The contract
// is docs/api/openapi.yaml; errors are RFC 9457 problem documents with the
// codes of pkg/arsapi.
package api

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/arsctl/arsctl/internal/server/authn"
	"github.com/arsctl/arsctl/internal/server/catalogue"
	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Store is the persistence the API reads and its accounts, budgets and
// idempotency records; *store.Store implements it. Enrollments change
// through the core (Options.Core) only.
type Store interface {
	core.EnrollmentReader
	core.OwnerOrders
	core.Idempotency
	core.Accounts
	core.Limits
}

// Options are the API's dependencies.
type Options struct {
	Store     Store
	Catalogue *catalogue.Catalogue
	// Auth authenticates bearer tokens on every endpoint that needs an
	// account.
	Auth   authn.Authenticator
	Logger *slog.Logger
	// PublicURL is the server's public base URL, e.g. "http://127.0.0.1:8787".
	PublicURL string
	// Core applies the enrollment rules; nil builds one on Store (which
	// must then be a core.Store, as *store.Store is), Catalogue, Logger
	// and Deregisterer (without metrics).
	Core *core.Service
	// Deregisterer is the core's when Core is nil.
	Deregisterer fulfil.Deregisterer
	// AmazonSignInURL returns where the owner (accountID) of a pending
	// amazon enrollment signs in with Amazon; nil uses
	// PublicURL + "/v1/amazon/start?enrollment=" + id.
	AmazonSignInURL func(enrollmentID, accountID string) string
	// AmazonSignInDeclined returns when the owner chose Cancel at a
	// pending amazon enrollment's latest Login with Amazon (zero: not).
	AmazonSignInDeclined func(ctx context.Context, enrollmentID string) (time.Time, error)
	// SignupsPerMinute limits POST /v1/accounts per client address, in
	// the database (so across replicas), counted before the account is
	// made; zero means 10.
	SignupsPerMinute int
	// IdemKeysPerDay is how many new Idempotency-Keys an account (or a
	// sign-up's client address) may send in 24 hours; 0 is
	// DefaultIdemKeysPerDay.
	IdemKeysPerDay int
	// HistoryReads is how many level history answers (GET
	// /v1/enrollments/{id}/levels) run at once, over all accounts (0: two
	// per CPU); HistoryWait how long one waits for a turn before 503
	// (0: 10 s).
	HistoryReads int
	HistoryWait  time.Duration
	// TrustProxy makes the sign-up limit key on the first
	// X-Forwarded-For address (only behind a trusted load balancer).
	TrustProxy bool
}

// API is the /v1 JSON API.
type API struct {
	opt  Options
	st   Store
	cat  *catalogue.Catalogue
	log  *slog.Logger
	idem keyLocks
	core *core.Service
	gate *authn.Gate
	// history bounds the level history answers running at once.
	history *authn.Gate
}

// New returns the API; Store, Catalogue and Auth are required.
func New(o Options) (*API, error) {
	if o.Store == nil || o.Catalogue == nil || o.Auth == nil {
		return nil, errors.New("api: Store, Catalogue and Auth are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.IdemKeysPerDay <= 0 {
		o.IdemKeysPerDay = DefaultIdemKeysPerDay
	}
	if o.SignupsPerMinute <= 0 {
		o.SignupsPerMinute = 10
	}
	if o.Core == nil {
		cs, ok := o.Store.(core.Store)
		if !ok {
			return nil, errors.New("api: Core is required with this Store")
		}
		c, err := core.New(core.Config{Store: cs, Catalogue: o.Catalogue, Logger: o.Logger, Deregisterer: o.Deregisterer})
		if err != nil {
			return nil, err
		}
		o.Core = c
	}
	a := &API{
		opt:     o,
		st:      o.Store,
		cat:     o.Catalogue,
		log:     o.Logger,
		core:    o.Core,
		gate:    &authn.Gate{PerAccount: requestsPerAccount, Wait: requestTurnWait},
		history: authn.HistoryReads(o.HistoryReads, cmp.Or(o.HistoryWait, historyTurnWait)),
	}
	return a, nil
}

// Route is one endpoint of the API: a Go ServeMux pattern and whether it
// needs a signed-in account.
type Route struct {
	Pattern string
	Auth    bool
	handler http.HandlerFunc
}

// RouteList returns the API's endpoints, in the order they are registered.
func (a *API) RouteList() []Route {
	return []Route{
		{"GET /v1/terms", false, a.getTerms},
		{"GET /v1/models", false, a.getModels},
		{"GET /v1/cancel-reasons", false, a.getCancelReasons},
		{"POST /v1/accounts", false, a.createAccount},
		{"GET /v1/account", true, a.getAccount},
		{"GET /v1/account/order-settings", true, a.getOrderSettings},
		{"PUT /v1/account/order-settings", true, a.putOrderSettings},
		{"GET /v1/enrollments/{id}/order-settings", true, a.getOrderSettings},
		{"PUT /v1/enrollments/{id}/order-settings", true, a.putOrderSettings},
		{"POST /v1/enrollments", true, a.createEnrollment},
		{"GET /v1/enrollments", true, a.listEnrollments},
		{"GET /v1/enrollments/{id}", true, a.getEnrollment},
		{"POST /v1/enrollments/{id}/cancel", true, a.cancelEnrollment},
		{"POST /v1/enrollments/{id}/levels", true, a.reportLevels},
		{"GET /v1/enrollments/{id}/orders", true, a.listOrders},
		{"GET /v1/enrollments/{id}/levels", true, a.levelHistory},
		{"GET /v1/orders", true, a.listAccountOrders},
		{"POST /v1/orders/{id}/bought", true, a.markOrderBought},
		{"POST /v1/orders/{id}/skip", true, a.skipOrder},
		{"POST /v1/orders/{id}/ship", true, a.shipOrder},
	}
}

// Routes registers the API's endpoints on mux.
func (a *API) Routes(mux *http.ServeMux) {
	for _, rt := range a.RouteList() {
		h := http.Handler(rt.handler)
		if rt.Auth {
			h = a.requireAccount(h)
		}
		mux.Handle(rt.Pattern, h)
	}
}

// requireAccount authenticates the request's bearer token and puts the
// account in the context; without one it answers 401.
func (a *API) requireAccount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := a.opt.Auth.Authenticate(r)
		if err != nil || id == "" {
			detail := "sign in first: this endpoint needs an access token (Authorization: Bearer ...); run `arsctl auth login`"
			if r.Header.Get("Authorization") != "" {
				detail = "the access token is invalid or has expired; refresh it or run `arsctl auth login`"
			}
			writeProblem(w, r, problem(http.StatusUnauthorized, arsapi.CodeUnauthenticated, detail))
			return
		}
		leave, ok := a.gate.Enter(r.Context(), id)
		if !ok {
			if r.Context().Err() != nil {
				return
			}
			w.Header().Set("Retry-After", "1")
			writeProblem(w, r, problem(http.StatusTooManyRequests, arsapi.CodeRateLimited,
				"too many requests of this account at once; send fewer in parallel"))
			return
		}
		defer leave()
		next.ServeHTTP(w, r.WithContext(authn.WithAccount(r.Context(), id)))
	})
}

// Requests of one account that run at once, and how long one waits for a
// turn (see authn.Gate).
const (
	requestsPerAccount = 4
	requestTurnWait    = 30 * time.Second
	historyTurnWait    = 10 * time.Second
)

func account(r *http.Request) string {
	id, _ := authn.AccountID(r.Context())
	return id
}

// internal logs an unexpected error (never request bodies or headers) and
// answers 500.
func (a *API) internal(w http.ResponseWriter, r *http.Request, op string, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away; nothing to answer.
		return
	}
	a.log.ErrorContext(r.Context(), "api: "+op+" failed", "route", r.Pattern, "err", err)
	writeProblem(w, r, problem(http.StatusInternalServerError, arsapi.CodeInternal, "the server failed to "+op+"; try again later"))
}
