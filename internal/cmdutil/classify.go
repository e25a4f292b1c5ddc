package cmdutil

import (
	"errors"

	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/discovery"
	"github.com/arsctl/arsctl/pkg/provider"
)

// Problem is one kind of problem that commands meet, and the exit code it
// has in every command. Commands return errors that wrap the problem's
// error (%w) and leave the code to ExitCode, so that the same problem
// never exits with two codes.
type Problem struct {
	// What describes the problem, as the README's exit code table does.
	What string
	// Code is the exit code.
	Code int
	// Is reports whether err is this problem.
	Is func(err error) bool
}

func is(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func as[T error]() func(error) bool {
	return func(err error) bool { _, ok := errors.AsType[T](err); return ok }
}

// Problems is the table of problems classified the same way by every
// command; ExitCode consults it before anything else. README.md's "Exit
// codes" table lists it (a test keeps the two in step).
var Problems = []Problem{
	{"no network interface can send multicast, so the network cannot be searched (use --host)", ExitFailure, is(discovery.ErrNoMulticast)},
	{"no printer answered at an address given with --host", ExitNotFound, is(discovery.ErrNoPrinter)},
	{"the printer's model is not eligible for the service", ExitFailure, as[*provider.IneligibleError]()},
	{"this account cannot enroll the printer (another account may hold it)", ExitFailure, as[*provider.NotEnrollableError]()},
	{"the printer reports no serial number", ExitFailure, is(provider.ErrNoSerial)},
	{"the printer is already enrolled with another provider (cancel that plan, then register again)", ExitFailure, as[*provider.ProviderDiffersError]()},
	{"the server address (--server, ARS_SERVER) answers but is not an ARS server: a printer, a web page, http/https mixed up", ExitFailure, as[*arsapi.NotServerError]()},
}

// classify returns the exit code of the first problem err is, or false.
func classify(err error) (int, bool) {
	for _, p := range Problems {
		if p.Is(err) {
			return p.Code, true
		}
	}
	return 0, false
}
