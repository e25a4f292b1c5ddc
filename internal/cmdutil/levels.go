package cmdutil

import (
	"fmt"
	"strings"

	"github.com/arsctl/arsctl/pkg/printer"
)

// Levels formats supply levels compactly for a table column, e.g.
// "BK 80% C 40% M 5% Y 60%; waste tank 34% full": the inks and toners
// first, "ok" when some remains but the printer does not say how much,
// "low" or "empty" when the printer says so in words only, "?" when the
// level is unknown; then each supply that is not ordered
// (waste tank, drum, ...) named as what it is. discover, status and
// monitor print levels this way.
func Levels(ss []printer.Supply) string {
	inks := make([]string, 0, len(ss))
	var others []string
	for _, s := range ss {
		if s.Reorderable() {
			l := levelText(s.Level)
			switch {
			case s.State != "" && s.Known():
				l += " (" + s.State + ")"
			case s.State != "":
				l = s.State
			}
			inks = append(inks, ShortName(s)+" "+l)
			continue
		}
		l := s.LevelText()
		if l == "unknown" {
			l = "?"
		}
		others = append(others, s.KindLabel()+" "+l)
	}
	var parts []string
	if len(inks) > 0 {
		parts = append(parts, strings.Join(inks, " "))
	}
	return strings.Join(append(parts, others...), "; ")
}

func levelText(l int) string {
	switch {
	case l >= 0 && l <= 100:
		return fmt.Sprintf("%d%%", l)
	case l == printer.LevelSomeRemaining:
		return "ok"
	}
	return "?"
}

var colorAbbrev = map[string]string{
	"black": "BK", "cyan": "C", "magenta": "M", "yellow": "Y", "red": "R",
	"green": "G", "blue": "B", "gray": "GY", "grey": "GY",
	"photo-black": "PBK", "photoblack": "PBK", "photo black": "PBK",
	"matte-black": "MBK", "light-cyan": "LC", "light-magenta": "LM",
}

var hexAbbrev = map[string]string{
	"#000000": "BK", "#00FFFF": "C", "#FF00FF": "M", "#FFFF00": "Y",
}

// ShortName abbreviates a supply's name for the levels column: the
// printer's own short name (e.g. "PGBK") when it has one, or the code it
// gives in parentheses ("PGBK" for Canon's "Black(PGBK)", so that its two
// blacks stay apart), or its name when it is a colour's ("Magenta"), else
// what it is when it is not ink or toner ("waste tank"), else a colour
// abbreviation, else its name with spaces removed.
func ShortName(s printer.Supply) string {
	n := strings.TrimSpace(s.Name)
	if n != "" && len(n) <= 5 && !strings.ContainsAny(n, " \t") {
		return n
	}
	if c := s.Code(); c != "" && s.Reorderable() {
		return c
	}
	if _, ok := colorAbbrev[strings.ToLower(n)]; ok && s.Reorderable() {
		return n // a colour's own name, as Canon's "Magenta": as short as "Cyan"
	}
	if l := s.KindLabel(); l != "" {
		return l
	}
	if a, ok := colorAbbrev[strings.ToLower(s.ColorName)]; ok {
		return a
	}
	if len(s.Colors) == 1 {
		if a, ok := hexAbbrev[strings.ToUpper(s.Colors[0])]; ok {
			return a
		}
	}
	if len(s.Colors) > 1 {
		return "CL"
	}
	if n == "" {
		return "?"
	}
	return strings.ReplaceAll(n, " ", "")
}
