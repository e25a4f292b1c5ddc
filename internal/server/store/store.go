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
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/internal/server/password"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Errors returned by the store. Check them with errors.Is / errors.As.
var (
	ErrNotFound       = errors.New("not found")
	ErrNotActive      = errors.New("enrollment is not active")
	ErrEmailTaken     = errors.New("an account with this email already exists")
	ErrBadCredentials = errors.New("wrong email or password")
	ErrIdemConflict   = errors.New("idempotency key reused with a different request")
	// ErrOrderNotOpen: the order's state does not allow the change asked
	// for (e.g. marking a shipped order bought).
	ErrOrderNotOpen = errors.New("the order's state does not allow this change")
)

// readErr is the error of a single-row read that failed: ErrNotFound when
// there was no row, else err wrapped with what (e.g. "read auth request").
func readErr(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return fmt.Errorf("%s: %w", what, err)
}

// AlreadyEnrolledError is returned by CreateEnrollment when the printer
// (by serial) already has an active or pending enrollment.
type AlreadyEnrolledError struct {
	Enrollment arsapi.Enrollment // valid when SameAccount
	ID         string
	// SameAccount is true when the caller's own account holds it.
	SameAccount bool
}

func (e *AlreadyEnrolledError) Error() string { return "printer is already enrolled (" + e.ID + ")" }

// Store is the database-backed implementation of every interface below.
type Store struct {
	DB  *db.DB
	Now func() time.Time // defaults to time.Now().UTC(); tests may set it
	// OrdersPlaced, when set, is called after a committed ReportLevels
	// placed orders (the order dispatcher's wake-up: orders.Dispatcher.Poke).
	OrdersPlaced func()
	// Passwords hashes and checks account passwords, a few at a time.
	Passwords *password.Hasher

	stmts stmtCache // prepared statements of hot paths (orders.go)
}

// New returns a Store on an open, migrated database.
func New(d *db.DB) *Store {
	return &Store{DB: d, Now: func() time.Time { return time.Now().UTC() }, Passwords: password.New(0, 0)}
}

// ListFilter selects and pages enrollments.
type ListFilter struct {
	State  arsapi.EnrollmentState // empty: all
	Serial string                 // empty: all
	Cursor string                 // opaque, from List.NextCursor
	Limit  int                    // 0: default 50; capped at 200
	// NoSupplies lists the enrollments without their last reported
	// levels, for lists that show none: an account's printers may report
	// 64 supplies each.
	NoSupplies bool
}

// EnrollmentEvent is one entry of an enrollment's history (created,
// activated, paused, resumed, threshold changed, cancelled).
type EnrollmentEvent struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
	Detail string    `json:"detail,omitempty"`
}

// Enrollments is what the API and the web pages do with enrollments.
type Enrollments interface {
	// CreateEnrollment creates an enrollment for accountID. The printer
	// model must already be checked for eligibility by the caller. Provider
	// amazon starts in StatePending, canon in StateActive. It returns
	// *AlreadyEnrolledError when the serial has a live enrollment.
	CreateEnrollment(ctx context.Context, accountID string, req arsapi.CreateEnrollmentRequest, threshold int) (arsapi.Enrollment, error)
	GetEnrollment(ctx context.Context, accountID, id string) (arsapi.Enrollment, error)
	ListEnrollments(ctx context.Context, accountID string, f ListFilter) (arsapi.List[arsapi.Enrollment], error)
	// CancelEnrollment cancels a pending, active or paused enrollment;
	// reasons are validated by the caller. Open orders are left as they are
	// but no new order is ever placed. Cancelling twice returns ErrNotActive.
	CancelEnrollment(ctx context.Context, accountID, id string, req arsapi.CancelRequest) (arsapi.Enrollment, error)
	SetPaused(ctx context.Context, accountID, id string, paused bool) (arsapi.Enrollment, error)
	SetThreshold(ctx context.Context, accountID, id string, percent int) (arsapi.Enrollment, error)
	EnrollmentHistory(ctx context.Context, accountID, id string) ([]EnrollmentEvent, error)

	// LookupEnrollment reads any enrollment by ID without account scoping,
	// for server-internal flows (Amazon callback). It returns the owner.
	LookupEnrollment(ctx context.Context, id string) (e arsapi.Enrollment, accountID string, err error)
	// ActivateEnrollment moves a pending enrollment to active.
	ActivateEnrollment(ctx context.Context, id string) error
}

// Orders is the order engine's persistence.
type Orders interface {
	// ReportLevels stores a level report and, in the same transaction,
	// places at most one order per supply that is at or below its
	// threshold and has no open order since it was last seen replaced. Safe
	// under duplicate, out-of-order and concurrent reports.
	ReportLevels(ctx context.Context, accountID, enrollmentID string, r arsapi.LevelReport) (arsapi.LevelReportResult, error)
	ListOrders(ctx context.Context, accountID, enrollmentID string, cursor string, limit int) (arsapi.List[arsapi.Order], error)
	// LevelHistory returns the enrollment's level changes since a time,
	// per supply, with each supply's forecast.
	LevelHistory(ctx context.Context, accountID, enrollmentID string, since time.Time) (arsapi.LevelHistory, error)
	// ListAccountOrders lists the account's orders across its
	// enrollments, newest first; state "" lists every state.
	ListAccountOrders(ctx context.Context, accountID string, state arsapi.OrderState, cursor string, limit int) (arsapi.List[arsapi.Order], error)
	// MarkOrderBought records that the owner bought the ink of an
	// unfulfilled order. An order already bought is returned unchanged;
	// another state answers ErrOrderNotOpen.
	MarkOrderBought(ctx context.Context, accountID, orderID string) (arsapi.Order, error)
	// NextDispatch claims up to limit orders waiting to be handed to a
	// fulfiller (outbox), leasing them for lease so that concurrent arsd
	// replicas do not hand over the same order at the same time.
	NextDispatch(ctx context.Context, limit int, lease time.Duration) ([]fulfil.Order, error)
	// RecordDispatch stores the outcome of a hand-over attempt: on success
	// the new state and external ID; on error the failure, and whether it
	// will be retried (retryAt) or is final.
	RecordDispatch(ctx context.Context, orderID, fulfiller string, res fulfil.Result, dispatchErr error, retryAt time.Time) error
}

// IdemRecord is a stored answer to a request carrying Idempotency-Key.
type IdemRecord struct {
	RequestHash string
	Status      int
	Body        []byte
}

// Idempotency keeps answers to mutating requests for 24 hours.
type Idempotency interface {
	// GetIdem returns the stored answer for (accountID, key), or ErrNotFound.
	GetIdem(ctx context.Context, accountID, key string) (IdemRecord, error)
	// PutIdem stores an answer; storing a key twice keeps the first.
	PutIdem(ctx context.Context, accountID, key string, rec IdemRecord) error
	// LockIdem holds (accountID, key) against every other replica until
	// unlock is called, so that a retry sent to another replica while the
	// first attempt runs waits for it and then finds its answer. With
	// SQLite, whose database belongs to one process, it holds nothing:
	// the caller serializes its own requests.
	LockIdem(ctx context.Context, accountID, key string) (unlock func(), err error)
}

// Accounts is sign-up and password sign-in.
type Accounts interface {
	CreateAccount(ctx context.Context, email, password, name string) (arsapi.Account, error)
	// CheckPassword returns the account, or ErrBadCredentials whether or not
	// the email exists (in comparable time).
	CheckPassword(ctx context.Context, email, password string) (arsapi.Account, error)
	GetAccount(ctx context.Context, id string) (arsapi.Account, error)
}
