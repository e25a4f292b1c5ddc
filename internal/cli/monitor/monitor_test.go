package monitor

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	agent "github.com/arsctl/arsctl/internal/monitor"
	"github.com/arsctl/arsctl/internal/testport"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/discovery"
	"github.com/arsctl/arsctl/pkg/printer"
)

func TestNewCmdMonitorFlags(t *testing.T) {
	for _, tt := range []struct {
		args    string
		wantErr string
		check   func(*Options) bool
	}{
		{args: "", check: func(o *Options) bool {
			return o.Interval == 15*time.Minute && !o.Once && o.Timeout == 5*time.Second &&
				o.StatePath == filepath.Join("/state", "monitor.json")
		}},
		{args: "--once --host 10.0.0.7 --host 10.0.0.8:8631 --no-mdns --state /tmp/m.json --interval 5m", check: func(o *Options) bool {
			return o.Once && o.NoMDNS && slices.Equal(o.Hosts, []string{"10.0.0.7", "10.0.0.8:8631"}) &&
				o.StatePath == "/tmp/m.json" && o.Interval == 5*time.Minute
		}},
		{args: "--subnet 10.20.30.0/24", check: func(o *Options) bool { return o.Search.Any() }},
		{args: "--metrics-listen 127.0.0.1:9101", check: func(o *Options) bool {
			return o.MetricsListen == "127.0.0.1:9101" && o.MetricsMaxSeries == agent.DefaultMaxSeries
		}},
		{args: "--interval 10ms", wantErr: "--interval must be at least 1s"},
		{args: "--once --metrics-listen 127.0.0.1:9101", wantErr: "drop --once"},
		{args: "--metrics-listen 127.0.0.1:9101 --metrics-max-series 0", wantErr: "at least 1"},
		{args: "--subnet 10.20.30.0/33", wantErr: "10.20.30.0/33"},
		{args: "extra", wantErr: "unknown command"},
	} {
		t.Run(tt.args, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{},
				Getenv: func(k string) string { return map[string]string{"ARS_STATE_DIR": "/state"}[k] }}
			var got *Options
			cmd := NewCmdMonitor(f, func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.args))
			cmd.SetOut(&strings.Builder{})
			cmd.SetErr(&strings.Builder{})
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(got) {
				t.Errorf("options %+v", got)
			}
		})
	}
}

// fakeAPI is the server: one enrollment per serial, recording reports.
type fakeAPI struct {
	mu          sync.Mutex
	enrollments []arsapi.Enrollment
	reports     map[string]arsapi.LevelReport
}

func (a *fakeAPI) FindEnrollments(context.Context, arsapi.ListOptions) ([]arsapi.Enrollment, error) {
	return a.enrollments, nil
}

func (a *fakeAPI) ReportLevels(_ context.Context, id string, r arsapi.LevelReport) (arsapi.LevelReportResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.reports == nil {
		a.reports = map[string]arsapi.LevelReport{}
	}
	a.reports[id] = r
	return arsapi.LevelReportResult{}, nil
}

func runOnce(t *testing.T, api *fakeAPI, json bool, probe func(context.Context, string, discovery.Options) (printer.Printer, error)) (string, error) {
	t.Helper()
	ios, _, out, _ := iostreams.Test()
	opts := &Options{
		IO: ios, Output: &cmdutil.OutputOptions{JSON: json},
		Client:           func(context.Context) (agent.API, error) { return api, nil },
		DiscoveryOptions: func() (discovery.Options, error) { return discovery.Options{}, nil },
		Probe:            probe,
		Browse: func(context.Context, discovery.Options, func(discovery.Event)) ([]printer.Printer, error) {
			t.Error("--no-mdns browsed")
			return nil, nil
		},
		Once: true, NoMDNS: true, Hosts: []string{"10.0.0.7"}, Interval: time.Minute, Timeout: time.Second, MinBackoff: time.Second,
		StatePath: filepath.Join(t.TempDir(), "monitor.json"),
		Search:    &cmdutil.SearchFlags{},
	}
	err := monitorRun(context.Background(), opts)
	return out.String(), err
}

// TestMonitorOnceReports: one pass reads the printer at --host, reports
// its levels for its enrollment, and prints the serial masked.
func TestMonitorOnceReports(t *testing.T) {
	api := &fakeAPI{enrollments: []arsapi.Enrollment{{ID: "e1", State: arsapi.StateActive,
		Printer: arsapi.Printer{Model: "TS8320", Serial: "KNMA55551234"}}}}
	probe := func(_ context.Context, host string, o discovery.Options) (printer.Printer, error) {
		if host != "10.0.0.7" || !o.Enrich || !o.NoMDNS {
			t.Errorf("probe %s with %+v", host, o)
		}
		return printer.Printer{Model: "TS8320 series", Serial: "KNMA55551234", Addrs: []string{"10.0.0.7"},
			Supplies: []printer.Supply{{Name: "BK", ColorName: "black", Level: 40}}}, nil
	}
	out, err := runOnce(t, api, false, probe)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := api.reports["e1"]; !ok || len(r.Supplies) != 1 || r.Supplies[0].Level != 40 {
		t.Errorf("reports %+v", api.reports)
	}
	if !strings.HasPrefix(out, "reported\t") || !strings.Contains(out, "****1234") || strings.Contains(out, "KNMA5555") {
		t.Errorf("output %q", out)
	}
}

// TestMonitorOnceUnreachable: a printer that does not answer makes --once
// exit 1, and --json says why.
func TestMonitorOnceUnreachable(t *testing.T) {
	api := &fakeAPI{enrollments: []arsapi.Enrollment{{ID: "e1", State: arsapi.StateActive,
		Printer: arsapi.Printer{Model: "TS8320", Serial: "KNMA55551234"}}}}
	probe := func(context.Context, string, discovery.Options) (printer.Printer, error) {
		return printer.Printer{}, errors.New("no answer from 10.0.0.7:631")
	}
	out, err := runOnce(t, api, true, probe)
	if cmdutil.ExitCode(err) != cmdutil.ExitFailure {
		t.Errorf("err = %v (exit %d), want exit 1", err, cmdutil.ExitCode(err))
	}
	if len(api.reports) != 0 || !strings.Contains(out, `"status":"unreachable"`) {
		t.Errorf("reports %v, output %q", api.reports, out)
	}
}

// TestMonitorServesMetrics: with --metrics-listen the running monitor
// serves the pass's levels at /metrics on the address given.
func TestMonitorServesMetrics(t *testing.T) {
	port, err := testport.Free()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	api := &fakeAPI{enrollments: []arsapi.Enrollment{{ID: "e1", State: arsapi.StateActive,
		Printer: arsapi.Printer{Model: "TS8320", Serial: "KNMA55551234"}}}}
	ios, _, _, _ := iostreams.Test()
	opts := &Options{
		IO: ios, Output: &cmdutil.OutputOptions{JSON: true},
		Client:           func(context.Context) (agent.API, error) { return api, nil },
		DiscoveryOptions: func() (discovery.Options, error) { return discovery.Options{}, nil },
		Probe: func(context.Context, string, discovery.Options) (printer.Printer, error) {
			return printer.Printer{Model: "TS8320 series", Serial: "KNMA55551234",
				Supplies: []printer.Supply{{Name: "BK", ColorName: "black", Type: "inkCartridge", Level: 40}}}, nil
		},
		NoMDNS: true, Hosts: []string{"127.0.0.1:1"}, Interval: time.Hour, Timeout: time.Second, MinBackoff: time.Second,
		StatePath: filepath.Join(t.TempDir(), "monitor.json"), Search: &cmdutil.SearchFlags{},
		MetricsListen: addr, MetricsMaxSeries: 100,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- monitorRun(ctx, opts) }()
	var body string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if body = string(b); strings.Contains(body, "arsctl_supply_level_percent{") {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("monitor: %v", err)
	}
	if !strings.Contains(body, `arsctl_supply_level_percent{enrollment="e1",supply="BK",color="black",kind="ink"} 40`) {
		t.Errorf("metrics:\n%s", body)
	}
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("the metrics endpoint outlived the monitor")
	}
}
