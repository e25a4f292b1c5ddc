package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/forecast"
)

// DefaultLevelHistoryRetention is how long level history is kept when the
// configuration does not say.
const DefaultLevelHistoryRetention = 400 * 24 * time.Hour

// historySQL is the one statement adding the changed rows of a report to
// level_history, with its arguments; "" when no level changed, which is
// the common case (a report repeats the levels of the one before).
func historySQL(enrollmentID string, rows []levelRow) (string, []any) {
	var b strings.Builder
	var args []any
	for _, r := range rows {
		if !r.changed {
			continue
		}
		if len(args) == 0 {
			b.WriteString(`INSERT INTO level_history (enrollment_id, supply, read_at, level) VALUES `)
		} else {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?)")
		args = append(args, enrollmentID, r.sp.Name, r.g.ReadAt, r.sp.Level)
	}
	if len(args) == 0 {
		return "", nil
	}
	b.WriteString(` ON CONFLICT (enrollment_id, supply, read_at) DO NOTHING`)
	return b.String(), args
}

// LevelHistory returns the enrollment's level history since the given
// time, per supply in the enrollment's supply order, each with its
// forecast as of now (from every reading kept, not only those since, and
// the fleet's prior while the supply has no rate of its own).
// Readings are the changes of level, oldest first; the last reading of each
// supply is its stored current level and read time, so that a level
// unchanged for weeks still shows when it was last read. An enrollment of
// another account is ErrNotFound.
func (s *Store) LevelHistory(ctx context.Context, accountID, enrollmentID string, since time.Time) (arsapi.LevelHistory, error) {
	e, err := s.GetEnrollment(ctx, accountID, enrollmentID)
	if err != nil {
		return arsapi.LevelHistory{}, err
	}
	h := arsapi.LevelHistory{EnrollmentID: e.ID, Since: since.UTC(), Supplies: []arsapi.SupplyHistory{}}
	names := make([]string, len(e.Supplies))
	for i, sp := range e.Supplies {
		names[i] = sp.Name
	}
	bySupply, err := supplyReadings(ctx, s.DB, enrollmentID, names)
	if err != nil {
		return h, err
	}
	now := s.now()
	for _, sp := range e.Supplies {
		all := bySupply[sp.Name]
		if e.LevelsReadAt != nil && (len(all) == 0 || all[len(all)-1].At.Before(*e.LevelsReadAt)) {
			all = append(all, forecast.Reading{At: e.LevelsReadAt.UTC(), Level: sp.Level})
		}
		rs := []forecast.Reading{}
		for _, r := range all {
			if !r.At.Before(since) {
				rs = append(rs, r)
			}
		}
		h.Supplies = append(h.Supplies, arsapi.SupplyHistory{Name: sp.Name, Readings: rs, Forecast: forecast.EstimateWith(all, now, s.prior(e.Printer.Model, sp.Name))})
	}
	return h, nil
}

// MaxReadingsPerSupply is the most level changes of one supply that
// LevelHistory reads, the latest: a client may report a level that goes up
// and down at every report, and every reading of the answer is read into
// memory (and weighed by the forecast).
const MaxReadingsPerSupply = 1000

// supplyReadings reads the latest MaxReadingsPerSupply kept level changes
// of each of an enrollment's supplies (not of names it no longer
// reports), per supply, oldest first.
func supplyReadings(ctx context.Context, q querier, enrollmentID string, supplies []string) (map[string][]forecast.Reading, error) {
	if len(supplies) == 0 {
		return map[string][]forecast.Reading{}, nil
	}
	args := make([]any, 0, len(supplies)+2)
	args = append(args, enrollmentID)
	for _, name := range supplies {
		args = append(args, name)
	}
	args = append(args, MaxReadingsPerSupply)
	rows, err := q.Query(ctx, `SELECT supply, read_at, level FROM (
			SELECT supply, read_at, level, row_number() OVER (PARTITION BY supply ORDER BY read_at DESC) AS n
			FROM level_history WHERE enrollment_id = ? AND supply IN (`+placeholders(len(supplies))+`)
		) h WHERE n <= ? ORDER BY supply, read_at`, args...)
	if err != nil {
		return nil, fmt.Errorf("read level history: %w", err)
	}
	defer rows.Close()
	return scanReadings(rows)
}

// PurgeLevelHistory deletes level history read before olderThan and
// returns how many rows.
func (s *Store) PurgeLevelHistory(ctx context.Context, olderThan time.Time) (int64, error) {
	r, err := s.DB.Exec(ctx, `DELETE FROM level_history WHERE read_at < ?`, nanos(olderThan))
	if err != nil {
		return 0, fmt.Errorf("purge level history: %w", err)
	}
	return r.RowsAffected()
}
