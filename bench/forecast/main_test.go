package main

import (
	"strings"
	"testing"

	"github.com/arsctl/arsctl/pkg/forecast"
)

// TestForecastBeatsThreshold runs a short simulation and checks that the
// forecast policy leaves fewer printer-days empty than the threshold policy
// on the same traces, and that runs are deterministic.
func TestForecastBeatsThreshold(t *testing.T) {
	cfg := config{printers: 40, days: 120, seed: 7, lead: forecast.DefaultLeadTime}
	rs := run(cfg, []string{"forecast", "threshold"}, true)
	fc, th := rs[0], rs[1]
	t.Logf("forecast: %d empty days, %.1f%% never dry, %.1f%% left; threshold: %d empty days, %.1f%% never dry",
		fc.emptyDays, fc.dryFreeShare(), fc.medianLeft(), th.emptyDays, th.dryFreeShare())
	if fc.emptyDays >= th.emptyDays {
		t.Fatalf("forecast policy has %d empty printer-days, threshold %d: want fewer", fc.emptyDays, th.emptyDays)
	}
	if fc.placed == 0 || th.placed == 0 {
		t.Fatalf("no orders placed: forecast %d, threshold %d", fc.placed, th.placed)
	}
	again := run(cfg, []string{"forecast"}, true)[0]
	if again.emptyDays != fc.emptyDays || again.placed != fc.placed {
		t.Fatalf("second run differs: %d/%d empty days, %d/%d orders", again.emptyDays, fc.emptyDays, again.placed, fc.placed)
	}
	var b strings.Builder
	printTable(&b, cfg, 1, [][]result{rs})
	if !strings.Contains(b.String(), "7     threshold") {
		t.Fatalf("table lacks the threshold row:\n%s", b.String())
	}
}
