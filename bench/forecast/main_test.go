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

// TestFleetPriorTimesFirstCartridges: with the fleet's rates (which time
// the first cartridge of a printer reporting only "some remaining",
// ordered at its low mark without them), those printers, and the fleet,
// run dry on fewer days than without them, on the same traces.
func TestFleetPriorTimesFirstCartridges(t *testing.T) {
	cfg := config{printers: 60, days: 120, seed: 3, lead: forecast.DefaultLeadTime}
	with := run(cfg, []string{"forecast"}, true)[0]
	without := run(cfg, []string{"forecast"}, false)[0]
	someRem := func(r result) int { return r.emptyBy[cause{okLow, true}] + r.emptyBy[cause{okLow, false}] }
	t.Logf("\"some remaining\" empty days: %d with the fleet's rates, %d without; all: %d, %d", someRem(with), someRem(without), with.emptyDays, without.emptyDays)
	if someRem(with) >= someRem(without) || with.emptyDays >= without.emptyDays {
		t.Fatalf("with the fleet's rates %d empty days (%d on \"some remaining\" printers), without %d (%d): want fewer",
			with.emptyDays, someRem(with), without.emptyDays, someRem(without))
	}
}

// TestOracleBoundsForecast: the oracle, which knows the true level and the
// expected use ahead, leaves fewer printer-days empty than the forecast
// policy on the same traces, and a larger buffer buys it fewer empty days
// for more ink left on arrival.
func TestOracleBoundsForecast(t *testing.T) {
	cfg := config{printers: 60, days: 200, seed: 5, lead: forecast.DefaultLeadTime, oracle: oracle{buffer: 0.3, extra: 4}}
	rs := run(cfg, []string{"forecast", "oracle"}, true)
	fc, or := rs[0], rs[1]
	cfg.oracle.buffer = 1
	wide := run(cfg, []string{"oracle"}, true)[0]
	t.Logf("forecast %d empty days, %.1f%% left; oracle %d, %.1f%%; oracle with twice the expected use %d, %.1f%%",
		fc.emptyDays, fc.medianLeft(), or.emptyDays, or.medianLeft(), wide.emptyDays, wide.medianLeft())
	if or.placed == 0 || or.emptyDays >= fc.emptyDays {
		t.Fatalf("oracle placed %d orders and has %d empty printer-days, forecast %d: want fewer", or.placed, or.emptyDays, fc.emptyDays)
	}
	if wide.emptyDays > or.emptyDays || wide.medianLeft() <= or.medianLeft() {
		t.Fatalf("a larger buffer gave %d empty days and %.1f%% left, against %d and %.1f%%: want no more empty days and more ink",
			wide.emptyDays, wide.medianLeft(), or.emptyDays, or.medianLeft())
	}
}
