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
		{"192.0.2.7:5555", "198.51.100.1, 10.0.0.1", true, "198.51.100.1"},
		{"192.0.2.7:5555", " 2001:db8::1 ,10.0.0.1", true, "2001:db8::1"},
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
