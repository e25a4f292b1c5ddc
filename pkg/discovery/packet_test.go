package discovery

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// captured returns the real mDNS answers in testdata/mdns: legacy-unicast
// answers of avahi-daemon advertising CUPS ippeveprinter, and of the
// printer simulator's zeroconf responder.
func captured(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/mdns/*.bin")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures in testdata/mdns: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

func TestCapturedPackets(t *testing.T) {
	for name, b := range captured(t) {
		msg, err := parsePacket(b)
		if err != nil || msg == nil {
			t.Fatalf("%s: %v", name, err)
		}
		c := newCache([]string{ServiceIPP, ServiceIPPS}, "local")
		if ch := c.add(msg, "eth0", time.Now()); len(ch) == 0 {
			t.Errorf("%s: no instance", name)
		}
		for _, in := range c.instances {
			if got := UnescapeInstance(in.label); got != "Canon TS5300 series" && got != "Canon TS8320 series 12" {
				t.Errorf("%s: instance %q", name, got)
			}
			if in.srv == nil || in.srv.port != 631 {
				t.Errorf("%s: SRV %+v", name, in.srv)
			}
		}
	}
}

// FuzzPacket feeds arbitrary packets to the parser and the merge logic.
func FuzzPacket(f *testing.F) {
	for _, b := range captured(f) {
		f.Add(b)
	}
	for _, b := range fleetPackets(2, func(int) int { return 631 }) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := parsePacket(b)
		if err != nil || msg == nil {
			return
		}
		c := newCache([]string{ServiceIPP, ServiceIPPS}, "local")
		now := time.Now()
		c.add(msg, "eth0", now)
		c.add(msg, "", now)
		for _, in := range c.instances {
			c.missing(in)
			c.complete(in)
			c.hostAddrs(in)
			UnescapeInstance(in.label)
			unescapeTXT(in.txt)
		}
	})
}
