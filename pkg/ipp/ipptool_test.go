package ipp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseIpptool(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(realCaptures, "canon-mg4120.txt"))
	if err != nil {
		t.Fatal(err)
	}
	op, attrs, err := ParseIpptool(b)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range attrs {
		names = append(names, a.Name)
	}
	// The request's printer-uri, before "[PASS]", is not the printer's.
	if got := strings.Join(names, ","); got != "printer-is-accepting-jobs,printer-state,printer-state-reasons,"+
		"printer-up-time,printer-uri-supported,queued-job-count,uri-authentication-supported,uri-security-supported" {
		t.Errorf("printer attributes %s", got)
	}
	if len(op) != 2 || op[0].Name != "attributes-charset" {
		t.Errorf("operation attributes %v", op)
	}

	_, attrs, err = ParseIpptool([]byte("    printer-info (textWithoutLanguage) = Office\\, 2nd floor,x\n" +
		"    media-col-default (collection) = {media-size={x-dimension=21000}}\n" +
		"    finishings-default (enum) = none\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(attrs) != 1 || len(attrs[0].Values) != 2 || attrs[0].Values[0].V.String() != "Office, 2nd floor" {
		t.Errorf("escaped comma: %v", attrs)
	}

	for _, tt := range []struct{ text, want string }{
		{"# only a comment\n", "no printer attribute"},
		{"a\n    marker-levels (1setOf integer) = 90,lots\n", "line 2: marker-levels: \"lots\" is not an integer"},
		{"    printer-is-accepting-jobs (boolean) = maybe\n", "not a boolean"},
		{strings.Repeat("x", maxIpptoolText+1), "too long"},
	} {
		if _, _, err := ParseIpptool([]byte(tt.text)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseIpptool(%.40q) error %v, want %q", tt.text, err, tt.want)
		}
	}
}

func TestCaptureResponseKeepsRawIPP(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(realCaptures, "epson-xp-6000.ipp"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := CaptureResponse(b)
	if err != nil || &got[0] != &b[0] {
		t.Fatalf("CaptureResponse changed a raw IPP capture: %v", err)
	}
	if _, err := CaptureResponse([]byte("\x02\x00garbage")); err == nil {
		t.Error("no error for a capture that is neither IPP nor ipptool output")
	}
}

func FuzzCaptureResponse(f *testing.F) {
	texts, _ := filepath.Glob(filepath.Join(realCaptures, "*.txt"))
	for _, name := range texts {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("x (integer) = 1,\\"))
	f.Fuzz(func(t *testing.T, b []byte) {
		body, err := CaptureResponse(b)
		if err != nil {
			return
		}
		_, err = DecodeResponse(body)
		if rebuilt := len(body) != len(b) || string(body) != string(b); rebuilt && err != nil {
			t.Fatalf("the response rebuilt from ipptool output does not decode: %v", err)
		}
	})
}
