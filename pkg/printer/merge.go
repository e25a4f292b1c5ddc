package printer

import (
	"net/netip"
	"slices"
	"strings"
)

// knownMakes are manufacturer names as they start make-and-model strings,
// longest first where one is a prefix of another. The value is the
// canonical spelling.
var knownMakes = []struct{ prefix, name string }{
	{"hewlett-packard", "HP"},
	{"hewlett packard", "HP"},
	{"konica minolta", "Konica Minolta"},
	{"fuji xerox", "Fuji Xerox"},
	{"fujifilm", "FUJIFILM"},
	{"kyocera", "Kyocera"},
	{"lexmark", "Lexmark"},
	{"brother", "Brother"},
	{"samsung", "Samsung"},
	{"ricoh", "Ricoh"},
	{"canon", "Canon"},
	{"epson", "EPSON"},
	{"xerox", "Xerox"},
	{"sharp", "Sharp"},
	{"dell", "Dell"},
	{"oki", "OKI"},
	{"hp", "HP"},
}

// SplitMakeModel splits a make-and-model string such as
// "Canon TS8320 series" into make "Canon" and model "TS8320 series". Known
// manufacturers are recognised (also "Hewlett-Packard" -> "HP");
// otherwise the first word is the make. A single word is returned as the
// model with an empty make.
func SplitMakeModel(s string) (mk, model string) {
	s = cleanText(s)
	if name, n := matchMake(s); n > 0 {
		return name, strings.TrimSpace(strings.TrimLeft(s[n:], " -_"))
	}
	mk, model, ok := strings.Cut(s, " ")
	if !ok {
		return "", s
	}
	return mk, strings.TrimSpace(model)
}

// NormalizeMake returns the canonical spelling of a known manufacturer
// ("CANON" -> "Canon", "Hewlett-Packard" -> "HP", "Lexmark International"
// -> "Lexmark"); other names are returned cleaned but unchanged.
func NormalizeMake(mk string) string {
	mk = cleanText(mk)
	if name, n := matchMake(mk); n > 0 {
		return name
	}
	return mk
}

// KnownMake returns the canonical name of the known manufacturer that s
// names or starts with as a whole word ("EPSON ET-2850 Series" -> "EPSON",
// "Hewlett-Packard" -> "HP"), or "" when s starts with no known one.
func KnownMake(s string) string {
	name, _ := matchMake(cleanText(s))
	return name
}

// matchMake finds the known manufacturer s starts with, as a whole word
// (followed by the end, a space, '-' or '_'): its canonical name and the
// length of the prefix in s, or n == 0.
func matchMake(s string) (name string, n int) {
	lower := strings.ToLower(s)
	for _, m := range knownMakes {
		if strings.HasPrefix(lower, m.prefix) {
			if rest := lower[len(m.prefix):]; rest == "" || rest[0] == ' ' || rest[0] == '-' || rest[0] == '_' {
				return m.name, len(m.prefix)
			}
		}
	}
	return "", 0
}

// NormalizeModel returns model without a leading manufacturer name:
// NormalizeModel("Canon", "Canon TS8320 series") is "TS8320 series". It
// also strips a leading "HP"/"Hewlett-Packard" when mk is either.
func NormalizeModel(mk, model string) string {
	model = cleanText(model)
	mk = cleanText(mk)
	if mk == "" || model == "" {
		return model
	}
	candidates := []string{mk}
	if m, _ := SplitMakeModel(mk + " x"); m != "" && !strings.EqualFold(m, mk) {
		candidates = append(candidates, m)
	}
	if strings.EqualFold(mk, "HP") || strings.EqualFold(mk, "Hewlett-Packard") {
		candidates = append(candidates, "Hewlett-Packard", "Hewlett Packard", "HP")
	}
	for _, c := range candidates {
		if len(model) > len(c) && strings.EqualFold(model[:len(c)], c) && (model[len(c)] == ' ' || model[len(c)] == '-') {
			if rest := strings.TrimSpace(model[len(c)+1:]); rest != "" {
				return rest
			}
		}
	}
	return model
}

// MaskSerial hides all of a serial number but its last four characters:
// "ABCD12345678" -> "****5678". Serials of four characters or fewer are
// hidden completely; an empty serial stays empty.
func MaskSerial(s string) string {
	if s == "" {
		return ""
	}
	r := []rune(s)
	if len(r) <= 4 {
		return "****"
	}
	return "****" + string(r[len(r)-4:])
}

// Key returns the identity used to recognise one printer seen several
// times: "uuid:<uuid>", else "serial:<make>/<serial>", else "host:<host>",
// else "addr:<first address>", else "".
func (p *Printer) Key() string {
	switch {
	case p.UUID != "":
		return "uuid:" + strings.ToLower(p.UUID)
	case p.Serial != "":
		return "serial:" + strings.ToLower(p.Make) + "/" + p.Serial
	case p.Host != "":
		return "host:" + strings.ToLower(strings.TrimSuffix(p.Host, "."))
	case len(p.Addrs) > 0:
		return "addr:" + p.Addrs[0]
	}
	return ""
}

// Merge fills p's empty fields from o and unions addresses, sources and
// problems, so that one printer seen over several services, addresses or
// protocols becomes one Printer. Supplies are taken from o when p has none
// or when o's were read later.
func (p *Printer) Merge(o Printer) {
	fill := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	fill(&p.Name, o.Name)
	fill(&p.Host, o.Host)
	fill(&p.URI, o.URI)
	fill(&p.Make, o.Make)
	fill(&p.Model, o.Model)
	fill(&p.Serial, o.Serial)
	fill(&p.UUID, o.UUID)
	fill(&p.AdminURL, o.AdminURL)
	fill(&p.State, o.State)
	fill(&p.TLSFingerprint, o.TLSFingerprint)
	if p.Port == 0 {
		p.Port = o.Port
	}
	if len(o.Supplies) > 0 {
		newer := o.LevelsReadAt != nil && (p.LevelsReadAt == nil || o.LevelsReadAt.After(*p.LevelsReadAt))
		if len(p.Supplies) == 0 || newer {
			p.Supplies = slices.Clone(o.Supplies)
			p.LevelsReadAt = o.LevelsReadAt
		}
	}
	p.Addrs = SortAddrs(union(p.Addrs, o.Addrs))
	p.Sources = union(p.Sources, o.Sources)
	p.Problems = union(p.Problems, o.Problems)
}

// SortAddrs sorts IP addresses IPv4 first, then IPv6, each in numeric
// order; strings that are not addresses go last in their original order.
func SortAddrs(addrs []string) []string {
	slices.SortStableFunc(addrs, func(a, b string) int {
		pa, ea := netip.ParseAddr(a)
		pb, eb := netip.ParseAddr(b)
		switch {
		case ea != nil && eb != nil:
			return 0
		case ea != nil:
			return 1
		case eb != nil:
			return -1
		}
		pa, pb = pa.Unmap(), pb.Unmap()
		if pa.Is4() != pb.Is4() {
			if pa.Is4() {
				return -1
			}
			return 1
		}
		return pa.Compare(pb)
	})
	return addrs
}

func union(a, b []string) []string {
	a = slices.Clip(a)
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}
