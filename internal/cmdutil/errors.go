// Package cmdutil is what every arsctl command shares: the Factory, errors
// that carry exit codes, and --json/--jq output.
package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/charmbracelet/huh"

	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Exit codes, as documented in DESIGN.md and `arsctl --help`.
const (
	ExitOK        = 0
	ExitFailure   = 1
	ExitUsage     = 2 // bad usage or a missing flag with no TTY
	ExitNotFound  = 3 // no printer, no enrollment
	ExitAuth      = 4 // authentication needed or refused
	ExitCancelled = 5 // cancelled by the user (Ctrl-C, "No" at a prompt)
)

// ExitError carries an exit code with an error. A nil Err with a code
// means "exit quietly with this code" (the message was already printed).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// FlagErrorf reports bad usage (exit 2), e.g. a required flag missing
// when no prompt is possible.
func FlagErrorf(format string, a ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
}

// NotFoundf reports that a printer or enrollment was not found (exit 3).
func NotFoundf(format string, a ...any) error {
	return &ExitError{Code: ExitNotFound, Err: fmt.Errorf(format, a...)}
}

// AuthErrorf reports that authentication is needed or was refused (exit 4).
func AuthErrorf(format string, a ...any) error {
	return &ExitError{Code: ExitAuth, Err: fmt.Errorf(format, a...)}
}

// ErrCancel is returned when the user cancels (Ctrl-C or "No"); exit 5.
var ErrCancel = errors.New("cancelled")

// SilentExit exits with code without printing anything more.
func SilentExit(code int) error { return &ExitError{Code: code} }

// ExitCode maps an error to the process exit code: a problem of the
// Problems table has its code there; else an ExitError's code; else 5 for
// a cancel, 4 and 3 for the server's 401/403 and 404, 1 for the rest.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	if code, ok := classify(err); ok {
		return code
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if IsCancel(err) {
		return ExitCancelled
	}
	var p *arsapi.Problem
	if errors.As(err, &p) {
		switch p.Status {
		case http.StatusUnauthorized, http.StatusForbidden:
			return ExitAuth
		case http.StatusNotFound:
			return ExitNotFound
		}
	}
	return ExitFailure
}

// IsCancel reports whether err means the user cancelled: ErrCancel, Ctrl-C
// at a prompt (huh.ErrUserAborted, which prompt.ErrAborted is) or an
// interrupted command (context.Canceled). Such errors exit 5.
func IsCancel(err error) bool {
	return errors.Is(err, ErrCancel) || errors.Is(err, huh.ErrUserAborted) || errors.Is(err, context.Canceled)
}

// IsSilent reports whether err should exit without a message.
func IsSilent(err error) bool {
	var ee *ExitError
	return errors.As(err, &ee) && ee.Err == nil
}
