package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// Base implements the parts of Provider that every provider served by an
// ARS API v1 server shares. Implementations embed it and add Name, Title
// and Description.
type Base struct {
	// Client talks to the server.
	Client Client
	// Provider is the provider name sent with enrollments.
	Provider arsapi.Provider

	mu     sync.Mutex
	models []arsapi.Model
}

// Name implements Provider.
func (b *Base) Name() arsapi.Provider { return b.Provider }

// Title implements Provider.
func (b *Base) Title() string { return b.Provider.Title() }

// Terms implements Provider.
func (b *Base) Terms(ctx context.Context) (arsapi.Terms, error) {
	return b.Client.Terms(ctx)
}

// Models returns the eligible models, read once from the server.
func (b *Base) Models(ctx context.Context) ([]arsapi.Model, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.models != nil {
		return b.models, nil
	}
	m, err := b.Client.Models(ctx)
	if err != nil {
		return nil, err
	}
	if m == nil {
		m = []arsapi.Model{}
	}
	b.models = m
	return m, nil
}

// Eligible implements Provider with arsapi.MatchModel over the server's
// eligible models.
func (b *Base) Eligible(ctx context.Context, mk, model string) (Eligibility, error) {
	models, err := b.Models(ctx)
	if err != nil {
		return Eligibility{}, err
	}
	return Check(models, mk, model), nil
}

// Enroll implements Provider.
func (b *Base) Enroll(ctx context.Context, p printer.Printer, opts EnrollOptions) (*Enrollment, error) {
	if strings.TrimSpace(p.Serial) == "" {
		return nil, ErrNoSerial
	}
	if strings.TrimSpace(p.Model) == "" {
		return nil, errors.New("the printer did not report its model")
	}
	if opts.TermsVersion == "" {
		return nil, errors.New("enroll: the version of the agreed terms is required")
	}
	el, err := b.Eligible(ctx, p.Make, p.Model)
	if err != nil {
		return nil, err
	}
	if !el.OK {
		return nil, &IneligibleError{Model: p.Model, OtherMake: el.OtherMake, Why: el.Why, Eligible: el.Eligible}
	}
	model, err := el.Choose(p.Model, opts.Model)
	if err != nil {
		return nil, err
	}

	// An enrollment this account already has for the printer is the answer.
	existing, err := b.Client.FindEnrollments(ctx, arsapi.ListOptions{Serial: p.Serial})
	if err != nil {
		return nil, err
	}
	for _, e := range existing {
		if Live(e) && strings.EqualFold(e.Printer.Serial, p.Serial) {
			return b.wrap(e, true), nil
		}
	}

	req := arsapi.CreateEnrollmentRequest{
		Provider: b.Provider,
		Printer: arsapi.Printer{
			Model:  model,
			Series: p.Model,
			Serial: p.Serial,
			UUID:   p.UUID,
			Label:  opts.Label,
		},
		TermsVersion: opts.TermsVersion,
	}
	key := opts.IdempotencyKey
	if key == "" {
		key = NewIdempotencyKey()
	}
	for range 2 {
		e, err := b.Client.CreateEnrollment(ctx, req, key)
		if err != nil {
			err = b.enrollError(ctx, req, err)
			if ex, ok := errors.AsType[*existingError](err); ok {
				return b.wrap(ex.e, true), nil
			}
			return nil, err
		}
		if Live(e) {
			return b.wrap(e, false), nil
		}
		// A replayed answer for an enrollment cancelled since: enroll anew.
		key = NewIdempotencyKey()
	}
	return nil, fmt.Errorf("the server keeps answering with a cancelled enrollment for serial %s", printer.MaskSerial(p.Serial))
}

// enrollError turns the server's problems into the errors of this package.
func (b *Base) enrollError(ctx context.Context, req arsapi.CreateEnrollmentRequest, err error) error {
	var p *arsapi.Problem
	if !errors.As(err, &p) {
		return err
	}
	switch p.Code {
	case arsapi.CodeIneligibleModel:
		return &IneligibleError{Model: req.Printer.Series, Why: p.Detail, Eligible: p.Eligible}
	case arsapi.CodeAmbiguousModel:
		return &AmbiguousModelError{Reported: req.Printer.Series, Candidates: p.Candidates}
	case arsapi.CodeAlreadyEnrolled:
		if p.EnrollmentID != "" {
			if e, gerr := b.Client.GetEnrollment(ctx, p.EnrollmentID); gerr == nil {
				return &existingError{e: e}
			}
		}
		// An older arsd said "already_enrolled" for another account's too.
		return &NotEnrollableError{Serial: req.Printer.Serial}
	case arsapi.CodeNotEnrollable:
		return &NotEnrollableError{Serial: req.Printer.Serial}
	}
	return err
}

// existingError carries an existing enrollment out of enrollError; Enroll
// turns it into a result.
type existingError struct{ e arsapi.Enrollment }

func (e *existingError) Error() string { return "already enrolled: " + e.e.ID }

// wrap returns e as an Enrollment whose Wait polls the server.
func (b *Base) wrap(e arsapi.Enrollment, existing bool) *Enrollment {
	return NewEnrollment(e, existing, func(ctx context.Context, poll time.Duration) (arsapi.Enrollment, error) {
		return WaitActive(ctx, b.Client.GetEnrollment, e.ID, poll)
	})
}

// Get implements Provider.
func (b *Base) Get(ctx context.Context, id string) (arsapi.Enrollment, error) {
	return b.Client.GetEnrollment(ctx, id)
}

// List implements Provider: the account's enrollments with this provider.
func (b *Base) List(ctx context.Context) ([]arsapi.Enrollment, error) {
	all, err := b.Client.FindEnrollments(ctx, arsapi.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]arsapi.Enrollment, 0, len(all))
	for _, e := range all {
		if e.Provider == b.Provider {
			out = append(out, e)
		}
	}
	return out, nil
}

// Orders implements Provider.
func (b *Base) Orders(ctx context.Context, enrollmentID string) ([]arsapi.Order, error) {
	return b.Client.ListOrders(ctx, enrollmentID)
}

// CancelReasons implements Provider.
func (b *Base) CancelReasons(ctx context.Context) ([]arsapi.CancelReason, error) {
	return b.Client.CancelReasons(ctx)
}

// Cancel implements Provider. The Idempotency-Key is derived from the
// request, so a retried cancel is answered once.
func (b *Base) Cancel(ctx context.Context, enrollmentID string, req arsapi.CancelRequest) (arsapi.Enrollment, error) {
	if len(req.Reasons) == 0 {
		return arsapi.Enrollment{}, errors.New("cancel: at least one reason is required")
	}
	h := sha256.New()
	h.Write([]byte("cancel/v1\x00" + enrollmentID + "\x00" + strings.Join(req.Reasons, ",") + "\x00" + req.Comment))
	return b.Client.CancelEnrollment(ctx, enrollmentID, req, "arsctl-cancel-"+hex.EncodeToString(h.Sum(nil))[:40])
}

// Check applies the service's matching rule (arsapi.MatchModel) to a
// printer of make mk reporting model, against the eligible models.
func Check(models []arsapi.Model, mk, model string) Eligibility {
	names := arsapi.ModelNames(models)
	slices.Sort(names)
	m := arsapi.MatchModel(models, mk, model)
	el := Eligibility{OK: m.Eligible(), Candidates: m.Names(), Series: m.Series, Why: m.Why(models, strings.TrimSpace(mk+" "+model)), Eligible: names, match: m}
	if u, ok := m.Unique(); ok {
		el.Model = u.Name
	}
	if m.Kind == arsapi.MatchOtherMake {
		el.OtherMake = m.Make
	}
	return el
}
