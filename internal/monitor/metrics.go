package monitor

import (
	"bytes"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/arsctl/arsctl/pkg/printer"
)

// DefaultMaxSeries is the default bound on the per-printer series Metrics
// exposes.
const DefaultMaxSeries = 10000

// maxLabelRunes bounds a label value: models and supply names come from
// the printers and must not make a series of any length.
const maxLabelRunes = 64

// Metrics exposes the agent's last pass in the Prometheus text format:
// per printer whether it answered and when its levels were read, per
// supply its level, the printer's low level and, where the forecast knows
// it, the days to empty. Labels are the enrollment ID and what the printer
// says of itself (model, masked serial, supply name, colour and kind),
// cleaned of control characters and cut to 64 characters; the number of
// per-printer series is capped (MaxSeries), and printers past the cap (or
// whose enrollment ID cleans to one already shown) are left out whole and
// counted in arsctl_monitor_printers_omitted.
type Metrics struct {
	// MaxSeries caps the per-printer and per-supply series; 0 means
	// DefaultMaxSeries.
	MaxSeries int

	mu   sync.Mutex
	body []byte
}

// metric is one exposed family; the order of metricFamilies is the order
// of the exposition.
type metric struct{ name, help string }

var (
	mPrinterInfo = metric{"arsctl_printer_info",
		"An enrolled printer the monitor looks after: its model and masked serial (value 1)."}
	mReachable = metric{"arsctl_printer_reachable",
		"1 if the printer answered at the last pass, 0 if it did not (or is waiting for its next retry)."}
	mReported = metric{"arsctl_printer_report_accepted",
		"1 if the service accepted the printer's last level report, 0 otherwise."}
	mReadAt = metric{"arsctl_printer_levels_read_timestamp_seconds",
		"When the printer's levels were last read (Unix time)."}
	mLevel = metric{"arsctl_supply_level_percent",
		"Supply level in percent (how full, for a waste tank); absent when the printer gives no percentage."}
	mLow = metric{"arsctl_supply_low_level_percent",
		"The level at or below which the printer reports the supply as low; absent when the printer does not say."}
	mDays = metric{"arsctl_supply_days_to_empty",
		"Forecast days until the ink or toner supply is empty; absent while the forecast has no rate or the supply is not in use."}
	mDaysSoonest = metric{"arsctl_supply_days_to_empty_soonest",
		"The soonest the supply can be expected to be empty, in days (low end of the forecast's range)."}
	mPrinters = metric{"arsctl_monitor_printers",
		"Printers by the outcome of the last pass: reported, unreachable, waiting, failed."}
	mOmitted = metric{"arsctl_monitor_printers_omitted",
		"Printers left out of these metrics because the series cap was reached."}
	mPassAt = metric{"arsctl_monitor_last_pass_timestamp_seconds",
		"When the last pass ended (Unix time)."}

	metricFamilies = []metric{mPrinterInfo, mReachable, mReported, mReadAt, mLevel, mLow, mDays, mDaysSoonest,
		mPrinters, mOmitted, mPassAt}
)

// Update replaces the exposed metrics with those of a pass that ended at
// passAt.
func (m *Metrics) Update(results []Result, passAt time.Time) {
	limit := m.MaxSeries
	if limit <= 0 {
		limit = DefaultMaxSeries
	}
	rs := slices.Clone(results)
	slices.SortFunc(rs, func(a, b Result) int { return strings.Compare(a.EnrollmentID, b.EnrollmentID) })
	lines := map[string][]string{}
	counts := map[string]int{StatusReported: 0, StatusUnreachable: 0, StatusWaiting: 0, StatusFailed: 0}
	series, omitted := 0, 0
	exposed := map[string]bool{}
	for _, r := range rs {
		counts[r.Status]++
		// Two enrollment IDs the cleaning makes equal (or one listed
		// twice) would expose the same series twice, which fails the
		// whole scrape: the second is left out.
		id := LabelValue(r.EnrollmentID)
		if exposed[id] {
			omitted++
			continue
		}
		exposed[id] = true
		one := printerSeries(r)
		n := 0
		for _, l := range one {
			n += len(l)
		}
		if series+n > limit {
			omitted++
			continue
		}
		series += n
		for name, l := range one {
			lines[name] = append(lines[name], l...)
		}
	}
	for _, st := range []string{StatusReported, StatusUnreachable, StatusWaiting, StatusFailed} {
		lines[mPrinters.name] = append(lines[mPrinters.name], sample(mPrinters.name, []string{"status", st}, float64(counts[st])))
	}
	lines[mOmitted.name] = []string{sample(mOmitted.name, nil, float64(omitted))}
	lines[mPassAt.name] = []string{sample(mPassAt.name, nil, unixSeconds(passAt))}

	var b bytes.Buffer
	for _, f := range metricFamilies {
		b.WriteString("# HELP " + f.name + " " + f.help + "\n")
		b.WriteString("# TYPE " + f.name + " gauge\n")
		for _, l := range lines[f.name] {
			b.WriteString(l)
		}
	}
	m.mu.Lock()
	m.body = b.Bytes()
	m.mu.Unlock()
}

// printerSeries are one printer's samples by metric name.
func printerSeries(r Result) map[string][]string {
	out := map[string][]string{}
	add := func(f metric, labels []string, v float64) {
		out[f.name] = append(out[f.name], sample(f.name, labels, v))
	}
	id := []string{"enrollment", r.EnrollmentID}
	add(mPrinterInfo, append(slices.Clone(id), "model", r.Model, "serial", printer.MaskSerial(r.Serial)), 1)
	add(mReachable, id, boolValue(r.Status == StatusReported || r.Status == StatusFailed))
	add(mReported, id, boolValue(r.Status == StatusReported))
	if r.LevelsReadAt != nil {
		add(mReadAt, id, unixSeconds(*r.LevelsReadAt))
	}
	seen := map[string]bool{}
	for _, s := range r.Supplies {
		// Two names the cleaning makes equal would be one series twice,
		// which fails the whole scrape.
		key := LabelValue(s.Name)
		if seen[key] {
			continue
		}
		seen[key] = true
		kind := string(s.Kind())
		if kind == "" {
			kind = "unknown"
		}
		labels := append(slices.Clone(id), "supply", s.Name, "color", s.ColorKey(), "kind", kind)
		if s.Known() {
			add(mLevel, labels, float64(s.Level))
		}
		if s.Low > 0 {
			add(mLow, labels, float64(s.Low))
		}
		if f, ok := r.Forecasts[s.Name]; ok && f.Known {
			if !math.IsInf(f.DaysToEmpty, 0) && !math.IsNaN(f.DaysToEmpty) {
				add(mDays, labels, f.DaysToEmpty)
			}
			if !math.IsInf(f.DaysLow, 0) && !math.IsNaN(f.DaysLow) {
				add(mDaysSoonest, labels, f.DaysLow)
			}
		}
	}
	return out
}

// ServeHTTP answers with the metrics of the last Update.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	body := m.body
	m.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write(body)
}

// sample is one line of the text format; labels are name, value pairs.
func sample(name string, labels []string, v float64) string {
	var b strings.Builder
	b.WriteString(name)
	if len(labels) > 0 {
		b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(labels[i] + `="` + escapeLabel(LabelValue(labels[i+1])) + `"`)
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	b.WriteByte('\n')
	return b.String()
}

// LabelValue cleans a value from a printer for use as a label: bytes that
// are not UTF-8, control, format and separator characters other than a
// space become "?", and the value is cut to 64 characters.
func LabelValue(s string) string {
	var b strings.Builder
	n := 0
	for len(s) > 0 && n < maxLabelRunes {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		if r == utf8.RuneError || (r != ' ' && (unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Zs))) {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
