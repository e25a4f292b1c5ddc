package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// rep builds a report read at t0 + minute minutes from "name=level" or
// "name=level/low" items, each with "!state" after it when the printer
// says the supply is low or empty in words.
func rep(minute int, items ...string) arsapi.LevelReport {
	r := arsapi.LevelReport{ReadAt: t0.Add(time.Duration(minute) * time.Minute)}
	for _, it := range items {
		name, v, _ := strings.Cut(it, "=")
		sp := printer.Supply{Name: name, Type: "inkCartridge", ColorName: strings.ToLower(name)}
		v, sp.State, _ = strings.Cut(v, "!")
		if lv, low, ok := strings.Cut(v, "/"); ok {
			fmt.Sscan(lv, &sp.Level)
			fmt.Sscan(low, &sp.Low)
		} else {
			fmt.Sscan(v, &sp.Level)
		}
		r.Supplies = append(r.Supplies, sp)
	}
	return r
}

// step is one thing that happens to an enrollment: a report, or a change
// of state, and the supplies the report must order.
type step struct {
	report    *arsapi.LevelReport
	do        string // "pause", "resume", "cancel", "activate", "threshold=N"
	wantOrder []string
	wantErr   error
}

func report(r arsapi.LevelReport, orders ...string) step {
	return step{report: &r, wantOrder: orders}
}

func TestReportLevelsEngine(t *testing.T) {
	tests := []struct {
		name     string
		provider arsapi.Provider
		steps    []step
	}{
		{"a reading time nanoseconds cannot hold is refused and hides nothing", arsapi.ProviderCanon, []step{
			report(rep(0, "C=50")),
			{report: ptr(readAt(time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), rep(1, "C=5"))), wantErr: ErrInvalid},
			{report: ptr(readAt(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), rep(1, "C=5"))), wantErr: ErrInvalid},
			report(rep(1, "C=5"), "C"),
		}},
		{"above threshold never orders", arsapi.ProviderCanon, []step{
			report(rep(0, "C=80", "M=16", "Y=100")),
			report(rep(1, "C=79", "M=16", "Y=99")),
		}},
		{"at threshold orders once", arsapi.ProviderCanon, []step{
			report(rep(0, "C=20", "M=50")),
			report(rep(1, "C=15", "M=50"), "C"),
			report(rep(2, "C=10", "M=50")),
			report(rep(3, "C=0", "M=50")),
		}},
		{"printer low mark wins over the enrollment threshold", arsapi.ProviderCanon, []step{
			report(rep(0, "C=20/25", "M=20/10"), "C"),
			report(rep(1, "C=19/25", "M=10/10"), "M"),
		}},
		{"several supplies in one report", arsapi.ProviderCanon, []step{
			report(rep(0, "C=5", "M=5", "Y=50", "K=1"), "C", "M", "K"),
		}},
		{"replacement re-arms", arsapi.ProviderCanon, []step{
			report(rep(0, "C=10"), "C"),
			report(rep(1, "C=100")),
			report(rep(2, "C=60")),
			report(rep(3, "C=14"), "C"),
			report(rep(4, "C=12")),
		}},
		{"a rise that stays at or below the threshold does not re-arm", arsapi.ProviderCanon, []step{
			report(rep(0, "C=5"), "C"),
			report(rep(1, "C=12")),
			report(rep(2, "C=15")),
			report(rep(3, "C=4")),
		}},
		{"unknown levels never order and never re-arm", arsapi.ProviderCanon, []step{
			report(rep(0, "C=-2", "M=-3", "Y=-1")),
			report(rep(1, "C=10", "M=-3"), "C"),
			report(rep(2, "C=-2")),
			report(rep(3, "C=-3")),
			report(rep(4, "C=9")),
		}},
		{"said low in words orders once per cartridge", arsapi.ProviderCanon, []step{
			report(rep(0, "K=-3", "C=40")),
			report(rep(1, "K=-3!low", "C=40"), "K"),
			report(rep(1, "K=-3!low", "C=40")),
			report(rep(2, "K=-3!low", "C=39")),
			report(rep(3, "K=-3!empty", "C=39")),
			report(rep(4, "K=-3", "C=39")),
			report(rep(5, "K=-3!low", "C=39"), "K"),
		}},
		{"said low, then silent while another ink shows low: the same cartridge", arsapi.ProviderCanon, []step{
			report(rep(0, "K=-3!low", "C=40/15"), "K"),
			report(rep(1, "K=-3", "C=10/15"), "C"),
			report(rep(2, "K=-3", "C=9/15")),
			report(rep(3, "K=-3!low", "C=100/15")),
			report(rep(4, "K=-3", "C=99/15")),
			report(rep(5, "K=-3!low", "C=98/15"), "K"),
		}},
		{"duplicate report orders once", arsapi.ProviderCanon, []step{
			report(rep(0, "C=10"), "C"),
			report(rep(0, "C=10")),
			report(rep(0, "C=10")),
		}},
		{"out-of-order older report neither orders nor re-arms", arsapi.ProviderCanon, []step{
			report(rep(5, "C=50")),
			report(rep(1, "C=5")), // older: ignored
			report(rep(6, "C=10"), "C"),
			report(rep(2, "C=100")), // older replacement: ignored
			report(rep(7, "C=9")),
		}},
		{"paused never orders; resume orders on the next report", arsapi.ProviderCanon, []step{
			{do: "pause"},
			report(rep(0, "C=10")),
			{do: "resume"},
			report(rep(0, "C=10")), // same reading: nothing new
			report(rep(1, "C=9"), "C"),
		}},
		{"pending amazon stores levels and never orders until active", arsapi.ProviderAmazon, []step{
			report(rep(0, "C=10")),
			{do: "activate"},
			report(rep(1, "C=10"), "C"),
		}},
		{"cancelled refuses reports", arsapi.ProviderCanon, []step{
			report(rep(0, "C=50")),
			{do: "cancel"},
			{report: ptr(rep(1, "C=1")), wantErr: ErrNotActive},
		}},
		{"threshold change applies to the next report", arsapi.ProviderCanon, []step{
			report(rep(0, "C=20")),
			{do: "threshold=25"},
			report(rep(1, "C=20"), "C"),
		}},
		{"supply order in the report does not matter", arsapi.ProviderCanon, []step{
			report(rep(0, "C=50", "M=10"), "M"),
			report(rep(1, "M=10", "C=50")),
		}},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := mustEnroll(t, s, "acct", tt.provider, fmt.Sprintf("ENGINE%d", i))
				total := 0
				for j, st := range tt.steps {
					if st.do != "" {
						var err error
						switch {
						case st.do == "pause" || st.do == "resume":
							_, err = s.SetPaused(ctx, "acct", e.ID, st.do == "pause")
						case st.do == "cancel":
							_, err = s.CancelEnrollment(ctx, "acct", e.ID, arsapi.CancelRequest{Reasons: []string{"other"}})
						case st.do == "activate":
							err = s.ActivateEnrollment(ctx, e.ID)
						case strings.HasPrefix(st.do, "threshold="):
							var n int
							fmt.Sscan(strings.TrimPrefix(st.do, "threshold="), &n)
							_, err = s.SetThreshold(ctx, "acct", e.ID, n)
						}
						if err != nil {
							t.Fatalf("step %d %s: %v", j, st.do, err)
						}
						continue
					}
					res, err := s.ReportLevels(ctx, "acct", e.ID, *st.report)
					if !errors.Is(err, st.wantErr) {
						t.Fatalf("step %d: err = %v, want %v", j, err, st.wantErr)
					}
					var got []string
					for _, o := range res.Orders {
						got = append(got, o.Supply)
						if o.State != arsapi.OrderPlaced || o.EnrollmentID != e.ID || o.Fulfilment != "none" || len(o.History) != 1 {
							t.Errorf("step %d: order %+v", j, o)
						}
					}
					slices.Sort(got)
					want := slices.Clone(st.wantOrder)
					slices.Sort(want)
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("step %d: ordered %v, want %v", j, got, want)
					}
					total += len(want)
				}
				l, err := s.ListOrders(ctx, "acct", e.ID, "", 0)
				if err != nil {
					t.Fatal(err)
				}
				if len(l.Items) != total {
					t.Errorf("ListOrders has %d orders, want %d", len(l.Items), total)
				}
			})
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestReportLevelsKeepsSaidState: what the printer says of a supply in
// words is stored with its level and shown with the enrollment, and a
// state that is not low or empty is refused.
func TestReportLevelsKeepsSaidState(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		e := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "SAID")
		if _, err := s.ReportLevels(ctx, "acct", e.ID, rep(0, "K=-3!low", "C=40")); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetEnrollment(ctx, "acct", e.ID)
		if err != nil {
			t.Fatal(err)
		}
		var states []string
		for _, sp := range got.Supplies {
			states = append(states, sp.Name+":"+sp.State)
		}
		if fmt.Sprint(states) != "[K:low C:]" {
			t.Errorf("supplies' states %v", states)
		}
		if _, err := s.ReportLevels(ctx, "acct", e.ID, rep(1, "K=-3!nearly", "C=40")); !errors.Is(err, ErrInvalid) {
			t.Errorf("state nearly: err = %v, want ErrInvalid", err)
		}
	})
}

// readAt is r read at t.
func readAt(t time.Time, r arsapi.LevelReport) arsapi.LevelReport {
	r.ReadAt = t
	return r
}

// TestReportLevelsOrdersOnlyInkAndToner reports, all below the threshold,
// an ink, a toner, a supply of no type, a tri-colour cartridge and the
// parts a printer reports that are not sold as ink: a waste ink tank
// (typed, or a receptacle by class only, or named "Maintenance Box"), a
// drum and a fuser. Only the first four order, the cartridge once with all
// its colours, and the parts' levels are kept for display.
func TestReportLevelsOrdersOnlyInkAndToner(t *testing.T) {
	tri := []string{"#00FFFF", "#FF00FF", "#FFFF00"}
	r := arsapi.LevelReport{ReadAt: t0, Supplies: []printer.Supply{
		{Name: "BK", Type: "inkCartridge", ColorName: "black", Level: 5},
		{Name: "Color", Type: "inkCartridge", Colors: tri, Level: 4},
		{Name: "Black Toner", Type: "toner", Level: 3},
		{Name: "Y", Level: 2},
		{Name: "Waste Ink Tank", Type: "wasteInk", Level: 2},
		{Name: "Tank 2", Class: printer.ClassReceptacle, Level: 1},
		{Name: "Maintenance Box", Level: 0},
		{Name: "Imaging Drum", Type: "opc", Level: 1},
		{Name: "Fuser", Type: "fuser", Level: 1},
	}}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		e := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "KINDS")
		res, err := s.ReportLevels(ctx, "acct", e.ID, r)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, o := range res.Orders {
			got[o.Supply] = o.Color
		}
		want := map[string]string{"BK": "black", "Color": "#00FFFF#FF00FF#FFFF00", "Black Toner": "", "Y": ""}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("orders (supply: colour) = %v, want %v", got, want)
		}
		// Fuller waste tanks and a newer report order nothing more.
		r2 := r
		r2.ReadAt = t0.Add(time.Minute)
		r2.Supplies = slices.Clone(r.Supplies)
		r2.Supplies[4].Level, r2.Supplies[5].Level = 99, 100
		res, err = s.ReportLevels(ctx, "acct", e.ID, r2)
		if err != nil || len(res.Orders) != 0 {
			t.Fatalf("second report: %v, orders %+v", err, res.Orders)
		}
		l, err := s.ListOrders(ctx, "acct", e.ID, "", 0)
		if err != nil || len(l.Items) != 4 {
			t.Fatalf("ListOrders: %v, %d orders, want 4", err, len(l.Items))
		}
		got2, err := s.GetEnrollment(ctx, "acct", e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(got2.Supplies); n != len(r.Supplies) {
			t.Fatalf("stored %d supplies, want %d", n, len(r.Supplies))
		}
		if w := got2.Supplies[4]; w.Name != "Waste Ink Tank" || w.Level != 99 || w.LevelText() != "99% full" {
			t.Errorf("stored waste tank = %+v (%s)", w, w.LevelText())
		}
		if c := got2.Supplies[1]; !slices.Equal(c.Colors, tri) {
			t.Errorf("stored tri-colour cartridge = %+v", c)
		}
		// A receptacle known by its class alone is still one when read back.
		if r := got2.Supplies[5]; r.Class != printer.ClassReceptacle || r.Kind() != printer.KindWaste || r.LevelText() != "100% full" {
			t.Errorf("stored receptacle = %+v", r)
		}
	})
}

func TestReportLevelsStoresLatest(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		e := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "LATEST")
		r := arsapi.LevelReport{ReadAt: t0, Supplies: []printer.Supply{
			{Name: "PGBK", Type: "inkCartridge", Colors: []string{"#000000"}, ColorName: "black", Level: 70, Low: 10, High: 100},
			{Name: "CL", Type: "inkCartridge", Colors: []string{"#00FFFF", "#FF00FF", "#FFFF00"}, Level: -3},
		}}
		if _, err := s.ReportLevels(ctx, "acct", e.ID, r); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReportLevels(ctx, "acct", e.ID, rep(-10, "PGBK=1")); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetEnrollment(ctx, "acct", e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LevelsReadAt == nil || !got.LevelsReadAt.Equal(t0) {
			t.Errorf("LevelsReadAt = %v, want %v", got.LevelsReadAt, t0)
		}
		want := []printer.Supply{r.Supplies[0], r.Supplies[1]}
		if fmt.Sprintf("%+v", got.Supplies) != fmt.Sprintf("%+v", want) {
			t.Errorf("Supplies = %+v\nwant %+v", got.Supplies, want)
		}
		l, err := s.ListEnrollments(ctx, "acct", ListFilter{})
		if err != nil || len(l.Items) != 1 || len(l.Items[0].Supplies) != 2 {
			t.Errorf("ListEnrollments supplies: %+v, %v", l, err)
		}

		if _, err := s.ReportLevels(ctx, "other", e.ID, rep(1, "PGBK=1")); !errors.Is(err, ErrNotFound) {
			t.Errorf("another account's report: %v, want ErrNotFound", err)
		}
		bad := []arsapi.LevelReport{
			{Supplies: []printer.Supply{{Name: "X", Level: 101}}},
			{Supplies: []printer.Supply{{Name: "X", Level: -4}}},
			{Supplies: make([]printer.Supply, MaxSupplies+1)},
			{Supplies: []printer.Supply{{Name: strings.Repeat("x", MaxSupplyNameLen+1)}}},
			{Supplies: []printer.Supply{{Name: "X", Colors: []string{"#000000,#FFFFFF"}}}},
			// The core's rule (core.CheckSupplies): no unnamed or repeated
			// supply, and at least one.
			{Supplies: []printer.Supply{{Name: " ", Level: 40}}},
			{Supplies: []printer.Supply{{Name: "PGBK", Level: 40}, {Name: "PGBK ", Level: 30}}},
			{},
		}
		for _, b := range bad {
			if _, err := s.ReportLevels(ctx, "acct", e.ID, b); !errors.Is(err, ErrInvalid) {
				t.Errorf("bad report %.60v: err = %v, want ErrInvalid", b, err)
			}
		}
	})
}

// TestConcurrentIdenticalReports: 50 identical low reports at once place
// exactly one order per low supply.
func TestConcurrentIdenticalReports(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		e := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "CONCURRENT")
		r := rep(0, "C=10", "M=3", "Y=50", "K=-2")
		const n = 50
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			placed []string
		)
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				res, err := s.ReportLevels(ctx, "acct", e.ID, r)
				if err != nil {
					t.Errorf("ReportLevels: %v", err)
					return
				}
				mu.Lock()
				for _, o := range res.Orders {
					placed = append(placed, o.Supply)
				}
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		slices.Sort(placed)
		if fmt.Sprint(placed) != "[C M]" {
			t.Errorf("orders placed by 50 identical reports: %v, want [C M]", placed)
		}
		assertOrderCount(t, d, e.ID, 2)

		// 50 concurrent reports read at different times, interleaving
		// low and replaced readings: every order must follow a replacement.
		e2 := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "CONCURRENT2")
		for i := range n {
			wg.Go(func() {
				lv := "C=5"
				if i%10 == 5 {
					lv = "C=100"
				}
				if _, err := s.ReportLevels(ctx, "acct", e2.ID, rep(i, lv)); err != nil {
					t.Errorf("ReportLevels: %v", err)
				}
			})
		}
		wg.Wait()
		assertNoDoubleOrders(t, d, e2.ID)
		var orders, cycle int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM orders WHERE enrollment_id = ?`, e2.ID).Scan(&orders); err != nil {
			t.Fatal(err)
		}
		if err := d.QueryRow(ctx, `SELECT cycle FROM supply_levels WHERE enrollment_id = ?`, e2.ID).Scan(&cycle); err != nil {
			t.Fatal(err)
		}
		// Five replacement readings: at most six low episodes.
		if orders < 1 || orders > 6 || cycle > 5 {
			t.Errorf("interleaved reports: %d orders, cycle %d; want 1..6 orders, cycle <= 5", orders, cycle)
		}
	})
}

func assertOrderCount(t *testing.T, d *db.DB, enrollmentID string, want int) {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM orders WHERE enrollment_id = ?`, enrollmentID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Errorf("orders in the database: %d, want %d", n, want)
	}
}

// assertNoDoubleOrders checks that each supply's orders are one per cycle
// and that a cycle only moves on after a stored replacement reading.
func assertNoDoubleOrders(t *testing.T, d *db.DB, enrollmentID string) {
	t.Helper()
	if err := checkOrderInvariants(context.Background(), d, enrollmentID); err != nil {
		t.Error(err)
	}
}

// checkOrderInvariants checks an enrollment's orders against its supply
// guards: at most one order per supply and cycle, none from a cycle the
// supply has not reached, and none without a stored supply.
func checkOrderInvariants(ctx context.Context, d *db.DB, enrollmentID string) error {
	rows, err := d.Query(ctx, `SELECT o.id, o.supply, o.cycle, COALESCE(s.cycle, -1) FROM orders o
		LEFT JOIN supply_levels s ON s.enrollment_id = o.enrollment_id AND s.supply = o.supply
		WHERE o.enrollment_id = ?`, enrollmentID)
	if err != nil {
		return err
	}
	defer rows.Close()
	seen := map[string]string{}
	for rows.Next() {
		var (
			id, supply   string
			cycle, guard int64
		)
		if err := rows.Scan(&id, &supply, &cycle, &guard); err != nil {
			return err
		}
		k := fmt.Sprintf("%s#%d", supply, cycle)
		if other, dup := seen[k]; dup {
			return fmt.Errorf("enrollment %s: orders %s and %s for %s in one cycle", enrollmentID, other, id, k)
		}
		seen[k] = id
		if guard < 0 || cycle > guard {
			return fmt.Errorf("enrollment %s: order %s for %s, but the supply is at cycle %d", enrollmentID, id, k, guard)
		}
	}
	return rows.Err()
}

func TestDispatchOutbox(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		now := t0
		s.Now = func() time.Time { return now }
		e := mustEnroll(t, s, "acct", arsapi.ProviderAmazon, "OUTBOX")
		if err := s.ActivateEnrollment(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
		res, err := s.ReportLevels(ctx, "acct", e.ID, rep(0, "C=5", "M=5"))
		if err != nil || len(res.Orders) != 2 {
			t.Fatalf("ReportLevels = %+v, %v", res, err)
		}
		c1, err := s.ClaimDispatch(ctx, 1, time.Minute)
		if err != nil || len(c1) != 1 || c1[0].Attempt != 1 {
			t.Fatalf("ClaimDispatch = %+v, %v", c1, err)
		}
		o := c1[0].Order
		if o.AccountID != "acct" || o.Provider != "amazon" || o.Serial != "OUTBOX" || o.PrinterModel != "TS8320" ||
			o.SupplyType != "inkCartridge" || o.Level != 5 || o.EnrollmentID != e.ID {
			t.Errorf("claimed order = %+v", o)
		}
		c2, err := s.NextDispatch(ctx, 10, time.Minute)
		if err != nil || len(c2) != 1 || c2[0].ID == o.ID {
			t.Fatalf("second claim = %+v, %v; want the other order only", c2, err)
		}
		if c3, err := s.NextDispatch(ctx, 10, time.Minute); err != nil || len(c3) != 0 {
			t.Fatalf("third claim = %+v, %v; want nothing (leased)", c3, err)
		}
		// A transient failure puts it back for later.
		retry := now.Add(30 * time.Second)
		if err := s.RecordDispatch(ctx, o.ID, "amazon-drs", core.Handover{}, errors.New("503 from DRS"), retry); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.NextDispatch(ctx, 10, time.Minute); len(c) != 0 {
			t.Errorf("claimed before retry time: %+v", c)
		}
		now = retry
		c4, err := s.ClaimDispatch(ctx, 10, time.Minute)
		if err != nil || len(c4) != 1 || c4[0].Order.ID != o.ID || c4[0].Attempt != 2 {
			t.Fatalf("claim at retry time = %+v, %v", c4, err)
		}
		if err := s.RecordDispatch(ctx, o.ID, "amazon-drs", core.Handover{State: "in_progress", ExternalID: "amzn-1", Detail: "ORDER_INPROGRESS"}, nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
		// Recording again (a late duplicate) changes nothing.
		if err := s.RecordDispatch(ctx, o.ID, "amazon-drs", core.Handover{}, errors.New("late"), time.Time{}); err != nil {
			t.Fatal(err)
		}
		// The other order's lease runs out: it is claimed again, then fails.
		now = now.Add(2 * time.Minute)
		c5, err := s.ClaimDispatch(ctx, 10, time.Minute)
		if err != nil || len(c5) != 1 || c5[0].Order.ID != c2[0].ID || c5[0].Attempt != 2 {
			t.Fatalf("claim after lease expiry = %+v, %v", c5, err)
		}
		if err := s.RecordDispatch(ctx, c2[0].ID, "amazon-drs", core.Handover{}, fmt.Errorf("unknown slot: %w", fulfil.ErrPermanent), time.Time{}); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.NextDispatch(ctx, 10, time.Minute); len(c) != 0 {
			t.Errorf("outbox not empty: %+v", c)
		}
		if err := s.RecordDispatch(ctx, "nope", "x", core.Handover{}, nil, time.Time{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("RecordDispatch(unknown) = %v", err)
		}
		if err := s.RecordDispatch(ctx, o.ID, "x", core.Handover{State: "weird"}, nil, time.Time{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("RecordDispatch(bad state) = %v", err)
		}

		got, err := s.GetOrder(ctx, "acct", o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != arsapi.OrderInProgress || got.ExternalID != "amzn-1" || got.Fulfilment != "amazon-drs" || len(got.History) != 3 {
			t.Errorf("dispatched order = %+v", got)
		}
		if h := got.History; h[0].State != "placed" || h[1].State != "placed" || !strings.Contains(h[1].Detail, "503 from DRS") ||
			h[2].State != "in_progress" || !strings.Contains(h[2].Detail, "ORDER_INPROGRESS") {
			t.Errorf("history = %+v", h)
		}
		failed, err := s.GetOrder(ctx, "acct", c2[0].ID)
		if err != nil || failed.State != arsapi.OrderFailed || !strings.Contains(failed.History[len(failed.History)-1].Detail, "unknown slot") {
			t.Errorf("failed order = %+v, %v", failed, err)
		}
		if _, err := s.GetOrder(ctx, "other", o.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("another account's order: %v", err)
		}
	})
}

func TestListOrdersPaging(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		e := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "PAGES")
		// Five cycles of C: low, replaced.
		for i := range 5 {
			if _, err := s.ReportLevels(ctx, "acct", e.ID, rep(2*i, "C=3")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ReportLevels(ctx, "acct", e.ID, rep(2*i+1, "C=100")); err != nil {
				t.Fatal(err)
			}
		}
		var got []time.Time
		cur := ""
		for {
			l, err := s.ListOrders(ctx, "acct", e.ID, cur, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range l.Items {
				got = append(got, o.CreatedAt)
			}
			if cur = l.NextCursor; cur == "" {
				break
			}
		}
		if len(got) != 5 || !slices.IsSortedFunc(got, func(a, b time.Time) int { return b.Compare(a) }) {
			t.Errorf("paged orders: %v (want 5, newest first)", got)
		}
		if _, err := s.ListOrders(ctx, "other", e.ID, "", 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("another account's orders: %v", err)
		}
		assertNoDoubleOrders(t, d, e.ID)
	})
}

// TestReportLevelsOneConnection: with a single-connection pool (SQLite
// ":memory:") concurrent reports and reads still finish: nothing inside a
// transaction waits for a second connection.
func TestReportLevelsOneConnection(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := New(d)
	e := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "MEM")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, err := s.ReportLevels(ctx, "acct", e.ID, rep(i, "C=10", fmt.Sprintf("M=%d", 100-i))); err != nil {
				t.Error(err)
			}
			if _, err := s.GetEnrollment(ctx, "acct", e.ID); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, err := s.ReportLevels(ctx, "acct", e.ID, arsapi.LevelReport{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty report: %v, want ErrInvalid", err)
	}
	assertOrderCount(t, d, e.ID, 1)
}

// TestReportWaitsForCommittedSupplies: on PostgreSQL a report that waits
// for the enrollment's row lock must read the supplies the lock holder
// committed, not the ones it saw before waiting. Another transaction takes
// the lock, moves supply C to a new cycle and commits while the report
// waits; the report must keep that cycle.
func TestReportWaitsForCommittedSupplies(t *testing.T) {
	d := dbtest.Postgres(t)
	ctx := context.Background()
	s := New(d)
	e := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "LOCKWAIT")
	if _, err := s.ReportLevels(ctx, "acct", e.ID, rep(0, "C=5")); err != nil {
		t.Fatal(err)
	}

	holder, err := d.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	if _, err := holder.ExecContext(ctx, `SELECT 1 FROM enrollments WHERE id = $1 FOR UPDATE`, e.ID); err != nil {
		t.Fatal(err)
	}
	// What a report of a replaced and again low cartridge leaves behind.
	if _, err := holder.ExecContext(ctx, `UPDATE supply_levels SET cycle = 1, armed = 0, order_level = 4, level = 4, read_at = $1
		WHERE enrollment_id = $2 AND supply = 'C'`, nanos(t0.Add(2*time.Minute)), e.ID); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := s.ReportLevels(ctx, "acct", e.ID, rep(3, "C=4"))
		done <- err
	}()
	// Commit only once the report is waiting for the lock.
	for waiting := false; !waiting; {
		if err := d.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("report finished while the lock was held: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := holder.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("ReportLevels: %v", err)
	}
	var cycle, level int
	if err := d.QueryRow(ctx, `SELECT cycle, level FROM supply_levels WHERE enrollment_id = ? AND supply = 'C'`, e.ID).Scan(&cycle, &level); err != nil {
		t.Fatal(err)
	}
	if cycle != 1 || level != 4 {
		t.Errorf("after the waiting report: cycle %d, level %d; want cycle 1 (committed while it waited), level 4", cycle, level)
	}
}

// TestReportLevelsNewNamesDoNotGrowSupplies: a client inventing 64 new
// supply names in every report keeps at most MaxSupplies stored supplies
// (those of its last report), not every name it ever sent.
func TestReportLevelsNewNamesDoNotGrowSupplies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		e := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "RENAMER")
		var last arsapi.LevelReport
		for r := range 10 {
			items := make([]string, MaxSupplies)
			for i := range items {
				items[i] = fmt.Sprintf("r%d-s%d=50", r, i)
			}
			last = rep(r, items...)
			if _, err := s.ReportLevels(ctx, "acct", e.ID, last); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GetEnrollment(ctx, "acct", e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Supplies) != MaxSupplies {
			t.Fatalf("%d supplies stored after 10 reports of %d new names, want %d", len(got.Supplies), MaxSupplies, MaxSupplies)
		}
		for i, sp := range got.Supplies {
			if sp.Name != last.Supplies[i].Name {
				t.Fatalf("supply %d = %q, want %q of the last report", i, sp.Name, last.Supplies[i].Name)
			}
		}
		var rows int
		if err := d.QueryRow(ctx, `SELECT count(*) FROM supply_levels WHERE enrollment_id = ?`, e.ID).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != MaxSupplies {
			t.Errorf("%d supply_levels rows, want %d", rows, MaxSupplies)
		}
	})
}

// TestReportLevelsOrdersCappedPerDay: a client inventing low supplies at
// every report placed an order for each (64 a report, without bound); an
// enrollment places at most MaxOrdersPerEnrollmentPerDay orders in 24
// hours. A supply left out by the cap stays armed and orders once the day
// has room; the ones already ordered do not order again.
func TestReportLevelsOrdersCappedPerDay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		now := t0.Add(time.Hour)
		s.Now = func() time.Time { return now }
		e := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "ORDERCAP")
		other := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "ORDERCAP2")
		const n = MaxOrdersPerEnrollmentPerDay + 8
		low := func(minute int, prefix string) arsapi.LevelReport {
			items := make([]string, n)
			for i := range items {
				items[i] = fmt.Sprintf("%s%d=5/15", prefix, i)
			}
			return rep(minute, items...)
		}
		placed := func(en string, r arsapi.LevelReport) int {
			t.Helper()
			res, err := s.ReportLevels(ctx, "acct", en, r)
			if err != nil {
				t.Fatal(err)
			}
			return len(res.Orders)
		}
		if got := placed(e.ID, low(0, "a")); got != MaxOrdersPerEnrollmentPerDay {
			t.Fatalf("first report of %d low supplies placed %d orders, want %d", n, got, MaxOrdersPerEnrollmentPerDay)
		}
		for r := 1; r <= 5; r++ {
			if got := placed(e.ID, low(r, fmt.Sprintf("r%d-", r))); got != 0 {
				t.Fatalf("report %d of new low names placed %d orders the same day, want 0", r, got)
			}
		}
		assertOrderCount(t, d, e.ID, MaxOrdersPerEnrollmentPerDay)
		if got := placed(other.ID, low(0, "a")); got != MaxOrdersPerEnrollmentPerDay {
			t.Errorf("another enrollment placed %d orders, want its own %d", got, MaxOrdersPerEnrollmentPerDay)
		}

		// A day later the supplies the cap held back order; those ordered
		// the day before do not order again.
		now = now.Add(24 * time.Hour)
		if got := placed(e.ID, low(60, "r5-")); got != MaxOrdersPerEnrollmentPerDay {
			t.Fatalf("a day later, the held-back supplies placed %d orders, want %d", got, MaxOrdersPerEnrollmentPerDay)
		}
		now = now.Add(24 * time.Hour)
		if got := placed(e.ID, low(120, "r5-")); got != n-MaxOrdersPerEnrollmentPerDay {
			t.Fatalf("two days later: %d orders, want the %d supplies still armed", got, n-MaxOrdersPerEnrollmentPerDay)
		}
		if got := placed(e.ID, low(121, "r5-")); got != 0 {
			t.Fatalf("the same supplies again: %d orders, want 0", got)
		}
		assertOrderCount(t, d, e.ID, 2*MaxOrdersPerEnrollmentPerDay+n-MaxOrdersPerEnrollmentPerDay)
	})
}
