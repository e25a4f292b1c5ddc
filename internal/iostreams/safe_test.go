package iostreams

import "testing"

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
