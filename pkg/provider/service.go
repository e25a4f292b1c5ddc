package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"time"

	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// The providers, in the order they are offered: what tells them apart is
// data. Both are served by an ARS API v1 server (arsd), which makes an
// amazon enrollment wait for the owner's sign-in with Amazon.
var providers = []struct {
	name        arsapi.Provider
	description string
}{
	{arsapi.ProviderCanon, "Canon ships the ink; sign in with your account on the service"},
	{arsapi.ProviderAmazon, "Amazon Dash Replenishment ships the ink; sign in with Amazon in your browser"},
}

// Names returns the provider names, in the order they are offered.
func Names() []string {
	names := make([]string, len(providers))
	for i, p := range providers {
		names[i] = string(p.name)
	}
	return names
}

// Get returns the named provider speaking to the server through c. The
// name is matched without regard to case; c may be nil for a provider
// that is only named and described.
func Get(name string, c Client) (Provider, error) {
	for _, p := range providers {
		if strings.EqualFold(strings.TrimSpace(name), string(p.name)) {
			return &service{client: c, name: p.name, description: p.description}, nil
		}
	}
	return nil, fmt.Errorf("unknown provider %q: use one of %s", name, strings.Join(Names(), ", "))
}

// All returns every provider speaking to the server through c, in the
// order they are offered.
func All(c Client) []Provider {
	all := make([]Provider, len(providers))
	for i, p := range providers {
		all[i] = &service{client: c, name: p.name, description: p.description}
	}
	return all
}

// service is a Provider served by an ARS API v1 server.
type service struct {
	client      Client
	name        arsapi.Provider
	description string
}

// Name implements Provider.
func (s *service) Name() arsapi.Provider { return s.name }

// Title implements Provider.
func (s *service) Title() string { return s.name.Title() }

// Description implements Provider.
func (s *service) Description() string { return s.description }

// Enroll implements Provider.
func (s *service) Enroll(ctx context.Context, p printer.Printer, opts EnrollOptions) (*Enrollment, error) {
	if strings.TrimSpace(p.Serial) == "" {
		return nil, ErrNoSerial
	}
	if strings.TrimSpace(p.Model) == "" {
		return nil, errors.New("the printer did not report its model")
	}
	if opts.TermsVersion == "" {
		return nil, errors.New("enroll: the version of the agreed terms is required")
	}
	model := opts.Model
	if opts.Models != nil {
		el := Check(opts.Models, p.Make, p.Model)
		if !el.OK {
			return nil, &IneligibleError{Model: p.Model, OtherMake: el.OtherMake, Why: el.Why, Eligible: el.Eligible}
		}
		var err error
		if model, err = el.Choose(p.Model, opts.Model); err != nil {
			return nil, err
		}
	} else if model == "" {
		// The server takes the model the series stands for, or answers
		// that the series covers several.
		model = p.Model
	}

	// An enrollment this account already has for the printer is the
	// answer: the server says so (already_enrolled) rather than creating
	// another.
	req := arsapi.CreateEnrollmentRequest{
		Provider: s.name,
		Printer: arsapi.Printer{
			Model:  model,
			Series: p.Model,
			Serial: p.Serial,
			UUID:   p.UUID,
			Label:  opts.Label,
		},
		TermsVersion: opts.TermsVersion,
	}
	if len(p.Supplies) > 0 {
		// The levels just read: status shows them right away, rather
		// than nothing until the monitor's first report.
		req.Levels = &arsapi.LevelReport{Supplies: p.Supplies}
	}
	key := opts.IdempotencyKey
	if key == "" {
		key = NewIdempotencyKey()
	}
	for range 2 {
		e, err := s.client.CreateEnrollment(ctx, req, key)
		if err != nil {
			err = s.enrollError(ctx, req, err)
			if ex, ok := errors.AsType[*existingError](err); ok {
				if err := SameProvider(ex.e, s.name); err != nil {
					return nil, err
				}
				return s.wrap(ex.e, true), nil
			}
			return nil, err
		}
		if Live(e) {
			return s.wrap(e, false), nil
		}
		// A replayed answer for an enrollment cancelled since: enroll anew.
		key = NewIdempotencyKey()
	}
	return nil, fmt.Errorf("the server keeps answering with a cancelled enrollment for serial %s", printer.MaskSerial(p.Serial))
}

// enrollError turns the server's problems into the errors of this package.
func (s *service) enrollError(ctx context.Context, req arsapi.CreateEnrollmentRequest, err error) error {
	var p *arsapi.Problem
	if !errors.As(err, &p) {
		return err
	}
	switch p.Code {
	case arsapi.CodeIneligibleModel:
		// The detail ends with the eligible models, which the error lists.
		why, _, _ := strings.Cut(p.Detail, "; eligible models: ")
		return &IneligibleError{Model: req.Printer.Series, Why: why, Eligible: p.Eligible}
	case arsapi.CodeAmbiguousModel:
		return &AmbiguousModelError{Reported: req.Printer.Series, Candidates: p.Candidates}
	case arsapi.CodeAlreadyEnrolled:
		if p.EnrollmentID != "" {
			if e, gerr := s.client.GetEnrollment(ctx, p.EnrollmentID); gerr == nil {
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

// Error names the existing enrollment.
func (e *existingError) Error() string { return "already enrolled: " + e.e.ID }

// wrap returns e as an Enrollment whose Wait polls the server.
func (s *service) wrap(e arsapi.Enrollment, existing bool) *Enrollment {
	return NewEnrollment(e, existing, func(ctx context.Context, poll time.Duration) (arsapi.Enrollment, error) {
		return WaitActive(ctx, s.client.GetEnrollment, e, poll)
	})
}

// Get implements Provider.
func (s *service) Get(ctx context.Context, id string) (arsapi.Enrollment, error) {
	return s.client.GetEnrollment(ctx, id)
}

// List implements Provider: the account's enrollments with this provider.
func (s *service) List(ctx context.Context) ([]arsapi.Enrollment, error) {
	all, err := s.client.FindEnrollments(ctx, arsapi.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]arsapi.Enrollment, 0, len(all))
	for _, e := range all {
		if e.Provider == s.name {
			out = append(out, e)
		}
	}
	return out, nil
}

// Orders implements Provider.
func (s *service) Orders(ctx context.Context, enrollmentID string) ([]arsapi.Order, error) {
	return s.client.ListOrders(ctx, enrollmentID)
}

// Cancel implements Provider. The Idempotency-Key is derived from the
// request, so a retried cancel is answered once.
func (s *service) Cancel(ctx context.Context, enrollmentID string, req arsapi.CancelRequest) (arsapi.Enrollment, error) {
	if len(req.Reasons) == 0 {
		return arsapi.Enrollment{}, errors.New("cancel: at least one reason is required")
	}
	h := sha256.New()
	h.Write([]byte("cancel/v1\x00" + enrollmentID + "\x00" + strings.Join(req.Reasons, ",") + "\x00" + req.Comment))
	return s.client.CancelEnrollment(ctx, enrollmentID, req, "arsctl-cancel-"+hex.EncodeToString(h.Sum(nil))[:40])
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
