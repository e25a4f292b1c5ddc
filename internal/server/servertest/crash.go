package servertest

import (
	"bufio"
	"io"
	"regexp"
	"testing"
	"time"

	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// crashLevels is the level of supply "C" in the j-th report of a printer
// in the crash tests (cyclic); supply "M" runs the same pattern shifted
// by 5.
var crashLevels = []int{80, 40, 16, 15, 12, -2, 9, 100, 90, 30, 10, 10, -3, 100, 5}

func crashLevel(supply string, j int) int {
	if supply == "M" {
		j += 5
	}
	return crashLevels[j%len(crashLevels)]
}

// CrashReport is the j-th level report of one printer in the crash
// tests' stream, read j minutes after base, with supplies "C" (cyan) and
// "M" (magenta).
func CrashReport(base time.Time, j int) arsapi.LevelReport {
	return arsapi.LevelReport{
		ReadAt: base.Add(time.Duration(j) * time.Minute),
		Supplies: []printer.Supply{
			{Name: "C", ColorName: "cyan", Level: crashLevel("C", j)},
			{Name: "M", ColorName: "magenta", Level: crashLevel("M", j)},
		},
	}
}

// CrashOrders is how many orders CrashReport's reports 0..last of one
// supply place, by the order engine's rules, with the default threshold
// (15) and no printer low mark.
func CrashOrders(supply string, last int) int {
	armed, orderLevel, n := true, 0, 0
	for j := 0; j <= last; j++ {
		lv := crashLevel(supply, j)
		if lv < 0 {
			continue
		}
		if !armed && lv > 15 && lv > orderLevel {
			armed = true
		}
		if armed && lv <= 15 {
			armed, orderLevel = false, lv
			n++
		}
	}
	return n
}

var listeningLine = regexp.MustCompile(`^arsd listening on (http://\S+)`)

// ArsdURL reads an arsd process's stderr up to its "arsd listening on
// URL" line and returns URL, logging the lines before it; the rest is
// drained in the background so that arsd never blocks on a full pipe.
// ok is false when stderr ends first (arsd exited).
func ArsdURL(t testing.TB, stderr io.Reader) (url string, ok bool) {
	t.Helper()
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
			go func() { // keep draining
				for sc.Scan() {
				}
			}()
			return m[1], true
		}
		t.Logf("arsd: %s", sc.Text())
	}
	return "", false
}
