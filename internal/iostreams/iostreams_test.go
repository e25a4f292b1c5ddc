package iostreams

import "testing"

// TestInfo: register's "Terms: … agreed with --agree-terms" ran past an
// 80-column terminal, which broke it mid-word ("agreed w" / "ith").
func TestInfo(t *testing.T) {
	const format = "Terms: %s (version %s), agreed with --agree-terms\nAbout this service: %s"
	args := []any{"Auto Replenishment Service: terms of the plan", "2026-01", "http://127.0.0.1:8787/about"}
	msg := "Terms: Auto Replenishment Service: terms of the plan (version 2026-01), agreed with --agree-terms\nAbout this service: http://127.0.0.1:8787/about"
	ios, _, _, errOut := Test()
	ios.SetTTY(true)
	ios.SetTerminalWidth(80)
	ios.Info(format, args...)
	want := "Terms: Auto Replenishment Service: terms of the plan (version 2026-01), agreed\n  with --agree-terms\nAbout this service: http://127.0.0.1:8787/about\n"
	if got := errOut.String(); got != want {
		t.Errorf("on a terminal:\n%s\nwant:\n%s", got, want)
	}
	ios, _, _, errOut = Test()
	ios.Info(format, args...)
	if got := errOut.String(); got != msg+"\n" {
		t.Errorf("piped: %q", got)
	}
}
