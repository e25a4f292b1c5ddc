package monitor

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// parseExposition parses body as Prometheus does and fails on a series
// exposed twice.
func parseExposition(t testing.TB, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, body)
	}
	for name, f := range fams {
		seen := map[string]bool{}
		for _, s := range f.Metric {
			k := labelKey(s)
			if seen[k] {
				t.Errorf("%s{%s} exposed twice", name, k)
			}
			seen[k] = true
		}
	}
	return fams
}

// scrape fetches m over HTTP and parses it as Prometheus does, failing on
// a malformed exposition or a series exposed twice.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return parseExposition(t, string(body))
}

func labelKey(s *dto.Metric) string {
	var kv []string
	for _, l := range s.Label {
		kv = append(kv, l.GetName()+"="+l.GetValue())
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// value is the value of the series of f whose labels include want, and
// whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, s := range f.Metric {
		labels := map[string]string{}
		for _, l := range s.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				continue next
			}
		}
		return s.GetGauge().GetValue(), true
	}
	return 0, false
}

// TestMetricsFollowThePrinter: a printer on a loopback simulator is read
// once a day for a week while its cyan falls 4 points a day; the metrics
// give its levels, when they were read, that it answers, and a forecast of
// about 10 days to empty for cyan (40 % left), none for supplies that did
// not move. Unplugged, it shows as unreachable with its last levels.
func TestMetricsFollowThePrinter(t *testing.T) {
	sim := startSim(t, "KNMA00042", "127.0.0.1:0")
	api := &recordingAPI{enrollments: []arsapi.Enrollment{
		{ID: "e42", State: arsapi.StateActive, Printer: arsapi.Printer{Model: "TS8320", Serial: "KNMA00042"}},
	}}
	clock := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	a := newAgent(api, []string{sim.Addr()}, "", func() time.Time { return clock })
	// The probe stamps levels with the real time; the week passes on the
	// test's clock.
	probe := a.Probe
	a.Probe = func(ctx context.Context, hostport string) (printer.Printer, error) {
		p, err := probe(ctx, hostport)
		p.LevelsReadAt = &clock
		return p, err
	}
	m := &Metrics{}
	var res []Result
	for day := range 6 {
		if err := sim.SetLevel("C", 60-4*day); err != nil {
			t.Fatal(err)
		}
		var err error
		if res, err = a.Pass(context.Background()); err != nil || res[0].Status != StatusReported {
			t.Fatalf("day %d: %+v %v", day, res, err)
		}
		clock = clock.Add(24 * time.Hour)
	}
	clock = clock.Add(-24 * time.Hour)
	m.Update(res, clock)
	fams := scrape(t, m)

	if v, ok := value(fams, "arsctl_supply_level_percent", "enrollment", "e42", "supply", "C", "color", "cyan", "kind", "ink"); !ok || v != 40 {
		t.Errorf("cyan level = %v (%v), want 40", v, ok)
	}
	if v, ok := value(fams, "arsctl_printer_reachable", "enrollment", "e42"); !ok || v != 1 {
		t.Errorf("reachable = %v (%v)", v, ok)
	}
	if v, ok := value(fams, "arsctl_printer_info", "enrollment", "e42", "model", "TS8320", "serial", "****0042"); !ok || v != 1 {
		t.Errorf("info = %v (%v)", v, ok)
	}
	if v, _ := value(fams, "arsctl_printer_levels_read_timestamp_seconds", "enrollment", "e42"); v < float64(clock.Add(-time.Hour).Unix()) {
		t.Errorf("levels read at %v, want about %v", v, clock.Unix())
	}
	days, ok := value(fams, "arsctl_supply_days_to_empty", "enrollment", "e42", "supply", "C")
	if !ok || days < 8 || days > 12 {
		t.Errorf("cyan days to empty = %v (%v), want about 10", days, ok)
	}
	if soonest, ok := value(fams, "arsctl_supply_days_to_empty_soonest", "enrollment", "e42", "supply", "C"); !ok || soonest > days {
		t.Errorf("cyan soonest = %v (%v), days %v", soonest, ok, days)
	}
	if _, ok := value(fams, "arsctl_supply_days_to_empty", "enrollment", "e42", "supply", "M"); ok {
		t.Error("magenta, which never moved, has a days-to-empty")
	}
	if v, _ := value(fams, "arsctl_monitor_printers", "status", "reported"); v != 1 {
		t.Errorf("printers reported = %v", v)
	}
	if strings.Contains(string(m.body), "KNMA00042") {
		t.Error("the whole serial is in the metrics")
	}

	sim.SetMode(printersim.ModeClose)
	clock = clock.Add(time.Hour)
	res, err := a.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m.Update(res, clock)
	fams = scrape(t, m)
	if v, ok := value(fams, "arsctl_printer_reachable", "enrollment", "e42"); !ok || v != 0 {
		t.Errorf("reachable after unplugging = %v (%v), want 0", v, ok)
	}
	if v, ok := value(fams, "arsctl_supply_level_percent", "enrollment", "e42", "supply", "C"); !ok || v != 40 {
		t.Errorf("last cyan level = %v (%v), want 40 kept", v, ok)
	}
	if _, ok := value(fams, "arsctl_supply_days_to_empty", "enrollment", "e42", "supply", "C"); !ok {
		t.Error("the forecast went with the printer's answer")
	}
	if v, _ := value(fams, "arsctl_monitor_printers", "status", "unreachable"); v != 1 {
		t.Errorf("printers unreachable = %v", v)
	}
}

// TestMetricsBoundedLabels: what printers call themselves and their
// supplies cannot break the exposition or grow a label without bound, and
// a fleet larger than the cap is cut at whole printers, counted.
func TestMetricsBoundedLabels(t *testing.T) {
	read := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	hostile := "TS8320\n# TYPE evil counter\nevil 1 \"quoted\" \\ \x1b[31m\u202e\xff" + strings.Repeat("x", 500)
	var results []Result
	for i := range 100 {
		results = append(results, Result{
			EnrollmentID: "e" + string(rune('a'+i%26)) + strings.Repeat("z", i/26), Model: hostile, Serial: "KNMA" + hostile,
			Status: StatusReported, LevelsReadAt: &read,
			Supplies: []printer.Supply{
				{Name: "C", ColorName: "cyan", Type: "inkCartridge", Level: 30, Low: 15},
				{Name: hostile, Level: 50},
				{Name: hostile + "different after 64 characters", Level: 51},
				{Name: "Waste", Class: printer.ClassReceptacle, Level: printer.LevelSomeRemaining},
			},
		})
	}
	m := &Metrics{MaxSeries: 200}
	m.Update(results, read)
	fams := scrape(t, m)
	if fams["evil"] != nil {
		t.Fatal("a model name added a metric")
	}
	series := 0
	for name, f := range fams {
		if strings.HasPrefix(name, "arsctl_monitor_") {
			continue
		}
		series += len(f.Metric)
		for _, s := range f.Metric {
			for _, l := range s.Label {
				v := l.GetValue()
				if len([]rune(v)) > 64 || strings.ContainsAny(v, "\n\x1b\u202e") {
					t.Errorf("%s label %s = %q", name, l.GetName(), v)
				}
			}
		}
	}
	if series > 200 {
		t.Errorf("%d series, cap 200", series)
	}
	omitted, _ := value(fams, "arsctl_monitor_printers_omitted")
	shown := len(fams["arsctl_printer_info"].Metric)
	if omitted == 0 || shown+int(omitted) != 100 {
		t.Errorf("%d printers shown and %v omitted, want 100 in all, some omitted", shown, omitted)
	}
	if _, ok := value(fams, "arsctl_supply_level_percent", "kind", "unknown"); !ok {
		t.Error("a supply of unknown kind has no kind=\"unknown\"")
	}
	if v, ok := value(fams, "arsctl_supply_low_level_percent", "supply", "C"); !ok || v != 15 {
		t.Errorf("low level = %v (%v), want 15", v, ok)
	}
	if n := len(fams["arsctl_supply_level_percent"].Metric); n != 2*shown {
		t.Errorf("%d level series for %d printers: the two long names that clean to one must be one series, the waste tank without a percentage none", n, shown)
	}
	if v, _ := value(fams, "arsctl_monitor_printers", "status", "reported"); v != 100 {
		t.Errorf("printers reported = %v, want 100 (the count covers omitted printers)", v)
	}
}

func TestLabelValue(t *testing.T) {
	for in, want := range map[string]string{
		"TS8320 series":          "TS8320 series",
		"a\nb\tc\x00d":           "a?b?c?d",
		"\u202eevil\u200b":       "?evil?",
		"bad\xffutf8":            "bad?utf8",
		strings.Repeat("é", 100): strings.Repeat("é", 64),
	} {
		if got := LabelValue(in); got != want {
			t.Errorf("LabelValue(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzMetricsLabels: whatever a printer calls itself and its supplies
// (bytes from the network), the exposition parses, exposes no series
// twice, and adds no metric of its own.
func FuzzMetricsLabels(f *testing.F) {
	f.Add("TS8320 series", "KNMA00001", "C", "cyan", "e1")
	f.Add("a\n# TYPE x counter\nx 1", "\"}\\", "C\x00", "\xff\xfe", "e\u202e1")
	f.Add(strings.Repeat("é", 70), "", strings.Repeat("x", 64)+"1", "", "")
	f.Fuzz(func(t *testing.T, model, serial, supply, color, id string) {
		read := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
		m := &Metrics{}
		m.Update([]Result{
			{EnrollmentID: id, Model: model, Serial: serial, Status: StatusReported, LevelsReadAt: &read,
				Supplies: []printer.Supply{
					{Name: supply, ColorName: color, Level: 40, Low: 10},
					{Name: supply + "x", ColorName: color, Level: 30},
					{Name: supply, Level: 20},
				}},
			{EnrollmentID: id + "2", Model: model, Status: StatusUnreachable},
		}, read)
		fams := parseExposition(t, string(m.body))
		for name := range fams {
			if !strings.HasPrefix(name, "arsctl_") {
				t.Errorf("metric %q", name)
			}
		}
	})
}
