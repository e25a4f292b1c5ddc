package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/arsctl/arsctl/internal/cli/clitest"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/pkg/ipp"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/snmp"
)

const procNetUDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   108        0 31337 2 0000000000000000 0
  101: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 4242 2 0000000000000000 0
  102: FB0000E0:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 0 2 0000000000000000 0
  garbage line
  103: 00000000:zzzz 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 77 2 0000000000000000 0
`

func TestUDPPortInodes(t *testing.T) {
	got := udpPortInodes(strings.NewReader(procNetUDP), 5353)
	if !slices.Equal(got, []string{"31337"}) {
		t.Errorf("inodes %q, want [31337]", got)
	}
}

// fakeProc builds a /proc-like tree with one process holding port 5353.
func fakeProc(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "net"), 0o755))
	must(os.WriteFile(filepath.Join(root, "net", "udp"), []byte(procNetUDP), 0o644))
	for pid, sock := range map[string]string{"812": "socket:[31337]", "900": "socket:[4242]"} {
		must(os.MkdirAll(filepath.Join(root, pid, "fd"), 0o755))
		must(os.Symlink(sock, filepath.Join(root, pid, "fd", "11")))
		must(os.Symlink("/dev/null", filepath.Join(root, pid, "fd", "0")))
	}
	must(os.WriteFile(filepath.Join(root, "812", "comm"), []byte("avahi-daemon\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "900", "comm"), []byte("dnsmasq\n"), 0o644))
	return root
}

func TestMDNSHolders(t *testing.T) {
	got := mdnsHolders(fakeProc(t))
	if len(got) != 1 || got[0].PID != 812 || got[0].Name != "avahi-daemon" {
		t.Errorf("holders %+v, want avahi-daemon (812)", got)
	}
	if s := holderNames(got); s != "avahi-daemon (pid 812)" {
		t.Errorf("holderNames = %q", s)
	}
	if got := mdnsHolders(t.TempDir()); got != nil {
		t.Errorf("empty proc: %+v", got)
	}
}

func TestSplitHost(t *testing.T) {
	tests := []struct{ in, host, hostport string }{
		{"10.0.0.7", "10.0.0.7", "10.0.0.7:631"},
		{"10.0.0.7:8631", "10.0.0.7", "10.0.0.7:8631"},
		{"printer.local", "printer.local", "printer.local:631"},
		{"[fd00::7]:631", "fd00::7", "[fd00::7]:631"},
		{"fd00::7", "fd00::7", "[fd00::7]:631"},
	}
	for _, tt := range tests {
		h, hp, err := splitHost(tt.in)
		if err != nil || h != tt.host || hp != tt.hostport {
			t.Errorf("splitHost(%q) = %q, %q, %v", tt.in, h, hp, err)
		}
	}
	if _, _, err := splitHost("[]"); err == nil {
		t.Error("splitHost([]) did not fail")
	}
}

func TestNewCmdDoctorFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}}
	var got *Options
	cmd := NewCmdDoctor(f, func(_ context.Context, o *Options) error { got = o; return nil })
	cmd.SetArgs([]string{"--host", "10.0.0.7", "--timeout", "1s"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Host != "10.0.0.7" || got.Timeout != time.Second || got.ProcRoot != "/proc" {
		t.Errorf("options %+v", got)
	}
	cmd = NewCmdDoctor(f, func(context.Context, *Options) error { return nil })
	cmd.SetArgs([]string{"--timeout", "0s"})
	cmd.SetErr(&strings.Builder{})
	if err := cmd.Execute(); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("--timeout 0s: %v", err)
	}
}

func TestPrintCheck(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	printCheck(ios, Check{Name: "IPP port (10.0.0.7:631/tcp)", OK: false, Detail: "cannot connect: refused", Hint: "turn IPP on"})
	printCheck(ios, Check{Name: "multicast route", OK: true, Detail: "routed", Hint: "unused"})
	printCheck(ios, Check{Name: "SNMP", OK: false, Optional: true, Detail: "no agent", Hint: "optional"})
	want := "✗ IPP port (10.0.0.7:631/tcp): cannot connect: refused\n    fix: turn IPP on\n✓ multicast route: routed\n– SNMP: no agent\n    tip: optional\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

// With --no-mdns only the printer at --host is checked: a simulated
// printer on 127.0.0.1 answers IPP, and SNMP is the function given.
func TestRunHostOnly(t *testing.T) {
	p := clitest.Printer(t, printersim.Config{Serial: clitest.Serial(1)})
	ios, _, out, _ := iostreams.Test()
	opts := &Options{
		IO: ios, Output: &cmdutil.OutputOptions{JSON: true}, IPP: &ipp.Client{},
		Host: p.Addr(), Timeout: 5 * time.Second, NoMDNS: true,
		SNMP: func(context.Context, string) (*snmp.Info, error) {
			return &snmp.Info{DeviceDescr: "Canon TS8300 series"}, nil
		},
	}
	if err := doctorRun(context.Background(), opts); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	var names []string
	for _, c := range rep.Checks {
		names = append(names, c.Name)
		if strings.Contains(c.Name, "mDNS") || strings.Contains(c.Name, "multicast") {
			t.Errorf("--no-mdns ran %q", c.Name)
		}
	}
	if !rep.OK || len(rep.Checks) != 3 || !strings.Contains(rep.Checks[1].Detail, "TS8300 series") || !strings.Contains(rep.Checks[1].Detail, "serial ****0001") {
		t.Errorf("report %+v (%q)", rep, names)
	}

	// A Canon's agent gives its device ID (testdata/canon-series, a
	// GM2080 series): model and serial, the serial masked.
	id, err := printer.ParseDeviceID("MFG:Canon;CMD:BJRaster3,NCCe,IVEC;SOJ:CHMP,CHMPu;MDL:GM2080 series;CLS:PRINTER;DES:Canon GM2080 series;VER:1.050;STA:10;PSE:KAAD00004;")
	if err != nil {
		t.Fatal(err)
	}
	if c := checkSNMP(context.Background(), "10.0.0.8", time.Second, func(context.Context, string) (*snmp.Info, error) {
		return &snmp.Info{DeviceID: id, Serial: id.Serial}, nil
	}); !c.OK || c.Detail != "answered: Canon GM2080 series, serial ****0004" {
		t.Errorf("SNMP check with a device ID: %+v", c)
	}

	// No SNMP agent, but IPP gave the serial: a warning, not a failure.
	opts.SNMP = func(context.Context, string) (*snmp.Info, error) { return nil, errors.New("connection refused") }
	out.Reset()
	if err := doctorRun(context.Background(), opts); err != nil {
		t.Fatalf("SNMP off: %v\n%s", err, out)
	}
	rep = Report{}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || !rep.OK || rep.Checks[2].OK || !rep.Checks[2].Optional {
		t.Errorf("SNMP off: %+v %v", rep, err)
	}
	opts.Output.JSON = false
	out.Reset()
	// One clear state: not answering, optional; neither ✗ nor "fix".
	if err := doctorRun(context.Background(), opts); err != nil {
		t.Errorf("SNMP off, text: %v", err)
	}
	text := out.String()
	if !strings.Contains(text, "– SNMP (127.0.0.1:161/udp): not answering (no SNMP agent: the printer refused UDP 161); optional: IPP gives the model and serial") ||
		strings.Contains(text, "✗") || strings.Contains(text, "fix:") || !strings.Contains(text, "the optional ones marked – did not") {
		t.Errorf("SNMP off, text:\n%s", text)
	}
	opts.Output.JSON = true

	// The printer's IPP switched off: exit 1, the IPP check fails with a hint.
	_ = p.Close()
	out.Reset()
	if err := doctorRun(context.Background(), opts); cmdutil.ExitCode(err) != cmdutil.ExitFailure {
		t.Fatalf("printer gone: %v", err)
	}
	rep = Report{}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.OK || rep.Checks[0].OK || rep.Checks[0].Hint == "" || rep.Checks[2].Optional {
		t.Errorf("printer gone: %+v %v", rep, err)
	}
}

// TestIPPRefusedHint: a port that refuses IPP (a printer with IPP off,
// or a firewall rejecting it: they look the same) gets the advice about
// security software blocking the ports, and about turning IPP on.
func TestIPPRefusedHint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	ios, _, out, _ := iostreams.Test()
	opts := &Options{IO: ios, Output: &cmdutil.OutputOptions{}, IPP: &ipp.Client{}, Host: addr, Timeout: 5 * time.Second, NoMDNS: true,
		SNMP: func(context.Context, string) (*snmp.Info, error) { return nil, errors.New("connection refused") }}
	if err := doctorRun(context.Background(), opts); cmdutil.ExitCode(err) != cmdutil.ExitFailure {
		t.Fatalf("refused: %v", err)
	}
	text := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{
		"✗ IPP port (" + addr + "/tcp): cannot connect: connection refused",
		"fix: the printer refuses IPP, or a firewall does: make sure security software (a firewall, on this computer or on the network) isn't blocking 631/tcp (IPP) (its documentation says how to open ports); if nothing blocks it, turn IPP on",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	// On an 80-column terminal the lines break between words.
	ios.SetTTY(true)
	ios.SetTerminalWidth(80)
	out.Reset()
	_ = doctorRun(context.Background(), opts)
	for _, l := range strings.Split(out.String(), "\n") {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("a line of %d characters at 80 columns: %q", n, l)
		}
	}
	if !strings.Contains(out.String(), "\n         ") {
		t.Errorf("the hint's lines are not indented:\n%s", out)
	}
	// IPP told nothing, so SNMP is needed: a failure, which says why, and
	// not "optional".
	if !strings.Contains(text, "✗ SNMP") || !strings.Contains(text, "arsctl needs SNMP for this printer's serial number") || strings.Contains(text, "optional") {
		t.Errorf("SNMP needed:\n%s", out)
	}
}

func TestNoMDNSNeedsHost(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}}
	cmd := NewCmdDoctor(f, func(context.Context, *Options) error { return nil })
	cmd.SetArgs([]string{"--no-mdns"})
	cmd.SetErr(&strings.Builder{})
	if err := cmd.Execute(); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("--no-mdns without --host: %v", err)
	}
}

func TestNetDetail(t *testing.T) {
	_, refused := net.Dial("tcp", "127.0.0.1:1")
	tests := []struct {
		err  error
		want string
	}{
		{refused, "connection refused"},
		{&net.DNSError{Name: "nowhere.invalid", Err: "no such host"}, "unknown host nowhere.invalid"},
		{context.DeadlineExceeded, "no answer within 2s"},
		{errors.New("ipp: bad status"), "ipp: bad status"},
	}
	for _, tt := range tests {
		if got := netDetail(tt.err, 2*time.Second); got != tt.want {
			t.Errorf("netDetail(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
