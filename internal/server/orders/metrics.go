package orders

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the dispatcher's Prometheus metrics.
type Metrics struct {
	// HandOvers counts hand-over attempts by fulfiller and outcome:
	// "ok", "retry" or "failed".
	HandOvers *prometheus.CounterVec
	// PlaceSeconds is how long Place calls take, by fulfiller.
	PlaceSeconds *prometheus.HistogramVec
}

// NewMetrics creates the dispatcher's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		HandOvers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "arsd_order_handovers_total", Help: "Order hand-over attempts, by fulfiller and outcome (ok, retry, failed).",
		}, []string{"fulfiller", "outcome"}),
		PlaceSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "arsd_order_place_seconds", Help: "Duration of fulfiller Place calls.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"fulfiller"}),
	}
	reg.MustRegister(m.HandOvers, m.PlaceSeconds)
	return m
}

// init creates every fulfiller's hand-over series at zero, so that a
// rule such as increase(...{outcome="failed"}[1h]) sees the first failure.
func (m *Metrics) init(fulfillers []string) {
	if m == nil {
		return
	}
	for _, f := range fulfillers {
		for _, outcome := range []string{"ok", "retry", "failed"} {
			m.HandOvers.WithLabelValues(f, outcome)
		}
	}
}

func (m *Metrics) observe(fulfiller, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.HandOvers.WithLabelValues(fulfiller, outcome).Inc()
	if fulfiller != NoFulfiller {
		m.PlaceSeconds.WithLabelValues(fulfiller).Observe(took.Seconds())
	}
}
