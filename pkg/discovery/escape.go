package discovery

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxInstanceLen bounds the length of an instance name (RFC 6763 allows
// 63 bytes per label; escaping may triple that).
const maxInstanceLen = 4 * 63

// UnescapeInstance turns a DNS-SD instance label in DNS presentation
// format into display text: "\DDD" (decimal byte) and "\X" (literal X)
// escapes are resolved, so `Canon\ TS8320\ series` and
// `Canon\032TS8320\032series` both become "Canon TS8320 series". Invalid
// UTF-8 and control characters are dropped; a trailing lone backslash is
// kept as is. It never fails.
func UnescapeInstance(s string) string {
	if len(s) > 4*maxInstanceLen {
		s = s[:4*maxInstanceLen]
	}
	b := unescapeDNS(s)
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		if (r == utf8.RuneError && size <= 1) || unicode.IsControl(r) {
			continue
		}
		sb.WriteRune(r)
	}
	return strings.TrimSpace(sb.String())
}

// unescapeDNS resolves the "\DDD" and "\X" escapes of DNS presentation
// format and returns the raw bytes.
func unescapeDNS(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b = append(b, c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if v <= 255 {
				b = append(b, byte(v))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return b
}

// unescapeTXT returns the raw strings of a TXT record whose strings are in
// presentation format (as github.com/miekg/dns unpacks them).
func unescapeTXT(txt []string) []string {
	if txt == nil {
		return nil
	}
	out := make([]string, len(txt))
	for i, s := range txt {
		if strings.IndexByte(s, '\\') < 0 {
			out[i] = s
			continue
		}
		out[i] = string(unescapeDNS(s))
	}
	return out
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// splitInstance splits a service instance name in presentation format,
// e.g. `Canon\ TS8320\ series._ipp._tcp.local.`, into its raw (escaped)
// instance label and its service name "_ipp._tcp.local.". It reports
// false when name has no unescaped dot.
func splitInstance(name string) (label, service string, ok bool) {
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++ // skip the escaped byte; \DDD digits are never dots
		case '.':
			return name[:i], name[i+1:], true
		}
	}
	return "", "", false
}
