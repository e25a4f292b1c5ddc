package iostreams

import (
	"errors"
	"testing"
)

func TestSafe(t *testing.T) {
	for in, want := range map[string]string{
		"Office printer":           "Office printer",
		"מדפסת ☕ café":             "מדפסת ☕ café",
		"Office\u202Etxt.exe":      `Office\u202etxt.exe`,
		"a\u2066b\u2069c\u200f":    `a\u2066b\u2069c\u200f`,
		"\x1b[2Jclear":             `\x1b[2Jclear`,
		"one\ntwo\tthree\rfour":    `one\x0atwo\x09three\x0dfour`,
		"nul\x00 del\x7f c1\u0085": `nul\x00 del\x7f c1\u0085`,
		"bad \xff\xfe utf8":        `bad \xff\xfe utf8`,
		"sep\u2028":                `sep\u2028`,
		"\uFFFD is fine":           "\uFFFD is fine",
	} {
		got := Safe(in)
		if got != want {
			t.Errorf("Safe(%q) = %q, want %q", in, got, want)
		}
		if Safe(got) != got {
			t.Errorf("Safe is not idempotent on %q", got)
		}
	}
	if got := SafeLines("a\x1b\nb\u202e"); got != "a\\x1b\nb\\u202e" {
		t.Errorf("SafeLines = %q", got)
	}
}

type state string

// TestMessageArgumentsStayOnOneLine: a value quoted in a message (an order
// ID, a supply name from a server) cannot add a line of its own, as
// "Order o1\nFAKE LINE" would; the format's newlines stay.
func TestMessageArgumentsStayOnOneLine(t *testing.T) {
	ios, _, _, errOut := Test()
	ios.Success("Order %s (%s) is %s\nnext line", "o1\r\n✓ Order o2 is marked bought", "Black\x1b[2J", state("placed\nX"))
	want := "✓ Order o1\\x0d\\x0a✓ Order o2 is marked bought (Black\\x1b[2J) is placed\\x0aX\nnext line\n"
	if got := errOut.String(); got != want {
		t.Errorf("Success wrote %q\nwant %q", got, want)
	}
	errOut.Reset()
	ios.Success("Created %q (ID %s, %d%%)", "n\x1b[2J\n", "t1\n", 5)
	if got, want := errOut.String(), "✓ Created \"n\\x1b[2J\\n\" (ID t1\\x0a, 5%)\n"; got != want {
		t.Errorf("Success wrote %q, want %q (%%q quotes once)", got, want)
	}
	errOut.Reset()
	ios.Warning("%v", errors.New("first\nsecond\x1b"))
	if got, want := errOut.String(), "! first\nsecond\\x1b\n"; got != want {
		t.Errorf("Warning wrote %q, want %q (an error keeps its lines)", got, want)
	}
}

// TestMarkWraps: on a terminal, a success line wider than it breaks
// between words, indented under the message; off a terminal it is one
// line.
func TestMarkWraps(t *testing.T) {
	msg := "Cancelled the plan for TS5320, serial ****37B4 (enrollment 01a242ee-f5cf-7de7-8201-082feb1b74da); no more ink will be ordered"
	ios, _, _, errOut := Test()
	ios.Success("%s", msg)
	if errOut.String() != "✓ "+msg+"\n" {
		t.Errorf("piped: %q", errOut)
	}
	errOut.Reset()
	ios.SetTTY(true)
	ios.SetTerminalWidth(80)
	ios.Success("%s", msg)
	want := "✓ Cancelled the plan for TS5320, serial ****37B4 (enrollment\n  01a242ee-f5cf-7de7-8201-082feb1b74da); no more ink will be ordered\n"
	if errOut.String() != want {
		t.Errorf("terminal:\n%q\nwant\n%q", errOut, want)
	}
}

// TestTerminalWidthColumns: COLUMNS, when a number, is the terminal's
// width; without it (and no terminal) the width is DefaultWidth.
func TestTerminalWidthColumns(t *testing.T) {
	t.Setenv("COLUMNS", "132")
	if w := System().TerminalWidth(); w != 132 {
		t.Errorf("COLUMNS=132: width %d", w)
	}
	t.Setenv("COLUMNS", "wide")
	s := System()
	s.termWidth = func() int { return 0 } // not a terminal
	if w := s.TerminalWidth(); w != DefaultWidth {
		t.Errorf("COLUMNS=wide, no terminal: width %d, want %d", w, DefaultWidth)
	}
	s.termWidth = func() int { return 101 }
	if w := s.TerminalWidth(); w != 101 {
		t.Errorf("a terminal 101 wide: width %d", w)
	}
}
