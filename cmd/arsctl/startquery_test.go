package main

import (
	"os"
	"strings"
	"testing"
)

// TestNoTerminalQueryAtStart: arsctl asks the terminal nothing when it
// starts. Bubble Tea's package initialisation asked it for its background
// colour (OSC 11, then a cursor position report), and a terminal that did
// not answer, as this pseudo-terminal does not, held every command, even
// --version, for termenv's 5-second timeout.
func TestNoTerminalQueryAtStart(t *testing.T) {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NO_COLOR=") && !strings.HasPrefix(kv, "TERM=") {
			env = append(env, kv)
		}
	}
	env = append(env, "TERM=xterm-256color", "HOME="+t.TempDir(), "ARS_KEYRING=off")
	tm := startTerm(t, env, "--version")
	if code := tm.wait(); code != 0 {
		t.Fatalf("arsctl --version exited %d:\n%q", code, tm.raw())
	}
	raw := tm.raw()
	if !strings.Contains(raw, "arsctl version test") {
		t.Fatalf("no version in %q", raw)
	}
	for _, q := range []string{"\x1b]11;", "\x1b]10;", "\x1b[6n"} {
		if strings.Contains(raw, q) {
			t.Errorf("arsctl --version asked the terminal %q: %q", q, raw)
		}
	}
}
