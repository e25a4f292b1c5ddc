package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

func enrollReq(provider arsapi.Provider, serial string) arsapi.CreateEnrollmentRequest {
	return arsapi.CreateEnrollmentRequest{
		Provider:     provider,
		Printer:      arsapi.Printer{Model: "TS8320", Serial: serial, UUID: "e3248000-80ce-11db-8000-30c9ab6f5b7d", Label: "office"},
		TermsVersion: "2024-01",
	}
}

// mustEnroll creates an enrollment or fails the test.
func mustEnroll(t testing.TB, s *Store, account string, provider arsapi.Provider, serial string) arsapi.Enrollment {
	t.Helper()
	e, err := s.CreateEnrollment(context.Background(), account, enrollReq(provider, serial), 15)
	if err != nil {
		t.Fatalf("CreateEnrollment(%s, %s): %v", account, serial, err)
	}
	return e
}

func TestCreateEnrollment(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		e := mustEnroll(t, s, "acct-a", arsapi.ProviderCanon, "KKMM01234")
		if e.State != arsapi.StateActive || e.Threshold != 15 || e.Printer.Serial != "KKMM01234" || e.TermsVersion != "2024-01" {
			t.Errorf("canon enrollment = %+v", e)
		}
		got, err := s.GetEnrollment(ctx, "acct-a", e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != e.ID || !got.CreatedAt.Equal(e.CreatedAt) || got.Printer != e.Printer || got.Provider != arsapi.ProviderCanon {
			t.Errorf("GetEnrollment = %+v, want %+v", got, e)
		}
		if _, err := s.GetEnrollment(ctx, "acct-b", e.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("another account's GetEnrollment: err = %v, want ErrNotFound", err)
		}
		if _, err := s.GetEnrollment(ctx, "acct-a", "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetEnrollment(unknown): err = %v, want ErrNotFound", err)
		}

		am := mustEnroll(t, s, "acct-a", arsapi.ProviderAmazon, "AMZ1")
		if am.State != arsapi.StatePending {
			t.Errorf("amazon enrollment state = %s, want pending", am.State)
		}
		if err := s.ActivateEnrollment(ctx, am.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.ActivateEnrollment(ctx, am.ID); err != nil {
			t.Errorf("activating twice: %v", err)
		}
		am, _, err = s.LookupEnrollment(ctx, am.ID)
		if err != nil || am.State != arsapi.StateActive {
			t.Errorf("after ActivateEnrollment: %+v, %v", am, err)
		}

		// Same serial (case and spaces aside): refused, with the owner's view.
		_, err = s.CreateEnrollment(ctx, "acct-a", enrollReq(arsapi.ProviderCanon, " kkmm01234 "), 15)
		var ae *AlreadyEnrolledError
		if !errors.As(err, &ae) || ae.ID != e.ID || !ae.SameAccount || ae.Enrollment.ID != e.ID {
			t.Errorf("same account re-enroll: err = %#v", err)
		}
		_, err = s.CreateEnrollment(ctx, "acct-b", enrollReq(arsapi.ProviderAmazon, "KKMM01234"), 15)
		if !errors.As(err, &ae) || ae.ID != e.ID || ae.SameAccount || ae.Enrollment.ID != "" {
			t.Errorf("other account enroll: err = %#v", err)
		}

		_, err = s.CreateEnrollment(ctx, "acct-a", enrollReq("hp", "X"), 15)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("unknown provider: err = %v, want ErrInvalid", err)
		}
		_, err = s.CreateEnrollment(ctx, "acct-a", enrollReq(arsapi.ProviderCanon, "  "), 15)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("empty serial: err = %v, want ErrInvalid", err)
		}
	})
}

func TestCancelAndReenroll(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		e := mustEnroll(t, s, "acct-a", arsapi.ProviderCanon, "SER1")
		if _, err := s.CancelEnrollment(ctx, "acct-b", e.ID, arsapi.CancelRequest{Reasons: []string{"other"}}); !errors.Is(err, ErrNotFound) {
			t.Errorf("cancel by another account: %v, want ErrNotFound", err)
		}
		c, err := s.CancelEnrollment(ctx, "acct-a", e.ID, arsapi.CancelRequest{Reasons: []string{"too-expensive", "other"}, Comment: "moving"})
		if err != nil {
			t.Fatal(err)
		}
		if c.State != arsapi.StateCancelled || c.Cancellation == nil || len(c.Cancellation.Reasons) != 2 ||
			c.Cancellation.Reasons[0] != "too-expensive" || c.Cancellation.Comment != "moving" || c.Cancellation.At.IsZero() {
			t.Errorf("cancelled = %+v (%+v)", c, c.Cancellation)
		}
		if _, err := s.CancelEnrollment(ctx, "acct-a", e.ID, arsapi.CancelRequest{Reasons: []string{"other"}}); !errors.Is(err, ErrNotActive) {
			t.Errorf("cancel twice: %v, want ErrNotActive", err)
		}
		if _, err := s.SetPaused(ctx, "acct-a", e.ID, true); !errors.Is(err, ErrNotActive) {
			t.Errorf("pause cancelled: %v, want ErrNotActive", err)
		}
		if err := s.ActivateEnrollment(ctx, e.ID); !errors.Is(err, ErrNotActive) {
			t.Errorf("activate cancelled: %v, want ErrNotActive", err)
		}
		// Re-enrolling the same printer works, by another account too.
		e2 := mustEnroll(t, s, "acct-b", arsapi.ProviderCanon, "SER1")
		if e2.ID == e.ID {
			t.Fatal("re-enroll returned the cancelled enrollment")
		}
		got, err := s.GetEnrollment(ctx, "acct-a", e.ID)
		if err != nil || got.State != arsapi.StateCancelled || got.Cancellation == nil {
			t.Errorf("old enrollment after re-enroll: %+v, %v", got, err)
		}
	})
}

func TestPauseThresholdHistory(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		e := mustEnroll(t, s, "acct-a", arsapi.ProviderCanon, "SER2")
		p, err := s.SetPaused(ctx, "acct-a", e.ID, true)
		if err != nil || p.State != arsapi.StatePaused {
			t.Fatalf("pause: %+v, %v", p, err)
		}
		if p, err = s.SetPaused(ctx, "acct-a", e.ID, true); err != nil || p.State != arsapi.StatePaused {
			t.Errorf("pause twice: %+v, %v", p, err)
		}
		if p, err = s.SetPaused(ctx, "acct-a", e.ID, false); err != nil || p.State != arsapi.StateActive {
			t.Errorf("resume: %+v, %v", p, err)
		}
		if p, err = s.SetThreshold(ctx, "acct-a", e.ID, 25); err != nil || p.Threshold != 25 {
			t.Errorf("threshold: %+v, %v", p, err)
		}
		if _, err = s.SetThreshold(ctx, "acct-a", e.ID, 101); !errors.Is(err, ErrInvalid) {
			t.Errorf("threshold 101: %v, want ErrInvalid", err)
		}
		if _, err = s.SetThreshold(ctx, "acct-b", e.ID, 20); !errors.Is(err, ErrNotFound) {
			t.Errorf("threshold by another account: %v, want ErrNotFound", err)
		}
		if _, err := s.CancelEnrollment(ctx, "acct-a", e.ID, arsapi.CancelRequest{Reasons: []string{"other"}}); err != nil {
			t.Fatal(err)
		}
		h, err := s.EnrollmentHistory(ctx, "acct-a", e.ID)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, ev := range h {
			kinds = append(kinds, ev.Kind)
		}
		if want := "[created paused resumed threshold cancelled]"; fmt.Sprint(kinds) != want {
			t.Errorf("history = %v, want %s", kinds, want)
		}
		if _, err := s.EnrollmentHistory(ctx, "acct-b", e.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("history of another account's: %v", err)
		}
	})
}

func TestListEnrollmentsPaging(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var n int
		s.Now = func() time.Time { n++; return base.Add(time.Duration(n/2) * time.Second) } // pairs share a timestamp
		var want []string
		for i := range 7 {
			want = append(want, mustEnroll(t, s, "acct-a", arsapi.ProviderCanon, fmt.Sprintf("S%d", i)).ID)
		}
		mustEnroll(t, s, "acct-b", arsapi.ProviderCanon, "OTHER")
		var got []string
		cur := ""
		for pages := 0; ; pages++ {
			l, err := s.ListEnrollments(ctx, "acct-a", ListFilter{Limit: 3, Cursor: cur})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range l.Items {
				got = append(got, e.ID)
			}
			if l.NextCursor == "" {
				break
			}
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			cur = l.NextCursor
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("paged IDs = %v\nwant %v", got, want)
		}
		l, err := s.ListEnrollments(ctx, "acct-a", ListFilter{Serial: "s3"})
		if err != nil || len(l.Items) != 1 || l.Items[0].Printer.Serial != "S3" {
			t.Errorf("filter by serial: %+v, %v", l, err)
		}
		if _, err := s.CancelEnrollment(ctx, "acct-a", want[0], arsapi.CancelRequest{Reasons: []string{"x"}}); err != nil {
			t.Fatal(err)
		}
		l, err = s.ListEnrollments(ctx, "acct-a", ListFilter{State: arsapi.StateCancelled})
		if err != nil || len(l.Items) != 1 || l.Items[0].ID != want[0] {
			t.Errorf("filter by state: %+v, %v", l, err)
		}
		l, err = s.ListEnrollments(ctx, "nobody", ListFilter{})
		if err != nil || l.Items == nil || len(l.Items) != 0 {
			t.Errorf("empty list: %#v, %v", l, err)
		}
		if _, err := s.ListEnrollments(ctx, "acct-a", ListFilter{Cursor: "!!"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad cursor: %v, want ErrInvalid", err)
		}
	})
}

// TestConcurrentEnrollSameSerial: the database lets exactly one of many
// concurrent enrollments of one printer through.
func TestConcurrentEnrollSameSerial(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := New(d)
		const n = 20
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			created []string
			already int
		)
		for i := range n {
			wg.Go(func() {
				e, err := s.CreateEnrollment(context.Background(), fmt.Sprintf("acct-%d", i%3), enrollReq(arsapi.ProviderCanon, "RACE"), 15)
				mu.Lock()
				defer mu.Unlock()
				var ae *AlreadyEnrolledError
				switch {
				case err == nil:
					created = append(created, e.ID)
				case errors.As(err, &ae):
					already++
				default:
					t.Errorf("CreateEnrollment: %v", err)
				}
			})
		}
		wg.Wait()
		if len(created) != 1 || already != n-1 {
			t.Errorf("created %d (%v), already enrolled %d; want 1 and %d", len(created), created, already, n-1)
		}
		var live int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM enrollments WHERE serial_key = 'RACE' AND state <> 'cancelled'`).Scan(&live); err != nil || live != 1 {
			t.Errorf("live enrollments for the serial = %d, %v", live, err)
		}
		// The index, not only the code, refuses a second live enrollment.
		_, err := d.Exec(context.Background(), `INSERT INTO enrollments (id, account_id, provider, state, model, serial, serial_key,
			terms_version, threshold, created_at, updated_at) VALUES ('x', 'a', 'canon', 'paused', 'M', 'race', 'RACE', 'v', 15, 0, 0)`)
		if err == nil {
			t.Error("the database accepted a second live enrollment for one serial")
		}
	})
}

func TestIdempotency(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		if _, err := s.GetIdem(ctx, "a", "k1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetIdem(missing) = %v", err)
		}
		if err := s.PutIdem(ctx, "a", "k1", IdemRecord{RequestHash: "h1", Status: 201, Body: []byte(`{"id":"1"}`)}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutIdem(ctx, "a", "k1", IdemRecord{RequestHash: "h2", Status: 500, Body: []byte(`x`)}); err != nil {
			t.Fatal(err)
		}
		rec, err := s.GetIdem(ctx, "a", "k1")
		if err != nil || rec.RequestHash != "h1" || rec.Status != 201 || string(rec.Body) != `{"id":"1"}` {
			t.Errorf("GetIdem = %+v, %v; want the first record", rec, err)
		}
		if _, err := s.GetIdem(ctx, "b", "k1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("another account's key: %v", err)
		}
		now = now.Add(IdemTTL + time.Second)
		if _, err := s.GetIdem(ctx, "a", "k1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("expired key: %v, want ErrNotFound", err)
		}
		if err := s.PutIdem(ctx, "a", "k1", IdemRecord{RequestHash: "h3", Status: 200, Body: nil}); err != nil {
			t.Fatal(err)
		}
		rec, err = s.GetIdem(ctx, "a", "k1")
		if err != nil || rec.RequestHash != "h3" || len(rec.Body) != 0 {
			t.Errorf("after expiry, PutIdem replaces: %+v, %v", rec, err)
		}
		if err := s.PutIdem(ctx, "a", "k2", IdemRecord{RequestHash: "h", Status: 200}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(IdemTTL + time.Second)
		if n, err := s.PurgeIdem(ctx); err != nil || n != 2 {
			t.Errorf("PurgeIdem = %d, %v; want 2", n, err)
		}
	})
}

// FuzzParseCursor: cursors come from clients; any string gives a cursor
// or ErrInvalid, and a cursor survives a round trip.
func FuzzParseCursor(f *testing.F) {
	f.Add(cursor{at: 1764000000000000000, id: "0193b2f4-3c1e-7d2a-9f00-1a2b3c4d5e6f"}.String())
	f.Add("")
	f.Add("!!")
	f.Add("MTo")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCursor(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("parseCursor(%q) = %v, not ErrInvalid", s, err)
			}
			return
		}
		back, err := parseCursor(c.String())
		if err != nil || back != c {
			t.Fatalf("round trip of %+v: %+v, %v", c, back, err)
		}
	})
}
