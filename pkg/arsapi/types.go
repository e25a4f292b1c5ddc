// Package arsapi is a typed Go client for ARS API v1, the HTTP/JSON
// contract between arsctl and arsd (the Auto Replenishment Service). The
// contract is documented in docs/api/openapi.yaml.
//
// All JSON field names are snake_case; times are RFC 3339 in UTC; errors
// are RFC 9457 problem documents, returned by the client as *Problem.
package arsapi

import (
	"slices"
	"strings"
	"time"

	"github.com/arsctl/arsctl/pkg/forecast"
	"github.com/arsctl/arsctl/pkg/printer"
)

// DefaultServer is the address arsctl uses when no server is configured:
// a local arsd started with no flags.
const DefaultServer = "http://127.0.0.1:8787"

// Provider is who fulfils a plan: the service itself (canon) or Amazon Dash
// Replenishment (amazon).
type Provider string

// The providers.
const (
	ProviderCanon  Provider = "canon"
	ProviderAmazon Provider = "amazon"
)

// Title is the provider's name as shown to people: "Canon", "Amazon", or
// the raw value for a provider this client does not know.
func (p Provider) Title() string {
	switch p {
	case ProviderCanon:
		return "Canon"
	case ProviderAmazon:
		return "Amazon"
	}
	return string(p)
}

// EnrollmentState is the lifecycle state of an enrollment.
type EnrollmentState string

// The enrollment states.
const (
	// StatePending is an Amazon enrollment waiting for Login with Amazon.
	StatePending EnrollmentState = "pending"
	// StateActive orders ink when a supply runs low.
	StateActive EnrollmentState = "active"
	// StatePaused keeps the plan but places no orders.
	StatePaused EnrollmentState = "paused"
	// StateCancelled is final; the printer may be enrolled again.
	StateCancelled EnrollmentState = "cancelled"
)

// OrderState is the state of one replenishment order.
type OrderState string

// The order states. An order starts scheduled when its enrollment has a
// hold window (the owner may skip it or ship it now), else placed; the
// dispatcher hands it to
// the provider's fulfiller (then it is in_progress or shipped, or failed),
// or, when the server has no fulfiller for the provider, leaves it
// unfulfilled in the owner's order inbox until the owner marks it bought.
const (
	OrderPlaced     OrderState = "placed"
	OrderInProgress OrderState = "in_progress"
	OrderShipped    OrderState = "shipped"
	OrderCancelled  OrderState = "cancelled"
	OrderFailed     OrderState = "failed"
	// OrderUnfulfilled: no fulfiller took the order; it waits in the
	// order inbox for someone to buy the ink.
	OrderUnfulfilled OrderState = "unfulfilled"
	// OrderBought: the owner bought the ink of an unfulfilled order and
	// marked it so.
	OrderBought OrderState = "bought"
	// OrderScheduled: the order waits out its hold window (Order.HoldUntil)
	// before it is handed over; the owner may skip it or ship it now.
	OrderScheduled OrderState = "scheduled"
	// OrderSkipped: the owner skipped the scheduled order; nothing was
	// handed over and the supply orders again when it is low.
	OrderSkipped OrderState = "skipped"
)

// OrderStates lists every order state, in the order of an order's life.
var OrderStates = []OrderState{OrderScheduled, OrderPlaced, OrderUnfulfilled, OrderInProgress, OrderShipped, OrderBought, OrderSkipped, OrderCancelled, OrderFailed}

// Valid reports whether s is one of OrderStates.
func (s OrderState) Valid() bool { return slices.Contains(OrderStates, s) }

// Open reports whether an order in state s still waits for something to
// happen: scheduled (waiting out its hold), placed (being handed over),
// unfulfilled (waiting in the inbox) or in progress (on its way).
func (s OrderState) Open() bool {
	return s == OrderScheduled || s == OrderPlaced || s == OrderUnfulfilled || s == OrderInProgress
}

// AwaitsOwner reports whether an order in state s waits for its owner to
// act: an unfulfilled order waits to be bought and marked so.
func (s OrderState) AwaitsOwner() bool { return s == OrderUnfulfilled }

// Title is the state as shown to people, e.g. "Waiting for you to buy".
func (s OrderState) Title() string {
	switch s {
	case OrderScheduled:
		return "Scheduled: you may skip it or ship it now"
	case OrderSkipped:
		return "Skipped"
	case OrderPlaced:
		return "Placed"
	case OrderUnfulfilled:
		return "Unfulfilled: waiting for you to buy"
	case OrderInProgress:
		return "In progress"
	case OrderShipped:
		return "Shipped"
	case OrderBought:
		return "Bought"
	case OrderCancelled:
		return "Cancelled"
	case OrderFailed:
		return "Failed"
	}
	return string(s)
}

// FulfilmentInbox is the Order.Fulfilment of an order no fulfiller takes:
// it waits in the owner's order inbox.
const FulfilmentInbox = "inbox"

// Terms is the text the owner agrees to before enrolling.
type Terms struct {
	// Version identifies this text; enrollments record the version agreed.
	Version string `json:"version"`
	// Title is a short heading.
	Title string `json:"title"`
	// Text is the full text, plain text with paragraphs separated by blank lines.
	Text string `json:"text"`
	// AboutURL is the "About this service" page.
	AboutURL string `json:"about_url"`
}

// Model is a printer model eligible for the service.
type Model struct {
	// Name is the canonical model name, e.g. "TS8320".
	Name string `json:"name"`
	// Make is the manufacturer, e.g. "Canon"; empty when not said.
	Make string `json:"make,omitempty"`
	// Aliases are other names of this one model, e.g. "TS8320a".
	Aliases []string `json:"aliases,omitempty"`
	// Series are the names the hardware reports for itself (IPP
	// printer-make-and-model, IEEE 1284 MDL:, mDNS), e.g. "TS8300 series".
	// A series may cover several eligible models; the owner then says
	// which one the printer is.
	Series []string `json:"series,omitempty"`
}

// ModelKey reduces a model name to the key the service compares models by:
// lower case, without the manufacturer, product line and "series" words,
// spaces, underscores or dashes. "Canon PIXMA TS8320 series" and "ts8320"
// have the same key, as have "PRO-200" and "PRO 200".
func ModelKey(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '_' })
	var b strings.Builder
	for _, f := range fields {
		switch f {
		case "canon", "pixma", "series", "printer", "inkjet":
			continue
		}
		b.WriteString(f)
	}
	return strings.ReplaceAll(b.String(), "-", "")
}

// CancelReason is one reason an owner can give for cancelling a plan.
type CancelReason struct {
	// ID is stable and used in requests, e.g. "too-expensive".
	ID string `json:"id"`
	// Label is the text shown to people.
	Label string `json:"label"`
	// TakesComment is true for the reason that asks for free text ("Other").
	TakesComment bool `json:"takes_comment,omitempty"`
}

// Printer identifies the enrolled printer.
type Printer struct {
	// Model is the eligible model confirmed by the owner, e.g. "TS5320".
	Model string `json:"model"`
	// Series is the name the printer reports for itself, e.g.
	// "TS5300 series"; it must cover Model.
	Series string `json:"series,omitempty"`
	Serial string `json:"serial"`
	UUID   string `json:"uuid,omitempty"`
	// Label names the printer for people, e.g. "2nd floor" (arsctl
	// register --label, the fleet CSV's label column).
	Label string `json:"label,omitempty"`
	// Nickname is Label's former name, still accepted in requests for
	// compatibility (Label wins when both are given); answers carry Label
	// only.
	Nickname string `json:"nickname,omitempty"`
}

// Enrollment is one printer's membership of the service.
type Enrollment struct {
	ID           string          `json:"id"`
	Provider     Provider        `json:"provider"`
	State        EnrollmentState `json:"state"`
	Printer      Printer         `json:"printer"`
	TermsVersion string          `json:"terms_version"`
	// Threshold is the level (percent) at or below which a supply is
	// ordered when the printer does not report its own low level.
	Threshold int       `json:"threshold"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Supplies are the last reported levels; LevelsReadAt when they were read.
	Supplies     []printer.Supply `json:"supplies,omitempty"`
	LevelsReadAt *time.Time       `json:"levels_read_at,omitempty"`
	// AmazonSignInURL is where the owner signs in with Amazon, for a
	// pending amazon enrollment.
	AmazonSignInURL string `json:"amazon_sign_in_url,omitempty"`
	// AmazonSignInDeclinedAt is when the owner chose Cancel at the latest
	// Login with Amazon of a pending amazon enrollment; a new sign-in
	// clears it.
	AmazonSignInDeclinedAt *time.Time `json:"amazon_sign_in_declined_at,omitempty"`
	// Cancellation is set once the enrollment is cancelled.
	Cancellation *Cancellation `json:"cancellation,omitempty"`
}

// Cancellation records why and when a plan was cancelled.
type Cancellation struct {
	Reasons []string  `json:"reasons"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// CreateEnrollmentRequest is the body of POST /v1/enrollments.
type CreateEnrollmentRequest struct {
	Provider     Provider `json:"provider"`
	Printer      Printer  `json:"printer"`
	TermsVersion string   `json:"terms_version"`
	// Levels are the supply levels read from the printer as it was
	// enrolled: the enrollment's first level report, so that its status
	// shows them at once. The server leaves out levels that are not a
	// valid report rather than refuse the enrollment.
	Levels *LevelReport `json:"levels,omitempty"`
}

// CancelRequest is the body of POST /v1/enrollments/{id}/cancel.
type CancelRequest struct {
	Reasons []string `json:"reasons"`
	// Comment is free text, UTF-8 of at most MaxCancelComment bytes; the
	// reason that TakesComment requires one.
	Comment string `json:"comment,omitempty"`
}

// MaxCancelComment is the longest cancellation comment, in bytes.
const MaxCancelComment = 2000

// LevelReport is the body of POST /v1/enrollments/{id}/levels: every
// supply of the printer as read at ReadAt.
type LevelReport struct {
	ReadAt   time.Time        `json:"read_at"`
	Supplies []printer.Supply `json:"supplies"`
}

// The window of a level report's ReadAt that arsd accepts, around the
// time it receives the report: readings older than MaxReadAtAge or more
// than MaxReadAtAhead in the future (a printer's clock may run a little
// fast) are refused with 422.
const (
	MaxReadAtAge   = 30 * 24 * time.Hour
	MaxReadAtAhead = 5 * time.Minute
)

// LevelHistory is an enrollment's level history
// (GET /v1/enrollments/{id}/levels).
type LevelHistory struct {
	EnrollmentID string `json:"enrollment_id"`
	// Since is the earliest reading time asked for.
	Since time.Time `json:"since"`
	// Supplies are the enrollment's supplies in the printer's order.
	Supplies []SupplyHistory `json:"supplies"`
}

// SupplyHistory is one supply's readings and forecast.
type SupplyHistory struct {
	Name string `json:"name"`
	// Readings are the levels at each change, oldest first; the last one is
	// the latest report's.
	Readings []forecast.Reading `json:"readings"`
	// Forecast is the consumption rate and days to empty as of the
	// server's time of answering.
	Forecast forecast.Forecast `json:"forecast"`
}

// LevelReportResult is the answer to a level report.
type LevelReportResult struct {
	// Orders are the orders this report placed (usually none).
	Orders []Order `json:"orders"`
}

// Order is one replenishment order for one supply.
type Order struct {
	ID           string     `json:"id"`
	EnrollmentID string     `json:"enrollment_id"`
	Supply       string     `json:"supply"`
	Color        string     `json:"color,omitempty"`
	LevelAtOrder int        `json:"level_at_order"`
	State        OrderState `json:"state"`
	// Fulfilment names who fulfils it: "amazon-drs", "webhook",
	// FulfilmentInbox (the owner, from the order inbox) or "none" (not
	// handed over yet).
	Fulfilment string `json:"fulfilment"`
	ExternalID string `json:"external_id,omitempty"`
	// HoldUntil is when a scheduled order's hold window ends and it is
	// handed over (absent for an order placed without a hold).
	HoldUntil *time.Time `json:"hold_until,omitempty"`
	// Reason is what the order policy said when it placed the order, e.g.
	// "may be empty in 5.8 days (expected 9.1), delivery in 5.0 days".
	Reason    string       `json:"reason,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
	History   []OrderEvent `json:"history,omitempty"`
}

// OrderEvent is one state change of an order.
type OrderEvent struct {
	State  OrderState `json:"state"`
	At     time.Time  `json:"at"`
	Detail string     `json:"detail,omitempty"`
}

// OrderSettings are the order policy and hold window of an account or of
// one enrollment (PUT /v1/account/order-settings,
// PUT /v1/enrollments/{id}/order-settings).
type OrderSettings struct {
	// Policy is "forecast" (order when the supply is forecast to run out
	// before ink ordered now would arrive, and never later than the
	// printer's low level) or "threshold" (order at the low level); ""
	// inherits: an enrollment its account's, an account the server's.
	Policy string `json:"policy"`
	// HoldMinutes is how long a new order stays scheduled (the owner may
	// skip it or ship it now) before it is handed over; 0 is no hold, nil
	// inherits like Policy.
	HoldMinutes *int `json:"hold_minutes"`
	// Effective is what applies, with where each value comes from; the
	// server fills it in its answers and ignores it in a PUT.
	Effective *EffectiveOrderSettings `json:"effective,omitempty"`
}

// Where an order setting comes from (EffectiveOrderSettings).
const (
	// SettingFromPrinter is a value set on the enrollment (the printer).
	SettingFromPrinter = "printer"
	// SettingFromAccount is a value set on the account.
	SettingFromAccount = "account"
	// SettingFromDefault is the server's default.
	SettingFromDefault = "default"
)

// EffectiveOrderSettings are the order policy and hold window that apply
// to an account or an enrollment once inheritance is resolved, each with
// where it comes from: SettingFromPrinter, SettingFromAccount or
// SettingFromDefault.
type EffectiveOrderSettings struct {
	// Policy is "forecast" or "threshold".
	Policy string `json:"policy"`
	// PolicyFrom is where Policy comes from.
	PolicyFrom string `json:"policy_from"`
	// HoldMinutes is the hold window in minutes; 0 is no hold.
	HoldMinutes int `json:"hold_minutes"`
	// HoldFrom is where HoldMinutes comes from.
	HoldFrom string `json:"hold_from"`
}

// The order policies (OrderSettings.Policy).
const (
	// OrderPolicyForecast orders when the supply is forecast to run out
	// before ink ordered now would arrive, never later than the low level.
	OrderPolicyForecast = "forecast"
	// OrderPolicyThreshold orders at the printer's low level.
	OrderPolicyThreshold = "threshold"
)

// OrderPolicies lists the order policies, the default first.
var OrderPolicies = []string{OrderPolicyForecast, OrderPolicyThreshold}

// MaxHoldMinutes is the longest hold window: 14 days.
const MaxHoldMinutes = 14 * 24 * 60

// List is one page of a list endpoint. NextCursor is empty on the last page.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Account is the signed-in account.
type Account struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateAccountRequest is the body of POST /v1/accounts (sign-up).
type CreateAccountRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name,omitempty"`
}
