package printer

import (
	"cmp"
	"slices"
	"strings"
)

// maxTXTStrings bounds how many TXT strings ParseTXT looks at.
const maxTXTStrings = 256

// TXT holds the DNS-SD TXT keys of an _ipp._tcp or _ipps._tcp service
// (PWG 5100.14, Bonjour Printing Specification) that arsctl uses.
type TXT struct {
	// Ty is the make and model, e.g. "Canon TS8320 series".
	Ty string
	// Product is the PostScript product name without its parentheses,
	// e.g. "Canon TS8320 series".
	Product string
	// USBMfg and USBMdl are the IEEE 1284 MFG and MDL values.
	USBMfg string
	USBMdl string
	// UUID is the printer UUID, lower case, without "urn:uuid:".
	UUID string
	// AdminURL is the embedded web server address.
	AdminURL string
	// RP is the IPP resource path without the leading slash, e.g. "ipp/print".
	RP string
	// PDL lists the document formats (MIME types).
	PDL []string
	// TLS is the highest TLS version supported, e.g. "1.2".
	TLS string
	// Note is the location text.
	Note string

	fields map[string]string
}

// ParseTXT parses DNS-SD TXT strings ("key=value"). Keys are
// case-insensitive and the first occurrence of a key wins (RFC 6763
// section 6.4). A string without '=' is a boolean key with an empty value.
// Empty strings, strings with a non-printable or empty key and strings
// longer than 255 bytes are skipped. Values are cleaned of control
// characters and invalid UTF-8.
func ParseTXT(txt []string) TXT {
	var t TXT
	t.fields = map[string]string{}
	for i, s := range txt {
		if i >= maxTXTStrings {
			break
		}
		if s == "" || len(s) > 255 {
			continue
		}
		key, val, _ := strings.Cut(s, "=")
		if !printableKey(key) {
			continue
		}
		key = strings.ToLower(key)
		if _, dup := t.fields[key]; dup {
			continue
		}
		t.fields[key] = cleanText(val)
	}
	t.Ty = t.fields["ty"]
	t.Product = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(t.fields["product"], "("), ")"))
	t.USBMfg = t.fields["usb_mfg"]
	t.USBMdl = t.fields["usb_mdl"]
	t.UUID = NormalizeUUID(t.fields["uuid"])
	t.AdminURL = t.fields["adminurl"]
	t.RP = strings.TrimLeft(t.fields["rp"], "/")
	t.TLS = t.fields["tls"]
	t.Note = t.fields["note"]
	for p := range strings.SplitSeq(t.fields["pdl"], ",") {
		if p = strings.TrimSpace(p); p != "" && len(t.PDL) < 32 {
			t.PDL = append(t.PDL, p)
		}
	}
	return t
}

// printableKey reports whether key is a valid DNS-SD TXT key: non-empty,
// printable US-ASCII (RFC 6763 section 6.4).
func printableKey(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// Get returns the value of key (case-insensitive) and whether it was present.
func (t TXT) Get(key string) (string, bool) {
	v, ok := t.fields[strings.ToLower(key)]
	return v, ok
}

// Keys returns the keys present, lower-cased and sorted.
func (t TXT) Keys() []string {
	keys := make([]string, 0, len(t.fields))
	for k := range t.fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// MakeModel returns the manufacturer and model the TXT record names:
// usb_MFG and usb_MDL when present, else split from ty or product.
func (t TXT) MakeModel() (mk, model string) {
	mk, model = t.USBMfg, t.USBMdl
	if full := cmp.Or(t.Ty, t.Product); full != "" && (mk == "" || model == "") {
		m2, mdl2 := SplitMakeModel(full)
		mk, model = cmp.Or(mk, m2), cmp.Or(model, mdl2)
	}
	return NormalizeMake(mk), NormalizeModel(mk, model)
}

// Printer returns what the TXT record tells about the printer: make,
// model, UUID and admin URL, with Sources ["mdns"].
func (t TXT) Printer() Printer {
	mk, model := t.MakeModel()
	return Printer{
		Make:     mk,
		Model:    model,
		UUID:     t.UUID,
		AdminURL: t.AdminURL,
		Sources:  []string{"mdns"},
	}
}

// NormalizeUUID lower-cases a UUID and strips a "urn:uuid:" prefix and
// braces. It returns "" for anything that is not 32 hex digits with
// optional dashes.
func NormalizeUUID(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "urn:uuid:")
	s = strings.Trim(s, "{}")
	hex := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
			hex++
		case c == '-':
		default:
			return ""
		}
	}
	if hex != 32 {
		return ""
	}
	return s
}
