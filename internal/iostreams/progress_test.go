package iostreams

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestProgressBar(t *testing.T) {
	for _, tc := range []struct {
		done, total, width int
		want               string
	}{
		{0, 254, 10, "[░░░░░░░░░░] 0/254"},
		{127, 254, 10, "[█████░░░░░] 127/254"},
		{254, 254, 10, "[██████████] 254/254"},
		{300, 254, 4, "[████] 254/254"},
		{1, 0, 10, ""},
	} {
		if got := ProgressBar(tc.done, tc.total, tc.width); got != tc.want {
			t.Errorf("ProgressBar(%d, %d, %d) = %q, want %q", tc.done, tc.total, tc.width, got, tc.want)
		}
	}
}

// TestUpdateProgress: the spinner shows the latest label.
func TestUpdateProgress(t *testing.T) {
	ios, _, _, _ := Test()
	errOut := &syncBuffer{}
	ios.ErrOut = errOut
	ios.stderrTTY = true
	ios.StartProgress("first")
	ios.UpdateProgress("second [█░] 1/2")
	for range 1500 { // the spinner redraws every 100ms
		if contains(errOut.String(), "second") {
			break
		}
		sleep()
	}
	ios.StopProgress()
	if !contains(errOut.String(), "second [█░] 1/2") {
		t.Fatalf("stderr %q", errOut.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the spinner's goroutine and the
// test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func sleep() { time.Sleep(20 * time.Millisecond) }

func TestWrap(t *testing.T) {
	got := Wrap("turn SNMP on in the printer's settings with community \"public\", and allow UDP 161", 30)
	want := []string{"turn SNMP on in the printer's", "settings with community", "\"public\", and allow UDP 161"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Wrap = %q, want %q", got, want)
	}
	if got := Wrap("a b", 0); len(got) != 1 || got[0] != "a b" {
		t.Errorf("no width: %q", got)
	}
	// Text that fits keeps its spaces; indented text keeps its indent.
	if got := Wrap("  5353/udp  mDNS", 40); len(got) != 1 || got[0] != "  5353/udp  mDNS" {
		t.Errorf("fits: %q", got)
	}
	if got := Wrap("    one two three four five six seven", 24); strings.Join(got, "|") != "    one two three four|    five six seven" {
		t.Errorf("indented: %q", got)
	}
	if got := Wrap("ipp://[fe80::1234:5678:9abc:def0%eth0]:631/ipp/print is long", 20); got[0] != "ipp://[fe80::1234:5678:9abc:def0%eth0]:631/ipp/print" {
		t.Errorf("a long word: %q", got)
	}
}
