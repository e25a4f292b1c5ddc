package tableprinter

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// discoverRows are printers as discover lists them.
var discoverRows = [][]string{
	{"Canon TS8300 series", "192.168.1.40 +1", "Canon TS8300 series", "KNMA55551234", "ipps://192.168.1.40:443/ipp/print", "PGBK 80% BK 60% C 40% M 50% Y 70% PB 20%", "eligible (TS8320)"},
	{"HP LaserJet Pro M404", "192.168.1.41", "HP LaserJet Pro M404dn", "PHBQ123456", "ipp://192.168.1.41:631/ipp/print", "K 55%", "not eligible: another make"},
}

var discoverHeader = []string{"NAME", "ADDRESS", "MAKE AND MODEL", "SERIAL", "URI", "LEVELS", "ELIGIBILITY"}

func render(t *testing.T, tty bool, width int) string {
	t.Helper()
	var b bytes.Buffer
	tb := NewWriter(&b, tty, width, discoverHeader...).KeepWhole(3).Spare(4, 2)
	for _, r := range discoverRows {
		tb.AddRow(r...)
	}
	if err := tb.Render(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestFitsTerminal: at 80 and 110 columns no line is wider than the
// terminal (a wider line wraps, mid-URI), columns stay aligned, cut
// values end in "…", and short columns (the serial) stay whole.
func TestFitsTerminal(t *testing.T) {
	for _, width := range []int{80, 110} {
		out := render(t, true, width)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") {
			t.Fatalf("width %d: want a header and 2 rows:\n%s", width, out)
		}
		for _, l := range lines {
			if w := Width(l); w > width {
				t.Errorf("width %d: line of %d cells: %q", width, w, l)
			}
		}
		if !strings.Contains(out, "…") {
			t.Errorf("width %d: nothing was cut:\n%s", width, out)
		}
		// The spare columns are left out rather than cut: at 110 columns
		// the URI showed as "ipps://192.16…" and the levels and the
		// eligibility were cut to 14 cells; without the spare columns
		// the eligibility is whole.
		if strings.Contains(out, "URI") || strings.Contains(out, "MAKE AND MODEL") {
			t.Errorf("width %d: a spare column is shown cut:\n%s", width, out)
		}
		if width == 110 && !strings.Contains(out, "not eligible: another make") {
			t.Errorf("width %d: eligibility cut:\n%s", width, out)
		}
		for _, serial := range []string{"KNMA55551234", "PHBQ123456"} {
			if !strings.Contains(out, serial) {
				t.Errorf("width %d: serial %s was cut:\n%s", width, serial, out)
			}
		}
		// Aligned: SERIAL starts at the same cell on every line.
		col := utf8.RuneCountInString(lines[0][:strings.Index(lines[0], "SERIAL")])
		for _, l := range lines[1:] {
			r := []rune(l)
			if col > len(r) || !strings.HasPrefix(string(r[col:]), "KNMA") && !strings.HasPrefix(string(r[col:]), "PHBQ") {
				t.Errorf("width %d: serial not under its header:\n%s", width, out)
			}
		}
	}
}

// TestWideTerminalWhole: at 200 columns everything fits, uncut.
func TestWideTerminalWhole(t *testing.T) {
	out := render(t, true, 200)
	if strings.Contains(out, "…") {
		t.Errorf("cut at 200 columns:\n%s", out)
	}
	for _, r := range discoverRows {
		for _, c := range r {
			if !strings.Contains(out, c) {
				t.Errorf("%q missing:\n%s", c, out)
			}
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing spaces: %q", l)
		}
	}
}

// TestPipedWhole: piped, values are whole and tab-separated, with no
// header, however narrow the terminal would be.
func TestPipedWhole(t *testing.T) {
	out := render(t, false, 20)
	want := strings.Join(discoverRows[0], "\t") + "\n" + strings.Join(discoverRows[1], "\t") + "\n"
	if out != want {
		t.Errorf("piped:\n%q\nwant\n%q", out, want)
	}
}

// TestCellsAreSafe: a value cannot act on the terminal or break a row.
func TestCellsAreSafe(t *testing.T) {
	var b bytes.Buffer
	tb := NewWriter(&b, false, 80, "A", "B")
	tb.AddRow("Canon\tTS8320\nseries", "\x1b[2Jx")
	_ = tb.Render()
	if got := b.String(); got != "Canon TS8320 series\t\\x1b[2Jx\n" {
		t.Errorf("got %q", got)
	}
}

func TestFit(t *testing.T) {
	for _, tc := range []struct {
		natural []int
		whole   []bool
		total   int
		want    []int
	}{
		{[]int{5, 10, 3}, nil, 40, []int{5, 10, 3}},                            // fits
		{[]int{20, 30, 4}, nil, 40, []int{16, 16, 4}},                          // 36 cells: the two wide columns share 32
		{[]int{20, 30, 4}, nil, 41, []int{17, 16, 4}},                          // the cell left over goes left
		{[]int{20, 30, 12}, []bool{false, false, true}, 40, []int{12, 12, 12}}, // the whole column keeps its 12
		{[]int{10, 10}, nil, 3, []int{1, 1}},                                   // never below one cell
		{[]int{}, nil, 80, []int{}},
	} {
		got := Fit(tc.natural, tc.whole, tc.total)
		if len(got) != len(tc.want) {
			t.Errorf("Fit(%v, %d) = %v, want %v", tc.natural, tc.total, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("Fit(%v, %d) = %v, want %v", tc.natural, tc.total, got, tc.want)
				break
			}
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		s    string
		w    int
		want string
	}{
		{"ipps://192.168.1.40/ipp/print", 10, "ipps://19…"},
		{"short", 10, "short"},
		{"abc", 1, "…"},
		{"abc", 0, ""},
		{"プリンター", 5, "プリ…"}, // two cells a character
	} {
		if got := Truncate(tc.s, tc.w); got != tc.want || Width(got) > max(tc.w, 0) {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.s, tc.w, got, tc.want)
		}
	}
}

// TestStream: rows printed one at a time share the columns fitted once;
// the header comes with the first row; piped rows are whole.
// discoverColumns are discover's.
var discoverColumns = []Column{
	{Header: "NAME", Width: 24}, {Header: "ADDRESS", Width: 18}, {Header: "MAKE AND MODEL", Width: 22, Spare: 2},
	{Header: "SERIAL", Width: 12, Whole: true}, {Header: "URI", Width: 34, Spare: 1},
	{Header: "LEVELS", Width: 40}, {Header: "ELIGIBILITY", Width: 24},
}

func TestStream(t *testing.T) {
	cols := discoverColumns
	for _, width := range []int{80, 110, 200} {
		var b bytes.Buffer
		s := NewStreamWriter(&b, true, width, cols...)
		for _, r := range discoverRows {
			if err := s.Row(r...); err != nil {
				t.Fatal(err)
			}
		}
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") {
			t.Fatalf("width %d:\n%s", width, b.String())
		}
		for _, l := range lines {
			if Width(l) > width {
				t.Errorf("width %d: line of %d cells: %q", width, Width(l), l)
			}
		}
		if width == 200 && (strings.Contains(b.String(), "…") || !strings.Contains(lines[0], "URI")) {
			t.Errorf("cut or spare columns hidden at 200 columns:\n%s", b.String())
		}
		if width == 110 && strings.Contains(lines[0], "URI") {
			t.Errorf("URI cut rather than hidden at 110 columns:\n%s", b.String())
		}
	}
	var b bytes.Buffer
	s := NewStreamWriter(&b, false, 80, cols...)
	_ = s.Row(discoverRows[0]...)
	if got, want := b.String(), strings.Join(discoverRows[0], "\t")+"\n"; got != want {
		t.Errorf("piped stream = %q, want %q", got, want)
	}
}

// TestCutLast: the levels of `arsctl status` at 80 columns. They were cut
// to "PGBK 80% BK 70…" while the spare READ column was shown whole; a
// column marked CutLast is cut only once every spare column is hidden.
func TestCutLast(t *testing.T) {
	header := []string{"ID", "PRINTER", "SERIAL", "PROVIDER", "STATE", "LEVELS", "READ", "ORDERS"}
	row := []string{"01a2450b", "TS8320 (office)", "****0888", "canon", "active", "PGBK 80% BK 70% C 60% M 50%", "11 min ago", "none"}
	for _, last := range []bool{false, true} {
		var b bytes.Buffer
		tb := NewWriter(&b, true, 80, header...).KeepWhole(0, 2, 4).Spare(3, 6)
		if last {
			tb.CutLast(5)
		}
		tb.AddRow(row...)
		if err := tb.Render(); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if Width(l) > 80 {
				t.Errorf("line of %d cells: %q", Width(l), l)
			}
		}
		whole := strings.Contains(out, row[5])
		if whole != last || strings.Contains(out, "READ") == last {
			t.Errorf("CutLast %v: levels whole %v, READ shown %v:\n%s", last, whole, strings.Contains(out, "READ"), out)
		}
	}
}
