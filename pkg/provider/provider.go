// Package provider is what arsctl enrolls a printer with: a replenishment
// provider (Canon's own service, or Amazon Dash Replenishment) seen through
// one interface, so that commands never depend on a particular one.
//
// Both providers in this module talk to an ARS API v1 server (arsd); they
// differ in how an enrollment becomes active: a canon enrollment is active
// as soon as it is created, an amazon enrollment waits until the owner has
// signed in with Amazon in a browser (Enrollment.SignInURL, Enrollment.Wait).
//
// The providers are data (a name and a description, see Get and Names)
// over one implementation; the service's catalogue, terms and cancel
// reasons are the same for every provider and are read from the server
// with the Client (arsapi.Client) directly.
package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

var _ Client = (*arsapi.Client)(nil)

// Client is the part of ARS API v1 that providers use; *arsapi.Client
// implements it. The terms, the eligible models and the cancel reasons,
// which are the same for every provider, are read with *arsapi.Client
// itself.
type Client interface {
	// CreateEnrollment creates an enrollment (POST /v1/enrollments) under
	// the given Idempotency-Key.
	CreateEnrollment(ctx context.Context, req arsapi.CreateEnrollmentRequest, idempotencyKey string) (arsapi.Enrollment, error)
	// GetEnrollment reads one enrollment (GET /v1/enrollments/{id}).
	GetEnrollment(ctx context.Context, id string) (arsapi.Enrollment, error)
	// FindEnrollments lists the account's enrollments matching opts,
	// following pagination (GET /v1/enrollments).
	FindEnrollments(ctx context.Context, opts arsapi.ListOptions) ([]arsapi.Enrollment, error)
	// CancelEnrollment cancels an enrollment (POST /v1/enrollments/{id}/cancel).
	CancelEnrollment(ctx context.Context, id string, req arsapi.CancelRequest, idempotencyKey string) (arsapi.Enrollment, error)
	// ListOrders lists an enrollment's orders, newest first (GET /v1/enrollments/{id}/orders).
	ListOrders(ctx context.Context, id string) ([]arsapi.Order, error)
}

// Provider is one replenishment provider.
type Provider interface {
	// Name is the provider's identifier: "canon" or "amazon".
	Name() arsapi.Provider
	// Title is the name shown to people, e.g. "Canon".
	Title() string
	// Description says in one line who fulfils the orders.
	Description() string
	// Enroll enrolls a printer. The printer needs a model and a serial.
	// An enrollment that already exists for this printer in this account is
	// returned with Existing set, not as an error. Enroll sends one request
	// (two when the printer is enrolled already).
	Enroll(ctx context.Context, p printer.Printer, opts EnrollOptions) (*Enrollment, error)
	// Get reads one enrollment.
	Get(ctx context.Context, id string) (arsapi.Enrollment, error)
	// List returns this provider's enrollments in the signed-in account.
	List(ctx context.Context) ([]arsapi.Enrollment, error)
	// Orders returns an enrollment's orders.
	Orders(ctx context.Context, enrollmentID string) ([]arsapi.Order, error)
	// Cancel cancels an enrollment with at least one reason.
	Cancel(ctx context.Context, enrollmentID string, req arsapi.CancelRequest) (arsapi.Enrollment, error)
}

// EnrollOptions are the choices made before enrolling.
type EnrollOptions struct {
	// TermsVersion is the version of the terms the owner agreed to.
	TermsVersion string
	// Label is an optional label for the printer (e.g. "2nd floor").
	Label string
	// IdempotencyKey identifies this attempt; a caller that retries the
	// same attempt passes the same key. Empty: Enroll takes a new one
	// (NewIdempotencyKey).
	IdempotencyKey string
	// Model is the eligible model the owner confirmed the printer is, when
	// the series it reports covers several (e.g. "TS9521C" for a printer
	// reporting "TS9500 series"); empty otherwise.
	Model string
	// Models are the eligible models as the caller read them
	// (Client.Models). When set, Enroll checks the printer against them
	// before sending anything, with the printer's make in its messages;
	// when nil, the server's answer decides.
	Models []arsapi.Model
}

// Eligibility is the answer to "can this printer be enrolled?", by the
// service's one matching rule (arsapi.MatchModel).
type Eligibility struct {
	// OK is true when the printer is, or may be, an eligible model.
	OK bool
	// Model is the canonical eligible model when the printer's name stands
	// for exactly one.
	Model string
	// Candidates are the eligible models the printer's name stands for:
	// more than one when the series it reports covers several, and the
	// owner must say which one it is.
	Candidates []string
	// Series is the matched series, when the printer reported a series
	// ("TS5300 series").
	Series string
	// OtherMake is the printer's make when the service serves no printer of
	// that make.
	OtherMake string
	// Why says why the printer is not eligible; empty when OK.
	Why string
	// Eligible lists every eligible model, for messages.
	Eligible []string

	match arsapi.ModelMatch
}

// Ambiguous reports whether the owner must choose among Candidates.
func (e Eligibility) Ambiguous() bool { return e.OK && e.Model == "" && len(e.Candidates) > 1 }

// Choose returns the eligible model the printer is: name (a model name or
// alias, as the owner gave it) when it is one of the candidates, or the
// only candidate when name is empty. It fails when name is not a
// candidate, and with *AmbiguousModelError when name is empty and the
// printer's series covers several models.
func (e Eligibility) Choose(reported, name string) (string, error) {
	if name == "" {
		if e.Model != "" {
			return e.Model, nil
		}
		return "", &AmbiguousModelError{Reported: reported, Candidates: e.Candidates}
	}
	if c, ok := e.match.Covers(name); ok {
		return c, nil
	}
	return "", fmt.Errorf("a printer that reports %q is %s, not %s", reported, orList(e.Candidates), name)
}

// orList joins names as "TS9520 or TS9521C".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// AmbiguousModelError is returned when a printer's series covers several
// eligible models and none was chosen (EnrollOptions.Model).
type AmbiguousModelError struct {
	// Reported is the name the printer reports, e.g. "TS9500 series".
	Reported string
	// Candidates are the eligible models that series covers.
	Candidates []string
}

// Error names the series and the models to choose from.
func (e *AmbiguousModelError) Error() string {
	return fmt.Sprintf("the printer reports %q, which may be the %s: say which model it is", e.Reported, orList(e.Candidates))
}

// Enrollment is the result of Enroll.
type Enrollment struct {
	arsapi.Enrollment
	// Existing is true when the printer was already enrolled in this
	// account and nothing new was created.
	Existing bool `json:"existing"`

	wait func(ctx context.Context, poll time.Duration) (arsapi.Enrollment, error)
}

// NeedsSignIn reports whether the enrollment is waiting for the owner to
// sign in somewhere else (Amazon) before it becomes active.
func (e *Enrollment) NeedsSignIn() bool {
	return e.State == arsapi.StatePending && e.AmazonSignInURL != ""
}

// SignInURL is the page where the owner completes the enrollment, for a
// pending enrollment ("" otherwise).
func (e *Enrollment) SignInURL() string {
	if e.State != arsapi.StatePending {
		return ""
	}
	return e.AmazonSignInURL
}

// Wait polls the enrollment every poll until it is active, and returns it.
// It fails with ErrSignInFailed when the enrollment ends without becoming
// active, and with the context's error when ctx ends first. An enrollment
// that is already active returns at once.
func (e *Enrollment) Wait(ctx context.Context, poll time.Duration) (arsapi.Enrollment, error) {
	if e.State == arsapi.StateActive || e.wait == nil {
		return e.Enrollment, nil
	}
	got, err := e.wait(ctx, poll)
	if err == nil {
		e.Enrollment = got
	}
	return got, err
}

// NewEnrollment wraps an API enrollment; wait, when not nil, is what Wait
// calls for a pending enrollment. It is for implementations of Provider.
func NewEnrollment(e arsapi.Enrollment, existing bool, wait func(ctx context.Context, poll time.Duration) (arsapi.Enrollment, error)) *Enrollment {
	return &Enrollment{Enrollment: e, Existing: existing, wait: wait}
}

// Resume wraps an existing enrollment read from p (e.g. found by List) so
// that Wait polls p until it is active.
func Resume(p Provider, e arsapi.Enrollment, existing bool) *Enrollment {
	return NewEnrollment(e, existing, func(ctx context.Context, poll time.Duration) (arsapi.Enrollment, error) {
		return WaitActive(ctx, p.Get, e, poll)
	})
}

// WaitActive polls get every poll until the enrollment from is active (or
// paused), and returns it. A cancelled enrollment fails with
// ErrSignInFailed; a Cancel at Login with Amazon later than any from
// records fails with ErrSignInDeclined; ctx ending first returns its
// error.
func WaitActive(ctx context.Context, get func(ctx context.Context, id string) (arsapi.Enrollment, error), from arsapi.Enrollment, poll time.Duration) (arsapi.Enrollment, error) {
	id := from.ID
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		e, err := get(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return arsapi.Enrollment{}, ctx.Err()
			}
			return arsapi.Enrollment{}, err
		}
		switch e.State {
		case arsapi.StateActive, arsapi.StatePaused:
			return e, nil
		case arsapi.StateCancelled:
			return e, fmt.Errorf("%w: enrollment %s was cancelled", ErrSignInFailed, e.ID)
		case arsapi.StatePending:
			if d := e.AmazonSignInDeclinedAt; d != nil && (from.AmazonSignInDeclinedAt == nil || d.After(*from.AmazonSignInDeclinedAt)) {
				return e, ErrSignInDeclined
			}
		}
		select {
		case <-ctx.Done():
			return e, ctx.Err()
		case <-t.C:
		}
	}
}

// Errors a provider returns; check them with errors.Is or errors.As.
var (
	// ErrNoSerial means the printer did not report a serial number, which
	// the service needs to identify it.
	ErrNoSerial = errors.New("the printer did not report a serial number")
	// ErrSignInFailed means a pending enrollment was cancelled or refused
	// before it became active.
	ErrSignInFailed = errors.New("sign-in was not completed")
	// ErrSignInDeclined is returned by Enrollment.Wait when the owner
	// chose Cancel at Login with Amazon: the enrollment stays pending.
	ErrSignInDeclined = errors.New("the Amazon sign-in was cancelled")
)

// IneligibleError is returned by Enroll for a printer the service does not
// cover.
type IneligibleError struct {
	// Model is the printer's model as reported.
	Model string
	// OtherMake is the printer's make when the service serves none of its
	// printers; Eligible is then empty.
	OtherMake string
	// Why says why, e.g. "this service does not serve EPSON printers".
	Why string
	// Eligible lists the models the service covers.
	Eligible []string
}

// Error says why; for a model of a served make it lists the eligible ones.
func (e *IneligibleError) Error() string {
	why := e.Why
	if why == "" {
		why = e.Model + " is not eligible for the Auto Replenishment Service"
	}
	if e.OtherMake != "" || len(e.Eligible) == 0 {
		return why
	}
	return why + "; eligible models: " + strings.Join(e.Eligible, ", ")
}

// NotEnrollableError is returned by Enroll when the server answers that
// this account cannot enroll the printer. The server says no more, on
// purpose: usually another account (perhaps the owner's own second one,
// or a previous owner's) has a live plan for the printer's serial.
type NotEnrollableError struct {
	// Serial is the printer's serial number.
	Serial string
}

// Error says what the owner can do.
func (e *NotEnrollableError) Error() string {
	return "this printer cannot be enrolled by this account. If you enrolled it with another account, " +
		"sign in to that one and run `arsctl cancel` first; if it is yours and you did not, " +
		"see \"Someone else enrolled my printer\" in docs/security.md"
}

// ProviderDiffersError is returned by Enroll when this account has a
// live plan for the printer with another provider: a printer has one plan
// at a time, so switching is cancelling that plan, then enrolling again.
type ProviderDiffersError struct {
	// Enrollment is the existing plan.
	Enrollment arsapi.Enrollment
	// Want is the provider asked for.
	Want arsapi.Provider
}

// SameProvider returns a *ProviderDiffersError when the live enrollment e
// is with another provider than want, and nil when it is with want or
// want is empty (no provider asked for).
func SameProvider(e arsapi.Enrollment, want arsapi.Provider) error {
	if want == "" || e.Provider == want {
		return nil
	}
	return &ProviderDiffersError{Enrollment: e, Want: want}
}

// Error says which provider the printer is enrolled with and how to switch.
func (e *ProviderDiffersError) Error() string {
	return fmt.Sprintf("this printer is already enrolled with %s (enrollment %s, %s), not %s. To switch, cancel that plan first "+
		"(`arsctl cancel %s`), then run `arsctl register` again with --provider %s",
		e.Enrollment.Provider.Title(), e.Enrollment.ID, e.Enrollment.State, e.Want.Title(), e.Enrollment.ID, e.Want)
}

// NewIdempotencyKey returns a fresh Idempotency-Key for one enrollment
// attempt: one invocation and the retries of its request. A later attempt
// (the same command run again once its cause is fixed) takes a new key, so
// that it is answered anew rather than with the first attempt's answer; a
// re-run after an attempt whose answer was lost is answered with the
// enrollment that attempt created (the server says the printer is enrolled
// in this account already).
func NewIdempotencyKey() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "arsctl-enroll-" + hex.EncodeToString(b)
}

// Live reports whether an enrollment still counts: pending, active or
// paused.
func Live(e arsapi.Enrollment) bool {
	return e.State == arsapi.StatePending || e.State == arsapi.StateActive || e.State == arsapi.StatePaused
}
