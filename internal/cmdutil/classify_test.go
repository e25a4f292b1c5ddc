package cmdutil

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/pkg/discovery"
	"github.com/arsctl/arsctl/pkg/provider"
)

// TestProblemsSameCodeEverywhere: a problem has its table's code however a
// command wraps it (register used to exit 3 for no multicast interface,
// discover 1).
func TestProblemsSameCodeEverywhere(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("%w: no network interface is up", discovery.ErrNoMulticast), ExitFailure},
		{&ExitError{Code: ExitNotFound, Err: fmt.Errorf("cannot search (%w)", discovery.ErrNoMulticast)}, ExitFailure},
		{fmt.Errorf("asking 10.0.0.9: %w", discovery.ErrNoPrinter), ExitNotFound},
		{fmt.Errorf("enroll: %w", &provider.IneligibleError{Model: "MG2500"}), ExitFailure},
		{&provider.NotEnrollableError{}, ExitFailure},
		{FlagErrorf("--from: %v", os.ErrNotExist), ExitUsage},
	} {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// TestReadmeListsProblems keeps README.md's exit code table in step with
// Problems.
func TestReadmeListsProblems(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, p := range Problems {
		row := "| " + p.What + " | " + strconv.Itoa(p.Code) + " |"
		if !strings.Contains(readme, row) {
			t.Errorf("README.md lacks the row %q", row)
		}
	}
}
