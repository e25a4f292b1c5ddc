package arsapi

import (
	"strings"
	"testing"
)

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		in        string
		multiline bool
		want      string // part of the error; "" for none
	}{
		{"Office printer", false, ""},
		{"מדפסת המשרד", false, ""},
		{"café ☕", false, ""},
		{"", false, ""},
		{"a\x00b", false, "control character U+0000"},
		{"a\x00b", true, "control character U+0000"},
		{"a\tb", false, "control character U+0009"},
		{"a\tb\nc", true, ""},
		{"a\r\nb", true, "control character U+000D"},
		{"\x1b[2J", true, "control character U+001B"},
		{"a\x7f", false, "control character U+007F"},
		{"a\u0085b", false, "control character U+0085"},
		{"x\u202Etxt.exe", false, "bidirectional formatting character U+202E"},
		{"x\u2067y", true, "bidirectional formatting character U+2067"},
		{"x\u061Cy", false, "bidirectional formatting character U+061C"},
		{"x\u2028y", true, "line or paragraph separator U+2028"},
		{"\xff", false, "not valid UTF-8"},
		{strings.Repeat("a", 11), false, "longer than 10 bytes"},
	} {
		max := 40
		if strings.HasPrefix(tc.want, "longer") {
			max = 10
		}
		err := CheckText(tc.in, max, tc.multiline)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckText(%q, %v) = %v", tc.in, tc.multiline, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("CheckText(%q, %v) = %v, want %q", tc.in, tc.multiline, err, tc.want)
		}
	}
}
