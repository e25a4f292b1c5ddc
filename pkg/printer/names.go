package printer

import (
	"strconv"
	"strings"
)

// colorWords names the colours printers send as sRGB most often.
var colorWords = map[string]string{
	"#000000": "black", "#00FFFF": "cyan", "#FF00FF": "magenta", "#FFFF00": "yellow",
}

// colorWord is a supply's colour in a word when it has one ("cyan"), else
// its sRGB colours ("#39D2E7#D945DD#DFD31D"), else "".
func (s Supply) colorWord() string {
	if s.ColorName != "" {
		return s.ColorName
	}
	if len(s.Colors) == 1 {
		if w, ok := colorWords[strings.ToUpper(s.Colors[0])]; ok {
			return w
		}
	}
	return strings.Join(s.Colors, "")
}

// UniqueNames returns the supplies with names no two of them share, as a
// level report needs: a supply is known by its name. Some printers give
// several supplies one name (an OKI names its four toners "Toner
// Cartridge OKI DATA CORP"); each of those gets its colour after the name
// ("Toner Cartridge OKI DATA CORP (cyan)") when the colours tell them
// apart, else its place among them ("Image Drum Unit OKI DATA CORP (2)").
// Names are compared without surrounding space; supplies whose names are
// already unique keep them, so a printer's names stay the same from one
// reading to the next.
func UniqueNames(ss []Supply) []Supply {
	groups := map[string][]int{}
	for i, s := range ss {
		k := strings.TrimSpace(s.Name)
		groups[k] = append(groups[k], i)
	}
	if len(groups) == len(ss) {
		return ss
	}
	out := append([]Supply(nil), ss...)
	taken := map[string]bool{}
	for k, idx := range groups {
		if len(idx) == 1 {
			taken[k] = true
		}
	}
	for i, s := range ss {
		k := strings.TrimSpace(s.Name)
		idx := groups[k]
		if len(idx) == 1 {
			continue
		}
		seen := map[string]bool{}
		byColor := true
		for _, j := range idx {
			w := ss[j].colorWord()
			byColor = byColor && w != "" && !seen[w]
			seen[w] = true
		}
		pos := 0
		for n, j := range idx {
			if j == i {
				pos = n + 1
			}
		}
		name := k + " (" + strconv.Itoa(pos) + ")"
		if byColor {
			name = k + " (" + s.colorWord() + ")"
		}
		for n := 2; taken[name]; n++ {
			name = k + " (" + strconv.Itoa(pos) + "." + strconv.Itoa(n) + ")"
		}
		taken[name] = true
		out[i].Name = name
	}
	return out
}
