// Package gauges exports counts over the whole service as Prometheus
// gauges: enrollments by provider and state, orders by state, and the
// dispatch outbox (orders waiting for a fulfiller, and how long the oldest
// has waited).
//
// The counts are read from the database when Prometheus scrapes, at most
// once per TTL however often it scrapes, and one scrape at a time: a
// scrape within the TTL gets the last counts. Every replica of arsd reads
// the same database and so exports the same values: aggregate them across
// instances with max(), not sum(). Label values are fixed sets (the known
// providers and states), so the number of series is bounded.
package gauges

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// DefaultTTL is how long counts are reused when New is given no TTL.
const DefaultTTL = 15 * time.Second

// readTimeout bounds one reading of the counts.
const readTimeout = 5 * time.Second

// Source reads the counts (*store.Store).
type Source interface {
	Stats(ctx context.Context) (store.Stats, error)
}

var (
	enrollmentsDesc = prometheus.NewDesc("arsd_enrollments",
		"Enrollments by provider and state (the same on every replica: aggregate with max).",
		[]string{"provider", "state"}, nil)
	ordersDesc = prometheus.NewDesc("arsd_orders",
		"Orders by state (the same on every replica: aggregate with max).",
		[]string{"state"}, nil)
	pendingDesc = prometheus.NewDesc("arsd_dispatch_pending_orders",
		"Orders waiting to be handed to a fulfiller (not those in their hold window).", nil, nil)
	lagDesc = prometheus.NewDesc("arsd_dispatch_lag_seconds",
		"How long the oldest order waiting to be handed to a fulfiller has waited; 0 when none waits.", nil, nil)
	readAtDesc = prometheus.NewDesc("arsd_business_stats_timestamp_seconds",
		"When the counts above were read from the database (Unix time).", nil, nil)
)

// Providers and EnrollmentStates are the label values of arsd_enrollments.
var (
	Providers        = []arsapi.Provider{arsapi.ProviderCanon, arsapi.ProviderAmazon}
	EnrollmentStates = []arsapi.EnrollmentState{arsapi.StatePending, arsapi.StateActive, arsapi.StatePaused, arsapi.StateCancelled}
)

// Collector is a prometheus.Collector of the counts.
type Collector struct {
	src    Source
	ttl    time.Duration
	now    func() time.Time
	errors prometheus.Counter

	mu     sync.Mutex
	stats  store.Stats
	readAt time.Time
}

// New returns a collector reading src at most once per ttl (DefaultTTL
// when 0).
func New(src Source, ttl time.Duration) *Collector {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Collector{src: src, ttl: ttl, now: time.Now,
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "arsd_business_stats_errors_total",
			Help: "Failed readings of the business counts; the last counts read are served meanwhile.",
		})}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{enrollmentsDesc, ordersDesc, pendingDesc, lagDesc, readAtDesc} {
		ch <- d
	}
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st, readAt := c.read()
	c.errors.Collect(ch)
	if readAt.IsZero() {
		return // nothing read yet: no counts rather than zeros
	}
	for _, p := range Providers {
		for _, s := range EnrollmentStates {
			n := st.Enrollments[store.EnrollmentKey{Provider: p, State: s}]
			ch <- prometheus.MustNewConstMetric(enrollmentsDesc, prometheus.GaugeValue, float64(n), string(p), string(s))
		}
	}
	for _, s := range arsapi.OrderStates {
		ch <- prometheus.MustNewConstMetric(ordersDesc, prometheus.GaugeValue, float64(st.Orders[s]), string(s))
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(st.DispatchPending))
	lag := 0.0
	if !st.OldestPending.IsZero() {
		lag = max(c.now().Sub(st.OldestPending).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, lag)
	ch <- prometheus.MustNewConstMetric(readAtDesc, prometheus.GaugeValue, float64(readAt.UnixMilli())/1000)
}

// read returns the counts, reading them again when they are older than
// the TTL. The lock makes concurrent scrapes wait for one reading.
func (c *Collector) read() (store.Stats, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.readAt.IsZero() || now.Sub(c.readAt) >= c.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		st, err := c.src.Stats(ctx)
		cancel()
		if err != nil {
			c.errors.Inc()
		} else {
			c.stats, c.readAt = st, now
		}
	}
	return c.stats, c.readAt
}
