package register

import (
	"bytes"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/tableprinter"
)

// TestFleetLines: on a terminal a fleet's results are aligned columns
// under a header, no wider than the terminal; piped they are whole
// tab-separated values.
func TestFleetLines(t *testing.T) {
	results := []FleetResult{
		{Status: "enrolled", Host: "10.20.30.41", Model: "TS8320", Provider: "canon", EnrollmentID: "01a242e7-85e9-7982-a31f-d7e8cea94beb"},
		{Status: "failed", Host: "printer-2nd-floor.corp.example.com:631", Provider: "canon",
			Error: "no printer answered at printer-2nd-floor.corp.example.com:631: IPP: connection refused"},
	}
	var b bytes.Buffer
	s := tableprinter.NewStreamWriter(&b, true, 80, fleetColumns...)
	for _, r := range results {
		if err := printFleetLine(s, r); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "RESULT") || !strings.HasPrefix(lines[1], "enrolled  ") {
		t.Fatalf("terminal:\n%s", b.String())
	}
	for _, l := range lines {
		if tableprinter.Width(l) > 80 {
			t.Errorf("a line of %d cells: %q", tableprinter.Width(l), l)
		}
	}
	b.Reset()
	s = tableprinter.NewStreamWriter(&b, false, 80, fleetColumns...)
	_ = printFleetLine(s, results[1])
	if want := "failed\tprinter-2nd-floor.corp.example.com:631\t-\tcanon\t" + results[1].Error + "\n"; b.String() != want {
		t.Errorf("piped: %q, want %q", b.String(), want)
	}
}
