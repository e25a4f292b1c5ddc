package discovery

import (
	"testing"
	"unicode/utf8"
)

func TestUnescapeInstance(t *testing.T) {
	tests := []struct{ in, want string }{
		{`Canon\ TS8320\ series`, "Canon TS8320 series"},
		{`Canon\032TS8320\032series`, "Canon TS8320 series"},
		{`HP\ LaserJet\ \(A1B2C3\)`, "HP LaserJet (A1B2C3)"},
		{`a\.b`, "a.b"},
		{`back\\slash`, `back\slash`},
		{`caf\195\169`, "café"},
		{`trailing\`, `trailing\`},
		{`bad\999x`, "bad999x"},
		{`ctl\007bell`, "ctlbell"},
		{`\255\254`, ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := UnescapeInstance(tt.in); got != tt.want {
			t.Errorf("UnescapeInstance(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitInstance(t *testing.T) {
	tests := []struct {
		in, label, service string
		ok                 bool
	}{
		{`Canon\ TS8320\ series._ipp._tcp.local.`, `Canon\ TS8320\ series`, "_ipp._tcp.local.", true},
		{`a\.b._ipps._tcp.local.`, `a\.b`, "_ipps._tcp.local.", true},
		{`x\046y._ipp._tcp.local.`, `x\046y`, "_ipp._tcp.local.", true},
		{`nodot`, "", "", false},
		{`end\`, "", "", false},
	}
	for _, tt := range tests {
		l, s, ok := splitInstance(tt.in)
		if l != tt.label || s != tt.service || ok != tt.ok {
			t.Errorf("splitInstance(%q) = %q, %q, %v; want %q, %q, %v", tt.in, l, s, ok, tt.label, tt.service, tt.ok)
		}
	}
}

func FuzzUnescapeInstance(f *testing.F) {
	for _, s := range []string{`Canon\ TS8320\ series`, `Canon\032TS8320\032series`, `\`, `\1`, `\12`, `\999`, "\xff\xfe", `a\.b._ipp._tcp.local.`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := UnescapeInstance(s)
		if !utf8.ValidString(got) {
			t.Fatalf("UnescapeInstance(%q) = %q: invalid UTF-8", s, got)
		}
		if len(got) > len(s) {
			t.Fatalf("UnescapeInstance(%q) grew to %q", s, got)
		}
		if l, svc, ok := splitInstance(s); ok && len(l)+len(svc)+1 != len(s) {
			t.Fatalf("splitInstance(%q) = %q, %q", s, l, svc)
		}
	})
}
