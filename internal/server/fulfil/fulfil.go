// Package fulfil is where placed orders leave arsd: the Fulfiller
// interface and the dispatcher contract shared by the Amazon Dash
// Replenishment and webhook implementations.
package fulfil

import (
	"context"
	"errors"

	"github.com/arsctl/arsctl/internal/server/core"
)

// Order is what a fulfiller needs to know about one placed order.
type Order = core.Order

// Notice tells of a scheduled order before it is handed over.
type Notice = core.HoldNotice

// Notifier tells someone of scheduled orders (the webhook's
// order.scheduled event). Notify must be safe to call more than once for
// one order: delivery is at least once.
type Notifier interface {
	// Name names the notifier in logs.
	Name() string
	Notify(ctx context.Context, n Notice) error
}

// Result is the outcome of a successful hand-over.
type Result = core.Handover

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
