package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/internal/server/reorder"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/forecast"
)

// Notice and hold. A new order of an enrollment with a hold window is
// scheduled (see placeOrder): it waits in the dispatch outbox with
// next_attempt_at at the end of its window, so the dispatcher hands it
// over only then. Until then the owner may skip it (SkipOrder) or ship it
// now (ShipOrder), from the API, the CLI, the web pages or the one-click
// link of the order email; the email (and any other notice) is built with
// OrderNotice. The dispatcher's claim turns a scheduled order placed, in
// the same transaction, so that a skip after the window finds it handed
// over and changes nothing.

// SkipOrder skips a scheduled order of the account: it is never handed
// over, and its supply is re-armed in a new cycle that orders again at the
// printer's low level (not by forecast) unless a new cartridge is seen
// first. Skipping a skipped order answers it unchanged; an order in any
// other state is ErrOrderNotOpen, one of another account ErrNotFound.
func (s *Store) SkipOrder(ctx context.Context, accountID, orderID string) (arsapi.Order, error) {
	err := s.holdAction(ctx, accountID, orderID, arsapi.OrderSkipped, func(tx *db.Tx, o heldOrder, now time.Time) error {
		if _, err := tx.Exec(ctx, `UPDATE orders SET state = 'skipped', next_attempt_at = NULL, scheduled_notice_at = NULL,
			updated_at = ? WHERE id = ?`, nanos(now), orderID); err != nil {
			return fmt.Errorf("skip order: %w", err)
		}
		// Re-arm the supply if it is still in the order's cycle (a new
		// cartridge may have re-armed it already).
		if _, err := tx.Exec(ctx, `UPDATE supply_levels SET armed = 1, cycle = cycle + 1, order_level = NULL, low_only = 1
			WHERE enrollment_id = ? AND supply = ? AND cycle = ? AND armed = 0`, o.enrollmentID, o.supply, o.cycle); err != nil {
			return fmt.Errorf("re-arm supply: %w", err)
		}
		return addOrderEvent(ctx, tx, orderID, arsapi.OrderEvent{State: arsapi.OrderSkipped, At: now,
			Detail: "skipped by the owner; the supply orders again when the printer reports it low"})
	})
	if err != nil {
		return arsapi.Order{}, err
	}
	return s.GetOrder(ctx, accountID, orderID)
}

// ShipOrder ends the hold window of a scheduled order of the account now:
// the dispatcher hands it over at its next pass (Store.OrdersPlaced is
// called to wake it). An order in any other state is ErrOrderNotOpen
// (already handed over, or skipped), one of another account ErrNotFound.
func (s *Store) ShipOrder(ctx context.Context, accountID, orderID string) (arsapi.Order, error) {
	err := s.holdAction(ctx, accountID, orderID, "", func(tx *db.Tx, o heldOrder, now time.Time) error {
		if _, err := tx.Exec(ctx, `UPDATE orders SET next_attempt_at = ?, hold_until = ?, updated_at = ? WHERE id = ?`,
			nanos(now), nanos(now), nanos(now), orderID); err != nil {
			return fmt.Errorf("ship order: %w", err)
		}
		return addOrderEvent(ctx, tx, orderID, arsapi.OrderEvent{State: arsapi.OrderScheduled, At: now,
			Detail: "shipped now by the owner: handed over without waiting for the end of the hold"})
	})
	if err != nil {
		return arsapi.Order{}, err
	}
	if s.OrdersPlaced != nil {
		s.OrdersPlaced()
	}
	return s.GetOrder(ctx, accountID, orderID)
}

type heldOrder struct {
	enrollmentID, supply string
	cycle                int64
}

// holdAction runs act on a scheduled order of the account whose hold has
// not ended, holding the enrollment's row lock as a level report does (so
// that a report and a skip of one supply never interleave). An order
// already in state done changes nothing.
func (s *Store) holdAction(ctx context.Context, accountID, orderID string, done arsapi.OrderState,
	act func(tx *db.Tx, o heldOrder, now time.Time) error) error {
	return s.inTx(ctx, func(tx *db.Tx) error {
		var o heldOrder
		if err := tx.QueryRow(ctx, `SELECT enrollment_id FROM orders WHERE id = ? AND account_id = ?`, orderID, accountID).
			Scan(&o.enrollmentID); err != nil {
			return readErr(err, "read order")
		}
		if s.DB.Dialect == db.Postgres {
			var one int
			if err := tx.QueryRow(ctx, lockEnrollmentSQL, o.enrollmentID, accountID).Scan(&one); err != nil {
				return readErr(err, "lock enrollment")
			}
		}
		var st arsapi.OrderState
		if err := tx.QueryRow(ctx, `SELECT state, supply, cycle FROM orders WHERE id = ?`+s.forUpdate(), orderID).
			Scan(&st, &o.supply, &o.cycle); err != nil {
			return readErr(err, "read order")
		}
		switch st {
		case done:
			return nil
		case arsapi.OrderScheduled:
		default:
			return fmt.Errorf("%w: order %s is %s, no longer scheduled", ErrOrderNotOpen, orderID, st)
		}
		return act(tx, o, s.now())
	})
}

// OrderNotice is what a notice of a scheduled order says: the order (with
// its hold_until and reason), the printer's enrollment and the supply's
// forecast at the time of the notice.
type OrderNotice struct {
	Order      arsapi.Order
	AccountID  string
	Enrollment arsapi.Enrollment
	Forecast   forecast.Forecast
}

// OrderNoticeFor builds the notice of an order, whoever asks (a sender of
// order emails or webhooks works for the server, not for a signed-in
// account): the order with its history, its enrollment and its supply's
// forecast. An unknown order is ErrNotFound. Senders act on it by order ID
// with SkipOrder and ShipOrder (Notice.AccountID is the account to pass).
func (s *Store) OrderNoticeFor(ctx context.Context, orderID string) (OrderNotice, error) {
	var n OrderNotice
	if err := s.DB.QueryRow(ctx, `SELECT account_id FROM orders WHERE id = ?`, orderID).Scan(&n.AccountID); err != nil {
		return n, readErr(err, "read order")
	}
	o, err := s.GetOrder(ctx, n.AccountID, orderID)
	if err != nil {
		return n, err
	}
	n.Order = o
	if n.Enrollment, err = s.GetEnrollment(ctx, n.AccountID, o.EnrollmentID); err != nil {
		return n, err
	}
	n.Forecast, err = s.SupplyForecast(ctx, n.AccountID, o.EnrollmentID, o.Supply)
	return n, err
}

// SupplyForecast is the forecast of one supply of the account's
// enrollment as of now, from its kept level history (as LevelHistory
// gives it). A supply never reported has an unknown forecast.
func (s *Store) SupplyForecast(ctx context.Context, accountID, enrollmentID, supply string) (forecast.Forecast, error) {
	h, err := s.LevelHistory(ctx, accountID, enrollmentID, s.now())
	if err != nil {
		return forecast.Forecast{}, err
	}
	for _, sh := range h.Supplies {
		if sh.Name == supply {
			return sh.Forecast, nil
		}
	}
	return forecast.Estimate(nil, s.now()), nil
}

// ScheduledNotice is core.ScheduledNotice.
type ScheduledNotice = core.ScheduledNotice

// ClaimScheduledNotices takes up to limit scheduled orders whose
// order.scheduled notice is due, under a lease (their due time moves past
// it, so one replica sends each at a time), and counts the attempt.
func (s *Store) ClaimScheduledNotices(ctx context.Context, limit int, lease time.Duration) ([]ScheduledNotice, error) {
	if limit <= 0 {
		limit = 1
	}
	now := s.now()
	var (
		ids      []any
		attempts map[string]int
	)
	err := s.inTx(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE orders SET scheduled_notice_at = ?, notice_attempts = notice_attempts + 1
			WHERE id IN (SELECT id FROM orders WHERE scheduled_notice_at IS NOT NULL AND scheduled_notice_at <= ?
				ORDER BY scheduled_notice_at LIMIT ?`+s.skipLocked()+`)
			RETURNING id, notice_attempts`, nanos(now.Add(lease)), nanos(now), limit)
		if err != nil {
			return fmt.Errorf("claim notices: %w", err)
		}
		ids, attempts, err = scanClaimed(rows, "notices")
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]ScheduledNotice, 0, len(ids))
	for _, id := range ids {
		n, err := s.OrderNoticeFor(ctx, id.(string))
		if err != nil {
			return out, err
		}
		out = append(out, ScheduledNotice{Notice: fulfilNotice(n), Attempt: attempts[id.(string)]})
	}
	return out, nil
}

// fulfilNotice is the notice as senders outside the store see it.
func fulfilNotice(n OrderNotice) fulfil.Notice {
	e, o := n.Enrollment, n.Order
	fn := fulfil.Notice{Order: fulfil.Order{ID: o.ID, EnrollmentID: o.EnrollmentID, AccountID: n.AccountID,
		Provider: string(e.Provider), PrinterModel: e.Printer.Model, Serial: e.Printer.Serial, Supply: o.Supply,
		Color: o.Color, Level: o.LevelAtOrder, CreatedAt: o.CreatedAt}, Reason: o.Reason, Forecast: n.Forecast}
	for _, sp := range e.Supplies {
		if sp.Name == o.Supply {
			fn.Order.SupplyType = sp.Type
		}
	}
	if o.HoldUntil != nil {
		fn.HoldUntil = *o.HoldUntil
	}
	return fn
}

// RecordScheduledNotice records the outcome of sending a claimed notice:
// sent (sendErr nil), to be retried at retryAt, or given up (zero
// retryAt). An order skipped or shipped meanwhile keeps its own state.
func (s *Store) RecordScheduledNotice(ctx context.Context, orderID string, sendErr error, retryAt time.Time) error {
	var next any
	if sendErr != nil && !retryAt.IsZero() {
		next = nanos(retryAt)
	}
	if _, err := s.DB.Exec(ctx, `UPDATE orders SET scheduled_notice_at = ? WHERE id = ? AND scheduled_notice_at IS NOT NULL`,
		next, orderID); err != nil {
		return fmt.Errorf("record notice: %w", err)
	}
	if sendErr != nil && retryAt.IsZero() {
		return addOrderEvent(ctx, s.DB, orderID, arsapi.OrderEvent{State: arsapi.OrderScheduled, At: s.now(),
			Detail: "order.scheduled notice not delivered: " + truncate(sendErr.Error(), maxErrorLen)})
	}
	return nil
}

// skipScheduled skips the enrollment's orders still in their hold window,
// in the transaction that cancels its plan: a cancelled plan orders no
// more ink, so they are never handed over, and no notice is sent. An order
// whose hold is over was turned placed by the dispatcher's claim and is
// left as it is.
func skipScheduled(ctx context.Context, tx *db.Tx, enrollmentID string, now time.Time) error {
	return updateOrders(ctx, tx, "skip scheduled orders",
		arsapi.OrderEvent{State: arsapi.OrderSkipped, At: now, Detail: "skipped: the plan was cancelled before the hold ended"},
		`UPDATE orders SET state = 'skipped', next_attempt_at = NULL, scheduled_notice_at = NULL,
		updated_at = ? WHERE enrollment_id = ? AND state = 'scheduled' RETURNING id`, nanos(now), enrollmentID)
}

// claimScheduled turns the claimed orders that were scheduled into placed
// orders, with an event: their hold is over.
func claimScheduled(ctx context.Context, tx *db.Tx, ids []any, now time.Time) error {
	return updateOrders(ctx, tx, "end hold",
		arsapi.OrderEvent{State: arsapi.OrderPlaced, At: now, Detail: "hold over: handed to the fulfiller"},
		`UPDATE orders SET state = 'placed', updated_at = ?
		WHERE id IN (`+placeholders(len(ids))+`) AND state = 'scheduled' RETURNING id`, append([]any{nanos(now)}, ids...)...)
}

// updateOrders runs query, an UPDATE of orders … RETURNING id, and records
// ev in the history of each order it changed; what names the change in
// errors.
func updateOrders(ctx context.Context, tx *db.Tx, what string, ev arsapi.OrderEvent, query string, args ...any) error {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var changed []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("%s: %w", what, err)
		}
		changed = append(changed, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for _, id := range changed {
		if err := addOrderEvent(ctx, tx, id, ev); err != nil {
			return err
		}
	}
	return nil
}

// SetOrderSettings sets the order policy and hold window of the account
// (enrollmentID "") or of one of its enrollments: policy "" inherits (the
// enrollment its account's, the account the server's), else a name of
// reorder.Policies; set.HoldMinutes nil inherits, 0 is no hold. A policy
// that is not one is ErrInvalid; an enrollment of another account
// ErrNotFound. It returns the settings now, with Effective (set.Effective
// is ignored).
func (s *Store) SetOrderSettings(ctx context.Context, accountID, enrollmentID string, set arsapi.OrderSettings) (arsapi.OrderSettings, error) {
	if err := core.CheckOrderSettings(set); err != nil {
		return set, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var hold any
	if set.HoldMinutes != nil {
		hold = *set.HoldMinutes
	}
	if enrollmentID == "" {
		// An account row may be missing for accounts of other sign-ins
		// (tests): then there is nothing to set.
		r, err := s.DB.Exec(ctx, `UPDATE accounts SET order_policy = ?, hold_minutes = ? WHERE id = ?`, set.Policy, hold, accountID)
		if err != nil {
			return set, fmt.Errorf("set order settings: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return set, ErrNotFound
		}
		return s.OrderSettings(ctx, accountID, "")
	}
	r, err := s.DB.Exec(ctx, `UPDATE enrollments SET order_policy = ?, hold_minutes = ? WHERE id = ? AND account_id = ?`,
		set.Policy, hold, enrollmentID, accountID)
	if err != nil {
		return set, fmt.Errorf("set order settings: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return set, ErrNotFound
	}
	return s.OrderSettings(ctx, accountID, enrollmentID)
}

// OrderSettings returns the order settings of the account (enrollmentID
// "") or of one of its enrollments as set, with what applies and where
// each value comes from in Effective (see effectiveOrderSettings).
func (s *Store) OrderSettings(ctx context.Context, accountID, enrollmentID string) (arsapi.OrderSettings, error) {
	var (
		set, acct   arsapi.OrderSettings
		hold, aHold sql.NullInt64
		err         error
	)
	if enrollmentID == "" {
		err = s.DB.QueryRow(ctx, `SELECT order_policy, hold_minutes FROM accounts WHERE id = ?`, accountID).Scan(&acct.Policy, &aHold)
	} else {
		// The account row may be missing for accounts of other sign-ins
		// (tests): then the enrollment inherits the server's defaults.
		err = s.DB.QueryRow(ctx, `SELECT e.order_policy, e.hold_minutes, COALESCE(a.order_policy, ''), a.hold_minutes
			FROM enrollments e LEFT JOIN accounts a ON a.id = e.account_id
			WHERE e.id = ? AND e.account_id = ?`,
			enrollmentID, accountID).Scan(&set.Policy, &hold, &acct.Policy, &aHold)
	}
	if err != nil {
		return set, readErr(err, "read order settings")
	}
	set.HoldMinutes = minutesOf(hold)
	acct.HoldMinutes = minutesOf(aHold)
	if enrollmentID == "" {
		set = acct
	}
	eff := s.effectiveOrderSettings(set, acct, enrollmentID != "")
	set.Effective = &eff
	return set, nil
}

// minutesOf is a nullable hold_minutes column as OrderSettings.HoldMinutes.
func minutesOf(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	m := int(n.Int64)
	return &m
}

// DefaultOrderSettings returns the server's default order policy and
// hold window: what an account that set neither gets.
func (s *Store) DefaultOrderSettings() arsapi.EffectiveOrderSettings {
	return s.effectiveOrderSettings(arsapi.OrderSettings{}, arsapi.OrderSettings{}, false)
}

// effectiveOrderSettings resolves what applies to an enrollment (own set,
// printer true) or an account (own == acct): the enrollment's value, else
// the account's, else the server's default (OrderPolicy, DefaultHold).
func (s *Store) effectiveOrderSettings(own, acct arsapi.OrderSettings, printer bool) arsapi.EffectiveOrderSettings {
	eff := arsapi.EffectiveOrderSettings{
		Policy: cmp.Or(s.OrderPolicy, reorder.Default), PolicyFrom: arsapi.SettingFromDefault,
		HoldMinutes: int(s.DefaultHold / time.Minute), HoldFrom: arsapi.SettingFromDefault,
	}
	switch {
	case printer && own.Policy != "":
		eff.Policy, eff.PolicyFrom = own.Policy, arsapi.SettingFromPrinter
	case acct.Policy != "":
		eff.Policy, eff.PolicyFrom = acct.Policy, arsapi.SettingFromAccount
	}
	switch {
	case printer && own.HoldMinutes != nil:
		eff.HoldMinutes, eff.HoldFrom = *own.HoldMinutes, arsapi.SettingFromPrinter
	case acct.HoldMinutes != nil:
		eff.HoldMinutes, eff.HoldFrom = *acct.HoldMinutes, arsapi.SettingFromAccount
	}
	return eff
}
