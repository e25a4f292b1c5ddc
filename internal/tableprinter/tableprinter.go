// Package tableprinter prints rows of text as a table that fits the
// terminal, and as tab-separated values for scripts.
//
// On a terminal, columns are aligned and the table is as wide as the
// terminal at most: when the columns' natural widths do not fit, the
// widest ones are cut to a common width and their values end in "…";
// narrow columns keep their whole values. Headers are shown, and the last
// column is not padded. When stdout is not a terminal, every value is
// printed whole, one row per line with fields separated by tabs, and no
// header, so that `cut -f` and `awk -F'\t'` read it.
//
// Every cell goes through iostreams.Safe, since cells hold text from
// servers and printers; tabs and newlines in a value become spaces.
package tableprinter

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/mattn/go-runewidth"

	"github.com/arsctl/arsctl/internal/iostreams"
)

// Gap is the space between two columns on a terminal.
const Gap = "  "

// Ellipsis ends a value cut to fit its column.
const Ellipsis = "…"

// cells measures display widths the same way whatever the locale: "…"
// and other East Asian ambiguous characters are one cell wide.
var cells = &runewidth.Condition{}

// Width returns the number of terminal cells s takes.
func Width(s string) int { return cells.StringWidth(s) }

// Truncate cuts s to at most w cells, ending it in "…" when it was cut.
func Truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if Width(s) <= w {
		return s
	}
	if w == 1 {
		return Ellipsis
	}
	return cells.Truncate(s, w, Ellipsis)
}

// clean makes one value printable in a cell.
func clean(s string) string {
	return iostreams.Safe(strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s))
}

// Fit returns the width of each column so that the columns, separated by
// Gap, take at most total cells, given each column's natural width (its
// widest value) and whether it must stay whole (an ID to copy, a serial
// number). When everything fits, the natural widths are returned.
// Otherwise the columns that may be cut share what the whole ones leave:
// the widest are cut down to a common width, the largest that fits, so
// that narrow columns stay whole too; a column is never narrower than
// one cell. whole may be shorter than natural (missing: false).
func Fit(natural []int, whole []bool, total int) []int {
	n := len(natural)
	widths := append([]int(nil), natural...)
	if n == 0 {
		return widths
	}
	avail := total - len(Gap)*(n-1)
	sum := 0
	for _, w := range natural {
		sum += w
	}
	if sum <= avail {
		return widths
	}
	isWhole := func(i int) bool { return i < len(whole) && whole[i] }
	hi := 1
	for i, w := range natural {
		if isWhole(i) {
			avail -= w
		} else {
			hi = max(hi, w)
		}
	}
	// The largest cap c with sum(min(natural, c)) <= avail over the
	// columns that may be cut.
	capped := func(c int) int {
		s := 0
		for i, w := range natural {
			if !isWhole(i) {
				s += max(min(w, c), 1)
			}
		}
		return s
	}
	lo := 1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if capped(mid) <= avail {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	left := avail - capped(lo)
	for i, w := range natural {
		if isWhole(i) {
			continue
		}
		widths[i] = max(min(w, lo), 1)
		// Give the cells left over to the cut columns, left to right.
		if left > 0 && w > widths[i] {
			widths[i]++
			left--
		}
	}
	return widths
}

// MinWidth is the fewest cells a column that may be cut is given before
// columns that can be spared are hidden.
const MinWidth = 12

// Hidden is the width layout gives a column it hides.
const Hidden = -1

// layout is Fit, hiding columns on a terminal too narrow for them: while
// a column that may be cut would get fewer than MinWidth cells (or its
// natural width, when smaller), or a column of spare or of cutLast would
// be cut at all, the next column of spare is hidden (width Hidden), and
// the others fitted again.
func layout(natural []int, whole []bool, spare, cutLast []int, total int) []int {
	hidden := map[int]bool{}
	for {
		var nat []int
		var wh []bool
		for i, w := range natural {
			if hidden[i] {
				continue
			}
			nat = append(nat, w)
			wh = append(wh, i < len(whole) && whole[i])
		}
		fitted := Fit(nat, wh, total)
		widths := make([]int, len(natural))
		narrow, cutSpare := false, false
		j := 0
		for i, w := range natural {
			if hidden[i] {
				widths[i] = Hidden
				continue
			}
			widths[i] = fitted[j]
			if !wh[j] && fitted[j] < min(w, MinWidth) {
				narrow = true
			}
			if fitted[j] < w && (slices.Contains(spare, i) || slices.Contains(cutLast, i)) {
				cutSpare = true
			}
			j++
		}
		// A spare column is hidden rather than cut: "ipp://127.0.0…" says
		// nothing, and its cells make the others whole.
		narrow = narrow || cutSpare
		if !narrow || len(hidden) == len(spare) {
			return widths
		}
		hidden[spare[len(hidden)]] = true
	}
}

// Table collects rows and prints them with Render.
type Table struct {
	out    io.Writer
	tty    bool
	width  int
	header []string
	whole  []bool
	spare  []int
	last   []int
	rows   [][]string
}

// New returns a table printing to ios.Out: fitted to the terminal's width
// when stdout is a terminal, tab-separated otherwise. header names the
// columns (shown on a terminal only).
func New(ios *iostreams.IOStreams, header ...string) *Table {
	return NewWriter(ios.Out, ios.IsStdoutTTY(), ios.TerminalWidth(), header...)
}

// NewWriter returns a table printing to w, for a terminal width cells wide
// when tty is true.
func NewWriter(w io.Writer, tty bool, width int, header ...string) *Table {
	return &Table{out: w, tty: tty, width: width, header: header}
}

// KeepWhole marks columns (counted from 0) whose values are never cut,
// such as IDs to copy into another command. It returns t.
func (t *Table) KeepWhole(cols ...int) *Table {
	for _, c := range cols {
		for len(t.whole) <= c {
			t.whole = append(t.whole, false)
		}
		t.whole[c] = true
	}
	return t
}

// Spare names the columns (counted from 0) that are hidden, in this
// order, on a terminal too narrow to show every column MinWidth cells
// wide; piped output keeps them. It returns t.
func (t *Table) Spare(cols ...int) *Table {
	t.spare = append(t.spare, cols...)
	return t
}

// CutLast names the columns (counted from 0) that are cut only once
// every Spare column is hidden: the one a table is read for, such as
// the supply levels. It returns t.
func (t *Table) CutLast(cols ...int) *Table {
	t.last = append(t.last, cols...)
	return t
}

// AddRow adds one row; it should have as many fields as the header.
func (t *Table) AddRow(fields ...string) {
	row := make([]string, len(fields))
	for i, f := range fields {
		row[i] = clean(f)
	}
	t.rows = append(t.rows, row)
}

// Len is the number of rows added.
func (t *Table) Len() int { return len(t.rows) }

// Render writes the table.
func (t *Table) Render() error {
	if !t.tty {
		for _, r := range t.rows {
			if _, err := fmt.Fprintln(t.out, strings.Join(r, "\t")); err != nil {
				return err
			}
		}
		return nil
	}
	rows := t.rows
	if len(t.header) > 0 {
		rows = append([][]string{t.header}, rows...)
	}
	n := 0
	for _, r := range rows {
		n = max(n, len(r))
	}
	natural := make([]int, n)
	for _, r := range rows {
		for i, c := range r {
			natural[i] = max(natural[i], Width(c))
		}
	}
	widths := layout(natural, t.whole, t.spare, t.last, t.width)
	for _, r := range rows {
		if _, err := fmt.Fprintln(t.out, line(r, widths)); err != nil {
			return err
		}
	}
	return nil
}

// line lays out one row in columns of the given widths, leaving out
// the hidden ones.
func line(row []string, widths []int) string {
	var b strings.Builder
	first := true
	for i, c := range row {
		if i < len(widths) && widths[i] == Hidden {
			continue
		}
		if !first {
			b.WriteString(Gap)
		}
		first = false
		if i >= len(widths) {
			b.WriteString(c)
			continue
		}
		c = Truncate(c, widths[i])
		b.WriteString(c)
		b.WriteString(strings.Repeat(" ", widths[i]-Width(c)))
	}
	return strings.TrimRight(b.String(), " ")
}

// Column is a column of a Stream: its header and how wide its values
// usually are, since a stream's rows are printed before all are known.
type Column struct {
	Header string
	// Width is the width the column gets when the terminal is wide
	// enough; longer values are cut to it.
	Width int
	// Whole columns keep their Width however narrow the terminal.
	Whole bool
	// Spare columns are hidden on a terminal too narrow to show every
	// column MinWidth cells wide, the lowest Spare first (0: never).
	Spare int
}

// Stream prints rows one at a time, as they come (printers answering a
// search), in columns fitted once to the terminal's width. Off a
// terminal, it prints tab-separated values like Table.
type Stream struct {
	out    io.Writer
	tty    bool
	cols   []Column
	widths []int
	header bool
}

// NewStream returns a Stream printing to ios.Out.
func NewStream(ios *iostreams.IOStreams, cols ...Column) *Stream {
	return NewStreamWriter(ios.Out, ios.IsStdoutTTY(), ios.TerminalWidth(), cols...)
}

// NewStreamWriter returns a Stream printing to w, for a terminal width
// cells wide when tty is true.
func NewStreamWriter(w io.Writer, tty bool, width int, cols ...Column) *Stream {
	natural := make([]int, len(cols))
	whole := make([]bool, len(cols))
	var spare []int
	for i, c := range cols {
		natural[i] = max(c.Width, Width(c.Header))
		whole[i] = c.Whole
		if c.Spare > 0 {
			spare = append(spare, i)
		}
	}
	slices.SortStableFunc(spare, func(a, b int) int { return cols[a].Spare - cols[b].Spare })
	widths := layout(natural, whole, spare, nil, width)
	// The last column shown takes what is left of the line, if more
	// than its usual width.
	used, last := 0, -1
	for i, w := range widths {
		if w == Hidden {
			continue
		}
		if last >= 0 {
			used += widths[last] + len(Gap)
		}
		last = i
	}
	if last >= 0 {
		widths[last] = max(widths[last], width-used)
	}
	return &Stream{out: w, tty: tty, cols: cols, widths: widths}
}

// Row prints one row, after the header when it is the first on a
// terminal.
func (s *Stream) Row(fields ...string) error {
	row := make([]string, len(fields))
	for i, f := range fields {
		row[i] = clean(f)
	}
	if !s.tty {
		_, err := fmt.Fprintln(s.out, strings.Join(row, "\t"))
		return err
	}
	if !s.header {
		s.header = true
		h := make([]string, len(s.cols))
		for i, c := range s.cols {
			h[i] = c.Header
		}
		if _, err := fmt.Fprintln(s.out, line(h, s.widths)); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(s.out, line(row, s.widths))
	return err
}
