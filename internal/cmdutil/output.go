package cmdutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

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
