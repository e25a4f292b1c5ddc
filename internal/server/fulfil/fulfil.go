// Package fulfil is where placed orders leave arsd: the Fulfiller
// interface and the dispatcher contract shared by the Amazon Dash
// Replenishment and webhook implementations.
package fulfil

import (
	"context"
	"errors"
	"time"
)

// Order is what a fulfiller needs to know about one placed order.
type Order struct {
	ID           string
	EnrollmentID string
	AccountID    string
	Provider     string // "canon" or "amazon"
	PrinterModel string
	Serial       string
	Supply       string // supply name as the printer reports it
	SupplyType   string // e.g. "inkCartridge"
	Color        string // colorant name or "#RRGGBB"
	Level        int
	CreatedAt    time.Time
}

// Result is the outcome of a successful hand-over.
type Result struct {
	// State is the order state after hand-over: "placed", "in_progress" or "shipped".
	State string
	// ExternalID is the fulfiller's own reference, if any.
	ExternalID string
	// Detail is a short human note, e.g. "STANDARD_ORDER_PLACED".
	Detail string
}

// ErrPermanent marks a failure that retrying cannot fix (revoked
// authorization, unknown slot). Wrap it; the dispatcher marks the order
// failed instead of retrying.
var ErrPermanent = errors.New("permanent fulfilment failure")

// Fulfiller hands an order over to whoever ships the ink. Place must be
// safe to call more than once for the same order ID (at-least-once
// delivery): implementations pass Order.ID on as an idempotency key.
type Fulfiller interface {
	// Name is recorded on the order, e.g. "amazon-drs" or "webhook".
	Name() string
	// Place hands the order over. A non-nil error not wrapping
	// ErrPermanent is retried with backoff.
	Place(ctx context.Context, o Order) (Result, error)
}

// Deregisterer is implemented by fulfillers that must be told when an
// enrollment is cancelled (Amazon: DELETE /registration).
type Deregisterer interface {
	Deregister(ctx context.Context, enrollmentID string) error
}
