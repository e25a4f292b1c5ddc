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
// of the enrollments that are not cancelled and reported within
// priorRecent, the last read priorPerModel of each model and at most
// priorPerAccount of them of one account: each supply's own rate as of
// now (forecast.Estimate), grouped by model and supply name, each
// account's rates weighing as one (forecast.PriorSample.Owner), so that
// one account's printers neither crowd out other owners' nor outweigh
// them. The cap bounds a refresh's work by the number of models (a
// quantile needs no more rates); the history is that of the last
// forecastWindow, read one supply at a time, so the memory held is one
// supply's readings and the rates. It replaces the priors used by level
// reports, LevelHistory and SupplyForecast; a failure leaves them as they
// were.
func (s *Store) RefreshPriors(ctx context.Context) error {
	now := s.now()
	rows, err := s.DB.Query(ctx, `SELECT e.model, e.account_id, h.enrollment_id, h.supply, h.read_at, h.level
		FROM level_history h JOIN (
			SELECT id, model, account_id FROM (
				SELECT id, model, account_id, row_number() OVER (PARTITION BY model ORDER BY levels_read_at DESC, id) AS n
				FROM (
					SELECT id, model, account_id, levels_read_at,
						row_number() OVER (PARTITION BY model, account_id ORDER BY levels_read_at DESC, id) AS m
					FROM enrollments WHERE state <> 'cancelled' AND levels_read_at >= ?
				) a WHERE m <= ?
			) r WHERE n <= ?
		) e ON e.id = h.enrollment_id
		WHERE h.read_at >= ?
		ORDER BY h.enrollment_id, h.supply, h.read_at`,
		nanos(now.Add(-priorRecent)), priorPerAccount, priorPerModel, nanos(now.Add(-forecastWindow)))
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
			model, owner, enrollment, supply string
			at                               int64
			level                            int
		)
		if err := rows.Scan(&model, &owner, &enrollment, &supply, &at, &level); err != nil {
			return fmt.Errorf("read fleet rates: %w", err)
		}
		if enrollment != curEnroll || supply != cur.Supply {
			flushSample()
			cur, curEnroll = forecast.PriorSample{Model: model, Supply: supply, Owner: owner}, enrollment
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

// priorPerModel is the most enrollments of one model whose rates a
// refresh reads, the last read.
const priorPerModel = 200

// priorPerAccount is the most enrollments of one model and one account
// whose rates a refresh reads, the last read.
const priorPerAccount = 20

// priorRecent is how recently an enrollment must have reported for its
// rates to count: a printer that no longer reports says nothing of how its
// model is used now.
const priorRecent = 30 * 24 * time.Hour

// DefaultPriorsInterval is how often arsd recomputes the fleet's priors.
const DefaultPriorsInterval = time.Hour
