package arsapi

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// UnsafeRune reports whether r is a character that can change how the
// text around it is shown rather than being shown itself: control
// characters (C0 including NUL, DEL, C1), bidirectional formatting
// characters (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to
// U+2069) and the line and paragraph separators U+2028 and U+2029.
// arsd refuses them in text (see CheckText) and arsctl escapes them
// before writing text from a server to a terminal.
func UnsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}

// CheckText returns nil when s is text the API accepts in a field of at
// most max bytes: valid UTF-8 without unsafe characters (UnsafeRune),
// except tab and newline when multiline is true. Otherwise the error
// says what is wrong, phrased to follow the field's name, e.g.
// "contains the control character U+0000".
//
// Every door of arsd (the API, the web pages, the OAuth pages) checks
// free text with this one rule, so that what one database would store
// and another refuse (PostgreSQL has no NUL in text) is refused alike.
func CheckText(s string, max int, multiline bool) error {
	if len(s) > max {
		return fmt.Errorf("is longer than %d bytes", max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8 text")
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if !UnsafeRune(r) {
			continue
		}
		switch {
		case unicode.Is(unicode.Bidi_Control, r):
			return fmt.Errorf("contains the bidirectional formatting character %U", r)
		case unicode.IsControl(r):
			return fmt.Errorf("contains the control character %U", r)
		}
		return fmt.Errorf("contains the line or paragraph separator %U", r)
	}
	return nil
}
