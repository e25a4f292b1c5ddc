package printer

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxSupplies bounds how many supplies a parser returns, so that a hostile
// response cannot make callers allocate without limit. Real printers report
// fewer than 20.
const maxSupplies = 64

// maxFieldLen bounds every string a parser keeps from the network.
const maxFieldLen = 255

// FromMarkers builds supplies from the IPP marker-* attributes (RFC 3805
// via PWG 5100.9): marker-names, marker-colors, marker-types,
// marker-levels, marker-low-levels and marker-high-levels, index by index.
//
// The names list decides how many supplies there are; when it is empty the
// longest of the other lists does, with names "marker-N". Shorter lists
// leave fields empty: a missing level is LevelUnknown, a missing low or high
// level is 0. Levels outside 0..100 other than the special values -1, -2 and
// -3 become LevelUnknown. A colour value may hold several colours
// ("#39D2E7#D945DD#DFD31D"); "none" means no colour. Types are normalised to
// PWG camelCase keywords ("ink-cartridge" -> "inkCartridge").
func FromMarkers(names, colors, types []string, levels, low, high []int) []Supply {
	n := len(names)
	if n == 0 {
		n = max(len(colors), len(types), len(levels), len(low), len(high))
	}
	n = min(n, maxSupplies)
	if n == 0 {
		return nil
	}
	out := make([]Supply, 0, n)
	for i := range n {
		s := Supply{Level: LevelUnknown}
		if i < len(names) {
			s.Name = cleanText(names[i])
		}
		if s.Name == "" {
			s.Name = "marker-" + strconv.Itoa(i+1)
		}
		if i < len(colors) {
			s.Colors = ParseColors(colors[i])
		}
		if i < len(types) {
			s.Type = NormalizeSupplyType(types[i])
		}
		if i < len(levels) {
			s.Level = NormalizeLevel(levels[i])
		}
		if i < len(low) {
			s.Low = clampPercent(low[i])
		}
		if i < len(high) {
			s.High = clampPercent(high[i])
		}
		out = append(out, s)
	}
	return out
}

// NormalizeLevel maps a level reported by a printer to a Supply level:
// 0..100 and the special values LevelOther, LevelUnknown and
// LevelSomeRemaining are kept, anything else becomes LevelUnknown.
func NormalizeLevel(level int) int {
	switch {
	case level >= 0 && level <= 100:
		return level
	case level == LevelOther, level == LevelUnknown, level == LevelSomeRemaining:
		return level
	default:
		return LevelUnknown
	}
}

// clampPercent keeps a low or high threshold only when it is a percentage.
func clampPercent(v int) int {
	if v < 0 || v > 100 {
		return 0
	}
	return v
}

// ParseColors splits an IPP marker-colors value into sRGB colours in the
// canonical "#RRGGBB" upper-case form. A value may hold several colours
// back to back ("#39D2E7#D945DD#DFD31D"). "none", the empty string and
// anything that is not a hex colour give no colours; a colour name such as
// "cyan" is kept lower-cased as it is.
func ParseColors(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" || strings.EqualFold(v, "none") {
		return nil
	}
	if !strings.HasPrefix(v, "#") {
		if name := cleanKeyword(v); name != "" {
			return []string{strings.ToLower(name)}
		}
		return nil
	}
	var out []string
	for part := range strings.SplitSeq(v[1:], "#") {
		part = strings.TrimSpace(part)
		if !isHex(part) {
			continue
		}
		switch len(part) {
		case 6:
			out = append(out, "#"+strings.ToUpper(part))
		case 3: // "#0FF" shorthand
			p := strings.ToUpper(part)
			out = append(out, "#"+string([]byte{p[0], p[0], p[1], p[1], p[2], p[2]}))
		}
		if len(out) >= 8 {
			break
		}
	}
	return out
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// NormalizeSupplyType turns a supply type as printers send it into the PWG
// camelCase keyword: "inkCartridge", "ink-cartridge", "INK_CARTRIDGE" and
// "ink cartridge" all become "inkCartridge". Unknown words are kept in the
// same camelCase shape; empty or "none" gives "".
func NormalizeSupplyType(t string) string {
	t = strings.TrimSpace(t)
	if t == "" || strings.EqualFold(t, "none") || !utf8.ValidString(t) {
		return ""
	}
	if len(t) > 64 {
		t = t[:64]
	}
	words := strings.FieldsFunc(t, func(r rune) bool {
		return r == '-' || r == '_' || r == ' ' || r == '.'
	})
	if len(words) == 1 && hasLowerAndUpper(words[0]) {
		// Already camelCase (or PascalCase): only fix the first letter.
		w := words[0]
		r, size := utf8.DecodeRuneInString(w)
		return keepKeyword(string(unicode.ToLower(r)) + w[size:])
	}
	var b strings.Builder
	for i, w := range words {
		w = strings.ToLower(w)
		if i > 0 {
			r, size := utf8.DecodeRuneInString(w)
			w = string(unicode.ToUpper(r)) + w[size:]
		}
		b.WriteString(w)
	}
	return keepKeyword(b.String())
}

func hasLowerAndUpper(s string) bool {
	var lower, upper bool
	for _, r := range s {
		lower = lower || unicode.IsLower(r)
		upper = upper || unicode.IsUpper(r)
	}
	return lower && upper
}

// keepKeyword drops anything but letters and digits from a keyword.
func keepKeyword(s string) string {
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return -1
	}, s)
}

// cleanKeyword keeps only letters, digits, '-' and '_' of s.
func cleanKeyword(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
			return r
		}
		return -1
	}, s)
}

// CleanText makes a string from the network safe to show and store: valid
// UTF-8, no control characters, surrounding space trimmed, at most 255
// bytes.
func CleanText(s string) string { return cleanText(s) }

// cleanText makes a string from the network safe to show: valid UTF-8, no
// control characters, surrounding space trimmed, at most maxFieldLen bytes.
func cleanText(s string) string {
	if len(s) > 4*maxFieldLen {
		s = s[:4*maxFieldLen]
	}
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxFieldLen {
		s = s[:maxFieldLen]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}
