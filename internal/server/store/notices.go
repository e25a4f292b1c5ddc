package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/db"
)

// NotifySettings is core.NotifySettings.
type NotifySettings = core.NotifySettings

// NotifySettings returns an account's settings (the defaults when it
// never changed them).
func (s *Store) NotifySettings(ctx context.Context, accountID string) (NotifySettings, error) {
	var (
		off   int
		email string
	)
	err := s.DB.QueryRow(ctx, `SELECT email_off, email FROM notify_settings WHERE account_id = ?`, accountID).Scan(&off, &email)
	if err != nil {
		if err := readErr(err, "read email settings"); errors.Is(err, ErrNotFound) {
			return NotifySettings{EmailOn: true}, nil
		}
		return NotifySettings{}, readErr(err, "read email settings")
	}
	return NotifySettings{EmailOn: off == 0, Email: email}, nil
}

// SetNotifySettings stores an account's settings. The address is
// checked and normalised like an account's (InvalidAccountError when it
// is not an address); empty means the account's own.
func (s *Store) SetNotifySettings(ctx context.Context, accountID string, ns NotifySettings) (NotifySettings, error) {
	if strings.TrimSpace(ns.Email) != "" {
		e, err := NormalizeEmail(ns.Email)
		if err != nil {
			return NotifySettings{}, err
		}
		ns.Email = e
	} else {
		ns.Email = ""
	}
	off := 1
	if ns.EmailOn {
		off = 0
	}
	_, err := s.DB.Exec(ctx, `INSERT INTO notify_settings (account_id, email_off, email, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET email_off = excluded.email_off, email = excluded.email, updated_at = excluded.updated_at`,
		accountID, off, ns.Email, nanos(s.now()))
	if err != nil {
		return NotifySettings{}, fmt.Errorf("save email settings: %w", err)
	}
	return ns, nil
}

// Notice is core.Notice.
type Notice = core.Notice

// MaxNoticesPerDay is the most order emails an account is sent in 24
// hours. The address of an account is not proven to be its owner's, and
// a client may place an order with every report (a new supply name each
// time): without a bound, arsd would mail whatever address an account
// names as often as it likes. Orders past it are not mailed; they are in
// the order inbox and the API.
const MaxNoticesPerDay = 24

// overLimitNote is the last_error of an order that was not mailed
// because its account had MaxNoticesPerDay emails that day.
const overLimitNote = "not sent: the account had its emails of the day"

// QueueNotices queues an email for every order created since the given
// time whose account has order emails on and has none queued yet, up to
// MaxNoticesPerDay emails of an account in 24 hours; the orders past it
// are recorded as not sent. Every replica may call it at once: the
// queue's primary key keeps one notice per order. It returns how many it
// queued.
func (s *Store) QueueNotices(ctx context.Context, since time.Time) (int64, error) {
	now := nanos(s.now())
	dayAgo := nanos(s.now().Add(-24 * time.Hour))
	var queued int64
	err := s.inTx(ctx, func(tx *db.Tx) error {
		// New orders are numbered per account, oldest first, after the
		// emails the account was queued in the last 24 hours.
		r, err := tx.Exec(ctx, `INSERT INTO email_notices (order_id, account_id, created_at, next_attempt_at)
			SELECT q.id, q.account_id, ?, ? FROM (
				SELECT o.id, o.account_id, row_number() OVER (PARTITION BY o.account_id ORDER BY o.created_at, o.id) AS n
				FROM orders o
				LEFT JOIN notify_settings ns ON ns.account_id = o.account_id
				WHERE o.created_at >= ? AND COALESCE(ns.email_off, 0) = 0
				AND NOT EXISTS (SELECT 1 FROM email_notices n WHERE n.order_id = o.id)
			) q
			WHERE q.n + (SELECT COUNT(*) FROM email_notices e WHERE e.account_id = q.account_id
				AND e.created_at >= ? AND e.last_error <> ?) <= ?
			ON CONFLICT (order_id) DO NOTHING`, now, now, nanos(since), dayAgo, overLimitNote, MaxNoticesPerDay)
		if err != nil {
			return fmt.Errorf("queue order emails: %w", err)
		}
		if queued, err = r.RowsAffected(); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO email_notices (order_id, account_id, created_at, next_attempt_at, last_error)
			SELECT o.id, o.account_id, ?, NULL, ? FROM orders o
			LEFT JOIN notify_settings ns ON ns.account_id = o.account_id
			WHERE o.created_at >= ? AND COALESCE(ns.email_off, 0) = 0
			AND NOT EXISTS (SELECT 1 FROM email_notices n WHERE n.order_id = o.id)
			ON CONFLICT (order_id) DO NOTHING`, now, overLimitNote, nanos(since)); err != nil {
			return fmt.Errorf("record order emails over the limit: %w", err)
		}
		return nil
	})
	return queued, err
}

// ClaimNotices takes up to limit due notices under a lease, like
// ClaimDispatch: a notice is sent by one replica at a time, and by another
// only when the lease ran out unrecorded. A notice whose account turned
// emails off since it was queued is dropped, not claimed.
func (s *Store) ClaimNotices(ctx context.Context, limit int, lease time.Duration) ([]Notice, error) {
	if limit <= 0 {
		limit = 1
	}
	now := nanos(s.now())
	type claimed struct {
		orderID, accountID, enrollmentID, to, name string
	}
	var (
		out      []Notice
		cs       []claimed
		attempts map[string]int
	)
	err := s.inTx(ctx, func(tx *db.Tx) error {
		cs = cs[:0]
		rows, err := tx.Query(ctx, `UPDATE email_notices SET lease_until = ?, attempts = attempts + 1
			WHERE order_id IN (SELECT order_id FROM email_notices WHERE next_attempt_at IS NOT NULL
				AND next_attempt_at <= ? AND lease_until <= ? ORDER BY next_attempt_at LIMIT ?`+s.skipLocked()+`)
			RETURNING order_id, attempts`, now+int64(lease), now, now, limit)
		if err != nil {
			return fmt.Errorf("claim order emails: %w", err)
		}
		var ids []any
		ids, attempts, err = scanClaimed(rows, "order emails")
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		rows, err = tx.Query(ctx, `SELECT o.id, o.account_id, o.enrollment_id, a.email, a.name,
			COALESCE(ns.email_off, 0), COALESCE(ns.email, '')
			FROM orders o JOIN accounts a ON a.id = o.account_id
			LEFT JOIN notify_settings ns ON ns.account_id = o.account_id
			WHERE o.id IN (`+placeholders(len(ids))+`) ORDER BY o.created_at, o.id`, ids...)
		if err != nil {
			return fmt.Errorf("read claimed order emails: %w", err)
		}
		var dropped []any
		for rows.Next() {
			var (
				c       claimed
				off     int
				altAddr string
			)
			if err := rows.Scan(&c.orderID, &c.accountID, &c.enrollmentID, &c.to, &c.name, &off, &altAddr); err != nil {
				rows.Close()
				return fmt.Errorf("read claimed order emails: %w", err)
			}
			if off != 0 {
				dropped = append(dropped, c.orderID)
				continue
			}
			if altAddr != "" {
				c.to = altAddr
			}
			cs = append(cs, c)
		}
		if err := errors.Join(rows.Close(), rows.Err()); err != nil {
			return fmt.Errorf("read claimed order emails: %w", err)
		}
		if len(dropped) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE email_notices SET next_attempt_at = NULL, last_error = 'emails turned off'
				WHERE order_id IN (`+placeholders(len(dropped))+`)`, dropped...); err != nil {
				return fmt.Errorf("drop order emails: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		o, err := s.GetOrder(ctx, c.accountID, c.orderID)
		if err != nil {
			return out, err
		}
		e, err := s.GetEnrollment(ctx, c.accountID, c.enrollmentID)
		if err != nil {
			return out, err
		}
		out = append(out, Notice{Order: o, AccountID: c.accountID, To: c.to, Name: c.name, Enrollment: e, Attempt: attempts[c.orderID]})
	}
	return out, nil
}

// RecordNotice records the outcome of sending a claimed notice: sent
// (sendErr nil), to be retried at retryAt, or failed for good (zero
// retryAt). Recording a notice already out of the queue changes nothing.
func (s *Store) RecordNotice(ctx context.Context, orderID string, sendErr error, retryAt time.Time) error {
	now := nanos(s.now())
	var err error
	switch {
	case sendErr == nil:
		_, err = s.DB.Exec(ctx, `UPDATE email_notices SET next_attempt_at = NULL, lease_until = 0, sent_at = ?, last_error = ''
			WHERE order_id = ? AND next_attempt_at IS NOT NULL`, now, orderID)
	case retryAt.IsZero():
		_, err = s.DB.Exec(ctx, `UPDATE email_notices SET next_attempt_at = NULL, lease_until = 0, last_error = ?
			WHERE order_id = ? AND next_attempt_at IS NOT NULL`, truncate(sendErr.Error(), 500), orderID)
	default:
		_, err = s.DB.Exec(ctx, `UPDATE email_notices SET next_attempt_at = ?, lease_until = 0, last_error = ?
			WHERE order_id = ? AND next_attempt_at IS NOT NULL`, nanos(retryAt), truncate(sendErr.Error(), 500), orderID)
	}
	if err != nil {
		return fmt.Errorf("record order email: %w", err)
	}
	return nil
}

// NoticeSent reports whether the order's email went out, and when.
func (s *Store) NoticeSent(ctx context.Context, orderID string) (time.Time, bool, error) {
	var at *int64
	err := s.DB.QueryRow(ctx, `SELECT sent_at FROM email_notices WHERE order_id = ?`, orderID).Scan(&at)
	if err != nil {
		if err := readErr(err, "read order email"); errors.Is(err, ErrNotFound) {
			return time.Time{}, false, nil
		}
		return time.Time{}, false, readErr(err, "read order email")
	}
	if at == nil {
		return time.Time{}, false, nil
	}
	return fromNanos(*at), true, nil
}

// LinkKey returns the HMAC key of one-click links kept in the database,
// creating it at first use; every replica gets the same key.
func (s *Store) LinkKey(ctx context.Context) ([]byte, error) {
	var secret string
	err := s.DB.QueryRow(ctx, `SELECT secret FROM link_keys WHERE id = 1`).Scan(&secret)
	if err != nil {
		if err := readErr(err, "read link key"); !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
		if _, err := s.DB.Exec(ctx, `INSERT INTO link_keys (id, secret, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING`,
			hex.EncodeToString(k), nanos(s.now())); err != nil {
			return nil, fmt.Errorf("save link key: %w", err)
		}
		if err := s.DB.QueryRow(ctx, `SELECT secret FROM link_keys WHERE id = 1`).Scan(&secret); err != nil {
			return nil, fmt.Errorf("read link key: %w", err)
		}
	}
	k, err := hex.DecodeString(secret)
	if err != nil || len(k) < 32 {
		return nil, errors.New("read link key: the stored key is damaged")
	}
	return k, nil
}

// ErrLinkUsed is core.ErrLinkUsed.
var ErrLinkUsed = core.ErrLinkUsed

// UseLink records that the one-click link id (of orderID, valid until
// expires) is used, or returns ErrLinkUsed when it was already: of two
// clicks at once, one wins.
func (s *Store) UseLink(ctx context.Context, id, orderID string, expires time.Time) error {
	r, err := s.DB.Exec(ctx, `INSERT INTO used_links (id, order_id, used_at, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, id, orderID, nanos(s.now()), nanos(expires))
	if err != nil {
		return fmt.Errorf("use link: %w", err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return fmt.Errorf("use link: %w", err)
	} else if n == 0 {
		return ErrLinkUsed
	}
	return nil
}

// ReleaseLink gives back a link whose action failed for a passing
// reason, so that it can be tried again.
func (s *Store) ReleaseLink(ctx context.Context, id string) error {
	if _, err := s.DB.Exec(ctx, `DELETE FROM used_links WHERE id = ?`, id); err != nil {
		return fmt.Errorf("release link: %w", err)
	}
	return nil
}

// LinkUsed reports whether the link id was used.
func (s *Store) LinkUsed(ctx context.Context, id string) (bool, error) {
	var n int
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM used_links WHERE id = ?`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("read link: %w", err)
	}
	return n > 0, nil
}

// OrderAccount returns the account of an order, whoever asks: a one-click
// link names only its order, and its MAC is checked against this account.
func (s *Store) OrderAccount(ctx context.Context, orderID string) (string, error) {
	var id string
	if err := s.DB.QueryRow(ctx, `SELECT account_id FROM orders WHERE id = ?`, orderID).Scan(&id); err != nil {
		return "", readErr(err, "read order")
	}
	return id, nil
}

// PurgeNotices deletes used links past their expiry and notices sent or
// given up before olderThan.
func (s *Store) PurgeNotices(ctx context.Context, olderThan time.Time) (int64, error) {
	r1, err := s.DB.Exec(ctx, `DELETE FROM used_links WHERE expires_at < ?`, nanos(s.now()))
	if err != nil {
		return 0, fmt.Errorf("purge used links: %w", err)
	}
	r2, err := s.DB.Exec(ctx, `DELETE FROM email_notices WHERE next_attempt_at IS NULL AND created_at < ?`, nanos(olderThan))
	if err != nil {
		return 0, fmt.Errorf("purge order emails: %w", err)
	}
	n1, _ := r1.RowsAffected()
	n2, _ := r2.RowsAffected()
	return n1 + n2, nil
}
