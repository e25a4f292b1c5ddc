// The store's side of the core: errors, the interfaces the store implements
// (ports) and the types they exchange.

package core

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/mail"
	"strings"
	"time"

	"github.com/arsctl/arsctl/pkg/arsapi"
)

// maxEmailLen is the longest email address an account may have.
const maxEmailLen = 254

// Errors of the core and of the store behind it. Check them with
// errors.Is / errors.As.
var (
	ErrNotFound       = errors.New("not found")
	ErrNotActive      = errors.New("enrollment is not active")
	ErrEmailTaken     = errors.New("an account with this email already exists")
	ErrBadCredentials = errors.New("wrong email or password")
	ErrIdemConflict   = errors.New("idempotency key reused with a different request")
	// ErrOrderNotOpen: the order's state does not allow the change asked
	// for (e.g. marking a shipped order bought).
	ErrOrderNotOpen = errors.New("the order's state does not allow this change")
	// ErrTooManyEnrollments: the account holds as many enrollments as it
	// may (see DefaultMaxEnrollments).
	ErrTooManyEnrollments = errors.New("the account has as many printers enrolled as it may")
)

// DefaultMaxEnrollments is the most enrollments an account may hold, unless
// arsd's configuration says otherwise (max_enrollments_per_account), that
// are live (pending, active or paused) or were created in the last
// EnrollmentCapWindow, cancelled ones included: each enrollment holds a
// printer's serial (no other account can enroll it) and its own supplies,
// orders and level history, so that one account cannot grow the database,
// or hold serials, without bound, nor enroll and cancel in a loop. A fleet
// of 1000 printers fits.
const DefaultMaxEnrollments = 2000

// EnrollmentCapWindow is how long a cancelled enrollment still counts
// against the cap after it was created.
const EnrollmentCapWindow = 24 * time.Hour

// AlreadyEnrolledError is returned by CreateEnrollment when the printer
// (by serial) already has an active or pending enrollment.
type AlreadyEnrolledError struct {
	Enrollment arsapi.Enrollment // valid when SameAccount
	ID         string
	// SameAccount is true when the caller's own account holds it.
	SameAccount bool
}

func (e *AlreadyEnrolledError) Error() string { return "printer is already enrolled (" + e.ID + ")" }

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

// EnrollmentReader reads an account's enrollments: what the API and the
// pages read without the core.
type EnrollmentReader interface {
	GetEnrollment(ctx context.Context, accountID, id string) (arsapi.Enrollment, error)
	ListEnrollments(ctx context.Context, accountID string, f ListFilter) (arsapi.List[arsapi.Enrollment], error)
	EnrollmentHistory(ctx context.Context, accountID, id string) ([]EnrollmentEvent, error)
}

// Enrollments is the store's side of enrollments: the reads, and the
// changes that the core (Service) makes by its rules.
type Enrollments interface {
	EnrollmentReader
	// CreateEnrollment creates an enrollment for accountID. The printer
	// model must already be checked for eligibility by the caller. Provider
	// amazon starts in StatePending, canon in StateActive. It returns
	// *AlreadyEnrolledError when the serial has a live enrollment.
	CreateEnrollment(ctx context.Context, accountID string, req arsapi.CreateEnrollmentRequest, threshold int) (arsapi.Enrollment, error)
	// CancelEnrollment cancels a pending, active or paused enrollment;
	// reasons are validated by the caller. Open orders are left as they are
	// but no new order is ever placed. Cancelling twice returns ErrNotActive.
	CancelEnrollment(ctx context.Context, accountID, id string, req arsapi.CancelRequest) (arsapi.Enrollment, error)
	SetPaused(ctx context.Context, accountID, id string, paused bool) (arsapi.Enrollment, error)
	SetThreshold(ctx context.Context, accountID, id string, percent int) (arsapi.Enrollment, error)

	// LookupEnrollment reads any enrollment by ID without account scoping,
	// for server-internal flows (Amazon callback). It returns the owner.
	LookupEnrollment(ctx context.Context, id string) (e arsapi.Enrollment, accountID string, err error)
	// ActivateEnrollment moves a pending enrollment to active.
	ActivateEnrollment(ctx context.Context, id string) error
}

// OwnerOrders is what an owner does with orders and levels without the
// core: list them, read the level history, mark an order bought.
type OwnerOrders interface {
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
	// SkipOrder skips a scheduled order (never handed over; its supply
	// orders again when low); ShipOrder ends its hold window now. A
	// skipped order skipped again is returned unchanged; any other state
	// answers ErrOrderNotOpen.
	SkipOrder(ctx context.Context, accountID, orderID string) (arsapi.Order, error)
	ShipOrder(ctx context.Context, accountID, orderID string) (arsapi.Order, error)
	// OrderSettings and SetOrderSettings read and set the order policy
	// and hold window of the account (enrollmentID "") or of one of its
	// enrollments.
	OrderSettings(ctx context.Context, accountID, enrollmentID string) (arsapi.OrderSettings, error)
	SetOrderSettings(ctx context.Context, accountID, enrollmentID string, set arsapi.OrderSettings) (arsapi.OrderSettings, error)
	// DefaultOrderSettings is the server's order policy and hold window,
	// which an account that set neither gets.
	DefaultOrderSettings() arsapi.EffectiveOrderSettings
}

// Orders is the store's side of orders: the owner's, and the level
// reports that the core makes by its rules.
type Orders interface {
	OwnerOrders
	// ReportLevels stores a level report and, in the same transaction,
	// places at most one order per supply that is at or below its
	// threshold and has no open order since it was last seen replaced. Safe
	// under duplicate, out-of-order and concurrent reports.
	ReportLevels(ctx context.Context, accountID, enrollmentID string, r arsapi.LevelReport) (arsapi.LevelReportResult, error)
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

// InvalidAccountError is returned by CreateAccount for input it refuses;
// Field is "email", "password" or "name".
type InvalidAccountError struct {
	Field  string
	Reason string
}

func (e *InvalidAccountError) Error() string { return e.Field + ": " + e.Reason }

// NormalizeEmail trims an email address and lower-cases it, and checks
// that it is a single plain address (no display name, no list).
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" {
		return "", &InvalidAccountError{Field: "email", Reason: "enter your email address"}
	}
	if len(e) > maxEmailLen {
		return "", &InvalidAccountError{Field: "email", Reason: fmt.Sprintf("an email address has at most %d characters", maxEmailLen)}
	}
	if err := arsapi.CheckText(e, maxEmailLen, false); err != nil {
		return "", &InvalidAccountError{Field: "email", Reason: "the address " + err.Error()}
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return "", &InvalidAccountError{Field: "email", Reason: "enter an email address like name@example.com"}
	}
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || !strings.Contains(e[at+1:], ".") || strings.HasSuffix(e, ".") {
		return "", &InvalidAccountError{Field: "email", Reason: "enter an email address like name@example.com"}
	}
	return e, nil
}

// ErrInvalid is wrapped by errors about malformed input that the API layer
// should have refused (an unknown provider, a threshold out of range, a
// level report with too many supplies, a bad cursor). Its message says
// what is wrong and is safe to show.
var ErrInvalid = errors.New("invalid request")

// Limit is a budget of attempts under one key: Max attempts in a window
// of length Window that opens at the first attempt. Past Max an attempt
// is refused until the window closes, unless Spacing is set: then
// attempts go on one at a time, each at least Spacing after the one
// before (a slow-down rather than a stop).
type Limit struct {
	Key     string
	Max     int
	Window  time.Duration // at most a day: older attempts are forgotten
	Spacing time.Duration
}

// RetryAfterSeconds is a LimitedError's RetryAfter in whole seconds,
// rounded up, for a Retry-After header.
func (e *LimitedError) RetryAfterSeconds() int {
	return int(math.Ceil(e.RetryAfter.Seconds()))
}

// LimitedError is TakeAttempt's answer when a budget is spent.
type LimitedError struct {
	Key        string        // the spent budget
	RetryAfter time.Duration // until it allows an attempt again
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("too many attempts under %s; try again in %s", e.Key, e.RetryAfter.Round(time.Second))
}

// Limits keeps attempt budgets (sign-in, sign-up) in the database, so
// that they hold across replicas. An attempt is taken before the work it
// pays for (a password check, a new account), atomically: concurrent
// attempts cannot all see a budget with one attempt left.
type Limits interface {
	// TakeAttempt takes one attempt from each limit, or from none when
	// one of them is spent: then it returns a *LimitedError.
	TakeAttempt(ctx context.Context, limits ...Limit) error
	// ReturnAttempt gives back one attempt taken under each key, for
	// work that turned out not to count against the budget (a sign-in
	// that succeeded, a sign-up refused for its input).
	ReturnAttempt(ctx context.Context, keys ...string) error
	// ResetAttempts forgets every attempt under each key.
	ResetAttempts(ctx context.Context, keys ...string) error
	// CheckAttempt returns a *LimitedError when l's budget is spent now,
	// and takes nothing. It is for budgets of outcomes (failures,
	// refusals) counted with TakeAttempt once they happen: concurrent
	// requests may then overshoot the budget by as many as run at once,
	// but a request that does not fail never holds any of it.
	CheckAttempt(ctx context.Context, l Limit) error
}

// NotifySettings are an account's order email settings.
type NotifySettings struct {
	// EmailOn sends an email for every new order. On by default.
	EmailOn bool
	// Email is where the emails go; empty means the account's address.
	Email string
}

// ErrLinkUsed is UseLink's answer for a link used before.
var ErrLinkUsed = errors.New("link already used")

// Session is a signed-in browser's server-side session.
type Session struct {
	AccountID string
	// CSRFToken is the synchronizer token every form of this session
	// must carry.
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Sessions keeps web sessions. Only the SHA-256 of a session ID is
// stored, so a copy of the database does not let anyone sign in.
type Sessions interface {
	CreateSession(ctx context.Context, accountID string, ttl time.Duration) (id string, s Session, err error)
	// GetSession returns the live session with this ID, or ErrNotFound
	// when it does not exist or has expired.
	GetSession(ctx context.Context, id string) (Session, error)
	DeleteSession(ctx context.Context, id string) error
	// DeleteExpiredSessions also forgets attempt counts (Limits) whose
	// last attempt is a day old.
	DeleteExpiredSessions(ctx context.Context) (int64, error)
}

// RandomToken returns n random bytes encoded as unpadded base64url.
func RandomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
