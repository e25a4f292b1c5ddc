// Package iostreams holds a command's standard streams and what is known
// about them: whether they are terminals, whether colour is wanted, and a
// progress indicator on stderr. Commands never touch os.Stdout directly.
package iostreams

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mattn/go-isatty"

	"github.com/arsctl/arsctl/pkg/arsapi"
)

// IOStreams is stdin, stdout and stderr plus terminal facts.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
	noColor   bool
	neverTTY  bool // set by --json and friends: no prompts, no spinners

	// width is the terminal's width when known (COLUMNS or set by a
	// test); termWidth asks the terminal.
	width     int
	termWidth func() int

	mu        sync.Mutex
	spinStop  chan struct{}
	spinDone  chan struct{}
	spinLabel string
}

// System returns the process's real streams. NO_COLOR (any value) and
// TERM=dumb turn colour off.
func System() *IOStreams {
	_, noColor := os.LookupEnv("NO_COLOR")
	isTTY := func(f *os.File) bool { return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()) }
	columns, _ := strconv.Atoi(os.Getenv("COLUMNS"))
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		stdinTTY: isTTY(os.Stdin), stdoutTTY: isTTY(os.Stdout), stderrTTY: isTTY(os.Stderr),
		noColor:   noColor || os.Getenv("TERM") == "dumb",
		width:     max(columns, 0),
		termWidth: func() int { return terminalWidth(os.Stdout) },
	}
}

// DefaultWidth is the terminal width assumed when it cannot be known.
const DefaultWidth = 80

// TerminalWidth is the width, in cells, of the terminal stdout writes to:
// COLUMNS when it is set to a number, else the terminal's own, else
// DefaultWidth.
func (s *IOStreams) TerminalWidth() int {
	if s.width > 0 {
		return s.width
	}
	if s.termWidth != nil {
		if w := s.termWidth(); w > 0 {
			return w
		}
	}
	return DefaultWidth
}

// SetTerminalWidth sets the terminal's width (tests).
func (s *IOStreams) SetTerminalWidth(w int) { s.width = w }

// Test returns streams backed by buffers, none of them a terminal.
func Test() (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut, noColor: true}, in, out, errOut
}

// SetTTY marks all three streams as terminals or not (tests).
func (s *IOStreams) SetTTY(tty bool) { s.stdinTTY, s.stdoutTTY, s.stderrTTY = tty, tty, tty }

// SetNeverPrompt disables prompts and spinners (machine output requested).
func (s *IOStreams) SetNeverPrompt(v bool) { s.neverTTY = v }

// IsStdoutTTY reports whether stdout is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether stderr is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// CanPrompt reports whether the user can answer a prompt: stdin and stdout
// are terminals and machine output was not requested.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stdoutTTY && !s.neverTTY }

// Colorize wraps text in an ANSI SGR code when colour is enabled on
// stderr (where human messages go). code is e.g. "32" for green.
func (s *IOStreams) Colorize(code, text string) string {
	if !s.stderrTTY || s.noColor {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// Success, Warning and Failure prefix human messages with a mark. A
// string argument (or one that prints itself with String) is a value,
// often quoted from a server or a printer: it goes through Safe, so that
// its newlines cannot start a line of their own. The message as a whole
// goes through SafeLines: the format's own newlines and those of an error
// stay.
func (s *IOStreams) Success(format string, a ...any) {
	s.mark("32", "✓", message(format, a))
}

// Warning prints a warning line on stderr.
func (s *IOStreams) Warning(format string, a ...any) {
	s.mark("33", "!", message(format, a))
}

// Failure prints a failure line on stderr.
func (s *IOStreams) Failure(format string, a ...any) {
	s.mark("31", "✗", message(format, a))
}

// mark prints msg after a coloured mark. On a terminal, a line wider
// than it breaks between words, indented under the message.
// Info prints a message on stderr, with no mark. On a terminal, a line
// wider than it breaks between words, the rest indented by two spaces.
func (s *IOStreams) Info(format string, a ...any) {
	var b strings.Builder
	for _, line := range strings.Split(message(format, a), "\n") {
		parts := []string{line}
		if s.stderrTTY {
			parts = Wrap(line, s.TerminalWidth()-2)
		}
		for j, p := range parts {
			if j > 0 {
				b.WriteString("  ")
			}
			b.WriteString(p + "\n")
		}
	}
	fmt.Fprint(s.ErrOut, b.String())
}

func (s *IOStreams) mark(color, mark, msg string) {
	var b strings.Builder
	for i, line := range strings.Split(msg, "\n") {
		parts := []string{line}
		if s.stderrTTY {
			parts = Wrap(line, s.TerminalWidth()-2)
		}
		for j, p := range parts {
			switch {
			case i == 0 && j == 0:
				b.WriteString(s.Colorize(color, mark) + " " + p + "\n")
			case j == 0:
				b.WriteString(p + "\n")
			default:
				b.WriteString("  " + p + "\n")
			}
		}
	}
	fmt.Fprint(s.ErrOut, b.String())
}

func message(format string, a []any) string {
	verbs := formatVerbs(format)
	safe := make([]any, len(a))
	for i, v := range a {
		if i < len(verbs) && verbs[i] == 'q' {
			// %q escapes what Safe would, and would double Safe's escapes.
			safe[i] = v
			continue
		}
		switch v := v.(type) {
		case error:
			safe[i] = v
		case string:
			safe[i] = Safe(v)
		case fmt.Stringer:
			safe[i] = Safe(v.String())
		default:
			if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
				safe[i] = Safe(rv.String())
			} else {
				safe[i] = v
			}
		}
	}
	return SafeLines(fmt.Sprintf(format, safe...))
}

// formatVerbs returns the verb letter of each argument of a Printf
// format, in order (formats with explicit argument indexes or * widths
// are not used for messages).
func formatVerbs(format string) []byte {
	var verbs []byte
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0123456789.", format[i]) >= 0 {
			i++
		}
		if i < len(format) && format[i] != '%' {
			verbs = append(verbs, format[i])
		}
	}
	return verbs
}

// StartProgress shows a spinner with label on stderr when stderr is a
// terminal; otherwise it does nothing. StopProgress removes it.
func (s *IOStreams) StartProgress(label string) {
	if !s.stderrTTY || s.neverTTY {
		return
	}
	s.StopProgress()
	s.mu.Lock()
	defer s.mu.Unlock()
	stop, done := make(chan struct{}), make(chan struct{})
	s.spinStop, s.spinDone, s.spinLabel = stop, done, label
	go func() {
		defer close(done)
		frames := []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			s.mu.Lock()
			label := s.spinLabel
			s.mu.Unlock()
			fmt.Fprintf(s.ErrOut, "\r%s %s\x1b[K", frames[i%len(frames)], label)
			select {
			case <-stop:
				fmt.Fprint(s.ErrOut, "\r\x1b[K")
				return
			case <-t.C:
			}
		}
	}()
}

// UpdateProgress changes the label of the running spinner, if any.
func (s *IOStreams) UpdateProgress(label string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spinStop != nil {
		s.spinLabel = label
	}
}

// ProgressBar draws done out of total as a bar width cells wide, e.g.
// "[██████░░░░] 60/100".
func ProgressBar(done, total, width int) string {
	if total <= 0 || width <= 0 {
		return ""
	}
	done = min(max(done, 0), total)
	full := done * width / total
	return "[" + strings.Repeat("█", full) + strings.Repeat("░", width-full) + "] " +
		strconv.Itoa(done) + "/" + strconv.Itoa(total)
}

// StopProgress removes the spinner, if any.
func (s *IOStreams) StopProgress() {
	s.mu.Lock()
	stop, done := s.spinStop, s.spinDone
	s.spinStop, s.spinDone = nil, nil
	s.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// Safe returns s ready for a terminal: every character that would act on
// the terminal instead of being shown (arsapi.UnsafeRune: control
// characters such as ESC, CR, newline and tab, bidirectional formatting
// characters such as U+202E, line separators) and every byte that is not
// UTF-8 is replaced by a visible escape: \x1b, \u202e, \xff. Text from a
// server or a printer (nicknames, supply names, models, problem details)
// goes through it before arsctl prints it, so that it cannot move the
// cursor, recolour the screen or reorder a line. Safe(Safe(s)) == Safe(s).
func Safe(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return r == utf8.RuneError || arsapi.UnsafeRune(r) })
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for s = s[i:]; s != ""; {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case r < 0x80 && arsapi.UnsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case arsapi.UnsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

// SafeLines is Safe for text of several lines: the newlines stay.
func SafeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Safe(l)
	}
	return strings.Join(lines, "\n")
}

// Wrap breaks text into lines of at most width characters, between
// words (a word longer than width stays whole on its own line), for
// messages printed on a terminal: a terminal would break them anywhere,
// mid-word. Text that fits is returned as it is; the lines of text that
// does not start with its indentation. A width under 20 leaves text on
// one line.
func Wrap(text string, width int) []string {
	if width < 20 || utf8.RuneCountInString(text) <= width {
		return []string{text}
	}
	indent := text[:len(text)-len(strings.TrimLeft(text, " "))]
	words := strings.Fields(text)
	if len(words) == 0 {
		return []string{text}
	}
	width -= len(indent)
	var lines []string
	line := words[0]
	for _, w := range words[1:] {
		if utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > width {
			lines = append(lines, line)
			line = w
			continue
		}
		line += " " + w
	}
	lines = append(lines, line)
	for i := range lines {
		lines[i] = indent + lines[i]
	}
	return lines
}
