package authn

import (
	"net/http/httptest"
	"testing"
)

func TestClientAddr(t *testing.T) {
	tests := []struct {
		remote, xff string
		trust       bool
		want        string
	}{
		{"192.0.2.7:5555", "", false, "192.0.2.7"},
		{"192.0.2.7:5555", "198.51.100.1", false, "192.0.2.7"},
		{"192.0.2.7:5555", "198.51.100.1", true, "198.51.100.1"},
		// Entries before the last were written by the client: a forged
		// first entry must not choose the address limits key on.
		{"192.0.2.7:5555", "198.51.100.1, 10.0.0.1", true, "10.0.0.1"},
		{"192.0.2.7:5555", "10.0.0.1 , 2001:db8::1 ", true, "2001:db8::1"},
		{"192.0.2.7:5555", "10.0.0.1, forged", true, "192.0.2.7"},
		{"192.0.2.7:5555", "not an address", true, "192.0.2.7"},
		{"[2001:db8::2]:443", "", true, "2001:db8::2"},
		{"no-port", "", false, "no-port"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := ClientAddr(r, tt.trust); got != tt.want {
			t.Errorf("ClientAddr(%q, X-Forwarded-For %q, trust %v) = %q, want %q", tt.remote, tt.xff, tt.trust, got, tt.want)
		}
	}
}

// A client may send its own X-Forwarded-For line; the proxy appends its
// line after it, and that last line's last entry is the one to use.
func TestClientAddrRepeatedHeader(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.7:5555"
	r.Header.Add("X-Forwarded-For", "203.0.113.99")
	r.Header.Add("X-Forwarded-For", "198.51.100.4")
	if got := ClientAddr(r, true); got != "198.51.100.4" {
		t.Errorf("ClientAddr with two X-Forwarded-For lines = %q, want 198.51.100.4", got)
	}
}
