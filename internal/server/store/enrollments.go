package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/reorder"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

var (
	_ Enrollments = (*Store)(nil)
	_ Orders      = (*Store)(nil)
	_ Idempotency = (*Store)(nil)
)

// ErrInvalid is core.ErrInvalid.
var ErrInvalid = core.ErrInvalid

// DefaultThreshold is the threshold (percent) used by CreateEnrollment when
// it is given a value out of range.
const DefaultThreshold = 15

// liveStates are the states in which an enrollment holds its printer's
// serial; the partial unique index enrollments_live_serial uses the same list.
const liveStates = "('pending', 'active', 'paused')"

func nanos(t time.Time) int64 { return t.UTC().UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// serialKey is the serial as compared for uniqueness.
func serialKey(serial string) string { return strings.ToUpper(strings.TrimSpace(serial)) }

// forUpdate is the row-locking clause of the dialect (SQLite locks the
// whole database for writing when the transaction begins).
func (s *Store) forUpdate() string {
	if s.DB.Dialect == db.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// inTx runs fn in a transaction and retries it when PostgreSQL reports a
// serialization failure or a deadlock, or SQLite reports it is busy.
func (s *Store) inTx(ctx context.Context, fn func(tx *db.Tx) error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		err = s.DB.InTx(ctx, fn)
		if err == nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
	return err
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

const enrollmentCols = `id, account_id, provider, state, model, series, serial, uuid, nickname, terms_version,
	threshold, created_at, updated_at, levels_read_at, cancelled_at, cancel_reasons, cancel_comment`

type scanner interface{ Scan(dest ...any) error }

func scanEnrollment(r scanner) (arsapi.Enrollment, string, error) {
	var (
		e                   arsapi.Enrollment
		account             string
		created, updated    int64
		readAt, cancelledAt sql.NullInt64
		reasons, comment    string
	)
	err := r.Scan(&e.ID, &account, &e.Provider, &e.State, &e.Printer.Model, &e.Printer.Series, &e.Printer.Serial,
		&e.Printer.UUID, &e.Printer.Label, &e.TermsVersion, &e.Threshold, &created, &updated,
		&readAt, &cancelledAt, &reasons, &comment)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return e, "", ErrNotFound
		}
		return e, "", err
	}
	e.CreatedAt, e.UpdatedAt = fromNanos(created), fromNanos(updated)
	if readAt.Valid {
		t := fromNanos(readAt.Int64)
		e.LevelsReadAt = &t
	}
	if cancelledAt.Valid {
		c := &arsapi.Cancellation{At: fromNanos(cancelledAt.Int64), Comment: comment}
		if err := json.Unmarshal([]byte(reasons), &c.Reasons); err != nil {
			return e, "", fmt.Errorf("enrollment %s: cancel reasons: %w", e.ID, err)
		}
		e.Cancellation = c
	}
	return e, account, nil
}

type querier interface {
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// loadSupplies fills in the last reported levels of the given enrollments.
func loadSupplies(ctx context.Context, q querier, es []arsapi.Enrollment) error {
	if len(es) == 0 {
		return nil
	}
	idx := make(map[string]int, len(es))
	args := make([]any, 0, len(es))
	for i, e := range es {
		idx[e.ID] = i
		args = append(args, e.ID)
	}
	rows, err := q.Query(ctx, `SELECT enrollment_id, supply, type, class, colors, color_name, level, low, high, state
		FROM supply_levels WHERE enrollment_id IN (`+placeholders(len(args))+`)
		ORDER BY enrollment_id, pos, supply`, args...)
	if err != nil {
		return fmt.Errorf("read supply levels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, colors string
			sp         printer.Supply
		)
		if err := rows.Scan(&id, &sp.Name, &sp.Type, &sp.Class, &colors, &sp.ColorName, &sp.Level, &sp.Low, &sp.High, &sp.State); err != nil {
			return fmt.Errorf("read supply levels: %w", err)
		}
		if colors != "" {
			sp.Colors = strings.Split(colors, ",")
		}
		i := idx[id]
		es[i].Supplies = append(es[i].Supplies, sp)
	}
	return rows.Err()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// MaxEnrollmentEvents is how many events of an enrollment are kept besides
// its "created" one, the latest: pausing and resuming, or changing the
// threshold, in a loop added one at every request, and View Printer
// Details reads them all.
const MaxEnrollmentEvents = 100

func addEnrollmentEvent(ctx context.Context, q querier, id string, at time.Time, kind, detail string) error {
	_, err := q.Exec(ctx, `INSERT INTO enrollment_events (enrollment_id, at, kind, detail) VALUES (?, ?, ?, ?)`,
		id, nanos(at), kind, detail)
	if err != nil {
		return fmt.Errorf("record %s event: %w", kind, err)
	}
	if _, err := q.Exec(ctx, `DELETE FROM enrollment_events WHERE enrollment_id = ? AND kind <> 'created' AND id < (
			SELECT id FROM enrollment_events WHERE enrollment_id = ? AND kind <> 'created' ORDER BY id DESC LIMIT 1 OFFSET ?)`,
		id, id, MaxEnrollmentEvents-1); err != nil {
		return fmt.Errorf("trim enrollment events: %w", err)
	}
	return nil
}

// CreateEnrollment implements Enrollments.
func (s *Store) CreateEnrollment(ctx context.Context, accountID string, req arsapi.CreateEnrollmentRequest, threshold int) (arsapi.Enrollment, error) {
	var state arsapi.EnrollmentState
	switch req.Provider {
	case arsapi.ProviderCanon:
		state = arsapi.StateActive
	case arsapi.ProviderAmazon:
		state = arsapi.StatePending
	default:
		return arsapi.Enrollment{}, fmt.Errorf("%w: unknown provider %q (want canon or amazon)", ErrInvalid, req.Provider)
	}
	key := serialKey(req.Printer.Serial)
	if key == "" {
		return arsapi.Enrollment{}, fmt.Errorf("%w: the printer serial is empty", ErrInvalid)
	}
	if reorder.CheckThreshold(threshold) != nil {
		threshold = DefaultThreshold
	}
	now := s.now()
	e := arsapi.Enrollment{
		ID:       newID(),
		Provider: req.Provider,
		State:    state,
		Printer: arsapi.Printer{
			Model:  strings.TrimSpace(req.Printer.Model),
			Series: strings.TrimSpace(req.Printer.Series),
			Serial: strings.TrimSpace(req.Printer.Serial),
			UUID:   strings.TrimSpace(req.Printer.UUID),
			Label:  strings.TrimSpace(req.Printer.Label),
		},
		TermsVersion: req.TermsVersion,
		Threshold:    threshold,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	// The partial unique index decides: two concurrent creations for one
	// serial cannot both insert. A loser looks up the winner; if that one was
	// cancelled in between, it tries again.
	for attempt := 0; attempt < 3; attempt++ {
		var (
			existing *AlreadyEnrolledError
			inserted bool
		)
		err := s.inTx(ctx, func(tx *db.Tx) error {
			existing, inserted = nil, false
			if err := s.checkEnrollmentCap(ctx, tx, accountID, now); err != nil {
				return err
			}
			res, err := tx.Exec(ctx, `INSERT INTO enrollments (id, account_id, provider, state, model, series, serial, serial_key,
				uuid, nickname, terms_version, threshold, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (serial_key) WHERE state IN `+liveStates+` DO NOTHING`,
				e.ID, accountID, string(e.Provider), string(e.State), e.Printer.Model, e.Printer.Series, e.Printer.Serial, key,
				e.Printer.UUID, e.Printer.Label, e.TermsVersion, e.Threshold, nanos(now), nanos(now))
			if err != nil {
				return fmt.Errorf("insert enrollment: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 1 {
				inserted = true
				return addEnrollmentEvent(ctx, tx, e.ID, now, "created",
					fmt.Sprintf("provider %s, state %s, threshold %d%%, terms %s", e.Provider, e.State, e.Threshold, e.TermsVersion))
			}
			other, owner, err := scanEnrollment(tx.QueryRow(ctx, `SELECT `+enrollmentCols+` FROM enrollments
				WHERE serial_key = ? AND state IN `+liveStates, key))
			if errors.Is(err, ErrNotFound) {
				return nil // cancelled meanwhile; try again
			}
			if err != nil {
				return fmt.Errorf("read existing enrollment: %w", err)
			}
			existing = &AlreadyEnrolledError{ID: other.ID, SameAccount: owner == accountID}
			if existing.SameAccount {
				es := []arsapi.Enrollment{other}
				if err := loadSupplies(ctx, tx, es); err != nil {
					return err
				}
				existing.Enrollment = es[0]
			}
			return nil
		})
		switch {
		case err != nil:
			return arsapi.Enrollment{}, err
		case inserted:
			return e, nil
		case existing != nil:
			return arsapi.Enrollment{}, existing
		}
	}
	return arsapi.Enrollment{}, fmt.Errorf("create enrollment: serial %q kept changing state; try again", e.Printer.Serial)
}

// checkEnrollmentCap refuses a new enrollment of an account that holds
// Store.MaxEnrollments counted ones with ErrTooManyEnrollments. The
// account's row is locked first (PostgreSQL; SQLite's transaction holds
// the write lock), so that enrollments created at once are counted one
// after the other.
func (s *Store) checkEnrollmentCap(ctx context.Context, tx *db.Tx, accountID string, now time.Time) error {
	if s.DB.Dialect == db.Postgres {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = ?`+s.forUpdate(), accountID).Scan(&one)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("lock account: %w", err)
		}
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM enrollments WHERE account_id = ? AND (state IN `+liveStates+` OR created_at > ?)`,
		accountID, nanos(now.Add(-core.EnrollmentCapWindow))).Scan(&n); err != nil {
		return fmt.Errorf("count enrollments: %w", err)
	}
	if max := cmp.Or(s.MaxEnrollments, core.DefaultMaxEnrollments); n >= max {
		return fmt.Errorf("%w: at most %d that are live or were enrolled in the last %d hours, cancelled ones included",
			ErrTooManyEnrollments, max, int(core.EnrollmentCapWindow.Hours()))
	}
	return nil
}

// GetEnrollment implements Enrollments.
func (s *Store) GetEnrollment(ctx context.Context, accountID, id string) (arsapi.Enrollment, error) {
	e, _, err := scanEnrollment(s.DB.QueryRow(ctx, `SELECT `+enrollmentCols+` FROM enrollments WHERE id = ? AND account_id = ?`, id, accountID))
	if err != nil {
		return e, err
	}
	es := []arsapi.Enrollment{e}
	if err := loadSupplies(ctx, s.DB, es); err != nil {
		return e, err
	}
	return es[0], nil
}

// LookupEnrollment implements Enrollments.
func (s *Store) LookupEnrollment(ctx context.Context, id string) (arsapi.Enrollment, string, error) {
	e, owner, err := scanEnrollment(s.DB.QueryRow(ctx, `SELECT `+enrollmentCols+` FROM enrollments WHERE id = ?`, id))
	if err != nil {
		return e, "", err
	}
	es := []arsapi.Enrollment{e}
	if err := loadSupplies(ctx, s.DB, es); err != nil {
		return e, "", err
	}
	return es[0], owner, nil
}

// cursor is a position in a list ordered by (created_at, id).
type cursor struct {
	at int64
	id string
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.at, 10) + ":" + c.id))
}

func parseCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, fmt.Errorf("%w: malformed cursor", ErrInvalid)
	}
	at, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return cursor{}, fmt.Errorf("%w: malformed cursor", ErrInvalid)
	}
	return cursor{at: n, id: id}, nil
}

func pageLimit(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > 200:
		return 200
	}
	return n
}

// ListEnrollments implements Enrollments. Enrollments are listed oldest
// first.
func (s *Store) ListEnrollments(ctx context.Context, accountID string, f ListFilter) (arsapi.List[arsapi.Enrollment], error) {
	out := arsapi.List[arsapi.Enrollment]{Items: []arsapi.Enrollment{}}
	limit := pageLimit(f.Limit)
	q := `SELECT ` + enrollmentCols + ` FROM enrollments WHERE account_id = ?`
	args := []any{accountID}
	if f.State != "" {
		q += ` AND state = ?`
		args = append(args, string(f.State))
	}
	if f.Serial != "" {
		q += ` AND serial_key = ?`
		args = append(args, serialKey(f.Serial))
	}
	if f.Cursor != "" {
		c, err := parseCursor(f.Cursor)
		if err != nil {
			return out, err
		}
		q += ` AND (created_at > ? OR (created_at = ? AND id > ?))`
		args = append(args, c.at, c.at, c.id)
	}
	q += ` ORDER BY created_at, id LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.DB.Query(ctx, q, args...)
	if err != nil {
		return out, fmt.Errorf("list enrollments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, _, err := scanEnrollment(rows)
		if err != nil {
			return out, fmt.Errorf("list enrollments: %w", err)
		}
		out.Items = append(out.Items, e)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("list enrollments: %w", err)
	}
	rows.Close()
	if len(out.Items) > limit {
		out.Items = out.Items[:limit]
		last := out.Items[limit-1]
		out.NextCursor = cursor{at: nanos(last.CreatedAt), id: last.ID}.String()
	}
	if f.NoSupplies {
		return out, nil
	}
	if err := loadSupplies(ctx, s.DB, out.Items); err != nil {
		return out, err
	}
	return out, nil
}

// changeEnrollment locks the caller's enrollment, lets change decide and
// apply the change, and returns the enrollment as it is afterwards.
// scoped=false skips the account check (server-internal flows).
func (s *Store) changeEnrollment(ctx context.Context, accountID, id string, scoped bool,
	change func(tx *db.Tx, e arsapi.Enrollment, now time.Time) error) (arsapi.Enrollment, error) {
	var out arsapi.Enrollment
	err := s.inTx(ctx, func(tx *db.Tx) error {
		q := `SELECT ` + enrollmentCols + ` FROM enrollments WHERE id = ?`
		args := []any{id}
		if scoped {
			q += ` AND account_id = ?`
			args = append(args, accountID)
		}
		e, _, err := scanEnrollment(tx.QueryRow(ctx, q+s.forUpdate(), args...))
		if err != nil {
			return err
		}
		if err := change(tx, e, s.now()); err != nil {
			return err
		}
		out, _, err = scanEnrollment(tx.QueryRow(ctx, `SELECT `+enrollmentCols+` FROM enrollments WHERE id = ?`, id))
		if err != nil {
			return err
		}
		es := []arsapi.Enrollment{out}
		if err := loadSupplies(ctx, tx, es); err != nil {
			return err
		}
		out = es[0]
		return nil
	})
	return out, err
}

// CancelEnrollment implements Enrollments.
// The comment is trimmed, its line ends become "\n", and it must pass
// arsapi.CheckText (multi-line) or ErrInvalid is returned.
func (s *Store) CancelEnrollment(ctx context.Context, accountID, id string, req arsapi.CancelRequest) (arsapi.Enrollment, error) {
	comment := strings.TrimSpace(strings.ReplaceAll(req.Comment, "\r\n", "\n"))
	if err := arsapi.CheckText(comment, arsapi.MaxCancelComment, true); err != nil {
		return arsapi.Enrollment{}, fmt.Errorf("%w: comment %v", ErrInvalid, err)
	}
	reasons := req.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	rj, err := json.Marshal(reasons)
	if err != nil {
		return arsapi.Enrollment{}, err
	}
	return s.changeEnrollment(ctx, accountID, id, true, func(tx *db.Tx, e arsapi.Enrollment, now time.Time) error {
		if e.State == arsapi.StateCancelled {
			return ErrNotActive
		}
		if _, err := tx.Exec(ctx, `UPDATE enrollments SET state = 'cancelled', cancelled_at = ?, updated_at = ?,
			cancel_reasons = ?, cancel_comment = ? WHERE id = ?`,
			nanos(now), nanos(now), string(rj), comment, id); err != nil {
			return fmt.Errorf("cancel enrollment: %w", err)
		}
		if err := skipScheduled(ctx, tx, id, now); err != nil {
			return err
		}
		return addEnrollmentEvent(ctx, tx, id, now, "cancelled", "reasons: "+strings.Join(reasons, ", "))
	})
}

// SetPaused implements Enrollments. Pausing a paused enrollment, or
// resuming an active one, changes nothing; a pending or cancelled one
// answers ErrNotActive.
func (s *Store) SetPaused(ctx context.Context, accountID, id string, paused bool) (arsapi.Enrollment, error) {
	return s.changeEnrollment(ctx, accountID, id, true, func(tx *db.Tx, e arsapi.Enrollment, now time.Time) error {
		if e.State != arsapi.StateActive && e.State != arsapi.StatePaused {
			return ErrNotActive
		}
		to, kind := arsapi.StateActive, "resumed"
		if paused {
			to, kind = arsapi.StatePaused, "paused"
		}
		if e.State == to {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE enrollments SET state = ?, updated_at = ? WHERE id = ?`, string(to), nanos(now), id); err != nil {
			return fmt.Errorf("%s enrollment: %w", kind, err)
		}
		return addEnrollmentEvent(ctx, tx, id, now, kind, "")
	})
}

// SetThreshold implements Enrollments. percent must be within 0..100.
func (s *Store) SetThreshold(ctx context.Context, accountID, id string, percent int) (arsapi.Enrollment, error) {
	if err := reorder.CheckThreshold(percent); err != nil {
		return arsapi.Enrollment{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return s.changeEnrollment(ctx, accountID, id, true, func(tx *db.Tx, e arsapi.Enrollment, now time.Time) error {
		if e.State == arsapi.StateCancelled {
			return ErrNotActive
		}
		if e.Threshold == percent {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE enrollments SET threshold = ?, updated_at = ? WHERE id = ?`, percent, nanos(now), id); err != nil {
			return fmt.Errorf("set threshold: %w", err)
		}
		return addEnrollmentEvent(ctx, tx, id, now, "threshold", fmt.Sprintf("%d%% -> %d%%", e.Threshold, percent))
	})
}

// ActivateEnrollment implements Enrollments. Activating an active or
// paused enrollment changes nothing; a cancelled one answers ErrNotActive.
func (s *Store) ActivateEnrollment(ctx context.Context, id string) error {
	_, err := s.changeEnrollment(ctx, "", id, false, func(tx *db.Tx, e arsapi.Enrollment, now time.Time) error {
		switch e.State {
		case arsapi.StateActive, arsapi.StatePaused:
			return nil
		case arsapi.StateCancelled:
			return ErrNotActive
		}
		if _, err := tx.Exec(ctx, `UPDATE enrollments SET state = 'active', updated_at = ? WHERE id = ?`, nanos(now), id); err != nil {
			return fmt.Errorf("activate enrollment: %w", err)
		}
		return addEnrollmentEvent(ctx, tx, id, now, "activated", "")
	})
	return err
}

// EnrollmentHistory implements Enrollments, oldest event first.
func (s *Store) EnrollmentHistory(ctx context.Context, accountID, id string) ([]EnrollmentEvent, error) {
	var n int
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM enrollments WHERE id = ? AND account_id = ?`, id, accountID).Scan(&n); err != nil {
		return nil, fmt.Errorf("enrollment history: %w", err)
	}
	if n == 0 {
		return nil, ErrNotFound
	}
	rows, err := s.DB.Query(ctx, `SELECT at, kind, detail FROM enrollment_events WHERE enrollment_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("enrollment history: %w", err)
	}
	defer rows.Close()
	out := []EnrollmentEvent{}
	for rows.Next() {
		var (
			ev EnrollmentEvent
			at int64
		)
		if err := rows.Scan(&at, &ev.Kind, &ev.Detail); err != nil {
			return nil, fmt.Errorf("enrollment history: %w", err)
		}
		ev.At = fromNanos(at)
		out = append(out, ev)
	}
	return out, rows.Err()
}
