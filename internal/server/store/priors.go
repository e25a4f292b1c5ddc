package store

import (
	"context"
	"fmt"
	"time"

	"github.com/arsctl/arsctl/pkg/forecast"
)

// Fleet priors: a supply whose own readings give no rate yet (the first
// cartridge of a printer that reports only "some remaining", an
// enrollment read for less than a day) is forecast at the rates of the
// same supply of other printers of its model (forecast.Priors). They are
// computed by RefreshPriors, run periodically by arsd, and kept in memory,
// each replica its own: the report path only looks them up.

// RefreshPriors recomputes the fleet's priors from the kept level history
// of every enrollment that is not cancelled: each supply's own rate as of
// now (forecast.Estimate), grouped by model and supply name. It reads the
// history of the last forecastWindow one enrollment at a time, so its
// memory is one enrollment's history, and replaces the priors used by
// level reports, LevelHistory and SupplyForecast. A failure leaves the
// priors as they were.
func (s *Store) RefreshPriors(ctx context.Context) error {
	now := s.now()
	rows, err := s.DB.Query(ctx, `SELECT e.model, h.enrollment_id, h.supply, h.read_at, h.level
		FROM level_history h JOIN enrollments e ON e.id = h.enrollment_id
		WHERE h.read_at >= ? AND e.state <> 'cancelled'
		ORDER BY h.enrollment_id, h.supply, h.read_at`, nanos(now.Add(-forecastWindow)))
	if err != nil {
		return fmt.Errorf("read fleet rates: %w", err)
	}
	defer rows.Close()
	var (
		samples     []forecast.PriorSample
		cur         forecast.PriorSample
		curEnroll   string
		readings    []forecast.Reading
		flushSample = func() {
			if len(readings) == 0 {
				return
			}
			if f := forecast.Estimate(readings, now); f.Known && f.Rate > 0 {
				cur.Rate = f.Rate
				samples = append(samples, cur)
			}
			readings = readings[:0]
		}
	)
	for rows.Next() {
		var (
			model, enrollment, supply string
			at                        int64
			level                     int
		)
		if err := rows.Scan(&model, &enrollment, &supply, &at, &level); err != nil {
			return fmt.Errorf("read fleet rates: %w", err)
		}
		if enrollment != curEnroll || supply != cur.Supply {
			flushSample()
			cur, curEnroll = forecast.PriorSample{Model: model, Supply: supply}, enrollment
		}
		readings = append(readings, forecast.Reading{At: fromNanos(at), Level: level})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read fleet rates: %w", err)
	}
	flushSample()
	p := forecast.NewPriors(samples)
	s.priors.Store(&p)
	return nil
}

// prior is the fleet's prior of a model's supply, nil before the first
// RefreshPriors or when the fleet has too few rates.
func (s *Store) prior(model, supply string) *forecast.Prior {
	p := s.priors.Load()
	if p == nil {
		return nil
	}
	return p.For(model, supply)
}

// DefaultPriorsInterval is how often arsd recomputes the fleet's priors.
const DefaultPriorsInterval = time.Hour
