package printer

import (
	"strconv"
	"strings"
)

// Supply classes of PWG 5100.13 printer-supply and of the Printer MIB's
// prtMarkerSuppliesClass (RFC 3805).
const (
	// ClassConsumed is a supply that is used up: ink, toner, a drum's life.
	ClassConsumed = "supplyThatIsConsumed"
	// ClassReceptacle is a container that fills up: a waste ink tank, a
	// waste toner box, a maintenance box.
	ClassReceptacle = "receptacleThatIsFilled"
)

// Kind says what a supply is, and so whether new ones are ordered and how
// its level reads.
type Kind string

// The kinds of supply.
const (
	// KindInk is ink: a cartridge, a tank or a bottle. Ordered when low.
	KindInk Kind = "ink"
	// KindToner is toner. Ordered when low.
	KindToner Kind = "toner"
	// KindWaste is a receptacle that fills: a waste ink tank, a waste
	// toner box, a maintenance box. Its level is how full it is. Never
	// ordered.
	KindWaste Kind = "waste"
	// KindDrum is an imaging drum (photoconductor, "opc"). Never ordered.
	KindDrum Kind = "drum"
	// KindPart is another replaceable part that wears out: fuser, transfer
	// unit, cleaner, developer, maintenance kit. Never ordered.
	KindPart Kind = "part"
	// KindOther is any other supply the printer names (staples, water,
	// ...). Never ordered.
	KindOther Kind = "other"
	// KindUnknown is a supply of no stated type and no telling name. Most
	// of them are colorants (marker-* lists of printers that send no
	// marker-types), so they are ordered like ink.
	KindUnknown Kind = ""
)

// kindOfType maps PWG supply type keywords (camelCase, see
// NormalizeSupplyType) to kinds. The keywords are those of RFC 3805
// PrtMarkerSuppliesTypeTC and PWG 5100.13.
var kindOfType = map[string]Kind{
	"ink": KindInk, "inkCartridge": KindInk, "inkRibbon": KindInk, "inkTank": KindInk, "inkBottle": KindInk,
	"solidWax": KindInk, "ribbonWax": KindInk,
	"toner": KindToner, "tonerCartridge": KindToner,
	"wasteInk": KindWaste, "wasteToner": KindWaste, "wasteWater": KindWaste, "wasteWax": KindWaste,
	"wastePaper": KindWaste,
	"opc":        KindDrum,
	"developer":  KindPart, "fuser": KindPart, "fuserOil": KindPart, "fuserOilWick": KindPart,
	"fuserOiler": KindPart, "fuserCleaningPad": KindPart, "coronaWire": KindPart, "cleanerUnit": KindPart,
	"transferUnit": KindPart,
	"water":        KindOther, "glueWaterAdditive": KindOther, "bindingSupply": KindOther, "bandingSupply": KindOther,
	"stitchingWire": KindOther, "shrinkWrap": KindOther, "paperWrap": KindOther, "staples": KindOther,
	"inserts": KindOther, "covers": KindOther,
}

// kindOfName recognises a supply by words of its name, for printers that
// send no type or "other": the first entry whose words all occur wins.
var kindOfName = []struct {
	words []string
	kind  Kind
}{
	{[]string{"waste"}, KindWaste},
	{[]string{"maintenance", "box"}, KindWaste},
	{[]string{"maintenance", "cartridge"}, KindWaste},
	{[]string{"maintenance", "tank"}, KindWaste},
	{[]string{"ink", "absorber"}, KindWaste},
	{[]string{"maintenance"}, KindPart},
	{[]string{"drum"}, KindDrum},
	{[]string{"imaging", "unit"}, KindDrum},
	{[]string{"photoconductor"}, KindDrum},
	{[]string{"fuser"}, KindPart},
	{[]string{"transfer"}, KindPart},
	{[]string{"toner"}, KindToner},
	{[]string{"ink"}, KindInk},
}

// maintenanceCartridge is the name a Canon MegaTank gives its maintenance
// cartridge, the receptacle that collects waste ink.
const maintenanceCartridge = "mc"

// Kind classifies the supply: by its class first (a receptacle is waste),
// then by its PWG type, then by its name: Canon's "MC", or the words of
// the name ("Waste Ink Tank", "Maintenance Box", "Drum Unit").
func (s Supply) Kind() Kind {
	if s.Class == ClassReceptacle {
		return KindWaste
	}
	if k, ok := kindOfType[s.Type]; ok {
		return k
	}
	name := strings.ToLower(strings.TrimSpace(s.Name))
	if name == maintenanceCartridge {
		return KindWaste
	}
	for _, e := range kindOfName {
		all := true
		for _, w := range e.words {
			all = all && strings.Contains(name, w)
		}
		if all {
			return e.kind
		}
	}
	if s.Type != "" && s.Type != "other" && s.Type != "unknown" {
		return KindOther
	}
	return KindUnknown
}

// AnyLevel reports whether some supply's level says anything: a
// percentage, or that some remains. A printer asleep answers with every
// level unknown (-2) and its true levels once it wakes, so such an answer
// tells nothing about its supplies.
func AnyLevel(ss []Supply) bool {
	for _, s := range ss {
		if s.Known() || s.Level == LevelSomeRemaining {
			return true
		}
	}
	return false
}

// Reorderable reports whether new ones of the supply are ordered when it
// runs low: ink, toner, and supplies of unknown kind. Waste tanks, drums
// and other parts are not.
func (s Supply) Reorderable() bool {
	switch s.Kind() {
	case KindInk, KindToner, KindUnknown:
		return true
	}
	return false
}

// KindLabel names what a supply that is not ink or toner is, for people:
// "waste tank", "waste toner box", "maintenance cartridge" (Canon's word,
// and its "MC"), "maintenance box", "drum", "part" or "supply". It is ""
// for ink, toner and supplies of unknown kind, which are named by their
// own names.
func (s Supply) KindLabel() string {
	name := strings.ToLower(strings.TrimSpace(s.Name))
	switch s.Kind() {
	case KindWaste:
		switch {
		case name == maintenanceCartridge || strings.Contains(name, "maintenance cartridge"):
			return "maintenance cartridge"
		case strings.Contains(name, "maintenance"):
			return "maintenance box"
		case s.Type == "wasteToner" || strings.Contains(name, "toner"):
			return "waste toner box"
		}
		return "waste tank"
	case KindDrum:
		return "drum"
	case KindPart:
		return "part"
	case KindOther:
		return "supply"
	}
	return ""
}

// LevelText says a supply's level in words: "40%", "34% full" for a
// receptacle (its level is how full it is), "low" or "empty" when the
// printer says so in words (State) and gives no percentage, "some left"
// ("not full" for a receptacle) when the printer says only that some
// remains, "unknown" otherwise.
func (s Supply) LevelText() string {
	waste := s.Kind() == KindWaste
	switch {
	case !s.Known() && s.State != "":
		return s.State
	case s.Known() && waste:
		return strconv.Itoa(s.Level) + "% full"
	case s.Known():
		return strconv.Itoa(s.Level) + "%"
	case s.Level == LevelSomeRemaining && waste:
		return "not full"
	case s.Level == LevelSomeRemaining:
		return "some left"
	}
	return "unknown"
}

// Code is the short code a printer gives a supply in parentheses after
// its name, as Canon names its inks: "PGBK" for "Black(PGBK)", "BK" for
// "Black (BK)". It is "" when the name ends in no such code (one to six
// letters and digits).
func (s Supply) Code() string {
	name := strings.TrimSpace(s.Name)
	open := strings.LastIndexByte(name, '(')
	if open <= 0 || !strings.HasSuffix(name, ")") {
		return ""
	}
	code := strings.TrimSpace(name[open+1 : len(name)-1])
	if code == "" || len(code) > 6 {
		return ""
	}
	for _, r := range code {
		if !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9') {
			return ""
		}
	}
	return code
}

// ColorKey is the colour an order of the supply is for: its colorant name
// ("cyan") when the printer gives one, else its sRGB colours as IPP writes
// them, several back to back for a multi-colour cartridge
// ("#00FFFF#FF00FF#FFFF00"), else "".
func (s Supply) ColorKey() string {
	if s.ColorName != "" {
		return s.ColorName
	}
	return strings.Join(s.Colors, "")
}
