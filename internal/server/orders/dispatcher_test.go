package orders

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// recorder is a fulfil.Fulfiller that records every hand-over. fail, when
// set, decides the error of call number n (1-based) for an order.
type recorder struct {
	name  string
	state string
	fail  func(o fulfil.Order, n int) error

	mu      sync.Mutex
	calls   map[string]int
	orders  map[string]fulfil.Order
	dereg   []string
	deregFn func(n int) error
}

func newRecorder(name, state string) *recorder {
	return &recorder{name: name, state: state, calls: map[string]int{}, orders: map[string]fulfil.Order{}}
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) Place(ctx context.Context, o fulfil.Order) (fulfil.Result, error) {
	r.mu.Lock()
	r.calls[o.ID]++
	n := r.calls[o.ID]
	r.orders[o.ID] = o
	r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(o, n); err != nil {
			return fulfil.Result{}, err
		}
	}
	return fulfil.Result{State: r.state, ExternalID: r.name + "-" + o.ID, Detail: "OK"}, nil
}

func (r *recorder) Deregister(ctx context.Context, enrollmentID string) error {
	r.mu.Lock()
	r.dereg = append(r.dereg, enrollmentID)
	n := len(r.dereg)
	r.mu.Unlock()
	if r.deregFn != nil {
		return r.deregFn(n)
	}
	return nil
}

func (r *recorder) callCounts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.calls))
	for k, v := range r.calls {
		out[k] = v
	}
	return out
}

// replicas opens the same fresh database twice, as two arsd replicas would.
func replicas(t *testing.T, dialect db.Dialect) (*db.DB, *db.DB) {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "ars.db")
	if dialect == db.Postgres {
		dsn = dbtest.PostgresDSN(t)
	}
	var out [2]*db.DB
	for i := range out {
		d, err := db.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		out[i] = d
	}
	return out[0], out[1]
}

func eachReplicas(t *testing.T, fn func(t *testing.T, a, b *db.DB)) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			a, b := replicas(t, dialect)
			fn(t, a, b)
		})
	}
}

// placeOrders enrolls n printers of provider and reports two low supplies
// for each, returning the order IDs.
func placeOrders(t *testing.T, s *store.Store, provider arsapi.Provider, n int) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for i := range n {
		e, err := s.CreateEnrollment(ctx, "acct", arsapi.CreateEnrollmentRequest{
			Provider: provider, Printer: arsapi.Printer{Model: "TS8320", Serial: fmt.Sprintf("%s-%d", provider, i)}, TermsVersion: "1",
		}, 15)
		if err != nil {
			t.Fatal(err)
		}
		if provider == arsapi.ProviderAmazon {
			if err := s.ActivateEnrollment(ctx, e.ID); err != nil {
				t.Fatal(err)
			}
		}
		res, err := s.ReportLevels(ctx, "acct", e.ID, arsapi.LevelReport{ReadAt: time.Now(), Supplies: []printer.Supply{
			{Name: "C", ColorName: "cyan", Level: 5}, {Name: "M", ColorName: "magenta", Level: 10}, {Name: "Y", Level: 90},
		}})
		if err != nil || len(res.Orders) != 2 {
			t.Fatalf("ReportLevels = %+v, %v", res, err)
		}
		for _, o := range res.Orders {
			ids = append(ids, o.ID)
		}
	}
	return ids
}

func orderByID(t *testing.T, s *store.Store, id string) arsapi.Order {
	t.Helper()
	o, err := s.GetOrder(context.Background(), "acct", id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// waitOutboxEmpty polls until no order waits for dispatch. It does not
// measure time: the long deadline only stops a hung test.
func waitOutboxEmpty(t *testing.T, d *db.DB) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var n int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM orders WHERE next_attempt_at IS NOT NULL`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d orders still in the outbox", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTwoDispatchersExactlyOnce: two dispatchers on two connections to one
// database (two arsd replicas) hand every order over exactly once, to the
// fulfiller of its provider.
func TestTwoDispatchersExactlyOnce(t *testing.T) {
	eachReplicas(t, func(t *testing.T, a, b *db.DB) {
		sa, sb := store.New(a), store.New(b)
		amazonIDs := placeOrders(t, sa, arsapi.ProviderAmazon, 15)
		canonIDs := placeOrders(t, sb, arsapi.ProviderCanon, 15)

		amazon := newRecorder("amazon-drs", "in_progress")
		hook := newRecorder("webhook", "placed")
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, s := range []*store.Store{sa, sb} {
			d := New(s, Config{Amazon: amazon, Webhook: hook, PollInterval: 5 * time.Millisecond, Batch: 4})
			s.OrdersPlaced = d.Poke
			wg.Go(func() {
				if err := d.Run(ctx); err != nil {
					t.Errorf("Run: %v", err)
				}
			})
		}
		waitOutboxEmpty(t, a)
		cancel()
		wg.Wait()

		check := func(r *recorder, ids []string, provider string, state arsapi.OrderState) {
			calls := r.callCounts()
			if len(calls) != len(ids) {
				t.Errorf("%s got %d orders, want %d", r.name, len(calls), len(ids))
			}
			for _, id := range ids {
				if calls[id] != 1 {
					t.Errorf("%s: order %s handed over %d times, want 1", r.name, id, calls[id])
				}
				if got := r.orders[id]; got.Provider != provider || got.AccountID != "acct" || got.Serial == "" {
					t.Errorf("%s: order %+v", r.name, got)
				}
				o := orderByID(t, sa, id)
				if o.State != state || o.Fulfilment != r.name || o.ExternalID != r.name+"-"+id || len(o.History) != 2 {
					t.Errorf("order after dispatch = %+v", o)
				}
			}
		}
		check(amazon, amazonIDs, "amazon", arsapi.OrderInProgress)
		check(hook, canonIDs, "canon", arsapi.OrderPlaced)
	})
}

// TestPokeAfterReport: with a poll interval that never fires, a report that
// places orders wakes the dispatcher through the store's OrdersPlaced hook.
func TestPokeAfterReport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := store.New(d)
		hook := newRecorder("webhook", "placed")
		disp := New(s, Config{Webhook: hook, PollInterval: time.Hour})
		s.OrdersPlaced = disp.Poke
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- disp.Run(ctx) }()
		ids := placeOrders(t, s, arsapi.ProviderCanon, 1)
		waitOutboxEmpty(t, d)
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
		if c := hook.callCounts(); len(c) != 2 || c[ids[0]] != 1 || c[ids[1]] != 1 {
			t.Errorf("calls = %v", c)
		}
	})
}

// drain runs DispatchOnce until the outbox is empty, waiting for retries to
// come due.
func drain(t *testing.T, disp *Dispatcher, d *db.DB) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := disp.DispatchOnce(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM orders WHERE next_attempt_at IS NOT NULL`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d orders still in the outbox", n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestRetries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := store.New(d)
		ids := placeOrders(t, s, arsapi.ProviderAmazon, 2) // 4 orders
		transient, permanent, flaky, hopeless := ids[0], ids[1], ids[2], ids[3]
		amazon := newRecorder("amazon-drs", "placed")
		amazon.fail = func(o fulfil.Order, n int) error {
			switch o.ID {
			case transient:
				if n <= 2 {
					return errors.New("503 Service Unavailable")
				}
			case permanent:
				return fmt.Errorf("unknown slot: %w", fulfil.ErrPermanent)
			case flaky:
				if n == 1 {
					panic("fulfiller bug")
				}
			case hopeless:
				return errors.New("connection refused")
			}
			return nil
		}
		reg := prometheus.NewRegistry()
		m := NewMetrics(reg)
		disp := New(s, Config{Amazon: amazon, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, MaxAttempts: 4, Metrics: m})
		drain(t, disp, d)
		for outcome, want := range map[string]float64{"ok": 2, "retry": 2 + 1 + 3, "failed": 2} {
			var pm dto.Metric
			if err := m.HandOvers.WithLabelValues("amazon-drs", outcome).Write(&pm); err != nil {
				t.Fatal(err)
			}
			if got := pm.GetCounter().GetValue(); got != want {
				t.Errorf("arsd_order_handovers_total{outcome=%q} = %v, want %v", outcome, got, want)
			}
		}

		calls := amazon.callCounts()
		want := map[string]int{transient: 3, permanent: 1, flaky: 2, hopeless: 4}
		for id, n := range want {
			if calls[id] != n {
				t.Errorf("order %s: %d calls, want %d", id, calls[id], n)
			}
		}
		o := orderByID(t, s, transient)
		if o.State != arsapi.OrderPlaced || o.Fulfilment != "amazon-drs" || len(o.History) != 4 ||
			!strings.Contains(o.History[1].Detail, "503") || !strings.Contains(o.History[1].Detail, "retrying at") ||
			!strings.Contains(o.History[3].Detail, "handed to amazon-drs") {
			t.Errorf("retried order = %+v", o)
		}
		o = orderByID(t, s, permanent)
		if o.State != arsapi.OrderFailed || len(o.History) != 2 || !strings.Contains(o.History[1].Detail, "unknown slot") {
			t.Errorf("permanently failed order = %+v", o)
		}
		o = orderByID(t, s, flaky)
		if o.State != arsapi.OrderPlaced || !strings.Contains(o.History[1].Detail, "panicked") {
			t.Errorf("order after a panic = %+v", o)
		}
		o = orderByID(t, s, hopeless)
		if o.State != arsapi.OrderFailed || len(o.History) != 5 || !strings.Contains(o.History[4].Detail, "giving up after 4 attempts") {
			t.Errorf("order failing every time = %+v", o)
		}
	})
}

// TestNoFulfiller replays a default arsd's order: no fulfiller takes
// canon orders, so they become unfulfilled in the owner's order inbox
// (not "placed"), are listed there, and the owner marks one bought.
func TestNoFulfiller(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := store.New(d)
		ids := placeOrders(t, s, arsapi.ProviderCanon, 1)
		amazon := newRecorder("amazon-drs", "placed")
		disp := New(s, Config{Amazon: amazon}) // no webhook: canon orders go nowhere
		if got := disp.Unfulfilled([]string{"canon", "amazon"}); len(got) != 1 || got[0] != "canon" {
			t.Errorf("Unfulfilled = %q, want [canon]", got)
		}
		drain(t, disp, d)
		if c := amazon.callCounts(); len(c) != 0 {
			t.Errorf("amazon got canon orders: %v", c)
		}
		for _, id := range ids {
			o := orderByID(t, s, id)
			if o.State != arsapi.OrderUnfulfilled || o.Fulfilment != arsapi.FulfilmentInbox || len(o.History) != 2 ||
				!strings.Contains(o.History[1].Detail, "no fulfiller for canon orders") || strings.Contains(o.History[1].Detail, "handed to none") {
				t.Errorf("order with no fulfiller = %+v", o)
			}
		}
		inbox, err := s.ListAccountOrders(ctx, "acct", arsapi.OrderUnfulfilled, "", 0)
		if err != nil || len(inbox.Items) != len(ids) {
			t.Fatalf("inbox = %+v, %v", inbox, err)
		}
		if l, _ := s.ListAccountOrders(ctx, "someone-else", "", "", 0); len(l.Items) != 0 {
			t.Errorf("another account sees %d orders", len(l.Items))
		}

		if _, err := s.MarkOrderBought(ctx, "someone-else", ids[0]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another account marks it: %v", err)
		}
		for range 2 { // the second time changes nothing
			o, err := s.MarkOrderBought(ctx, "acct", ids[0])
			if err != nil || o.State != arsapi.OrderBought || len(o.History) != 3 || o.History[2].State != arsapi.OrderBought {
				t.Fatalf("MarkOrderBought = %+v, %v", o, err)
			}
		}
		inbox, _ = s.ListAccountOrders(ctx, "acct", arsapi.OrderUnfulfilled, "", 0)
		if len(inbox.Items) != len(ids)-1 {
			t.Errorf("inbox after bought: %d orders", len(inbox.Items))
		}

		// An order a fulfiller took is not the owner's to mark.
		shipped := placeOrders(t, s, arsapi.ProviderAmazon, 1)
		drain(t, disp, d)
		if _, err := s.MarkOrderBought(ctx, "acct", shipped[0]); !errors.Is(err, store.ErrOrderNotOpen) {
			t.Errorf("mark a handed-over order: %v", err)
		}
	})
}

func TestDeregister(t *testing.T) {
	ctx := context.Background()
	amazon := newRecorder("amazon-drs", "placed")
	amazon.deregFn = func(n int) error {
		if n == 1 {
			return errors.New("timeout")
		}
		return nil
	}
	disp := New(nil, Config{Amazon: amazon, Webhook: newRecorder("webhook", "placed"), MinBackoff: time.Millisecond})
	if err := disp.Deregister(ctx, "enr-1"); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(amazon.dereg) != "[enr-1 enr-1]" {
		t.Errorf("amazon deregistrations = %v, want a retry after the first failure", amazon.dereg)
	}
	amazon.dereg = nil
	amazon.deregFn = func(int) error { return fmt.Errorf("revoked: %w", fulfil.ErrPermanent) }
	if err := disp.Deregister(ctx, "enr-2"); !errors.Is(err, fulfil.ErrPermanent) || len(amazon.dereg) != 1 {
		t.Errorf("permanent deregistration failure: %v after %d calls", err, len(amazon.dereg))
	}
	if err := New(nil, Config{}).Deregister(ctx, "enr-3"); err != nil {
		t.Errorf("Deregister with no fulfillers = %v", err)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt  int
		r        float64
		want     time.Duration
		min, max time.Duration
	}{
		{1, 0, 2 * time.Second, 2 * time.Second, time.Minute},
		{2, 0, 4 * time.Second, 2 * time.Second, time.Minute},
		{3, 0.5, 6 * time.Second, 2 * time.Second, time.Minute},
		{10, 0, time.Minute, 2 * time.Second, time.Minute},
		{1000, 0.999, 30*time.Second + 30*time.Millisecond, 2 * time.Second, time.Minute},
	}
	for _, tt := range tests {
		if got := Backoff(tt.attempt, tt.min, tt.max, tt.r); got != tt.want {
			t.Errorf("Backoff(%d, r=%v) = %v, want %v", tt.attempt, tt.r, got, tt.want)
		}
	}
}

// blocker is a fulfiller whose Place waits until its context ends.
type blocker struct{ started chan string }

func (b *blocker) Name() string { return "webhook" }

func (b *blocker) Place(ctx context.Context, o fulfil.Order) (fulfil.Result, error) {
	b.started <- o.ID
	<-ctx.Done()
	return fulfil.Result{}, ctx.Err()
}

// TestShutdownMidHandOver: stopping Run while Place is under way returns,
// and leaves the order due at once for the next dispatcher.
func TestShutdownMidHandOver(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := store.New(d)
		ids := placeOrders(t, s, arsapi.ProviderCanon, 1)
		b := &blocker{started: make(chan string, len(ids))}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- New(s, Config{Webhook: b, MinBackoff: time.Hour}).Run(ctx) }()
		<-b.started
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
		hook := newRecorder("webhook", "placed")
		drain(t, New(s, Config{Webhook: hook}), d)
		for _, id := range ids {
			if hook.callCounts()[id] != 1 {
				t.Errorf("order %s not handed over after the restart", id)
			}
			o := orderByID(t, s, id)
			if o.State != arsapi.OrderPlaced || o.Fulfilment != "webhook" || !strings.Contains(o.History[1].Detail, "interrupted by shutdown") {
				t.Errorf("order = %+v", o)
			}
		}
	})
}
