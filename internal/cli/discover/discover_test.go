package discover

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/internal/printersim/simtest"
	"github.com/arsctl/arsctl/internal/tableprinter"
	"github.com/arsctl/arsctl/pkg/discovery"
	"github.com/arsctl/arsctl/pkg/printer"
)

func TestNewCmdDiscoverFlags(t *testing.T) {
	tests := []struct {
		args     string
		json     bool
		wantErr  string
		wantHost []string
		wantTO   time.Duration
		stream   bool
		env      string // ARS_ELIGIBILITY_WAIT
		wait     time.Duration
	}{
		{args: "", wantTO: discovery.DefaultTimeout},
		{args: "--host 10.0.0.7:631 --timeout 2s", wantHost: []string{"10.0.0.7:631"}, wantTO: 2 * time.Second},
		{args: "--host 10.0.0.7 --host 10.0.0.8:8631", wantHost: []string{"10.0.0.7", "10.0.0.8:8631"}, wantTO: discovery.DefaultTimeout},
		{args: "--stream", json: true, wantTO: discovery.DefaultTimeout, stream: true},
		{args: "--stream", wantErr: "--stream needs --json"},
		{args: "--timeout 0s", wantErr: "--timeout must be positive"},
		{args: "", env: "1m", wantTO: discovery.DefaultTimeout, wait: time.Minute},
		{args: "", env: "soon", wantErr: "ARS_ELIGIBILITY_WAIT=\"soon\": want a positive duration"},
		{args: "extra", wantErr: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{JSON: tt.json},
				Getenv: func(k string) string { return map[string]string{EligibilityWaitEnv: tt.env}[k] }}
			var got *Options
			cmd := NewCmdDiscover(f, func(_ context.Context, o *Options) error { got = o; return nil })
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
			if !slices.Equal(got.Hosts, tt.wantHost) || got.Timeout != tt.wantTO || got.Stream != tt.stream || got.EligibilityWait != tt.wait {
				t.Errorf("options %+v", got)
			}
		})
	}
}

var (
	pixma = printer.Printer{
		Name: "Canon TS8320 series", Addrs: []string{"10.0.0.7", "fe80::1%eth0"}, Make: "Canon", Model: "TS8320 series",
		Serial: "KNMA01234", URI: "ipp://10.0.0.7:631/ipp/print",
		Supplies: []printer.Supply{
			{Name: "PGBK", Level: 80}, {Name: "Cyan ink", ColorName: "cyan", Level: 40},
			{Name: "Tri-colour", Colors: []string{"#00FFFF", "#FF00FF", "#FFFF00"}, Level: printer.LevelSomeRemaining},
			{Name: "Waste ink absorber", Type: "wasteInk", Level: printer.LevelUnknown},
		},
	}
	asleep = printer.Printer{Name: "Asleep", Addrs: []string{"10.0.0.8"}, Make: "Canon", Model: "TS3100 series",
		Problems: []string{"IPP: no answer from 10.0.0.8:631 within 3s"}}
)

// fakeDiscover reports printers as a real run would: Found then Ready.
func fakeDiscover(ps ...printer.Printer) func(context.Context, discovery.Options, func(discovery.Event)) ([]printer.Printer, error) {
	return func(_ context.Context, o discovery.Options, fn func(discovery.Event)) ([]printer.Printer, error) {
		if !o.Enrich {
			return nil, errors.New("discover must enrich")
		}
		for i, p := range ps {
			fn(discovery.Event{Kind: discovery.Found, ID: i + 1, Printer: printer.Printer{Name: p.Name}})
			fn(discovery.Event{Kind: discovery.Ready, ID: i + 1, Printer: p})
		}
		return ps, nil
	}
}

func run(t *testing.T, tty bool, out cmdutil.OutputOptions, mutate func(*Options)) (stdout, stderr string, err error) {
	t.Helper()
	ios, _, o, e := iostreams.Test()
	ios.SetTTY(tty)
	opts := &Options{IO: ios, Output: &out, Timeout: time.Second, Discover: fakeDiscover(pixma, asleep)}
	if mutate != nil {
		mutate(opts)
	}
	err = discoverRun(context.Background(), opts)
	return o.String(), e.String(), err
}

func TestRunPipe(t *testing.T) {
	out, errOut, err := run(t, false, cmdutil.OutputOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "Canon TS8320 series\t10.0.0.7,fe80::1%eth0\tCanon TS8320 series\tKNMA01234\tipp://10.0.0.7:631/ipp/print\tPGBK 80% C 40% CL ok; waste tank ?\tunknown\n" +
		"Asleep\t10.0.0.8\tCanon TS3100 series\t\t\t\tunknown\n"
	if out != want {
		t.Errorf("stdout:\n%q\nwant:\n%q", out, want)
	}
	if !strings.Contains(errOut, "Asleep: IPP: no answer") {
		t.Errorf("stderr lacks the problem: %q", errOut)
	}
}

func TestRunTTY(t *testing.T) {
	out, errOut, err := run(t, true, cmdutil.OutputOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "LEVELS") {
		t.Fatalf("table:\n%s", out)
	}
	// Columns are aligned: SERIAL starts at the same offset in every row.
	col := strings.Index(lines[0], "SERIAL")
	if r := []rune(lines[1]); len(r) < col || !strings.HasPrefix(string(r[col:]), "KNMA01234") {
		t.Errorf("misaligned:\n%s", out)
	}
	if !strings.Contains(errOut, "IPP: no answer") {
		t.Errorf("stderr %q", errOut)
	}
}

// TestRunTTYFitsWidth: the table is as wide as the terminal at most
// (a wider line wraps, mid-URI, in a 110-column terminal), cut values end
// in "…", the serial stays whole, and at 200 columns nothing is cut (the
// rows are printed as printers answer, in columns of usual widths).
func TestRunTTYFitsWidth(t *testing.T) {
	for _, width := range []int{80, 110, 200} {
		ios, _, o, _ := iostreams.Test()
		ios.SetTTY(true)
		ios.SetTerminalWidth(width)
		long := pixma
		if width < 200 {
			long.URI = "ipp://[fe80::1234:5678:9abc:def0%eth0]:631/ipp/print"
		}
		opts := &Options{IO: ios, Output: &cmdutil.OutputOptions{}, Timeout: time.Second, Discover: fakeDiscover(long, asleep)}
		if err := discoverRun(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		out := o.String()
		for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			if w := tableprinter.Width(l); w > width {
				t.Errorf("width %d: a line of %d cells:\n%s", width, w, out)
			}
		}
		if !strings.Contains(out, "KNMA01234") {
			t.Errorf("width %d: the serial was cut:\n%s", width, out)
		}
		switch cut := strings.Contains(out, "…"); {
		case width < 200 && !cut:
			t.Errorf("width %d: nothing cut:\n%s", width, out)
		case width == 200 && (cut || !strings.Contains(out, long.URI)):
			t.Errorf("width %d: values cut:\n%s", width, out)
		}
	}
	// Piped, the URI is whole however narrow the terminal.
	ios, _, o, _ := iostreams.Test()
	ios.SetTerminalWidth(40)
	opts := &Options{IO: ios, Output: &cmdutil.OutputOptions{}, Timeout: time.Second, Discover: fakeDiscover(pixma)}
	if err := discoverRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(o.String(), "\t"+pixma.URI+"\t") {
		t.Errorf("piped: %q", o.String())
	}
}

func TestRunJSON(t *testing.T) {
	out, _, err := run(t, false, cmdutil.OutputOptions{JSON: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ps []printer.Printer
	if err := json.Unmarshal([]byte(out), &ps); err != nil || len(ps) != 2 || ps[0].Serial != "KNMA01234" {
		t.Fatalf("JSON %s: %v", out, err)
	}
	out, _, err = run(t, false, cmdutil.OutputOptions{JQ: ".[] | .serial // \"none\""}, nil)
	if err != nil || out != "KNMA01234\nnone\n" {
		t.Errorf("--jq: %q %v", out, err)
	}
}

func TestRunStream(t *testing.T) {
	out, _, err := run(t, false, cmdutil.OutputOptions{JSON: true}, func(o *Options) { o.Stream = true })
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("NDJSON:\n%s", out)
	}
	for _, l := range lines {
		var p printer.Printer
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Errorf("line %q: %v", l, err)
		}
	}
}

func TestRunNothingFound(t *testing.T) {
	for _, machine := range []bool{false, true} {
		out, _, err := run(t, false, cmdutil.OutputOptions{JSON: machine}, func(o *Options) { o.Discover = fakeDiscover() })
		if cmdutil.ExitCode(err) != cmdutil.ExitNotFound {
			t.Fatalf("exit code %d (%v), want 3", cmdutil.ExitCode(err), err)
		}
		for _, want := range []string{"5353/udp", "631/tcp", "161/udp", "security", "arsctl doctor"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message lacks %q: %v", want, err)
			}
		}
		if machine && strings.TrimSpace(out) != "[]" {
			t.Errorf("--json with nothing found printed %q, want []", out)
		}
	}
}

func TestRunNoMulticast(t *testing.T) {
	_, _, err := run(t, false, cmdutil.OutputOptions{}, func(o *Options) {
		o.Discover = func(context.Context, discovery.Options, func(discovery.Event)) ([]printer.Printer, error) {
			return nil, discovery.ErrNoMulticast
		}
	})
	if err == nil || !strings.Contains(err.Error(), "arsctl doctor") || cmdutil.ExitCode(err) != 1 {
		t.Errorf("err = %v", err)
	}
}

func TestRunHost(t *testing.T) {
	var asked string
	out, _, err := run(t, false, cmdutil.OutputOptions{}, func(o *Options) {
		o.Hosts = []string{"10.0.0.7"}
		o.Probe = func(_ context.Context, h string, _ discovery.Options) (printer.Printer, error) {
			asked = h
			return pixma, nil
		}
	})
	if err != nil || asked != "10.0.0.7" || !strings.HasPrefix(out, "Canon TS8320 series\t") {
		t.Fatalf("out %q asked %q err %v", out, asked, err)
	}
	_, _, err = run(t, false, cmdutil.OutputOptions{}, func(o *Options) {
		o.Hosts = []string{"10.0.0.9"}
		o.Probe = func(context.Context, string, discovery.Options) (printer.Printer, error) {
			return printer.Printer{}, errors.Join(discovery.ErrNoPrinter, errors.New("IPP: refused"))
		}
	})
	// The hint names the ports and the security software, and suggests
	// doctor for that address, not the command that was just run.
	if cmdutil.ExitCode(err) != cmdutil.ExitNotFound || !strings.Contains(err.Error(), "631/tcp") ||
		!strings.Contains(err.Error(), "security software") || !strings.Contains(err.Error(), "arsctl doctor --host 10.0.0.9 --no-mdns") ||
		strings.Contains(err.Error(), "discover --host") || strings.Contains(err.Error(), "5353/udp") {
		t.Errorf("err %v", err)
	}
}

// TestDiscoverTwoHosts replays `arsctl discover --host A --host B` against
// two simulated printers on 127.0.0.1: both are listed (the last --host
// alone was used before); a third address that answers nothing is a
// warning, not a failure.
func TestDiscoverTwoHosts(t *testing.T) {
	a := simtest.Start(t, printersim.Config{Serial: "KNMA00101", Name: "Office"})
	b := simtest.Start(t, printersim.Config{Serial: "KNMA00102", Name: "Kitchen"})
	state := t.TempDir()
	for _, extra := range [][]string{nil, {"--host", "127.0.0.1:1"}} {
		ios, _, out, errOut := iostreams.Test()
		f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{JSON: true},
			Getenv: func(k string) string { return map[string]string{"XDG_STATE_HOME": state, "HOME": state}[k] },
			Config: func() (*config.Config, error) { return &config.Config{Server: "http://127.0.0.1:1"}, nil }}
		cmd := NewCmdDiscover(f, nil)
		cmd.SetArgs(append([]string{"--host", a.Addr(), "--host", b.Addr(), "--timeout", "5s"}, extra...))
		cmd.SetOut(&strings.Builder{})
		cmd.SetErr(&strings.Builder{})
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		var got []printer.Printer
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		var serials []string
		for _, p := range got {
			serials = append(serials, p.Serial)
		}
		if !slices.Equal(serials, []string{"KNMA00101", "KNMA00102"}) {
			t.Errorf("serials %q, want both printers", serials)
		}
		if extra != nil && !strings.Contains(errOut.String(), "127.0.0.1:1") {
			t.Errorf("the silent address is not reported: %q", errOut)
		}
	}
}

// TestPortsHintNamesUSB: a PIXMA on USB is announced by ipp-usb on this
// computer's loopback only (testdata/canon-series/txt.txt: a TS3300 series
// at localhost:60000), where mDNS browsing does not look: when nothing is
// found the hint says how to reach it.
func TestPortsHintNamesUSB(t *testing.T) {
	if h := portsHint(nil); !strings.Contains(h, "arsctl discover --host localhost:60000") {
		t.Errorf("hint without hosts does not name ipp-usb's address:\n%s", h)
	}
	if h := portsHint([]string{"10.0.0.9"}); strings.Contains(h, "60000") {
		t.Errorf("hint for a host names ipp-usb:\n%s", h)
	}
}

// TestAddressCarriesThePort: a printer found at a port other than 631 (a
// PIXMA on USB through ipp-usb at localhost:60000) is listed with it, as
// --host takes it; it was listed as "127.0.0.1", where nothing answers.
func TestAddressCarriesThePort(t *testing.T) {
	usb := pixma
	usb.Addrs, usb.Port, usb.URI = []string{"127.0.0.1", "::1"}, 60000, "ipp://localhost:60000/ipp/print"
	if got := Columns(usb)[1]; got != "127.0.0.1:60000,[::1]:60000" {
		t.Errorf("address = %q", got)
	}
	usb.Port = 631
	if got := Columns(usb)[1]; got != "127.0.0.1,::1" {
		t.Errorf("address at 631 = %q", got)
	}
}
