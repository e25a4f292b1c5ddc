// Package eligibility tells, for printers found on the network, what the
// server says about each before anyone reads the terms: eligible (as which
// model), not eligible (why), already enrolled in your account, or unknown
// when no server answers. discover shows it per printer and register's
// picker keeps ineligible and enrolled printers out of the terms.
//
// The server is asked once, in the background, while the network is
// searched (Start), so the search is not slowed by it.
package eligibility

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/provider"
)

// State is one printer's standing with the service.
type State string

// The states.
const (
	// Eligible: the printer is an eligible model (Status.Model), or one of
	// several (Status.Models) when its series covers more than one.
	Eligible State = "eligible"
	// NotEligible: Status.Why says why (another make, a model not on the
	// list, no model reported).
	NotEligible State = "not-eligible"
	// Enrolled: the printer has a live enrollment in the signed-in account.
	Enrolled State = "enrolled"
	// Unknown: no server answered (in time).
	Unknown State = "unknown"
)

// Status is what the service says about one printer.
type Status struct {
	State State `json:"state"`
	// Model is the eligible model the printer is, when it is exactly one.
	Model string `json:"model,omitempty"`
	// Models are the eligible models its series covers, when several.
	Models []string `json:"models,omitempty"`
	// Why says why it is not eligible, or why the state is unknown.
	Why string `json:"why,omitempty"`
	// EnrollmentID and Provider name the enrollment, when Enrolled.
	EnrollmentID string `json:"enrollment_id,omitempty"`
	Provider     string `json:"provider,omitempty"`
}

// Blocks reports whether a printer in this state cannot be taken into the
// terms: not eligible, or enrolled already.
func (s Status) Blocks() bool { return s.State == NotEligible || s.State == Enrolled }

// String is the status for people: "eligible (TS5320)", "not eligible:
// this service does not serve EPSON printers", "enrolled (yours, canon)",
// "unknown".
func (s Status) String() string {
	switch s.State {
	case Eligible:
		switch {
		case s.Model != "":
			return "eligible (" + s.Model + ")"
		case len(s.Models) > 0:
			return "eligible (" + strings.Join(s.Models, " or ") + ")"
		}
		return "eligible"
	case NotEligible:
		return "not eligible: " + s.Why
	case Enrolled:
		if s.Provider != "" {
			return "enrolled (yours, " + s.Provider + ")"
		}
		return "enrolled (yours)"
	}
	return "unknown"
}

// Lookup is the server's answer, arriving in the background.
type Lookup struct {
	done chan struct{}

	models      []arsapi.Model
	modelsErr   error
	enrollments []arsapi.Enrollment
	signedIn    bool
}

// Catalogue reads the eligible models; *arsapi.Client is one.
type Catalogue interface {
	Models(ctx context.Context) ([]arsapi.Model, error)
}

// Account reads the signed-in account's enrollments; *arsapi.Client is
// one.
type Account interface {
	FindEnrollments(ctx context.Context, opts arsapi.ListOptions) ([]arsapi.Enrollment, error)
}

// Clients are how the lookup reaches the server: PublicClient for the
// catalogue, Client (signed in) for the account's enrollments. Either may
// be nil or fail; what they answer is used.
type Clients struct {
	PublicClient func() (Catalogue, error)
	Client       func(ctx context.Context) (Account, error)
}

// Start asks the server for the eligible models and the account's
// enrollments, at the same time and in the background, for at most
// budget.
func Start(ctx context.Context, c Clients, budget time.Duration) *Lookup {
	l := &Lookup{done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(ctx, budget)
	var wg sync.WaitGroup
	wg.Go(func() {
		l.modelsErr = errNoServer
		if c.PublicClient == nil {
			return
		}
		pub, err := c.PublicClient()
		if err != nil {
			l.modelsErr = err
			return
		}
		l.models, l.modelsErr = pub.Models(ctx)
	})
	wg.Go(func() {
		if c.Client == nil {
			return
		}
		cl, err := c.Client(ctx)
		if err != nil {
			return
		}
		es, err := cl.FindEnrollments(ctx, arsapi.ListOptions{})
		if err != nil {
			return
		}
		l.enrollments, l.signedIn = es, true
	})
	go func() {
		wg.Wait()
		cancel()
		close(l.done)
	}()
	return l
}

type noServer struct{}

func (noServer) Error() string { return "no server" }

var errNoServer error = noServer{}

// Done is closed once the server has answered or the budget is spent.
func (l *Lookup) Done() <-chan struct{} { return l.done }

// Wait waits for the answer until ctx ends.
func (l *Lookup) Wait(ctx context.Context) {
	select {
	case <-l.done:
	case <-ctx.Done():
	}
}

// Models returns the eligible models the server answered, once Done;
// before, or when no server answered, the error says so.
func (l *Lookup) Models() ([]arsapi.Model, error) {
	select {
	case <-l.done:
		return l.models, l.modelsErr
	default:
		return nil, errNoServer
	}
}

// Enrollments returns the signed-in account's enrollments, once Done, and
// whether the account answered.
func (l *Lookup) Enrollments() ([]arsapi.Enrollment, bool) {
	select {
	case <-l.done:
		return l.enrollments, l.signedIn
	default:
		return nil, false
	}
}

// Of returns the status of p from what the server has answered so far:
// Unknown while it has not.
func (l *Lookup) Of(p printer.Printer) Status {
	select {
	case <-l.done:
	default:
		return Status{State: Unknown, Why: "the server has not answered yet"}
	}
	if l.signedIn && p.Serial != "" {
		for _, e := range l.enrollments {
			if provider.Live(e) && strings.EqualFold(e.Printer.Serial, p.Serial) {
				return Status{State: Enrolled, EnrollmentID: e.ID, Provider: string(e.Provider), Model: e.Printer.Model}
			}
		}
	}
	if l.modelsErr != nil {
		return Status{State: Unknown, Why: "no server answered"}
	}
	return Of(l.models, p)
}

// Of is p's status against the eligible models alone.
func Of(models []arsapi.Model, p printer.Printer) Status {
	if strings.TrimSpace(p.Model) == "" {
		return Status{State: NotEligible, Why: "the printer did not report its model"}
	}
	el := provider.Check(models, p.Make, p.Model)
	switch {
	case !el.OK:
		return Status{State: NotEligible, Why: el.Why}
	case el.Model != "":
		return Status{State: Eligible, Model: el.Model}
	}
	return Status{State: Eligible, Models: el.Candidates}
}
