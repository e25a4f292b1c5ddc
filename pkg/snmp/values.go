package snmp

import (
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/gosnmp/gosnmp"
)

// maxText bounds the length of a string value kept from an agent.
const maxText = 256

// maxRows bounds how many supply rows SuppliesFromPDUs keeps.
const maxRows = 64

// String converts an SNMP value to display text: octet strings are cleaned
// of NUL padding, control characters and invalid UTF-8 and cut to 256
// bytes. It reports false for values that are not strings or are empty.
func String(pdu gosnmp.SnmpPDU) (string, bool) {
	var b []byte
	switch v := pdu.Value.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return "", false
	}
	s := CleanText(b)
	return s, s != ""
}

// CleanText makes printable text of raw bytes from an agent.
func CleanText(b []byte) string {
	if len(b) > 4*maxText {
		b = b[:4*maxText]
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r == utf8.RuneError && size <= 1:
			continue
		case r == 0:
			continue
		case unicode.IsControl(r):
			sb.WriteByte(' ')
		default:
			if sb.Len()+utf8.RuneLen(r) > maxText {
				b = nil
				continue
			}
			sb.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(sb.String()), " ")
}

// Int converts an SNMP integer-like value (Integer, Counter, Gauge,
// TimeTicks, Counter64) to an int. It reports false for other types and
// for values that do not fit.
func Int(pdu gosnmp.SnmpPDU) (int, bool) {
	switch v := pdu.Value.(type) {
	case int:
		return v, true
	case int64:
		if v < math.MinInt32 || v > math.MaxInt32 {
			return 0, false
		}
		return int(v), true
	case int32:
		return int(v), true
	case uint:
		if v > math.MaxInt32 {
			return 0, false
		}
		return int(v), true
	case uint32:
		if v > math.MaxInt32 {
			return 0, false
		}
		return int(v), true
	case uint64:
		if v > math.MaxInt32 {
			return 0, false
		}
		return int(v), true
	case *big.Int:
		if v == nil || !v.IsInt64() {
			return 0, false
		}
		return Int(gosnmp.SnmpPDU{Value: v.Int64()})
	}
	return 0, false
}

// supplyTypes maps PrtMarkerSuppliesTypeTC (RFC 3805) to PWG keywords.
var supplyTypes = [...]string{
	1: "other", 2: "unknown", 3: "toner", 4: "wasteToner", 5: "ink",
	6: "inkCartridge", 7: "inkRibbon", 8: "wasteInk", 9: "opc",
	10: "developer", 11: "fuserOil", 12: "solidWax", 13: "ribbonWax",
	14: "wasteWax", 15: "fuser", 16: "coronaWire", 17: "fuserOilWick",
	18: "cleanerUnit", 19: "fuserCleaningPad", 20: "transferUnit",
	21: "tonerCartridge", 22: "fuserOiler", 23: "water", 24: "wasteWater",
	25: "glueWaterAdditive", 26: "wastePaper", 27: "bindingSupply",
	28: "bandingSupply", 29: "stitchingWire", 30: "shrinkWrap",
	31: "paperWrap", 32: "staples", 33: "inserts", 34: "covers",
}

// SupplyType returns the PWG keyword for a PrtMarkerSuppliesTypeTC value,
// or "" when unknown.
func SupplyType(v int) string {
	if v < 1 || v >= len(supplyTypes) {
		return ""
	}
	t := supplyTypes[v]
	if t == "other" || t == "unknown" {
		return ""
	}
	return t
}

// SupplyClass returns the printer.Class* constant for a
// prtMarkerSuppliesClass value (3 supplyThatIsConsumed, 4
// receptacleThatIsFilled), or "" for other(1) and unknown values.
func SupplyClass(v int) string {
	switch v {
	case 3:
		return printer.ClassConsumed
	case 4:
		return printer.ClassReceptacle
	}
	return ""
}

// colorants maps common colorant names to sRGB colours.
var colorants = map[string]string{
	"black": "#000000", "cyan": "#00FFFF", "magenta": "#FF00FF",
	"yellow": "#FFFF00", "red": "#FF0000", "green": "#00FF00",
	"blue": "#0000FF", "gray": "#808080", "grey": "#808080",
	"photoblack": "#000000", "photo black": "#000000", "matteblack": "#000000",
	"matte black": "#000000", "light cyan": "#E0FFFF", "light magenta": "#FF77FF",
	"photocyan": "#E0FFFF", "photomagenta": "#FF77FF",
}

// Level converts prtMarkerSuppliesLevel and prtMarkerSuppliesMaxCapacity
// to a percentage or one of the special printer levels.
func Level(level, maxCapacity int) int {
	if level >= 0 && maxCapacity > 0 {
		if level > maxCapacity {
			return 100
		}
		return int(int64(level) * 100 / int64(maxCapacity))
	}
	// No usable capacity: agents then usually report percent. The special
	// values (-1 other, -2 unknown, -3 some remaining) are the IPP ones.
	return printer.NormalizeLevel(level)
}

type supplyRow struct {
	desc          string
	class         int
	typ           int
	colorant      int
	level, maxCap int
	hasLevel      bool
}

// SuppliesFromPDUs builds supplies from the variables of a walk of
// prtMarkerSuppliesEntry (1.3.6.1.2.1.43.11.1.1) and, optionally,
// prtMarkerColorantValue (1.3.6.1.2.1.43.12.1.1.4). Rows are ordered by
// index; variables with unexpected names or types are ignored. The level
// of a receptacle (prtMarkerSuppliesClass receptacleThatIsFilled), which
// the MIB gives as remaining space, becomes how full it is. Names shared
// by several rows are told apart (printer.UniqueNames).
func SuppliesFromPDUs(pdus []gosnmp.SnmpPDU) []printer.Supply {
	rows := map[int]*supplyRow{}
	colorNames := map[int]string{}
	var order []int
	for _, p := range pdus {
		name := strings.TrimPrefix(p.Name, ".")
		if rest, ok := strings.CutPrefix(name, OIDColorantValue+"."); ok {
			_, idx, ok := twoIndexes(rest)
			if !ok {
				continue
			}
			if s, ok := String(p); ok && len(colorNames) < maxRows {
				colorNames[idx] = strings.ToLower(s)
			}
			continue
		}
		rest, ok := strings.CutPrefix(name, OIDSupplies+".")
		if !ok {
			continue
		}
		col, rest, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		column, err := strconv.Atoi(col)
		if err != nil {
			continue
		}
		_, idx, ok := twoIndexes(rest)
		if !ok {
			continue
		}
		r := rows[idx]
		if r == nil {
			if len(rows) >= maxRows {
				continue
			}
			r = &supplyRow{level: -2, maxCap: -2}
			rows[idx] = r
			order = append(order, idx)
		}
		switch column {
		case 4: // prtMarkerSuppliesClass
			r.class, _ = Int(p)
		case 3: // prtMarkerSuppliesColorantIndex
			r.colorant, _ = Int(p)
		case 5: // prtMarkerSuppliesType
			r.typ, _ = Int(p)
		case 6: // prtMarkerSuppliesDescription
			r.desc, _ = String(p)
		case 8: // prtMarkerSuppliesMaxCapacity
			if v, ok := Int(p); ok {
				r.maxCap = v
			}
		case 9: // prtMarkerSuppliesLevel
			if v, ok := Int(p); ok {
				r.level, r.hasLevel = v, true
			}
		}
	}
	slices.Sort(order)
	out := make([]printer.Supply, 0, len(order))
	for _, idx := range order {
		r := rows[idx]
		if !r.hasLevel && r.desc == "" {
			continue
		}
		s := printer.Supply{
			Name:  r.desc,
			Type:  SupplyType(r.typ),
			Class: SupplyClass(r.class),
			Level: Level(r.level, r.maxCap),
		}
		if s.Class == printer.ClassReceptacle && s.Known() {
			// The MIB gives a receptacle's remaining space; a Supply
			// holds how full it is (as CUPS reports it over IPP).
			s.Level = 100 - s.Level
		}
		if s.Name == "" {
			s.Name = "supply-" + strconv.Itoa(idx)
		}
		if r.colorant > 0 {
			if cn := colorNames[r.colorant]; cn != "" && cn != "unknown" {
				s.ColorName = cn
				if c, ok := colorants[cn]; ok {
					s.Colors = []string{c}
				}
			}
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil
	}
	return printer.UniqueNames(out)
}

// twoIndexes parses "a.b" (e.g. hrDeviceIndex.entryIndex).
func twoIndexes(s string) (int, int, bool) {
	a, b, ok := strings.Cut(s, ".")
	if !ok {
		return 0, 0, false
	}
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || x < 0 || y < 0 {
		return 0, 0, false
	}
	return x, y, true
}
