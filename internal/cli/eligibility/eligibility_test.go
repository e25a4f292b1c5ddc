package eligibility

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/provider"
)

var models = []arsapi.Model{
	{Name: "TS5320", Make: "Canon", Series: []string{"TS5300 series"}},
	{Name: "TS9520", Make: "Canon", Series: []string{"TS9500 series"}},
	{Name: "TS9521C", Make: "Canon", Series: []string{"TS9500 series"}},
}

func TestOf(t *testing.T) {
	for _, tt := range []struct {
		p    printer.Printer
		want string
	}{
		{printer.Printer{Make: "Canon", Model: "TS5300 series"}, "eligible (TS5320)"},
		{printer.Printer{Make: "Canon", Model: "TS9500 series"}, "eligible (TS9520 or TS9521C)"},
		{printer.Printer{Make: "EPSON", Model: "ET-2850 Series"}, "not eligible: this service does not serve EPSON printers; it serves Canon printers"},
		{printer.Printer{Make: "Canon", Model: "MX490 series"}, "not eligible: the Canon MX490 series is not an eligible model"},
		{printer.Printer{Name: "asleep"}, "not eligible: the printer did not report its model"},
	} {
		if got := Of(models, tt.p).String(); got != tt.want {
			t.Errorf("Of(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

// fakeClient answers Models and FindEnrollments; the lookup uses nothing
// else.
type fakeClient struct {
	provider.Client
	models []arsapi.Model
	es     []arsapi.Enrollment
	err    error
}

func (f fakeClient) Models(context.Context) ([]arsapi.Model, error) { return f.models, f.err }
func (f fakeClient) FindEnrollments(context.Context, arsapi.ListOptions) ([]arsapi.Enrollment, error) {
	return f.es, f.err
}

func TestLookup(t *testing.T) {
	ctx := context.Background()
	pub := fakeClient{models: models}
	signed := fakeClient{es: []arsapi.Enrollment{
		{ID: "e1", Provider: "amazon", State: arsapi.StateActive, Printer: arsapi.Printer{Serial: "KNMA00001"}},
		{ID: "e0", Provider: "canon", State: arsapi.StateCancelled, Printer: arsapi.Printer{Serial: "KNMA00002"}},
	}}
	p1 := printer.Printer{Make: "Canon", Model: "TS5300 series", Serial: "knma00001"}
	p2 := printer.Printer{Make: "Canon", Model: "TS5300 series", Serial: "KNMA00002"}

	l := Start(ctx, Clients{
		PublicClient: func() (Catalogue, error) { return pub, nil },
		Client:       func(context.Context) (Account, error) { return signed, nil },
	}, time.Minute)
	l.Wait(ctx)
	if st := l.Of(p1); st.State != Enrolled || st.EnrollmentID != "e1" || st.String() != "enrolled (yours, amazon)" {
		t.Errorf("enrolled: %+v", st)
	}
	if st := l.Of(p2); st.String() != "eligible (TS5320)" {
		t.Errorf("cancelled enrollment: %+v", st)
	}

	// Not signed in: eligibility alone.
	l = Start(ctx, Clients{
		PublicClient: func() (Catalogue, error) { return pub, nil },
		Client:       func(context.Context) (Account, error) { return nil, errors.New("not signed in") },
	}, time.Minute)
	l.Wait(ctx)
	if st := l.Of(p1); st.String() != "eligible (TS5320)" {
		t.Errorf("signed out: %+v", st)
	}

	// The server fails: unknown.
	l = Start(ctx, Clients{PublicClient: func() (Catalogue, error) { return fakeClient{err: errors.New("refused")}, nil }}, time.Minute)
	l.Wait(ctx)
	if st := l.Of(p1); st.State != Unknown || st.String() != "unknown" || st.Blocks() {
		t.Errorf("server down: %+v", st)
	}
}
