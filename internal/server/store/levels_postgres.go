package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/reorder"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// execer runs a statement with "?" placeholders: a *db.Tx, or pgxTx.
type execer interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// pgxTx runs statements on a pgx connection inside the transaction that
// reportLevelsPostgres opened on it.
type pgxTx struct {
	c *pgx.Conn
	d *db.DB
}

func (t pgxTx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tag, err := t.c.Exec(ctx, t.d.Rebind(query), args...)
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(tag.RowsAffected()), nil
}

// reportLevelsPostgres runs a report in one transaction in two round
// trips to PostgreSQL instead of six: BEGIN, the enrollment's row lock and
// the read of its stored levels go in one pipeline; the levels, the
// enrollment's reading time and COMMIT in another. A report that places
// orders inserts them in between, one statement each (a supply orders at
// most once a cycle, so that is rare). The row lock is thus held for one
// round trip and the time to plan, which is what concurrent reports of
// one printer wait for. Deadlocks and serialization failures are retried
// as by inTx.
func (s *Store) reportLevelsPostgres(ctx context.Context, rep levelReport) ([]arsapi.Order, error) {
	var (
		orders []arsapi.Order
		err    error
	)
	for attempt := 0; attempt < 8; attempt++ {
		orders, err = s.reportLevelsPipelined(ctx, rep)
		if err == nil || !retryable(err) {
			return orders, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
	return orders, err
}

func (s *Store) reportLevelsPipelined(ctx context.Context, rep levelReport) ([]arsapi.Order, error) {
	conn, err := s.DB.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var (
		orders []arsapi.Order
		repErr error
	)
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("report levels: PostgreSQL connection is a %T", dc)
		}
		c := sc.Conn()
		orders, repErr = s.reportLevelsOn(ctx, c, rep)
		// Never hand the connection back inside a transaction.
		if c.PgConn().TxStatus() != 'I' {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, err := c.Exec(rctx, "ROLLBACK"); err != nil {
				return driver.ErrBadConn // database/sql drops the connection
			}
		}
		return nil
	})
	if repErr != nil {
		return nil, repErr
	}
	if err != nil && !errors.Is(err, driver.ErrBadConn) {
		return nil, err
	}
	return orders, nil
}

// newestChangesSQL is newestChangeSQL for each supply named in the array
// (NULLs for one without a change), in one statement.
const newestChangesSQL = `SELECT n.supply, h.read_at, h.level FROM unnest(?::text[]) AS n(supply)
	LEFT JOIN LATERAL (SELECT read_at, level FROM level_history
		WHERE enrollment_id = ? AND supply = n.supply AND read_at >= ?
		ORDER BY read_at DESC LIMIT 1) h ON true`

func (s *Store) reportLevelsOn(ctx context.Context, c *pgx.Conn, rep levelReport) ([]arsapi.Order, error) {
	windowStart := rep.readAt - int64(forecastWindow)
	cache := s.historyCache()
	cached := cache.get(rep.enrollmentID, windowStart)
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(s.DB.Rebind(lockEnrollmentSQL), rep.enrollmentID, rep.accountID)
	b.Queue(s.DB.Rebind(readLevelsSQL), rep.enrollmentID, rep.accountID)
	if cached != nil {
		names := make([]string, len(rep.supplies))
		for i, sp := range rep.supplies {
			names[i] = sp.Name
		}
		b.Queue(s.DB.Rebind(newestChangesSQL), names, rep.enrollmentID, cached.from)
	} else {
		b.Queue(s.DB.Rebind(readHistorySQL), rep.enrollmentID, windowStart, MaxReadingsPerSupply)
	}
	br := c.SendBatch(ctx, b)
	sl := storedLevels{supplies: make(map[string]reorder.Guard, len(rep.supplies))}
	err := func() error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		var one int
		if err := br.QueryRow().Scan(&one); errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("lock enrollment: %w", err)
		}
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("read enrollment: %w", err)
		}
		for rows.Next() {
			if err := sl.scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read enrollment: %w", err)
		}
		hrows, err := br.Query()
		if err != nil {
			return fmt.Errorf("read level history: %w", err)
		}
		defer hrows.Close()
		if cached == nil {
			return sl.scanHistory(hrows)
		}
		if !cachedCurrent(cached, hrows) {
			cached = nil
		}
		return hrows.Err()
	}()
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("read enrollment: %w", cerr)
	}
	if err == nil && sl.found {
		if cached != nil {
			sl.history = cached.window(windowStart)
		} else if sl.history == nil {
			// The cache missed a change: read the history as before.
			var hrows pgx.Rows
			if hrows, err = c.Query(ctx, s.DB.Rebind(readHistorySQL), rep.enrollmentID, windowStart, MaxReadingsPerSupply); err == nil {
				err = sl.scanHistory(hrows)
				hrows.Close()
			}
		}
	}
	if err != nil {
		cache.drop(rep.enrollmentID)
		return nil, err
	}

	tx := pgxTx{c: c, d: s.DB}
	count := func(since int64) (n int, err error) {
		err = c.QueryRow(ctx, s.DB.Rebind(recentOrdersSQL), rep.enrollmentID, since).Scan(&n)
		return n, err
	}
	write, newer, orders, err := rep.plan(sl, rep.capOrders(count, func(sp printer.Supply, cycle int64, reason string) (arsapi.Order, bool, error) {
		return s.placeOrder(ctx, tx, rep, sl, sp, cycle, reason)
	}))
	if err != nil {
		return nil, err
	}
	b = &pgx.Batch{}
	if newer {
		b.Queue(s.DB.Rebind(upsertLevelsSQL(len(write))), upsertLevelsArgs(rep.enrollmentID, write)...)
		if q, args := rep.pruneSQL(sl); q != "" {
			b.Queue(s.DB.Rebind(q), args...)
		}
		b.Queue(s.DB.Rebind(levelsReadAtSQL), rep.readAt, rep.enrollmentID, rep.readAt)
		if q, args := historySQL(rep.enrollmentID, write); q != "" {
			b.Queue(s.DB.Rebind(q), args...)
		}
		if q, args := rep.trimHistorySQL(sl); q != "" {
			b.Queue(s.DB.Rebind(q), args...)
		}
	}
	b.Queue("COMMIT")
	br = c.SendBatch(ctx, b)
	for range b.Len() {
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cache.drop(rep.enrollmentID)
		return nil, fmt.Errorf("store supply levels: %w", err)
	}
	cache.put(rep.enrollmentID, afterReport(windowStart, sl.history, write))
	return orders, nil
}

// cachedCurrent reads the rows of newestChangesSQL and reports whether
// each supply's newest change is the cached one: then level_history holds
// no change the entry lacks.
func cachedCurrent(e *historyEntry, rows pgx.Rows) bool {
	current := true
	for rows.Next() {
		var (
			name  string
			at    sql.NullInt64
			level sql.NullInt64
		)
		if err := rows.Scan(&name, &at, &level); err != nil {
			return false
		}
		if !e.holdsNewest(name, at, level) {
			current = false
		}
	}
	return current
}
