package app

import (
	"errors"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/iostreams"
)

// TestPrintErrorFitsTheTerminal: an error wider than an 80-column
// terminal breaks between words (the terminal broke `"study"` and an
// enrollment ID in two); piped, it stays on its line for scripts' logs.
func TestPrintErrorFitsTheTerminal(t *testing.T) {
	err := errors.New(`"01a24365" is the start of several enrollment IDs: 01a24365-f (TS8320 "study", serial ****0777), 01a24365-d (TS5320, serial ****1234); give more of the ID` +
		"\nRun 'arsctl status --help' for usage.")
	ios, _, _, errOut := iostreams.Test()
	ios.SetTTY(true)
	ios.SetTerminalWidth(80)
	PrintError(ios, err)
	got := errOut.String()
	for _, l := range strings.Split(strings.TrimRight(got, "\n"), "\n") {
		if len([]rune(l)) > 80 {
			t.Errorf("line of %d columns: %q", len([]rune(l)), l)
		}
	}
	for _, want := range []string{"error: \"01a24365\" is the start", `"study"`, "01a24365-d (TS5320, serial ****1234)", "\n  \"study\", serial", "\nRun 'arsctl status --help' for usage.\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("stderr lacks %q:\n%s", want, got)
		}
	}

	ios, _, _, errOut = iostreams.Test()
	PrintError(ios, err)
	if want := "error: " + err.Error() + "\n"; errOut.String() != want {
		t.Errorf("piped: %q, want %q", errOut.String(), want)
	}
}
