package resolve

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/provider"
)

func TestSerial(t *testing.T) {
	for in, want := range map[string]string{"": "-", "AB": "****", "ABCD": "****", "KNMA01234": "****1234", "シリアル番号XYZ1": "****XYZ1"} {
		if got := Serial(in); got != want {
			t.Errorf("Serial(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatchPrinter(t *testing.T) {
	ps := []printer.Printer{
		{Name: "Office", Host: "pixma.local", Addrs: []string{"10.0.0.5"}, Port: 631, Serial: "KNMA1", UUID: "aaaa-1"},
		{Name: "Lab", Addrs: []string{"127.0.0.1"}, Port: 4631, Serial: "KNMA2", UUID: "bbbb-2"},
	}
	for q, want := range map[string]string{
		"office": "KNMA1", "10.0.0.5": "KNMA1", "10.0.0.5:631": "KNMA1", "pixma.local": "KNMA1", "urn:uuid:AAAA-1": "KNMA1",
		"knma2": "KNMA2", "127.0.0.1:4631": "KNMA2", "bbbb-2": "KNMA2", "nothing": "", "": "",
	} {
		m := MatchPrinter(ps, q)
		got := ""
		if len(m) == 1 {
			got = m[0].Serial
		}
		if got != want || len(m) > 1 {
			t.Errorf("MatchPrinter(%q) = %v, want %q", q, m, want)
		}
	}
}

func TestMatchEnrollments(t *testing.T) {
	es := []arsapi.Enrollment{
		{ID: "e1", Printer: arsapi.Printer{Model: "TS8320", Serial: "S1", Label: "front"}},
		{ID: "e2", Printer: arsapi.Printer{Model: "TS8320", Serial: "S2", UUID: "u-2"}},
		{ID: "e3", Printer: arsapi.Printer{Model: "PRO-200", Serial: "e1"}},
	}
	for q, want := range map[string]int{"e1": 1, "E2": 1, "s1": 1, "FRONT": 1, "urn:uuid:u-2": 1, "ts8320 series": 2, "pro 200": 1, "x": 0, "": 0} {
		if got, err := MatchEnrollments(es, q); err != nil || len(got) != want {
			t.Errorf("MatchEnrollments(%q) = %d matches, want %d", q, len(got), want)
		}
	}
	// An enrollment ID wins over a serial that looks the same.
	if got, _ := MatchEnrollments(es, "e1"); got[0].ID != "e1" {
		t.Errorf("ID match = %+v", got)
	}
}

// The status table shows enrollment IDs by their shortest start that
// tells them apart (UUIDv7 IDs made minutes apart share their first
// characters), and that start names the enrollment wherever an ID does.
func TestShortIDs(t *testing.T) {
	es := []arsapi.Enrollment{
		{ID: "01a24366-0790-7063-b689-85190737cdfb", Printer: arsapi.Printer{Model: "TS6320", Label: "living room"}},
		{ID: "01a24365-f5e6-7230-bddf-a18b95da298a", Printer: arsapi.Printer{Model: "TS8320", Label: "study"}},
		{ID: "01a24365-d74c-7068-bcf3-cd6f6a386e6e", Printer: arsapi.Printer{Model: "TS5320", Serial: "01a24366"}},
	}
	n := ShortIDLen(EnrollmentIDs(es))
	if n != 10 {
		t.Fatalf("ShortIDLen = %d, want 10 (01a24365-d, 01a24365-f)", n)
	}
	for _, e := range es {
		short := ShortID(e.ID, n)
		got, err := MatchEnrollments(es, strings.ToUpper(short))
		if err != nil || len(got) != 1 || got[0].ID != e.ID {
			t.Errorf("MatchEnrollments(%q) = %v, %v; want %s", short, got, err, e.ID)
		}
	}
	if n := ShortIDLen(EnrollmentIDs(es[:1])); n != 8 {
		t.Errorf("ShortIDLen of one = %d, want 8", n)
	}
	if n := ShortIDLen([]string{"e1", "e2"}); n != 2 {
		t.Errorf("ShortIDLen of short IDs = %d, want 2 (whole)", n)
	}
	if s := ShortID("e1", 8); s != "e1" {
		t.Errorf("ShortID = %q", s)
	}

	// The start of two IDs: a usage error naming both, by a start that
	// tells them apart, with their printers.
	_, err := MatchEnrollments(es, "01a24365")
	if cmdutil.ExitCode(err) != 2 {
		t.Fatalf("ambiguous prefix: err = %v (exit %d), want exit 2", err, cmdutil.ExitCode(err))
	}
	for _, want := range []string{`"01a24365" is the start of several enrollment IDs`, "01a24365-f (TS8320 \"study\"", "01a24365-d (TS5320, serial ****4366)", "give more of the ID"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// Too short, or not hex: not an ID prefix (and not found).
	for _, q := range []string{"01a", "01a24365-x"} {
		if got, err := MatchEnrollments(es, q); err != nil || len(got) != 0 {
			t.Errorf("MatchEnrollments(%q) = %v, %v; want none", q, got, err)
		}
	}
	// A serial or label that looks like the start of an ID is matched as such first.
	if got, err := MatchEnrollments(es, "01A24366"); err != nil || len(got) != 1 || got[0].ID != es[2].ID {
		t.Errorf("serial match = %v, %v", got, err)
	}
}

func TestFindEnrollmentsByAddress(t *testing.T) {
	es := []arsapi.Enrollment{{ID: "e1", Printer: arsapi.Printer{Model: "TS8320", Serial: "S1"}}}
	probe := func(_ context.Context, hp string) (printer.Printer, error) {
		if hp != "10.0.0.9:631" {
			t.Errorf("probed %q", hp)
		}
		return printer.Printer{Serial: "S1"}, nil
	}
	got, err := FindEnrollments(context.Background(), es, "10.0.0.9:631", probe)
	if err != nil || len(got) != 1 {
		t.Fatalf("FindEnrollments = %+v, %v", got, err)
	}
	noSerial := func(context.Context, string) (printer.Printer, error) { return printer.Printer{}, nil }
	if _, err := FindEnrollments(context.Background(), es, "10.0.0.9", noSerial); cmdutil.ExitCode(err) != cmdutil.ExitNotFound {
		t.Fatalf("no serial: %v", err)
	}
	if got, err := FindEnrollments(context.Background(), es, "front-desk", probe); err != nil || len(got) != 0 {
		t.Fatalf("not an address: %+v, %v", got, err)
	}
}

func TestLooksLikeAddress(t *testing.T) {
	for s, want := range map[string]bool{"10.0.0.1": true, "10.0.0.1:631": true, "[::1]:631": true, "::1": true, "pixma.local": true, "TS8320": false, "KNMA01234": false, "a:b": false} {
		if LooksLikeAddress(s) != want {
			t.Errorf("LooksLikeAddress(%q) = %v", s, !want)
		}
	}
}

// listClient answers FindEnrollments from a fixed list and counts calls.
type listClient struct {
	provider.Client // other methods are not called
	es              []arsapi.Enrollment
	calls           int
}

func (c *listClient) FindEnrollments(ctx context.Context, opts arsapi.ListOptions) ([]arsapi.Enrollment, error) {
	c.calls++
	return c.es, nil
}

func TestListEnrollmentsReadsOnce(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &listClient{es: []arsapi.Enrollment{
		{ID: "a1", Provider: arsapi.ProviderAmazon, CreatedAt: t0},
		{ID: "c1", Provider: arsapi.ProviderCanon, CreatedAt: t0},
		{ID: "x1", Provider: "ink-r-us", CreatedAt: t0.Add(time.Hour)},
		{ID: "c2", Provider: arsapi.ProviderCanon, CreatedAt: t0.Add(time.Minute)},
	}}
	es, err := ListEnrollments(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if c.calls != 1 {
		t.Errorf("FindEnrollments called %d times, want 1", c.calls)
	}
	var ids []string
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	// Newest first; a tie keeps registry order (canon before amazon); an
	// unknown provider is left out.
	if got := strings.Join(ids, ","); got != "c2,c1,a1" {
		t.Errorf("ids = %s, want c2,c1,a1", got)
	}
}
