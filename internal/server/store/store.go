// Package store is arsd's persistence: accounts, enrollments, supply
// levels, orders and their dispatch outbox, idempotency records, OAuth
// state and Amazon links, on SQLite or PostgreSQL through internal/server/db.
//
// The method set is described by the interfaces below; *Store implements
// all of them. Every method that takes an accountID scopes its query to
// that account: another account's enrollment answers ErrNotFound.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/password"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/forecast"
)

// Errors returned by the store: the core's (package core).
var (
	ErrNotFound       = core.ErrNotFound
	ErrNotActive      = core.ErrNotActive
	ErrEmailTaken     = core.ErrEmailTaken
	ErrBadCredentials = core.ErrBadCredentials
	ErrIdemConflict   = core.ErrIdemConflict
	ErrOrderNotOpen   = core.ErrOrderNotOpen
	// ErrTooManyEnrollments: see core.MaxEnrollments.
	ErrTooManyEnrollments = core.ErrTooManyEnrollments
)

// readErr is the error of a single-row read that failed: ErrNotFound when
// there was no row, else err wrapped with what (e.g. "read auth request").
func readErr(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return fmt.Errorf("%s: %w", what, err)
}

// AlreadyEnrolledError is core.AlreadyEnrolledError.
type AlreadyEnrolledError = core.AlreadyEnrolledError

// Store is the database-backed implementation of every interface below.
type Store struct {
	DB  *db.DB
	Now func() time.Time // defaults to time.Now().UTC(); tests may set it
	// OrdersPlaced, when set, is called after a committed ReportLevels
	// placed orders (the order dispatcher's wake-up: orders.Dispatcher.Poke).
	OrdersPlaced func()
	// Passwords hashes and checks account passwords, a few at a time.
	Passwords *password.Hasher
	// MaxEnrollments is the most enrollments an account holds that are
	// live or were created in the last core.EnrollmentCapWindow; 0 is
	// core.DefaultMaxEnrollments.
	MaxEnrollments int

	// OrderPolicy is the order policy of enrollments and accounts that
	// name none: a name of reorder.Policies; "" is reorder.Default.
	OrderPolicy string
	// LeadTime, when set, is how long an order of a provider takes to
	// arrive (0: forecast.DefaultLeadTime).
	LeadTime func(arsapi.Provider) time.Duration
	// DefaultHold is the hold window of a new order when neither the
	// enrollment nor its account sets one; 0 hands orders over at once.
	// arsd's configuration defaults it to DefaultHoldWindow.
	DefaultHold time.Duration
	// ScheduledNotices makes every scheduled order due for an
	// order.scheduled notice (ClaimScheduledNotices); set when something
	// sends them.
	ScheduledNotices bool

	// HistoryRetention is how long arsd's janitor keeps level history
	// (0: DefaultLevelHistoryRetention). The level report's history
	// cache (histcache.go) is exact only with a retention of at least
	// historyCacheMinRetention, and is off with a shorter one.
	HistoryRetention time.Duration
	stmts            stmtCache // prepared statements of hot paths (orders.go)
	hist             *historyCache
	// priors are the fleet's priors (RefreshPriors), nil until computed.
	priors atomic.Pointer[forecast.Priors]
}

// DefaultHoldWindow is arsd's hold window of a new order when neither
// the enrollment nor its account sets one.
const DefaultHoldWindow = 24 * time.Hour

// New returns a Store on an open, migrated database.
func New(d *db.DB) *Store {
	return &Store{DB: d, Now: func() time.Time { return time.Now().UTC() }, Passwords: password.New(0, 0),
		hist: newHistoryCache(historyCacheMaxReadings)}
}

// Vocabulary shared with the core (package core), which the API and the
// pages use without importing the store.
type (
	ListFilter      = core.ListFilter
	EnrollmentEvent = core.EnrollmentEvent
	IdemRecord      = core.IdemRecord
	Enrollments     = core.Enrollments
	Idempotency     = core.Idempotency
	Accounts        = core.Accounts
)

// Orders is the order engine's persistence: what the core does with
// orders (core.Orders) and the dispatch outbox.
type Orders interface {
	core.Orders
	// NextDispatch claims up to limit orders waiting to be handed to a
	// fulfiller (outbox), leasing them for lease so that concurrent arsd
	// replicas do not hand over the same order at the same time.
	NextDispatch(ctx context.Context, limit int, lease time.Duration) ([]core.Order, error)
	// RecordDispatch stores the outcome of a hand-over attempt: on success
	// the new state and external ID; on error the failure, and whether it
	// will be retried (retryAt) or is final.
	RecordDispatch(ctx context.Context, orderID, fulfiller string, res core.Handover, dispatchErr error, retryAt time.Time) error
}
