package monitor

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/discovery"
	"github.com/arsctl/arsctl/pkg/ipp"
	"github.com/arsctl/arsctl/pkg/printer"
)

// recordingAPI is the server side of the agent, recording reports.
type recordingAPI struct {
	mu          sync.Mutex
	enrollments []arsapi.Enrollment
	reports     map[string][]arsapi.LevelReport
}

func (r *recordingAPI) FindEnrollments(ctx context.Context, opts arsapi.ListOptions) ([]arsapi.Enrollment, error) {
	return r.enrollments, nil
}

func (r *recordingAPI) ReportLevels(ctx context.Context, id string, rep arsapi.LevelReport) (arsapi.LevelReportResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reports == nil {
		r.reports = map[string][]arsapi.LevelReport{}
	}
	r.reports[id] = append(r.reports[id], rep)
	return arsapi.LevelReportResult{}, nil
}

func (r *recordingAPI) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reports[id])
}

func startSim(t *testing.T, serial string, addr string) *printersim.Printer {
	t.Helper()
	p := printersim.New(printersim.Config{Serial: serial})
	if err := p.Start(context.Background(), addr); err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func newAgent(api API, hosts []string, state string, now func() time.Time) *Agent {
	opts := discovery.Options{Timeout: 2 * time.Second, IPPTimeout: time.Second, IPP: &ipp.Client{},
		SNMP: nil}
	return &Agent{
		API: api, Hosts: hosts, StatePath: state, Interval: 15 * time.Minute, MinBackoff: 30 * time.Second, Now: now,
		Probe: func(ctx context.Context, hostport string) (printer.Printer, error) {
			return discovery.ProbeHost(ctx, hostport, opts)
		},
	}
}

func TestAgentReportsLevelsAndRemembersAddress(t *testing.T) {
	sim := startSim(t, "KNMA00001", "127.0.0.1:0")
	api := &recordingAPI{enrollments: []arsapi.Enrollment{
		{ID: "e1", State: arsapi.StateActive, Printer: arsapi.Printer{Model: "TS8320", Serial: "KNMA00001"}},
		{ID: "gone", State: arsapi.StateCancelled, Printer: arsapi.Printer{Model: "TS8320", Serial: "KNMA00001"}},
	}}
	state := filepath.Join(t.TempDir(), "monitor.json")
	a := newAgent(api, []string{sim.Addr()}, state, nil)
	res, err := a.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Status != StatusReported {
		t.Fatalf("results = %+v, want one reported (cancelled enrollments skipped)", res)
	}
	if res[0].Address != sim.Addr() {
		t.Errorf("address = %q, want %q", res[0].Address, sim.Addr())
	}
	got := api.reports["e1"][0].Supplies
	if len(got) != 6 {
		t.Fatalf("reported %d supplies, want 6: %+v", len(got), got)
	}
	levels := map[string]int{}
	for _, s := range got {
		levels[s.Name] = s.Level
	}
	if levels["C"] != 60 || levels["PGBK"] != 80 {
		t.Errorf("levels = %v", levels)
	}

	// A new agent (a new process) starts from the state file: the known
	// address is tried directly, with no candidate list at all.
	if err := sim.SetLevel("C", 5); err != nil {
		t.Fatal(err)
	}
	b := newAgent(api, nil, state, nil)
	res, err = b.Pass(context.Background())
	if err != nil || res[0].Status != StatusReported {
		t.Fatalf("second run: %+v, %v", res, err)
	}
	for _, s := range api.reports["e1"][1].Supplies {
		if s.Name == "C" && s.Level != 5 {
			t.Errorf("C = %d after change, want 5", s.Level)
		}
	}
}

func TestAgentUnreachableKeepsLastLevelsAndBacksOff(t *testing.T) {
	sim := startSim(t, "KNMA00002", "127.0.0.1:0")
	api := &recordingAPI{enrollments: []arsapi.Enrollment{
		{ID: "e2", State: arsapi.StateActive, Printer: arsapi.Printer{Model: "TS8320", Serial: "KNMA00002"}},
	}}
	clock := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	a := newAgent(api, []string{sim.Addr()}, "", now)
	if res, err := a.Pass(context.Background()); err != nil || res[0].Status != StatusReported {
		t.Fatalf("first pass: %+v %v", res, err)
	}
	firstRead := api.reports["e2"][0].ReadAt.Format(time.RFC3339)

	sim.SetMode(printersim.ModeClose) // unplugged / asleep
	clock = clock.Add(time.Minute)
	res, err := a.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.Status != StatusUnreachable {
		t.Fatalf("status = %s, want unreachable", r.Status)
	}
	if len(r.Supplies) != 6 || r.LevelsReadAt == nil || r.LevelsReadAt.Format(time.RFC3339) != firstRead {
		t.Errorf("unreachable result lost the last known levels: %+v", r)
	}
	if r.NextAttempt == nil || r.NextAttempt.Sub(clock) != 30*time.Second {
		t.Errorf("next attempt = %v, want 30s after now", r.NextAttempt)
	}
	if r.Error == "" {
		t.Error("unreachable result says nothing about why")
	}

	// Within the backoff window the printer is not tried again.
	clock = clock.Add(10 * time.Second)
	res, _ = a.Pass(context.Background())
	if res[0].Status != StatusWaiting {
		t.Errorf("status during backoff = %s, want waiting", res[0].Status)
	}
	// The next failure doubles the backoff.
	clock = clock.Add(30 * time.Second)
	res, _ = a.Pass(context.Background())
	if res[0].Status != StatusUnreachable || res[0].NextAttempt.Sub(clock) != time.Minute {
		t.Errorf("second failure: %+v, want backoff 1m", res[0])
	}
	// It wakes up: reported again, failures reset.
	sim.SetMode(printersim.ModeNormal)
	clock = clock.Add(2 * time.Minute)
	res, _ = a.Pass(context.Background())
	if res[0].Status != StatusReported {
		t.Errorf("after wake-up: %+v", res[0])
	}
	if n := api.count("e2"); n != 2 {
		t.Errorf("%d reports, want 2 (unreachable passes report nothing)", n)
	}
}

// TestAgentAsleepReportsNothing: a printer asleep answers with every
// level unknown (-2) and its true levels once it wakes (Home Assistant's
// IPP integration saw "-2%" for all five cartridges of a sleeping
// printer, home-assistant/core#33892). Such an answer is not reported,
// and the last known levels stay.
func TestAgentAsleepReportsNothing(t *testing.T) {
	sim := startSim(t, "KNMA00004", "127.0.0.1:0")
	api := &recordingAPI{enrollments: []arsapi.Enrollment{
		{ID: "e4", State: arsapi.StateActive, Printer: arsapi.Printer{Model: "TS8320", Serial: "KNMA00004"}},
	}}
	clock := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	a := newAgent(api, []string{sim.Addr()}, "", func() time.Time { return clock })
	if res, err := a.Pass(context.Background()); err != nil || res[0].Status != StatusReported {
		t.Fatalf("first pass: %+v %v", res, err)
	}
	for name := range sim.Levels() {
		if err := sim.SetLevel(name, printer.LevelUnknown); err != nil {
			t.Fatal(err)
		}
	}
	clock = clock.Add(time.Hour)
	res, err := a.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; r.Status != StatusUnreachable || len(r.Supplies) != 6 || r.Supplies[0].Level != 80 ||
		!strings.Contains(r.Error, "every supply level unknown") {
		t.Errorf("asleep: %+v", r)
	}
	if n := api.count("e4"); n != 1 {
		t.Errorf("%d reports, want 1 (the asleep answer is not reported)", n)
	}
	// Some remaining (-3) is a level: a tri-colour cartridge may say no more.
	if err := sim.SetLevel("PGBK", printer.LevelSomeRemaining); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Hour)
	if res, _ := a.Pass(context.Background()); res[0].Status != StatusReported {
		t.Errorf("with one level 'some remaining': %+v", res[0])
	}
}

func TestAgentFindsPrinterThatMoved(t *testing.T) {
	old := startSim(t, "KNMA00003", "127.0.0.1:0")
	api := &recordingAPI{enrollments: []arsapi.Enrollment{
		{ID: "e3", State: arsapi.StateActive, Printer: arsapi.Printer{Model: "TS8320", Serial: "KNMA00003"}},
	}}
	state := filepath.Join(t.TempDir(), "monitor.json")
	if res, err := newAgent(api, []string{old.Addr()}, state, nil).Pass(context.Background()); err != nil || res[0].Status != StatusReported {
		t.Fatalf("first pass: %+v %v", res, err)
	}
	old.Close()
	// The printer comes back on another address (DHCP gave it a new one),
	// and another printer now answers nowhere near it.
	other := startSim(t, "KNMA09999", "127.0.0.1:0")
	moved := startSim(t, "KNMA00003", "127.0.0.1:0")
	res, err := newAgent(api, []string{other.Addr(), moved.Addr()}, state, nil).Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != StatusReported || res[0].Address != moved.Addr() || !res[0].Moved {
		t.Fatalf("result = %+v, want reported from %s and marked moved", res[0], moved.Addr())
	}
}

// TestForecastReasonCountsUnchangedReadings: the state keeps only changes
// of level, so a colour cartridge read at 60 % and a minute later at 9 %,
// then at 9 % for three days, looked like readings a minute apart and its
// forecast said "readings span less than a day". The last reading counts.
func TestForecastReasonCountsUnchangedReadings(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	ps := &PrinterState{}
	ps.recordHistory([]printer.Supply{{Name: "Black", Level: 80}, {Name: "Color", Level: 60}}, t0)
	sup := []printer.Supply{{Name: "Black", Level: 80}, {Name: "Color", Level: 9}}
	ps.recordHistory(sup, t0.Add(time.Minute))
	for d := 1; d <= 3; d++ {
		at := t0.Add(time.Duration(d) * 24 * time.Hour)
		ps.recordHistory(sup, at)
		ps.Supplies, ps.LevelsReadAt = sup, &at
	}
	fs := ps.forecasts(t0.Add(72 * time.Hour))
	for name, want := range map[string]string{
		"Black": "no rate yet: the level has not moved in 3.0 days of readings",
		"Color": "no rate yet: the level moved only within its first day of readings, not in the 3.0 days since",
	} {
		if got := fs[name].Text(); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if n := len(ps.History["Color"]); n != 2 {
		t.Errorf("history kept %d readings of Color, want its 2 changes", n)
	}
}
