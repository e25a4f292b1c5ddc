package arsapi

import (
	"fmt"
	"net/http"
)

// Problem codes: the "code" member of problem documents, stable for programs.
const (
	CodeInvalid          = "invalid"            // malformed or missing field
	CodeUnauthenticated  = "unauthenticated"    // no or bad token
	CodeForbidden        = "forbidden"          // token lacks permission
	CodeNotFound         = "not_found"          // no such resource for this account
	CodeIneligibleModel  = "ineligible_model"   // printer model not in /v1/models
	CodeAmbiguousModel   = "ambiguous_model"    // the reported series covers several eligible models
	CodeAlreadyEnrolled  = "already_enrolled"   // printer is already enrolled in this account (EnrollmentID)
	CodeNotEnrollable    = "not_enrollable"     // printer cannot be enrolled by this account (says no more)
	CodeTermsOutdated    = "terms_outdated"     // terms_version is not the current one
	CodeNoReason         = "reason_required"    // cancel without a reason
	CodeUnknownReason    = "unknown_reason"     // cancel with an unknown reason ID
	CodeNotActive        = "not_active"         // enrollment is cancelled or pending
	CodeIdempotencyReuse = "idempotency_reused" // Idempotency-Key reused with another body
	CodeEmailTaken       = "email_taken"        // sign-up with an email that has an account
	CodeOrderNotOpen     = "order_not_open"     // the order's state does not allow the change
	CodeRateLimited      = "rate_limited"
	CodeTooManyTokens    = "too_many_tokens" // the account has as many live API tokens as it may keep
	// CodeTooManyEnrollments: the account has as many printers enrolled as
	// it may (cancelled ones count for a day).
	CodeTooManyEnrollments = "too_many_enrollments"
	CodeInternal           = "internal"
)

// Problem is an RFC 9457 problem document, the body of every error answer.
type Problem struct {
	Type     string `json:"type,omitempty"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Code is a stable machine-readable code, one of the Code* constants.
	Code string `json:"code,omitempty"`
	// Eligible lists the eligible models, with CodeIneligibleModel.
	Eligible []string `json:"eligible,omitempty"`
	// Candidates lists the eligible models the reported series covers,
	// with CodeAmbiguousModel.
	Candidates []string `json:"candidates,omitempty"`
	// Reasons lists the valid cancel reason IDs, with CodeNoReason and
	// CodeUnknownReason.
	Reasons []string `json:"reasons,omitempty"`
	// EnrollmentID names the existing enrollment, with CodeAlreadyEnrolled.
	EnrollmentID string `json:"enrollment_id,omitempty"`
}

// Error implements error. A title that is only the HTTP status text
// ("Unprocessable Entity") says nothing a person can act on, so with a
// detail the message is the detail alone; a title of its own is kept
// before it.
func (p *Problem) Error() string {
	switch {
	case p.Detail == "":
		return p.Title
	case p.Title == "" || p.Title == http.StatusText(p.Status):
		return p.Detail
	}
	return fmt.Sprintf("%s: %s", p.Title, p.Detail)
}
