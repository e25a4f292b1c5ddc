// Package orders hands placed orders over to whoever ships the ink: a
// dispatcher that claims orders from the store's outbox, picks a
// fulfil.Fulfiller by the enrollment's provider, and records the outcome,
// retrying transient failures with exponential backoff and jitter.
//
// Several arsd replicas may run a dispatcher on one PostgreSQL database:
// claims take a lease (FOR UPDATE SKIP LOCKED), so an order is handed over
// by one replica at a time. Hand-over is at least once (a replica that
// dies between Place and recording it leaves the order to be claimed again
// when the lease runs out); fulfillers pass the order ID on as an
// idempotency key.
package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// NoFulfiller is the fulfilment recorded on orders that no fulfiller
// takes: they become "unfulfilled" and wait in the owner's order inbox.
const NoFulfiller = arsapi.FulfilmentInbox

// Outbox is the store side of dispatching; *store.Store implements it.
type Outbox interface {
	ClaimDispatch(ctx context.Context, limit int, lease time.Duration) ([]core.Claim, error)
	RecordDispatch(ctx context.Context, orderID, fulfiller string, res fulfil.Result, dispatchErr error, retryAt time.Time) error
}

// NoticeBox is the store side of the notices of scheduled orders;
// *store.Store implements it.
type NoticeBox interface {
	ClaimScheduledNotices(ctx context.Context, limit int, lease time.Duration) ([]core.ScheduledNotice, error)
	RecordScheduledNotice(ctx context.Context, orderID string, sendErr error, retryAt time.Time) error
}

// Config configures a Dispatcher. Zero values take the defaults.
type Config struct {
	// Amazon takes the orders of enrollments with provider "amazon".
	Amazon fulfil.Fulfiller
	// Webhook takes every other order. With no fulfiller for an order it
	// becomes "unfulfilled" and waits in the owner's order inbox.
	Webhook fulfil.Fulfiller
	// Notifiers are told of every scheduled order (the webhook's
	// order.scheduled event) when the Outbox is also a NoticeBox.
	Notifiers []fulfil.Notifier
	Logger    *slog.Logger
	// Metrics, when set, counts hand-overs (see NewMetrics).
	Metrics *Metrics

	// PollInterval is how often the outbox is checked without a Poke
	// (other replicas' orders, retries coming due). Default 2s.
	PollInterval time.Duration
	// PlaceTimeout bounds one Place call. Default 30s.
	PlaceTimeout time.Duration
	// Lease is how long a claim keeps other dispatchers off an order; it
	// must exceed PlaceTimeout. Default 2 × PlaceTimeout + 10s.
	Lease time.Duration
	// Batch is how many orders are claimed, and handed over concurrently,
	// at a time. Default 16.
	Batch int
	// MaxAttempts is how many hand-overs are tried before an order fails
	// for good. Default 10.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait before a retry: MinBackoff
	// doubled per failed attempt, at most MaxBackoff, of which a random
	// half is taken off. Defaults 2s and 10m.
	MinBackoff, MaxBackoff time.Duration
	// DeregisterAttempts is how many times Deregister tries. Default 3.
	DeregisterAttempts int
	// Now is the clock for retry times; default time.Now.
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.PlaceTimeout <= 0 {
		c.PlaceTimeout = 30 * time.Second
	}
	if c.Lease <= c.PlaceTimeout {
		c.Lease = 2*c.PlaceTimeout + 10*time.Second
	}
	if c.Batch <= 0 {
		c.Batch = 16
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 2 * time.Second
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(10*time.Minute, c.MinBackoff)
	}
	if c.DeregisterAttempts <= 0 {
		c.DeregisterAttempts = 3
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Dispatcher moves orders from the outbox to fulfillers. Create it with
// New, start it with Run.
type Dispatcher struct {
	out  Outbox
	cfg  Config
	log  *slog.Logger
	poke chan struct{}
}

var _ fulfil.Deregisterer = (*Dispatcher)(nil)

// New returns a dispatcher working on out.
func New(out Outbox, cfg Config) *Dispatcher {
	cfg.defaults()
	names := []string{NoFulfiller}
	for _, f := range []fulfil.Fulfiller{cfg.Amazon, cfg.Webhook} {
		if f != nil {
			names = append(names, f.Name())
		}
	}
	cfg.Metrics.init(names)
	return &Dispatcher{out: out, cfg: cfg, log: cfg.Logger.With("component", "orders"), poke: make(chan struct{}, 1)}
}

// Poke wakes the dispatcher up at once, e.g. after a level report placed
// orders (set store.Store.OrdersPlaced to it). It never blocks.
func (d *Dispatcher) Poke() {
	select {
	case d.poke <- struct{}{}:
	default:
	}
}

// FulfillerFor returns the fulfiller of an enrollment's provider, or nil
// when none is configured.
func (d *Dispatcher) FulfillerFor(provider string) fulfil.Fulfiller {
	if provider == string(arsapi.ProviderAmazon) {
		return d.cfg.Amazon
	}
	return d.cfg.Webhook
}

// Unfulfilled returns those of providers whose orders no fulfiller takes
// (they end in the order inbox), for a warning at start.
func (d *Dispatcher) Unfulfilled(providers []string) []string {
	var out []string
	for _, p := range providers {
		if d.FulfillerFor(p) == nil {
			out = append(out, p)
		}
	}
	return out
}

// Run dispatches until ctx is done, then waits for hand-overs under way to
// be recorded and returns nil. Store errors are logged and retried at the
// next poll.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.PollInterval)
	defer t.Stop()
	for {
		for {
			n, err := d.DispatchOnce(ctx)
			if err != nil && ctx.Err() == nil {
				d.log.ErrorContext(ctx, "dispatch orders", "err", err)
			}
			if err != nil || n < d.cfg.Batch || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.poke:
		case <-t.C:
		}
	}
}

// DispatchOnce claims up to Batch due orders, hands them over concurrently
// and records each outcome. It returns how many orders it claimed.
func (d *Dispatcher) DispatchOnce(ctx context.Context) (int, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if err := d.NotifyOnce(ctx); err != nil {
		d.log.ErrorContext(ctx, "notify scheduled orders", "err", err)
	}
	claims, err := d.out.ClaimDispatch(ctx, d.cfg.Batch, d.cfg.Lease)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, c := range claims {
		wg.Go(func() { d.handOver(ctx, c) })
	}
	wg.Wait()
	return len(claims), nil
}

// NotifyOnce claims up to Batch due notices of scheduled orders and tells
// every notifier, retrying with backoff (up to MaxAttempts) when one
// fails; a retry tells every notifier again (receivers deduplicate by
// event ID). Without notifiers it does nothing.
func (d *Dispatcher) NotifyOnce(ctx context.Context) error {
	nb, ok := d.out.(NoticeBox)
	if !ok || len(d.cfg.Notifiers) == 0 {
		return nil
	}
	ns, err := nb.ClaimScheduledNotices(ctx, d.cfg.Batch, d.cfg.Lease)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, n := range ns {
		wg.Go(func() {
			var errs []error
			for _, nf := range d.cfg.Notifiers {
				pctx, cancel := context.WithTimeout(ctx, d.cfg.PlaceTimeout)
				if err := nf.Notify(pctx, n.Notice); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", nf.Name(), err))
				}
				cancel()
			}
			err := errors.Join(errs...)
			var retryAt time.Time
			log := d.log.With("order", n.Notice.Order.ID, "attempt", n.Attempt)
			switch {
			case err == nil:
				log.InfoContext(ctx, "scheduled order notified")
			case errors.Is(err, fulfil.ErrPermanent) || n.Attempt >= d.cfg.MaxAttempts:
				log.WarnContext(ctx, "scheduled order notice failed", "err", err)
			default:
				retryAt = d.cfg.Now().Add(Backoff(n.Attempt, d.cfg.MinBackoff, d.cfg.MaxBackoff, rand.Float64()))
				log.InfoContext(ctx, "scheduled order notice failed; will retry", "err", err, "retry_at", retryAt)
			}
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
			defer cancel()
			if rerr := nb.RecordScheduledNotice(rctx, n.Notice.Order.ID, err, retryAt); rerr != nil {
				log.ErrorContext(ctx, "record scheduled order notice", "err", rerr)
			}
		})
	}
	wg.Wait()
	return nil
}

// handOver places one claimed order and records the outcome. Recording
// uses a context that outlives ctx's cancellation so that a hand-over that
// happened is not forgotten at shutdown.
func (d *Dispatcher) handOver(ctx context.Context, c core.Claim) {
	o := c.Order
	log := d.log.With("order", o.ID, "enrollment", o.EnrollmentID, "attempt", c.Attempt)
	f := d.FulfillerFor(o.Provider)
	name := NoFulfiller
	var (
		res  fulfil.Result
		err  error
		took time.Duration
	)
	if f == nil {
		res = fulfil.Result{State: string(arsapi.OrderUnfulfilled),
			Detail: "this server has no fulfiller for " + o.Provider + " orders; it waits in your order inbox until you buy the ink and mark it bought"}
	} else {
		name = f.Name()
		pctx, cancel := context.WithTimeout(ctx, d.cfg.PlaceTimeout)
		start := time.Now()
		res, err = place(pctx, f, o)
		took = time.Since(start)
		cancel()
	}
	var retryAt time.Time
	switch {
	case err == nil:
		d.cfg.Metrics.observe(name, "ok", took)
		log.InfoContext(ctx, "order handed over", "fulfiller", name, "state", res.State, "external_id", res.ExternalID)
	case ctx.Err() != nil:
		// Shutting down: the order is due again at once, for another
		// replica or the next start.
		d.cfg.Metrics.observe(name, "retry", took)
		retryAt = d.cfg.Now()
		err = fmt.Errorf("interrupted by shutdown: %w", err)
		log.InfoContext(ctx, "order hand-over interrupted by shutdown", "fulfiller", name)
	case errors.Is(err, fulfil.ErrPermanent):
		d.cfg.Metrics.observe(name, "failed", took)
		log.WarnContext(ctx, "order failed", "fulfiller", name, "err", err)
	case c.Attempt >= d.cfg.MaxAttempts:
		d.cfg.Metrics.observe(name, "failed", took)
		err = fmt.Errorf("giving up after %d attempts: %w", c.Attempt, err)
		log.WarnContext(ctx, "order failed", "fulfiller", name, "err", err)
	default:
		d.cfg.Metrics.observe(name, "retry", took)
		retryAt = d.cfg.Now().Add(Backoff(c.Attempt, d.cfg.MinBackoff, d.cfg.MaxBackoff, rand.Float64()))
		log.InfoContext(ctx, "order hand-over failed; will retry", "fulfiller", name, "err", err, "retry_at", retryAt)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if rerr := d.out.RecordDispatch(rctx, o.ID, name, res, err, retryAt); rerr != nil {
		// The lease runs out and the order is claimed again: at least once.
		log.ErrorContext(ctx, "record order hand-over", "err", rerr)
	}
}

// place calls f.Place, turning a panic into an error so that one bad
// fulfiller call cannot take arsd down.
func place(ctx context.Context, f fulfil.Fulfiller, o fulfil.Order) (res fulfil.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("fulfiller %s panicked: %v", f.Name(), p)
		}
	}()
	return f.Place(ctx, o)
}

// Backoff is the wait before retrying after failed attempt number attempt
// (1-based): min doubled attempt-1 times, capped at max, less a random
// part of up to half of it (r in [0, 1)).
func Backoff(attempt int, minWait, maxWait time.Duration, r float64) time.Duration {
	d := minWait
	for i := 1; i < attempt && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	return d - time.Duration(float64(d/2)*r)
}

// Deregister implements fulfil.Deregisterer for the API's cancel flow: it
// tells the fulfiller of amazon enrollments (Amazon Dash Replenishment:
// DELETE /registration), and the webhook fulfiller when it implements
// fulfil.Deregisterer, that the enrollment was cancelled. Transient
// failures are tried DeregisterAttempts times with backoff; the last
// error is returned.
func (d *Dispatcher) Deregister(ctx context.Context, enrollmentID string) error {
	var errs []error
	for _, f := range []fulfil.Fulfiller{d.cfg.Amazon, d.cfg.Webhook} {
		dr, ok := f.(fulfil.Deregisterer)
		if f == nil || !ok {
			continue
		}
		if err := d.deregister(ctx, dr, enrollmentID); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.Name(), err))
		}
	}
	return errors.Join(errs...)
}

func (d *Dispatcher) deregister(ctx context.Context, dr fulfil.Deregisterer, enrollmentID string) error {
	var err error
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, d.cfg.PlaceTimeout)
		err = dr.Deregister(pctx, enrollmentID)
		cancel()
		if err == nil || errors.Is(err, fulfil.ErrPermanent) || attempt >= d.cfg.DeregisterAttempts {
			return err
		}
		wait := Backoff(attempt, min(d.cfg.MinBackoff, time.Second), 5*time.Second, rand.Float64())
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
	}
}
