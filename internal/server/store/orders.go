package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/reorder"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/forecast"
	"github.com/arsctl/arsctl/pkg/printer"
)

// Limits on a level report: the core's rule (core.CheckSupplies).
const (
	MaxSupplies      = core.MaxSupplies
	MaxSupplyNameLen = core.MaxSupplyNameLen
	maxErrorLen      = 500
)

// stmtCache holds statements prepared once per Store and reused by
// transactions (database/sql keeps them prepared per connection). It
// spares SQLite from parsing the hot path's SQL on every report; pgx has
// its own statement cache.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt // by query as written ("?"), rebound once when prepared
}

// prepared returns the prepared form of query ("?" placeholders). Call
// it outside transactions: preparing takes a connection of its own, and a
// transaction waiting for one could wait forever on a full pool. Inside a
// transaction use tx.Tx.StmtContext, which prepares on the transaction's
// connection when needed.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmts.mu.Lock()
	st, ok := s.stmts.m[query]
	s.stmts.mu.Unlock()
	if ok {
		return st, nil
	}
	st, err := s.DB.DB.PrepareContext(ctx, s.DB.Rebind(query))
	if err != nil {
		return nil, err
	}
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	if old, ok := s.stmts.m[query]; ok {
		st.Close()
		return old, nil
	}
	if s.stmts.m == nil {
		s.stmts.m = map[string]*sql.Stmt{}
	}
	s.stmts.m[query] = st
	return st, nil
}

// levelRow is one supply_levels row to write.
type levelRow struct {
	sp  printer.Supply
	pos int
	g   reorder.Guard
	// changed is set when the report is newer and its level differs from
	// the stored one (or none was stored): the level goes to level_history.
	changed bool
}

// ReportLevels implements Orders.
//
// The supplies must pass core.CheckSupplies (ErrInvalid otherwise). In one
// transaction, holding the enrollment's row lock (PostgreSQL) or the
// database write lock (SQLite), it runs the order decision (package
// reorder) on each supply against its stored state: a supply whose stored
// reading is as new or newer than the report is left alone (duplicates
// and late, out-of-order reports change nothing); otherwise its level is
// stored, and the order the decision asks for is placed. Each order
// carries the supply's cycle number, and the unique key (enrollment_id,
// supply, cycle) makes the database refuse a second order in the same
// cycle whatever happens above it.
//
// A zero ReadAt means now; one more than arsapi.MaxReadAtAhead in the
// future is taken as now; one that nanoseconds since 1970 cannot hold
// (before 1678 or after 2261) is ErrInvalid. The core refuses readings
// outside arsapi.MaxReadAtAge too. A cancelled enrollment answers
// ErrNotActive.
func (s *Store) ReportLevels(ctx context.Context, accountID, enrollmentID string, r arsapi.LevelReport) (arsapi.LevelReportResult, error) {
	res := arsapi.LevelReportResult{Orders: []arsapi.Order{}}
	supplies, err := core.CheckSupplies(r.Supplies)
	if err != nil {
		return res, err
	}
	if at := r.ReadAt; !at.IsZero() && !fromNanos(nanos(at)).Equal(at) {
		// Stored as nanoseconds since 1970, it would wrap around to
		// another century and hide every later report.
		return res, fmt.Errorf("%w: read_at %s is out of range", ErrInvalid, at.Format(time.RFC3339))
	}
	now := s.now()
	readAt := r.ReadAt.UTC()
	if readAt.IsZero() || readAt.After(now.Add(arsapi.MaxReadAtAhead)) {
		readAt = now
	}
	rep := levelReport{accountID: accountID, enrollmentID: enrollmentID, supplies: supplies, readAt: nanos(readAt), now: now,
		defaultPolicy: s.OrderPolicy, leadTime: s.LeadTime, defaultHold: s.DefaultHold, scheduledNotices: s.ScheduledNotices,
		prior: s.prior}
	if s.DB.Dialect == db.Postgres {
		res.Orders, err = s.reportLevelsPostgres(ctx, rep)
	} else {
		res.Orders, err = s.reportLevelsSQLite(ctx, rep)
	}
	if err == nil && len(res.Orders) > 0 && s.OrdersPlaced != nil {
		s.OrdersPlaced()
	}
	return res, err
}

// levelReport is a checked level report on its way to the database.
type levelReport struct {
	accountID, enrollmentID string
	supplies                []printer.Supply
	readAt                  int64 // nanos
	now                     time.Time
	// The store's order settings (Store.OrderPolicy, LeadTime,
	// DefaultHold, ScheduledNotices).
	defaultPolicy    string
	leadTime         func(arsapi.Provider) time.Duration
	defaultHold      time.Duration
	scheduledNotices bool
	// prior is the fleet's prior of a model's supply (Store.prior).
	prior func(model, supply string) *forecast.Prior
}

// lead is how long ink ordered now takes to reach the owner: the
// provider's delivery time plus the hold window before the hand-over.
func (rep levelReport) lead(sl storedLevels) time.Duration {
	d := forecast.DefaultLeadTime
	if rep.leadTime != nil {
		if l := rep.leadTime(sl.provider); l > 0 {
			d = l
		}
	}
	return d + rep.hold(sl)
}

// priorOf is the fleet's prior of a model's supply, nil without one.
func (rep levelReport) priorOf(model, supply string) *forecast.Prior {
	if rep.prior == nil {
		return nil
	}
	return rep.prior(model, supply)
}

// hold is the hold window of a new order of the enrollment.
func (rep levelReport) hold(sl storedLevels) time.Duration {
	if sl.holdMinutes >= 0 {
		return time.Duration(sl.holdMinutes) * time.Minute
	}
	return rep.defaultHold
}

// forecastWindow is how far back the level history of a report's forecast
// reaches: cycles longer than this are used at well under a point a day.
const forecastWindow = 180 * 24 * time.Hour

// The statements of a level report. On PostgreSQL the enrollment row is
// locked by a statement of its own (lockEnrollmentSQL) before the supplies
// are read: under READ COMMITTED a statement that waited for a row lock
// re-reads only the locked row, so a join in the locking statement would
// see supply rows as they were before the transaction it waited for
// committed, and write stale cycles back. The next statement takes a
// fresh snapshot. SQLite needs no lock: its writers are serialised from
// the transaction's start. The lock is FOR NO KEY UPDATE, the one the
// UPDATE of levels_read_at takes anyway: it keeps concurrent reports of
// one printer apart but not the foreign-key checks of other transactions
// (orders and supply levels referencing the enrollment), which FOR UPDATE
// would make wait.
const (
	lockEnrollmentSQL = `SELECT 1 FROM enrollments WHERE id = ? AND account_id = ? FOR NO KEY UPDATE`
	// One statement reads the enrollment and its supplies' stored state.
	readLevelsSQL = `SELECT e.state, e.threshold, e.provider, e.model, e.order_policy, COALESCE(a.order_policy, ''),
		COALESCE(e.hold_minutes, a.hold_minutes, -1),
		l.supply, l.read_at, l.level, l.state, l.armed, l.cycle, l.order_level, l.low_only
		FROM enrollments e LEFT JOIN accounts a ON a.id = e.account_id
		LEFT JOIN supply_levels l ON l.enrollment_id = e.id
		WHERE e.id = ? AND e.account_id = ?`
	// readHistorySQL reads the level changes the forecast rests on: the
	// latest MaxReadingsPerSupply of each supply within the window, as
	// LevelHistory does. A client may report a level that goes up and down
	// at every report; every report reads these rows into memory.
	readHistorySQL = `SELECT supply, read_at, level FROM (
			SELECT supply, read_at, level, row_number() OVER (PARTITION BY supply ORDER BY read_at DESC) AS n
			FROM level_history WHERE enrollment_id = ? AND read_at >= ?
		) h WHERE n <= ? ORDER BY supply, read_at`
	levelsReadAtSQL = `UPDATE enrollments SET levels_read_at = ?
		WHERE id = ? AND (levels_read_at IS NULL OR levels_read_at < ?)`
)

// storedLevels is an enrollment's state and its supplies' stored state,
// as readLevelsSQL returns them.
type storedLevels struct {
	found     bool
	state     arsapi.EnrollmentState
	threshold int
	provider  arsapi.Provider
	model     string
	// policy is the enrollment's order policy, else its account's ("" for
	// the server's default); holdMinutes likewise, -1 for the default.
	policy      string
	holdMinutes int
	supplies    map[string]reorder.Guard
	// history is each supply's kept level changes (forecastWindow), for
	// the forecast policy.
	history map[string][]forecast.Reading
}

// scan reads one row of readLevelsSQL.
func (sl *storedLevels) scan(row interface{ Scan(...any) error }) error {
	var (
		name, state   sql.NullString
		readAt, cycle sql.NullInt64
		level, armed  sql.NullInt64
		orderLevel    sql.NullInt64
		lowOnly       sql.NullInt64
		ePol, aPol    string
	)
	if err := row.Scan(&sl.state, &sl.threshold, &sl.provider, &sl.model, &ePol, &aPol, &sl.holdMinutes,
		&name, &readAt, &level, &state, &armed, &cycle, &orderLevel, &lowOnly); err != nil {
		return fmt.Errorf("read enrollment: %w", err)
	}
	sl.found = true
	sl.policy = cmp.Or(ePol, aPol)
	if name.Valid {
		sl.supplies[name.String] = reorder.Guard{ReadAt: readAt.Int64, Level: int(level.Int64), Armed: armed.Int64 == 1,
			Cycle: cycle.Int64, Ordered: orderLevel.Valid, OrderLevel: int(orderLevel.Int64), LowOnly: lowOnly.Int64 == 1,
			State: state.String}
	}
	return nil
}

// otherLow reports whether an ink or toner of ss other than ss[i] shows
// by its level that it is low (reorder.Input.OtherLow).
func otherLow(ss []printer.Supply, i int) bool {
	for j, s := range ss {
		if j != i && s.Reorderable() && s.ShowsLow() {
			return true
		}
	}
	return false
}

// placeFunc places the order of a supply for a cycle (see placeOrder),
// with the policy's reason.
type placeFunc func(sp printer.Supply, cycle int64, reason string) (arsapi.Order, bool, error)

// scanHistory reads the rows of readHistorySQL into sl.history.
func (sl *storedLevels) scanHistory(rows readingRows) (err error) {
	sl.history, err = scanReadings(rows)
	return err
}

// readingRows are the rows of a query of level_history's supply, read_at
// and level.
type readingRows interface {
	Next() bool
	Scan(...any) error
	Err() error
}

// scanReadings reads rows of supply, read_at and level, oldest first
// within a supply, into each supply's readings.
func scanReadings(rows readingRows) (map[string][]forecast.Reading, error) {
	bySupply := map[string][]forecast.Reading{}
	for rows.Next() {
		var (
			name  string
			at    int64
			level int
		)
		if err := rows.Scan(&name, &at, &level); err != nil {
			return nil, fmt.Errorf("read level history: %w", err)
		}
		bySupply[name] = append(bySupply[name], forecast.Reading{At: fromNanos(at), Level: level})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read level history: %w", err)
	}
	return bySupply, nil
}

// plan runs the order decision (package reorder, policy Default) on each
// supply of rep against its stored state, placing through place the
// orders it asks for. It returns the rows to write (every supply: rows
// not newer are no-ops in upsertLevelsSQL), whether any is newer, and
// the orders placed.
func (rep levelReport) plan(sl storedLevels, place placeFunc) (write []levelRow, newer bool, orders []arsapi.Order, err error) {
	if !sl.found {
		return nil, false, nil, ErrNotFound
	}
	if sl.state == arsapi.StateCancelled {
		return nil, false, nil, ErrNotActive
	}
	decide, err := reorder.Lookup(cmp.Or(sl.policy, rep.defaultPolicy))
	if err != nil {
		return nil, false, nil, err
	}
	lead := rep.lead(sl)
	write = make([]levelRow, 0, len(rep.supplies))
	orders = []arsapi.Order{}
	for i, sp := range rep.supplies {
		g, known := sl.supplies[sp.Name]
		d := decide(reorder.Input{Supply: sp, ReadAt: rep.readAt, Stored: g, Known: known,
			EnrollmentThreshold: sl.threshold, Active: sl.state == arsapi.StateActive,
			History: sl.history[sp.Name], Lead: lead, Prior: rep.priorOf(sl.model, sp.Name),
			OtherLow: otherLow(rep.supplies, i)})
		if !d.Newer {
			// Not newer than what we know: left alone.
			write = append(write, levelRow{sp: sp, pos: i, g: reorder.Guard{ReadAt: rep.readAt}})
			continue
		}
		newer = true
		if d.Order {
			o, placed, err := place(sp, d.Guard.Cycle, d.Reason)
			if errors.Is(err, errOrdersCapped) {
				// The supply stays as it was (armed): a later report
				// orders it once the day has room.
				keep := g
				if !known {
					keep = reorder.New()
				}
				keep.ReadAt, keep.State = d.Guard.ReadAt, d.Guard.State
				write = append(write, levelRow{sp: sp, pos: i, g: keep, changed: !known || g.Level != sp.Level})
				continue
			}
			if err != nil {
				return nil, false, nil, err
			}
			// Placed now, or already placed in this cycle: either way
			// the supply is disarmed (d.Guard).
			if placed {
				orders = append(orders, o)
			}
		}
		changed := !known || g.Level != sp.Level
		write = append(write, levelRow{sp: sp, pos: i, g: d.Guard, changed: changed})
	}
	return write, newer, orders, nil
}

// MaxOrdersPerEnrollmentPerDay is the most orders one enrollment places
// in 24 hours. A printer orders each supply once a cycle (until a new
// cartridge is seen), but a client may invent new supply names, or a level
// falling and rising, at every report; beyond the cap a report's levels
// are stored and its supplies stay armed, and they order at a later report
// once the day has room.
const MaxOrdersPerEnrollmentPerDay = 32

// errOrdersCapped is a placeFunc's answer when the enrollment placed
// MaxOrdersPerEnrollmentPerDay orders in the last 24 hours.
var errOrdersCapped = errors.New("the enrollment placed as many orders as it may in a day")

// recentOrdersSQL counts an enrollment's orders created after a time.
const recentOrdersSQL = `SELECT COUNT(*) FROM orders WHERE enrollment_id = ? AND created_at > ?`

// capOrders is place limited to MaxOrdersPerEnrollmentPerDay orders of the
// enrollment in the 24 hours before rep.now: count, called at the first
// order the report would place (rarely: most reports place none), answers
// how many recentOrdersSQL finds from then on.
func (rep levelReport) capOrders(count func(since int64) (int, error), place placeFunc) placeFunc {
	n := -1
	return func(sp printer.Supply, cycle int64, reason string) (arsapi.Order, bool, error) {
		if n < 0 {
			c, err := count(nanos(rep.now.Add(-24 * time.Hour)))
			if err != nil {
				return arsapi.Order{}, false, fmt.Errorf("count orders: %w", err)
			}
			n = c
		}
		if n >= MaxOrdersPerEnrollmentPerDay {
			return arsapi.Order{}, false, errOrdersCapped
		}
		o, placed, err := place(sp, cycle, reason)
		if placed {
			n++
		}
		return o, placed, err
	}
}

// pruneSQL is the statement, with its arguments, deleting the stored
// supplies that the report does not list when keeping them would leave
// the printer more than MaxSupplies supplies; "" when they fit. A report
// lists every supply of the printer, so a client inventing new names in
// each report cannot grow an enrollment's supplies (and every answer and
// page that lists them) without bound; a printer that renames a supply
// keeps its old one until the names overflow.
func (rep levelReport) pruneSQL(sl storedLevels) (string, []any) {
	n := len(sl.supplies)
	for _, sp := range rep.supplies {
		if _, ok := sl.supplies[sp.Name]; !ok {
			n++
		}
	}
	if n <= MaxSupplies {
		return "", nil
	}
	args := make([]any, 0, len(rep.supplies)+1)
	args = append(args, rep.enrollmentID)
	for _, sp := range rep.supplies {
		args = append(args, sp.Name)
	}
	return `DELETE FROM supply_levels WHERE enrollment_id = ? AND supply NOT IN (` + placeholders(len(rep.supplies)) + `)`, args
}

// trimHistorySQL is the statement, with its arguments, deleting the level
// history no answer reads any more; "" when there is none, which is the
// common case. That is the history of the supplies pruneSQL drops (the
// history answers and the forecast read only the printer's supplies), and
// each supply's changes older than the MaxReadingsPerSupply latest ones
// when the report read that many within the forecast's window (the
// answers read no more). So a client that invents new names, or reports a
// level going up and down, at every report cannot grow level_history, and
// what every report reads of it, without bound: a supply keeps about
// twice MaxReadingsPerSupply changes at most.
func (rep levelReport) trimHistorySQL(sl storedLevels) (string, []any) {
	var (
		b    strings.Builder
		args = []any{rep.enrollmentID}
	)
	or := func() {
		if len(args) == 1 {
			b.WriteString(`DELETE FROM level_history WHERE enrollment_id = ? AND (`)
		} else {
			b.WriteString(` OR `)
		}
	}
	if q, _ := rep.pruneSQL(sl); q != "" {
		or()
		b.WriteString(`supply NOT IN (` + placeholders(len(rep.supplies)) + `)`)
		for _, sp := range rep.supplies {
			args = append(args, sp.Name)
		}
	}
	names := make([]string, 0, len(sl.history))
	for name, rs := range sl.history {
		if len(rs) >= MaxReadingsPerSupply {
			names = append(names, name)
		}
	}
	slices.Sort(names) // one statement text per set of names
	for _, name := range names {
		or()
		b.WriteString(`(supply = ? AND read_at < ?)`)
		args = append(args, name, nanos(sl.history[name][0].At))
	}
	if len(args) == 1 {
		return "", nil
	}
	b.WriteString(`)`)
	return b.String(), args
}

// reportLevelsSQLite runs a report in one transaction holding the
// database write lock, with statements prepared once per Store.
func (s *Store) reportLevelsSQLite(ctx context.Context, rep levelReport) ([]arsapi.Order, error) {
	selStmt, err := s.prepared(ctx, readLevelsSQL)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	var upStmt *sql.Stmt // nil for an empty report, which writes nothing
	if len(rep.supplies) > 0 {
		if upStmt, err = s.prepared(ctx, upsertLevelsSQL(len(rep.supplies))); err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
	}
	readAtStmt, err := s.prepared(ctx, levelsReadAtSQL)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	histStmt, err := s.prepared(ctx, readHistorySQL)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	newestStmt, err := s.prepared(ctx, newestChangeSQL)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	windowStart := rep.readAt - int64(forecastWindow)
	cache := s.historyCache()
	var (
		orders []arsapi.Order
		after  *historyEntry
	)
	err = s.inTx(ctx, func(tx *db.Tx) error {
		after = nil
		rows, err := tx.Tx.StmtContext(ctx, selStmt).QueryContext(ctx, rep.enrollmentID, rep.accountID)
		if err != nil {
			return fmt.Errorf("read enrollment: %w", err)
		}
		sl := storedLevels{supplies: make(map[string]reorder.Guard, len(rep.supplies))}
		for rows.Next() {
			if err := sl.scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("read enrollment: %w", err)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read enrollment: %w", err)
		}
		// The history this replica holds of the printer, when each
		// supply's newest change is the one it holds (histcache.go).
		if e := cache.get(rep.enrollmentID, windowStart); e != nil && sl.found {
			current := true
			newest := tx.Tx.StmtContext(ctx, newestStmt)
			for _, sp := range rep.supplies {
				var at, level sql.NullInt64
				err := newest.QueryRowContext(ctx, rep.enrollmentID, sp.Name, e.from).Scan(&at, &level)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("read level history: %w", err)
				}
				if !e.holdsNewest(sp.Name, at, level) {
					current = false
					break
				}
			}
			if current {
				sl.history = e.window(windowStart)
			}
		}
		if sl.history == nil {
			hrows, err := tx.Tx.StmtContext(ctx, histStmt).QueryContext(ctx, rep.enrollmentID, windowStart, MaxReadingsPerSupply)
			if err != nil {
				return fmt.Errorf("read level history: %w", err)
			}
			err = sl.scanHistory(hrows)
			hrows.Close()
			if err != nil {
				return err
			}
		}
		count := func(since int64) (n int, err error) {
			err = tx.QueryRow(ctx, recentOrdersSQL, rep.enrollmentID, since).Scan(&n)
			return n, err
		}
		write, newer, placed, err := rep.plan(sl, rep.capOrders(count, func(sp printer.Supply, cycle int64, reason string) (arsapi.Order, bool, error) {
			return s.placeOrder(ctx, tx, rep, sl, sp, cycle, reason)
		}))
		if err != nil {
			return err
		}
		orders = placed
		after = afterReport(windowStart, sl.history, write)
		if !newer {
			return nil
		}
		if _, err := tx.Tx.StmtContext(ctx, upStmt).ExecContext(ctx, upsertLevelsArgs(rep.enrollmentID, write)...); err != nil {
			return fmt.Errorf("store supply levels: %w", err)
		}
		if q, args := rep.pruneSQL(sl); q != "" {
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return fmt.Errorf("prune supply levels: %w", err)
			}
		}
		if _, err := tx.Tx.StmtContext(ctx, readAtStmt).ExecContext(ctx, rep.readAt, rep.enrollmentID, rep.readAt); err != nil {
			return fmt.Errorf("update enrollment: %w", err)
		}
		if q, args := historySQL(rep.enrollmentID, write); q != "" {
			// Not prepared (s.prepared would wait for a second connection
			// of a pool that may have only this one).
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return fmt.Errorf("store level history: %w", err)
			}
		}
		if q, args := rep.trimHistorySQL(sl); q != "" {
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return fmt.Errorf("trim level history: %w", err)
			}
		}
		return nil
	})
	switch {
	case err != nil:
		cache.drop(rep.enrollmentID)
	case after != nil:
		cache.put(rep.enrollmentID, after)
	}
	return orders, err
}

// upsertLevelsSQL is the statement writing n supply rows; a row only
// replaces a stored one with an older reading.
func upsertLevelsSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO supply_levels (enrollment_id, supply, pos, type, class, colors, color_name, level, low, high,
		state, read_at, armed, cycle, order_level, low_only) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	b.WriteString(` ON CONFLICT (enrollment_id, supply) DO UPDATE SET pos = excluded.pos, type = excluded.type, class = excluded.class,
		colors = excluded.colors, color_name = excluded.color_name, level = excluded.level, low = excluded.low,
		high = excluded.high, state = excluded.state, read_at = excluded.read_at, armed = excluded.armed, cycle = excluded.cycle,
		order_level = excluded.order_level, low_only = excluded.low_only
		WHERE supply_levels.read_at < excluded.read_at`)
	return b.String()
}

func upsertLevelsArgs(enrollmentID string, rows []levelRow) []any {
	args := make([]any, 0, len(rows)*16)
	for _, r := range rows {
		armed, lowOnly := 0, 0
		if r.g.Armed {
			armed = 1
		}
		if r.g.LowOnly {
			lowOnly = 1
		}
		var ol any
		if r.g.Ordered {
			ol = int64(r.g.OrderLevel)
		}
		args = append(args, enrollmentID, r.sp.Name, r.pos, r.sp.Type, r.sp.Class, strings.Join(r.sp.Colors, ","), r.sp.ColorName,
			r.sp.Level, r.sp.Low, r.sp.High, r.g.State, r.g.ReadAt, armed, r.g.Cycle, ol, lowOnly)
	}
	return args
}

// placeOrder inserts the order of one supply for one cycle unless the
// cycle already has one; placed says whether this call inserted it. With a
// hold window the order is scheduled: the dispatcher claims it when the
// window ends (next_attempt_at), unless the owner skips it or ships it
// first.
func (s *Store) placeOrder(ctx context.Context, tx execer, rep levelReport, sl storedLevels, sp printer.Supply,
	cycle int64, reason string) (arsapi.Order, bool, error) {
	now := rep.now
	o := arsapi.Order{
		ID:           newID(),
		EnrollmentID: rep.enrollmentID,
		Supply:       sp.Name,
		Color:        sp.ColorKey(),
		LevelAtOrder: sp.Level,
		State:        arsapi.OrderPlaced,
		Fulfilment:   "none",
		Reason:       truncate(reason, maxErrorLen),
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	due := now
	var holdUntil, notice any
	if h := rep.hold(sl); h > 0 {
		due = now.Add(h)
		o.State, o.HoldUntil = arsapi.OrderScheduled, &due
		holdUntil = nanos(due)
		if rep.scheduledNotices {
			notice = nanos(now)
		}
	}
	r, err := tx.Exec(ctx, `INSERT INTO orders (id, enrollment_id, account_id, supply, supply_type, color, cycle,
		level_at_order, state, fulfilment, created_at, updated_at, next_attempt_at, hold_until, scheduled_notice_at, reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'none', ?, ?, ?, ?, ?, ?)
		ON CONFLICT (enrollment_id, supply, cycle) DO NOTHING`,
		o.ID, rep.enrollmentID, rep.accountID, sp.Name, sp.Type, o.Color, cycle, sp.Level, string(o.State),
		nanos(now), nanos(now), nanos(due), holdUntil, notice, o.Reason)
	if err != nil {
		return o, false, fmt.Errorf("place order: %w", err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return o, false, err
	}
	detail := fmt.Sprintf("%s at %s: %s", sp.Name, sp.LevelText(), o.Reason)
	if !sp.Known() {
		// "PGBK (low): ...", "PGBK (some left): ...".
		detail = fmt.Sprintf("%s (%s): %s", sp.Name, sp.LevelText(), o.Reason)
	}
	ev := arsapi.OrderEvent{State: o.State, At: now, Detail: detail}
	if o.HoldUntil != nil {
		ev.Detail += "; handed over at " + due.UTC().Format(time.RFC3339) + " unless skipped"
	}
	if err := addOrderEvent(ctx, tx, o.ID, ev); err != nil {
		return o, false, err
	}
	o.History = []arsapi.OrderEvent{ev}
	return o, true, nil
}

func addOrderEvent(ctx context.Context, q execer, orderID string, ev arsapi.OrderEvent) error {
	if _, err := q.Exec(ctx, `INSERT INTO order_events (order_id, at, state, detail) VALUES (?, ?, ?, ?)`,
		orderID, nanos(ev.At), string(ev.State), ev.Detail); err != nil {
		return fmt.Errorf("record order event: %w", err)
	}
	return nil
}

const orderCols = `id, enrollment_id, supply, color, level_at_order, state, fulfilment, external_id, hold_until, reason, created_at, updated_at`

func scanOrder(r scanner) (arsapi.Order, error) {
	var (
		o                arsapi.Order
		created, updated int64
		hold             sql.NullInt64
	)
	if err := r.Scan(&o.ID, &o.EnrollmentID, &o.Supply, &o.Color, &o.LevelAtOrder, &o.State, &o.Fulfilment,
		&o.ExternalID, &hold, &o.Reason, &created, &updated); err != nil {
		return o, err
	}
	o.CreatedAt, o.UpdatedAt = fromNanos(created), fromNanos(updated)
	if hold.Valid {
		t := fromNanos(hold.Int64)
		o.HoldUntil = &t
	}
	return o, nil
}

// ListOrders implements Orders, newest order first, each with its history
// (oldest event first).
func (s *Store) ListOrders(ctx context.Context, accountID, enrollmentID string, cur string, limit int) (arsapi.List[arsapi.Order], error) {
	out := arsapi.List[arsapi.Order]{Items: []arsapi.Order{}}
	limit = pageLimit(limit)
	var n int
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM enrollments WHERE id = ? AND account_id = ?`,
		enrollmentID, accountID).Scan(&n); err != nil {
		return out, fmt.Errorf("list orders: %w", err)
	}
	if n == 0 {
		return out, ErrNotFound
	}
	return s.listOrders(ctx, `enrollment_id = ?`, []any{enrollmentID}, cur, limit)
}

// ListAccountOrders implements Orders.
func (s *Store) ListAccountOrders(ctx context.Context, accountID string, state arsapi.OrderState, cur string, limit int) (arsapi.List[arsapi.Order], error) {
	where, args := `account_id = ?`, []any{accountID}
	if state != "" {
		where += ` AND state = ?`
		args = append(args, string(state))
	}
	return s.listOrders(ctx, where, args, cur, pageLimit(limit))
}

// listOrders reads one page of the orders matching where, newest first,
// each with its history (oldest event first).
func (s *Store) listOrders(ctx context.Context, where string, args []any, cur string, limit int) (arsapi.List[arsapi.Order], error) {
	out := arsapi.List[arsapi.Order]{Items: []arsapi.Order{}}
	q := `SELECT ` + orderCols + ` FROM orders WHERE ` + where
	if cur != "" {
		c, err := parseCursor(cur)
		if err != nil {
			return out, err
		}
		q += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, c.at, c.at, c.id)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.DB.Query(ctx, q, args...)
	if err != nil {
		return out, fmt.Errorf("list orders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return out, fmt.Errorf("list orders: %w", err)
		}
		out.Items = append(out.Items, o)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("list orders: %w", err)
	}
	rows.Close()
	if len(out.Items) > limit {
		out.Items = out.Items[:limit]
		last := out.Items[limit-1]
		out.NextCursor = cursor{at: nanos(last.CreatedAt), id: last.ID}.String()
	}
	if err := loadOrderHistory(ctx, s.DB, out.Items); err != nil {
		return out, err
	}
	return out, nil
}

// MarkOrderBought implements Orders.
func (s *Store) MarkOrderBought(ctx context.Context, accountID, orderID string) (arsapi.Order, error) {
	err := s.inTx(ctx, func(tx *db.Tx) error {
		var cur arsapi.OrderState
		err := tx.QueryRow(ctx, `SELECT state FROM orders WHERE id = ? AND account_id = ?`+s.forUpdate(), orderID, accountID).Scan(&cur)
		if err != nil {
			return readErr(err, "read order")
		}
		switch cur {
		case arsapi.OrderBought:
			return nil
		case arsapi.OrderUnfulfilled:
		default:
			return fmt.Errorf("%w: order %s is %s, not waiting in the order inbox", ErrOrderNotOpen, orderID, cur)
		}
		now := s.now()
		if _, err := tx.Exec(ctx, `UPDATE orders SET state = 'bought', updated_at = ? WHERE id = ?`, nanos(now), orderID); err != nil {
			return fmt.Errorf("mark order bought: %w", err)
		}
		return addOrderEvent(ctx, tx, orderID, arsapi.OrderEvent{State: arsapi.OrderBought, At: now, Detail: "marked bought by the owner"})
	})
	if err != nil {
		return arsapi.Order{}, err
	}
	return s.GetOrder(ctx, accountID, orderID)
}

func loadOrderHistory(ctx context.Context, q querier, os []arsapi.Order) error {
	if len(os) == 0 {
		return nil
	}
	idx := make(map[string]int, len(os))
	args := make([]any, 0, len(os))
	for i, o := range os {
		idx[o.ID] = i
		args = append(args, o.ID)
	}
	rows, err := q.Query(ctx, `SELECT order_id, at, state, detail FROM order_events
		WHERE order_id IN (`+placeholders(len(args))+`) ORDER BY id`, args...)
	if err != nil {
		return fmt.Errorf("read order history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			at int64
			ev arsapi.OrderEvent
		)
		if err := rows.Scan(&id, &at, &ev.State, &ev.Detail); err != nil {
			return fmt.Errorf("read order history: %w", err)
		}
		ev.At = fromNanos(at)
		i := idx[id]
		os[i].History = append(os[i].History, ev)
	}
	return rows.Err()
}

// GetOrder reads one of the account's orders with its history.
func (s *Store) GetOrder(ctx context.Context, accountID, orderID string) (arsapi.Order, error) {
	o, err := scanOrder(s.DB.QueryRow(ctx, `SELECT `+orderCols+` FROM orders WHERE id = ? AND account_id = ?`, orderID, accountID))
	if err != nil {
		return o, readErr(err, "read order")
	}
	os := []arsapi.Order{o}
	if err := loadOrderHistory(ctx, s.DB, os); err != nil {
		return o, err
	}
	return os[0], nil
}

// Claim is core.Claim.
type Claim = core.Claim

// skipLocked is the clause that makes a claim's subquery pass over rows
// another replica is claiming, on PostgreSQL; SQLite's write lock
// serialises claims, so there it is empty.
func (s *Store) skipLocked() string {
	if s.DB.Dialect == db.Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// scanClaimed reads the id and attempt count of each row a claim's
// UPDATE … RETURNING took, and closes rows; what names the claim in errors.
func scanClaimed(rows *sql.Rows, what string) (ids []any, attempts map[string]int, err error) {
	defer rows.Close()
	attempts = map[string]int{}
	for rows.Next() {
		var (
			id string
			n  int
		)
		if err := rows.Scan(&id, &n); err != nil {
			return nil, nil, fmt.Errorf("claim %s: %w", what, err)
		}
		attempts[id] = n
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Close(), rows.Err()); err != nil {
		return nil, nil, fmt.Errorf("claim %s: %w", what, err)
	}
	return ids, attempts, nil
}

// ClaimDispatch is NextDispatch with attempt numbers, for dispatchers that
// back off and give up after a number of attempts.
//
// Orders are due when their next attempt time has come and no unexpired
// lease holds them. On PostgreSQL the claim skips rows another replica is
// claiming (FOR UPDATE SKIP LOCKED); on SQLite the write lock serialises
// claims. A claim takes the lease and counts the attempt, so an attempt cut
// short by a crash still counts.
func (s *Store) ClaimDispatch(ctx context.Context, limit int, lease time.Duration) ([]Claim, error) {
	if limit <= 0 {
		limit = 1
	}
	now := nanos(s.now())
	var out []Claim
	err := s.inTx(ctx, func(tx *db.Tx) error {
		out = out[:0]
		rows, err := tx.Query(ctx, `UPDATE orders SET lease_until = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM orders WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ?
				AND lease_until <= ? ORDER BY next_attempt_at LIMIT ?`+s.skipLocked()+`)
			RETURNING id, attempts`, now+int64(lease), now, now, limit)
		if err != nil {
			return fmt.Errorf("claim orders: %w", err)
		}
		ids, attempts, err := scanClaimed(rows, "orders")
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		if err := claimScheduled(ctx, tx, ids, fromNanos(now)); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT o.id, o.enrollment_id, o.account_id, e.provider, e.model, e.serial,
			o.supply, o.supply_type, o.color, o.level_at_order, o.created_at
			FROM orders o JOIN enrollments e ON e.id = o.enrollment_id
			WHERE o.id IN (`+placeholders(len(ids))+`) ORDER BY o.created_at, o.id`, ids...)
		if err != nil {
			return fmt.Errorf("read claimed orders: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				o       core.Order
				created int64
			)
			if err := rows.Scan(&o.ID, &o.EnrollmentID, &o.AccountID, &o.Provider, &o.PrinterModel, &o.Serial,
				&o.Supply, &o.SupplyType, &o.Color, &o.Level, &created); err != nil {
				return fmt.Errorf("read claimed orders: %w", err)
			}
			o.CreatedAt = fromNanos(created)
			out = append(out, Claim{Order: o, Attempt: attempts[o.ID]})
		}
		return rows.Err()
	})
	return out, err
}

// NextDispatch implements Orders (see ClaimDispatch).
func (s *Store) NextDispatch(ctx context.Context, limit int, lease time.Duration) ([]core.Order, error) {
	cs, err := s.ClaimDispatch(ctx, limit, lease)
	if err != nil {
		return nil, err
	}
	out := make([]core.Order, len(cs))
	for i, c := range cs {
		out[i] = c.Order
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// RecordDispatch implements Orders. With dispatchErr nil the order takes
// res.State ("placed" when empty; "placed", "in_progress", "shipped", or
// "unfulfilled" when no fulfiller took it)
// and leaves the outbox. With an error and a non-zero retryAt it waits in
// the outbox until retryAt; with a zero retryAt it fails for good. Every
// outcome is written to the order's history. Recording an order that has
// already left the outbox changes nothing.
func (s *Store) RecordDispatch(ctx context.Context, orderID, fulfiller string, res core.Handover, dispatchErr error, retryAt time.Time) error {
	st := arsapi.OrderState(res.State)
	if dispatchErr == nil {
		switch st {
		case "":
			st = arsapi.OrderPlaced
		case arsapi.OrderPlaced, arsapi.OrderInProgress, arsapi.OrderShipped, arsapi.OrderUnfulfilled:
		default:
			return fmt.Errorf("%w: fulfiller %s answered state %q", ErrInvalid, fulfiller, res.State)
		}
	}
	return s.inTx(ctx, func(tx *db.Tx) error {
		now := s.now()
		var (
			cur     arsapi.OrderState
			pending sql.NullInt64
		)
		err := tx.QueryRow(ctx, `SELECT state, next_attempt_at FROM orders WHERE id = ?`+s.forUpdate(), orderID).Scan(&cur, &pending)
		if err != nil {
			return readErr(err, "record dispatch")
		}
		if !pending.Valid {
			return nil
		}
		ev := arsapi.OrderEvent{At: now}
		switch {
		case dispatchErr == nil:
			_, err = tx.Exec(ctx, `UPDATE orders SET state = ?, fulfilment = ?, external_id = ?, next_attempt_at = NULL,
				lease_until = 0, last_error = '', updated_at = ? WHERE id = ?`,
				string(st), fulfiller, res.ExternalID, nanos(now), orderID)
			ev.State = st
			ev.Detail = "handed to " + fulfiller
			if st == arsapi.OrderUnfulfilled {
				ev.Detail = "handed to no one"
			}
			if res.Detail != "" {
				ev.Detail += ": " + res.Detail
			}
			if res.ExternalID != "" {
				ev.Detail += " (" + res.ExternalID + ")"
			}
		case !retryAt.IsZero():
			msg := truncate(dispatchErr.Error(), maxErrorLen)
			_, err = tx.Exec(ctx, `UPDATE orders SET fulfilment = ?, next_attempt_at = ?, lease_until = 0,
				last_error = ?, updated_at = ? WHERE id = ?`,
				fulfiller, nanos(retryAt), msg, nanos(now), orderID)
			ev.State = cur
			ev.Detail = fmt.Sprintf("%s: %s; retrying at %s", fulfiller, msg, retryAt.UTC().Format(time.RFC3339))
		default:
			msg := truncate(dispatchErr.Error(), maxErrorLen)
			_, err = tx.Exec(ctx, `UPDATE orders SET state = 'failed', fulfilment = ?, next_attempt_at = NULL,
				lease_until = 0, last_error = ?, updated_at = ? WHERE id = ?`,
				fulfiller, msg, nanos(now), orderID)
			ev.State = arsapi.OrderFailed
			ev.Detail = fulfiller + ": " + msg
		}
		if err != nil {
			return fmt.Errorf("record dispatch: %w", err)
		}
		return addOrderEvent(ctx, tx, orderID, ev)
	})
}
