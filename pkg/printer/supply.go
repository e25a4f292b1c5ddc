package printer

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// colorantColors maps PWG colorant names to their usual sRGB colour.
var colorantColors = map[string]string{
	"black":         "#000000",
	"matte-black":   "#000000",
	"photo-black":   "#000000",
	"cyan":          "#00FFFF",
	"light-cyan":    "#E0FFFF",
	"photo-cyan":    "#E0FFFF",
	"magenta":       "#FF00FF",
	"light-magenta": "#FF77FF",
	"photo-magenta": "#FF77FF",
	"yellow":        "#FFFF00",
	"red":           "#FF0000",
	"green":         "#00FF00",
	"blue":          "#0000FF",
	"gray":          "#808080",
	"light-gray":    "#D3D3D3",
}

// ParseSupplyEntry parses one PWG 5100.13 printer-supply value, such as
// "index=1;class=supplyThatIsConsumed;type=inkCartridge;unit=percent;
// maxcapacity=100;level=40;colorantname=cyan;", into a Supply without a
// name.
//
// The level is scaled to percent by maxcapacity when maxcapacity is
// positive. A negative level keeps its special meaning (-1 other, -2
// unknown, -3 some remaining); a non-positive maxcapacity other than the
// percent unit makes the level LevelUnknown unless the level is special.
// The level of a receptacle (class=receptacleThatIsFilled) is kept as how
// full it is, as CUPS and ippeveprinter report it (a waste tank's level
// rises as ink is used). It returns an error when the value holds no key=value pair at all.
func ParseSupplyEntry(v string) (Supply, error) {
	s := Supply{Level: LevelUnknown}
	if len(v) > 4096 {
		return s, errors.New("printer-supply value too long")
	}
	kv := map[string]string{}
	for part := range strings.SplitSeq(v, ";") {
		key, val, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		key = strings.ToLower(strings.TrimSpace(key))
		if key == "" {
			continue
		}
		if _, dup := kv[key]; !dup {
			kv[key] = strings.TrimSpace(val)
		}
	}
	if len(kv) == 0 {
		return s, fmt.Errorf("printer-supply value %q has no key=value pairs", truncate(v, 40))
	}
	s.Type = NormalizeSupplyType(kv["type"])
	s.Class = normalizeClass(kv["class"])
	if name := strings.ToLower(cleanKeyword(kv["colorantname"])); name != "" && name != "unknown" && name != "none" {
		s.ColorName = name
		if c, ok := colorantColors[name]; ok {
			s.Colors = []string{c}
		}
	}
	level, levelErr := strconv.Atoi(kv["level"])
	maxcap, maxErr := strconv.Atoi(kv["maxcapacity"])
	percent := strings.EqualFold(kv["unit"], "percent")
	switch {
	case levelErr != nil:
		s.Level = LevelUnknown
	case level < 0:
		s.Level = NormalizeLevel(level)
	case maxErr == nil && maxcap > 0:
		if level > maxcap {
			s.Level = LevelUnknown
		} else {
			s.Level = percentOf(level, maxcap)
		}
	case maxErr != nil && percent, maxErr == nil && maxcap == 100:
		s.Level = NormalizeLevel(level)
	default:
		// maxcapacity -1 (other), -2 (unknown) or 0: the level is in
		// units we cannot turn into a percentage.
		if level > 0 {
			s.Level = LevelSomeRemaining
		} else {
			s.Level = LevelUnknown
		}
	}
	return s, nil
}

// FromPrinterSupply builds supplies from the PWG 5100.13 printer-supply
// values and the parallel printer-supply-description texts. A supply's
// name is its description, else its colorant name, else "supply-N". A
// malformed value still yields a supply, with LevelUnknown, so indexes keep
// lining up with the descriptions.
func FromPrinterSupply(values, descriptions []string) []Supply {
	n := min(max(len(values), len(descriptions)), maxSupplies)
	if n == 0 {
		return nil
	}
	out := make([]Supply, 0, n)
	for i := range n {
		s := Supply{Level: LevelUnknown}
		if i < len(values) {
			s, _ = ParseSupplyEntry(values[i])
		}
		if i < len(descriptions) {
			s.Name = cleanText(descriptions[i])
		}
		if s.Name == "" {
			s.Name = s.ColorName
		}
		if s.Name == "" {
			s.Name = "supply-" + strconv.Itoa(i+1)
		}
		out = append(out, s)
	}
	return out
}

// MergeSupplies combines supplies read from marker-* (primary) and from
// printer-supply (secondary). When both describe the same number of
// supplies they are matched by index and the primary's empty fields are
// filled from the secondary, unless both state types of different kinds
// (an ink against a waste tank: not the same supply); when the primary is
// empty the secondary is used; otherwise the primary is returned
// unchanged.
func MergeSupplies(primary, secondary []Supply) []Supply {
	if len(primary) == 0 {
		return secondary
	}
	if len(primary) != len(secondary) {
		return primary
	}
	out := make([]Supply, len(primary))
	for i, p := range primary {
		s := secondary[i]
		if p.Type != "" && s.Type != "" && p.Kind() != s.Kind() {
			// Not the same supply (an ink against a waste tank): the
			// two lists only have the same length.
			out[i] = p
			continue
		}
		if p.Type == "" {
			p.Type = s.Type
		}
		if p.Class == "" {
			p.Class = s.Class
		}
		if len(p.Colors) == 0 {
			p.Colors = s.Colors
		}
		if p.ColorName == "" {
			p.ColorName = s.ColorName
		}
		if p.Level == LevelUnknown && s.Level != LevelUnknown {
			p.Level = s.Level
		}
		out[i] = p
	}
	return out
}

// normalizeClass returns ClassConsumed or ClassReceptacle for a class
// keyword in any case or spelling ("receptacle-that-is-filled"), else "".
func normalizeClass(c string) string {
	switch strings.ToLower(NormalizeSupplyType(c)) {
	case strings.ToLower(ClassConsumed):
		return ClassConsumed
	case strings.ToLower(ClassReceptacle):
		return ClassReceptacle
	}
	return ""
}

// percentOf returns 100*level/maxcap without overflowing; 0 <= level <= maxcap.
func percentOf(level, maxcap int) int {
	if level <= math.MaxInt/100 {
		return level * 100 / maxcap
	}
	p := new(big.Int).Mul(big.NewInt(int64(level)), big.NewInt(100))
	return int(p.Quo(p, big.NewInt(int64(maxcap))).Int64())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
