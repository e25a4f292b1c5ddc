package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"sync"
	"time"

	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/orders"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/forecast"
)

// Queue is the store side of order emails; *store.Store implements it.
type Queue interface {
	QueueNotices(ctx context.Context, since time.Time) (int64, error)
	ClaimNotices(ctx context.Context, limit int, lease time.Duration) ([]core.Notice, error)
	RecordNotice(ctx context.Context, orderID string, sendErr error, retryAt time.Time) error
}

// Sender delivers a composed message; *Mailer implements it.
type Sender interface {
	Send(ctx context.Context, msg Message) error
}

// Paths of the pages the emails link to, relative to the public URL.
const (
	// LinkPath is the one-click link page; the token follows it.
	LinkPath = "/l/"
	// SettingsPath is the email settings page.
	SettingsPath = "/subscriptions/settings"
	// printersPath is View Printer Details' parent.
	printersPath = "/subscriptions/printers/"
)

// Config configures a Notifier. Queue, Sender, Signer and PublicURL are
// required.
type Config struct {
	Queue     Queue
	Sender    Sender
	Signer    *Signer
	PublicURL string
	Logger    *slog.Logger
	// Forecast returns a supply's forecast for the email; nil, or a nil
	// result, leaves it out.
	Forecast func(ctx context.Context, accountID, enrollmentID, supply string) *forecast.Forecast
	// Horizon is how far back new orders are looked for. Default 24h: an
	// order older than that when emails are first configured, or turned
	// on, gets none.
	Horizon time.Duration
	// PollInterval is how often the queue is checked without a Poke.
	// Default 5s.
	PollInterval time.Duration
	// SendTimeout bounds one delivery; the lease is twice it plus 10s.
	// Default 60s.
	SendTimeout time.Duration
	// MaxAttempts is how many deliveries are tried. Default 8.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait between attempts
	// (orders.Backoff). Defaults 10s and 30m.
	MinBackoff, MaxBackoff time.Duration
	// Batch is how many notices are claimed at a time. Default 8.
	Batch int
	Now   func() time.Time
}

// Notifier sends the queued order emails. Create it with New, start it
// with Run.
type Notifier struct {
	cfg    Config
	log    *slog.Logger
	domain string
	poke   chan struct{}
}

// New checks the configuration.
func New(cfg Config) (*Notifier, error) {
	if cfg.Queue == nil || cfg.Sender == nil || cfg.Signer == nil {
		return nil, errors.New("notify: Queue, Sender and Signer are required")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("notify: public URL %q", cfg.PublicURL)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Horizon, 24*time.Hour)
	def(&cfg.PollInterval, 5*time.Second)
	def(&cfg.SendTimeout, 60*time.Second)
	def(&cfg.MinBackoff, 10*time.Second)
	def(&cfg.MaxBackoff, 30*time.Minute)
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 8
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Notifier{cfg: cfg, log: cfg.Logger.With("component", "email"), domain: u.Hostname(), poke: make(chan struct{}, 1)}, nil
}

// Poke wakes the notifier at once (after orders were placed). It never
// blocks.
func (n *Notifier) Poke() {
	select {
	case n.poke <- struct{}{}:
	default:
	}
}

// Run sends until ctx is done.
func (n *Notifier) Run(ctx context.Context) error {
	t := time.NewTicker(n.cfg.PollInterval)
	defer t.Stop()
	for {
		if _, err := n.SendOnce(ctx); err != nil && ctx.Err() == nil {
			n.log.ErrorContext(ctx, "send order emails", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-n.poke:
		case <-t.C:
		}
	}
}

// SendOnce queues the emails of new orders, then claims and sends due
// ones, a batch at a time, until none is due. It returns how many it sent
// or tried.
func (n *Notifier) SendOnce(ctx context.Context) (int, error) {
	if _, err := n.cfg.Queue.QueueNotices(ctx, n.cfg.Now().Add(-n.cfg.Horizon)); err != nil {
		return 0, err
	}
	total := 0
	for ctx.Err() == nil {
		claims, err := n.cfg.Queue.ClaimNotices(ctx, n.cfg.Batch, 2*n.cfg.SendTimeout+10*time.Second)
		if err != nil {
			return total, err
		}
		var wg sync.WaitGroup
		for _, c := range claims {
			wg.Go(func() { n.send(ctx, c) })
		}
		wg.Wait()
		total += len(claims)
		if len(claims) < n.cfg.Batch {
			break
		}
	}
	return total, ctx.Err()
}

func (n *Notifier) send(ctx context.Context, c core.Notice) {
	log := n.log.With("order", c.Order.ID, "attempt", c.Attempt)
	msg, err := n.Compose(ctx, c)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, n.cfg.SendTimeout)
		err = n.cfg.Sender.Send(sctx, msg)
		cancel()
	}
	var retryAt time.Time
	switch {
	case err == nil:
		log.InfoContext(ctx, "order email sent")
	case errors.Is(err, ErrPermanent) || c.Attempt >= n.cfg.MaxAttempts:
		log.WarnContext(ctx, "order email failed", "err", err)
	default:
		retryAt = n.cfg.Now().Add(orders.Backoff(c.Attempt, n.cfg.MinBackoff, n.cfg.MaxBackoff, rand.Float64()))
		log.InfoContext(ctx, "order email failed; will retry", "err", err, "retry_at", retryAt)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if rerr := n.cfg.Queue.RecordNotice(rctx, c.Order.ID, err, retryAt); rerr != nil {
		log.ErrorContext(ctx, "record order email", "err", rerr)
	}
}

// Compose builds the email of a claimed notice, signing its links.
func (n *Notifier) Compose(ctx context.Context, c core.Notice) (Message, error) {
	e := c.Enrollment
	title := e.Printer.Model
	if e.Printer.Label != "" {
		title = e.Printer.Label + " (" + e.Printer.Model + ")"
	}
	nt := Notice{
		ID:          c.Order.ID,
		To:          c.To,
		Name:        c.Name,
		Printer:     title,
		Supply:      c.Order.Supply,
		Level:       c.Order.LevelAtOrder,
		PrinterURL:  n.cfg.PublicURL + printersPath + url.PathEscape(e.ID),
		SettingsURL: n.cfg.PublicURL + SettingsPath,
	}
	if n.cfg.Forecast != nil {
		nt.Forecast = n.cfg.Forecast(ctx, c.AccountID, e.ID, c.Order.Supply)
	}
	// A scheduled order waits out its hold before it is handed over: its
	// email offers the skip and ship links, valid until the hold ends.
	if o := c.Order; o.State == arsapi.OrderScheduled && o.HoldUntil != nil && o.HoldUntil.After(n.cfg.Now()) {
		until := *o.HoldUntil
		skip, err := n.cfg.Signer.Sign(c.AccountID, c.Order.ID, ActionSkip, until)
		if err != nil {
			return Message{}, err
		}
		ship, err := n.cfg.Signer.Sign(c.AccountID, c.Order.ID, ActionShip, until)
		if err != nil {
			return Message{}, err
		}
		nt.Scheduled, nt.HoldUntil = true, until
		nt.SkipURL = n.cfg.PublicURL + LinkPath + skip
		nt.ShipURL = n.cfg.PublicURL + LinkPath + ship
	}
	return Compose(nt, n.domain)
}
