package cmdutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/itchyny/gojq"

	"github.com/arsctl/arsctl/internal/iostreams"
)

// OutputOptions are the global --json and --jq flags.
type OutputOptions struct {
	JSON bool
	JQ   string
}

// Machine reports whether machine-readable output was requested.
func (o *OutputOptions) Machine() bool { return o != nil && (o.JSON || o.JQ != "") }

// Print writes v as JSON (filtered through --jq when given) when machine
// output was requested, else calls human. human writes to stdout.
func (o *OutputOptions) Print(io *iostreams.IOStreams, v any, human func(w io.Writer) error) error {
	if o.Machine() {
		return WriteJSON(io.Out, v, o.JQ)
	}
	return human(io.Out)
}

// Validate checks the --jq expression, so that a typo is a usage error
// (exit 2) before the command does anything.
func (o *OutputOptions) Validate() error {
	if o == nil || o.JQ == "" {
		return nil
	}
	if _, err := gojq.Parse(o.JQ); err != nil {
		return FlagErrorf("--jq: %v", err)
	}
	return nil
}

// PrintLine writes v as one line of compact JSON (a stream of them is
// NDJSON), or the results of --jq applied to it: for commands that print
// records as they come (discover --stream, monitor --json).
func (o *OutputOptions) PrintLine(w io.Writer, v any) error {
	if o != nil && o.JQ != "" {
		return WriteJSON(w, v, o.JQ)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// WriteJSON writes v as indented JSON, or the results of the jq program
// expr applied to it (strings printed raw, like `jq -r`).
func WriteJSON(w io.Writer, v any, expr string) error {
	if expr == "" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	q, err := gojq.Parse(expr)
	if err != nil {
		return FlagErrorf("--jq: %v", err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return FlagErrorf("--jq: %v", err)
	}
	// Round-trip through JSON so gojq sees plain maps and slices.
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var input any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&input); err != nil {
		return err
	}
	input = normalizeNumbers(input)
	iter := code.Run(input)
	for {
		out, ok := iter.Next()
		if !ok {
			return nil
		}
		if err, ok := out.(error); ok {
			return fmt.Errorf("--jq: %w", err)
		}
		if s, ok := out.(string); ok {
			fmt.Fprintln(w, s)
			continue
		}
		b, err := gojq.Marshal(out)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, string(b))
	}
}

func normalizeNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return int(i)
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = normalizeNumbers(e)
		}
	}
	return v
}

// Table prints rows aligned in columns on a terminal, and as
// tab-separated values (no header) when stdout is piped.
type Table struct {
	io     *iostreams.IOStreams
	header []string
	rows   [][]string
}

// NewTable starts a table with the given column headers.
func NewTable(io *iostreams.IOStreams, header ...string) *Table {
	return &Table{io: io, header: header}
}

// AddRow adds one row; it should have as many fields as the header.
func (t *Table) AddRow(fields ...string) { t.rows = append(t.rows, fields) }

// Render writes the table to stdout.
func (t *Table) Render() error {
	// Cells hold text from servers and printers: each goes through
	// iostreams.Safe (tabs and newlines become spaces first).
	safe := func(r []string) string {
		clean := make([]string, len(r))
		for i, f := range r {
			clean[i] = iostreams.Safe(strings.NewReplacer("\t", " ", "\n", " ").Replace(f))
		}
		return strings.Join(clean, "\t")
	}
	if !t.io.IsStdoutTTY() {
		for _, r := range t.rows {
			if _, err := fmt.Fprintln(t.io.Out, safe(r)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(t.io.Out, 0, 4, 2, ' ', 0)
	if len(t.header) > 0 {
		fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	}
	for _, r := range t.rows {
		fmt.Fprintln(tw, safe(r))
	}
	return tw.Flush()
}
