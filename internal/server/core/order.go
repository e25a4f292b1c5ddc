package core

import (
	"time"

	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/forecast"
)

// Order is a placed order as it leaves arsd for fulfilment: what the
// store's dispatch outbox hands to a fulfiller, and the order of a
// webhook event (hence its JSON names). arsapi.Order is the owner's view
// of an order.
type Order struct {
	ID           string    `json:"id"`
	EnrollmentID string    `json:"enrollment_id"`
	AccountID    string    `json:"account_id"`
	Provider     string    `json:"provider"` // "canon" or "amazon"
	PrinterModel string    `json:"printer_model"`
	Serial       string    `json:"serial"`
	Supply       string    `json:"supply"`                // supply name as the printer reports it
	SupplyType   string    `json:"supply_type,omitempty"` // e.g. "inkCartridge"
	Color        string    `json:"color,omitempty"`       // colorant name or "#RRGGBB"
	Level        int       `json:"level"`
	CreatedAt    time.Time `json:"created_at"`
}

// HoldNotice tells of a scheduled order before it is handed over: the
// owner may skip it or ship it now until HoldUntil.
type HoldNotice struct {
	Order     Order
	HoldUntil time.Time
	// Reason is what the order policy said, e.g. "may be empty in 5.8
	// days (expected 9.1), delivery in 5.0 days".
	Reason string
	// Forecast is the supply's forecast when the notice was built.
	Forecast forecast.Forecast
}

// ScheduledNotice is one claimed notice of a scheduled order, with the
// number of this attempt (from 1).
type ScheduledNotice struct {
	Notice  HoldNotice
	Attempt int
}

// Handover is the outcome of a successful hand-over of an Order to a
// fulfiller, as the store records it.
type Handover struct {
	// State is the order state after hand-over: "placed", "in_progress",
	// "shipped", or "unfulfilled" when no fulfiller took it.
	State string
	// ExternalID is the fulfiller's own reference, if any.
	ExternalID string
	// Detail is a short human note, e.g. "STANDARD_ORDER_PLACED".
	Detail string
}

// Claim is an order claimed for dispatch, with the number of this attempt
// (1 for the first hand-over).
type Claim struct {
	Order   Order
	Attempt int
}

// Notice is one claimed order email: the order and what the email says
// about it.
type Notice struct {
	Order      arsapi.Order
	AccountID  string
	To         string
	Name       string
	Enrollment arsapi.Enrollment
	// Attempt is this claim's attempt number, from 1.
	Attempt int
}
