//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/netns"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// labPrinter is one CUPS ippeveprinter in the lab, named and answering as
// the real device does.
type labPrinter struct {
	host                   string
	name, make, model      string
	deviceID               string   // printer-device-id; serial in PSE or SN, or none
	markers                []string // ippeveprinter ATTR lines for marker-*
	snmp                   *netns.SNMPAgent
	serial                 string // what discover must read, from IPP or SNMP
	h                      *netns.Host
	wantEligible           string // what discover says of it before it is enrolled
	wantRegister           int    // exit status of a non-interactive register
	wantRegisterSays       string // what its stderr or stdout must say
	wantLevels             string // the levels column discover prints
	wantSupplyKinds        []printer.Kind
	wantTriColourCartridge bool
}

// markerAttrs are ippeveprinter attribute lines for marker-*: names,
// colours, types and levels, low level 15.
func markerAttrs(names, colors, types []string, levels []string) []string {
	q := func(ss []string) string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = `"` + s + `"`
		}
		return strings.Join(out, ",")
	}
	low := strings.TrimSuffix(strings.Repeat("15,", len(names)), ",")
	high := strings.TrimSuffix(strings.Repeat("100,", len(names)), ",")
	return []string{
		"ATTR name marker-names " + q(names),
		"ATTR name marker-colors " + q(colors),
		"ATTR keyword marker-types " + strings.Join(types, ","),
		"ATTR integer marker-levels " + strings.Join(levels, ","),
		"ATTR integer marker-low-levels " + low,
		"ATTR integer marker-high-levels " + high,
	}
}

const canonCMD = "CMD:BJL,BJRaster3,BSCCe,NCCe,IVEC,IVECPLI,URF;"

// TestRealPrintersNetns runs arsctl discover and register, with flags and
// through the terminal prompts, in a network namespace against CUPS
// ippeveprinter printers that name themselves as the real devices do
// (advertised by avahi, one with its serial only over SNMP), and arsd on
// the client's loopback with a real OAuth sign-in. A Canon of an eligible
// series is enrolled as the model the series stands for; a Canon tank
// printer and an older Canon series are not eligible; an EPSON is told
// the service does not serve its make.
func TestRealPrintersNetns(t *testing.T) {
	netns.Require(t, "avahi-daemon", "dbus-daemon", "ippeveprinter", "snmpd")
	arsctl := netns.Build(t, "./cmd/arsctl")
	arsd := netns.Build(t, "./cmd/arsd")
	signin := netns.Build(t, "./bench/fleetsignin")
	lab := netns.NewLab(t)

	triColour := markerAttrs([]string{"Black", "Color"}, []string{"#000000", "#00FFFF#FF00FF#FFFF00"},
		[]string{"ink-cartridge", "ink-cartridge"}, []string{"60", "40"})
	printers := []*labPrinter{
		{
			// Serial only over SNMP: the device ID has none.
			host: "ts5300", name: "Canon TS5300 series", make: "Canon", model: "TS5300 series",
			deviceID: "MFG:Canon;" + canonCMD + "MDL:TS5300 series;CLS:PRINTER;DES:Canon TS5300 series;VER:1.060;STA:10;",
			markers:  triColour,
			snmp: &netns.SNMPAgent{DeviceDescr: "Canon TS5300 series", Serial: "KMAB05301", Supplies: []netns.SNMPSupply{
				{Description: "Black", Colorant: "black", Type: 6, Class: 3, Level: 60, Max: 100},
				{Description: "Color", Type: 6, Class: 3, Level: 40, Max: 100},
			}},
			serial: "KMAB05301", wantEligible: "eligible (TS5320)", wantRegister: 0, wantRegisterSays: "TS5320",
			wantLevels: "Black 60% Color 40%", wantSupplyKinds: []printer.Kind{printer.KindInk, printer.KindInk},
			wantTriColourCartridge: true,
		},
		{
			// A MegaTank printer: six bottles and a maintenance cartridge.
			host: "g620", name: "Canon PIXMA G620", make: "Canon", model: "G600 series",
			deviceID: "MFG:Canon;" + canonCMD + "MDL:G600 series;CLS:PRINTER;DES:Canon G600 series;VER:1.020;STA:10;PSE:KMGA06201;",
			markers: markerAttrs([]string{"BK", "C", "M", "Y", "R", "GY", "Maintenance Cartridge"},
				[]string{"#000000", "#00FFFF", "#FF00FF", "#FFFF00", "#FF0000", "#808080", "none"},
				[]string{"ink", "ink", "ink", "ink", "ink", "ink", "waste-ink"},
				[]string{"80", "70", "60", "50", "40", "30", "34"}),
			serial: "KMGA06201", wantEligible: "not eligible: ", wantRegister: 1, wantRegisterSays: "Canon G600 series is not eligible",
			wantLevels: "BK 80% C 70% M 60% Y 50% R 40% GY 30%; maintenance cartridge 34% full",
			wantSupplyKinds: []printer.Kind{printer.KindInk, printer.KindInk, printer.KindInk, printer.KindInk,
				printer.KindInk, printer.KindInk, printer.KindWaste},
		},
		{
			host: "et2850", name: "EPSON ET-2850 Series", make: "EPSON", model: "ET-2850 Series",
			deviceID: "MFG:EPSON;CMD:ESCPL2,BDC,D4,D4PX,ESCPR7,END4,GENEP,URF;MDL:ET-2850 Series;CLS:PRINTER;DES:EPSON ET-2850 Series;CID:EpsonRGB;SN:X5EP28500;",
			markers: markerAttrs([]string{"Black ink", "Cyan ink", "Magenta ink", "Yellow ink"},
				[]string{"#000000", "#00FFFF", "#FF00FF", "#FFFF00"},
				[]string{"ink-cartridge", "ink-cartridge", "ink-cartridge", "ink-cartridge"}, []string{"90", "80", "70", "60"}),
			serial: "X5EP28500", wantEligible: "not eligible: this service does not serve EPSON printers",
			wantRegister: 1, wantRegisterSays: "EPSON ET-2850 Series: this service does not serve EPSON printers",
			wantLevels:      "BK 90% C 80% M 70% Y 60%",
			wantSupplyKinds: []printer.Kind{printer.KindInk, printer.KindInk, printer.KindInk, printer.KindInk},
		},
		{
			host: "mx490", name: "Canon MX490 series", make: "Canon", model: "MX490 series",
			deviceID: "MFG:Canon;" + canonCMD + "MDL:MX490 series;CLS:PRINTER;DES:Canon MX490 series;VER:1.030;STA:10;PSE:KMXA04901;",
			markers:  triColour,
			serial:   "KMXA04901", wantEligible: "not eligible: ", wantRegister: 1, wantRegisterSays: "Canon MX490 series is not eligible",
			wantLevels: "Black 60% Color 40%", wantSupplyKinds: []printer.Kind{printer.KindInk, printer.KindInk},
			wantTriColourCartridge: true,
		},
	}
	for _, p := range printers {
		p.h = lab.AddHost(p.host)
		p.h.StartAvahi()
		attrs := append([]string{`ATTR text printer-device-id "` + p.deviceID + `"`}, p.markers...)
		p.h.StartIPPEveprinter(netns.IPPEve{Name: p.name, Make: p.make, Model: p.model, Attrs: attrs})
		if p.snmp != nil {
			p.h.StartSNMPD(*p.snmp)
		}
	}
	client := lab.AddHost("client")
	client.StartAvahi() // a desktop usually runs avahi-daemon: arsctl shares port 5353 with it
	dir := t.TempDir()
	client.Start("arsd", nil, arsd, "--listen", "127.0.0.1:8787", "--database", filepath.Join(dir, "arsd.db"), "--log-level", "warn")
	client.WaitTCP("127.0.0.1:8787", 20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	token, stderr, err := client.Run(ctx, signin, "-server", "http://127.0.0.1:8787")
	if err != nil {
		t.Fatalf("sign in: %v\n%s", err, stderr)
	}
	env := []string{"ARS_SERVER=http://127.0.0.1:8787", "ARS_TOKEN=" + strings.TrimSpace(token), "HOME=" + dir,
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "ARS_STATE_DIR=" + filepath.Join(dir, "state"),
		"ARS_KEYRING=off", "ARS_NO_BROWSER=1", "NO_COLOR=1", "TERM=xterm-256color"}
	run := func(args ...string) (string, string, int) {
		out, errOut, err := client.Run(ctx, "env", append(append(slices.Clone(env), arsctl), args...)...)
		return out, errOut, exitStatus(t, err)
	}

	// discover: each printer as it names itself, its serial (over SNMP
	// for the TS5300 series), its supplies by kind, and what the server
	// says of it.
	out, errOut, code := run("discover", "--json", "--timeout", "15s")
	if code != 0 {
		t.Fatalf("discover: exit %d\n%s", code, errOut)
	}
	type row struct {
		printer.Printer
		Eligibility struct{ State, Model, Why string } `json:"eligibility"`
	}
	var found []row
	if err := json.Unmarshal([]byte(out), &found); err != nil {
		t.Fatalf("discover --json: %v\n%s", err, out)
	}
	byName := map[string]printer.Printer{}
	for _, f := range found {
		byName[f.Name] = f.Printer
		el := f.Eligibility
		switch f.Name {
		case "Canon TS5300 series":
			if el.State != "eligible" || el.Model != "TS5320" {
				t.Errorf("%s: eligibility %+v, want eligible as the TS5320", f.Name, el)
			}
		case "EPSON ET-2850 Series":
			if el.State != "not-eligible" || !strings.Contains(el.Why, "does not serve EPSON printers") {
				t.Errorf("%s: eligibility %+v, want not eligible for its make", f.Name, el)
			}
		default:
			if el.State != "not-eligible" || el.Why == "" {
				t.Errorf("%s: eligibility %+v, want not eligible", f.Name, el)
			}
		}
	}
	for _, p := range printers {
		f, ok := byName[p.name]
		if !ok {
			t.Errorf("%s not found; found %d printers:\n%s\n%s", p.name, len(found), out, errOut)
			continue
		}
		if f.Make != p.make || f.Model != p.model || f.Serial != p.serial {
			t.Errorf("%s: make/model/serial %q/%q/%q, want %q/%q/%q (problems %q)", p.name, f.Make, f.Model, f.Serial, p.make, p.model, p.serial, f.Problems)
		}
		var kinds []printer.Kind
		for _, s := range f.Supplies {
			kinds = append(kinds, s.Kind())
		}
		if !slices.Equal(kinds, p.wantSupplyKinds) {
			t.Errorf("%s: supply kinds %q, want %q (%+v)", p.name, kinds, p.wantSupplyKinds, f.Supplies)
		}
		if p.wantTriColourCartridge && (len(f.Supplies) != 2 || len(f.Supplies[1].Colors) != 3) {
			t.Errorf("%s: the colour cartridge is not one supply of three colours: %+v", p.name, f.Supplies)
		}
	}
	if p := byName["Canon TS5300 series"]; !slices.Contains(p.Sources, "snmp") {
		t.Errorf("Canon TS5300 series: sources %q, want snmp (its serial)", p.Sources)
	}
	// Through the terminal: picking the EPSON is refused before the
	// terms; picking the TS5300 series walks the prompts and enrolls a
	// TS5320.
	tm := startTermCmd(t, termCommand(ctx, client, env, arsctl, "register", "--timeout", "10s"))
	tm.expect("Select your printer")
	pick(t, tm, printers, "et2850")
	if code := tm.wait(); code != 1 {
		t.Fatalf("register, EPSON picked: exit %d, want 1; output:\n%s", code, tm.text())
	}
	if txt := tm.text(); !strings.Contains(txt, "this service does not serve EPSON printers") || strings.Contains(txt, "Do you agree") {
		t.Errorf("register, EPSON picked:\n%s", txt)
	}

	tm = startTermCmd(t, termCommand(ctx, client, env, arsctl, "register", "--timeout", "10s"))
	tm.expect("Select your printer")
	pick(t, tm, printers, "ts5300")
	tm.expect("Do you agree to these terms?")
	tm.send(keyLeft, keyEnter)
	tm.expect("Sign up through Amazon or Canon?")
	tm.send(keyDown, keyUp, keyEnter)
	tm.expect("Is this your printer?")
	tm.send(keyEnter)
	tm.expect("Enrolled")
	if code := tm.wait(); code != 0 {
		t.Fatalf("register, TS5300 series picked: exit %d; output:\n%s", code, tm.text())
	}
	if txt := tm.text(); !strings.Contains(txt, "Model: TS5320") || !strings.Contains(txt, "****5301") {
		t.Errorf("the confirmation did not show the model and serial:\n%s", txt)
	}

	// With flags: the TS5300 series is already enrolled (shown again,
	// exit 0); the others are refused, each with its reason.
	for _, p := range printers {
		out, errOut, code := run("register", "--host", p.h.IP4, "--provider", "canon", "--agree-terms", "--yes")
		if code != p.wantRegister || !strings.Contains(out+errOut, p.wantRegisterSays) {
			t.Errorf("register --host %s (%s): exit %d, want %d saying %q\nstdout:\n%s\nstderr:\n%s",
				p.h.IP4, p.name, code, p.wantRegister, p.wantRegisterSays, out, errOut)
		}
	}
	// discover again, as a table: the levels column names the maintenance
	// cartridge for what it is, and the TS5300 series is now enrolled.
	out, errOut, code = run("discover", "--timeout", "15s")
	if code != 0 {
		t.Fatalf("discover (table): exit %d\n%s", code, errOut)
	}
	for _, p := range printers {
		want := p.wantEligible
		if p.wantRegister == 0 {
			want = "enrolled (yours"
		}
		var line string
		for l := range strings.SplitSeq(out, "\n") {
			if strings.HasPrefix(l, p.name+"\t") {
				line = l
			}
		}
		if !strings.Contains(line, "\t"+p.wantLevels) || !strings.Contains(line, want) {
			t.Errorf("discover's row of %s lacks %q or %q:\n%s", p.name, p.wantLevels, want, out)
		}
	}

	out, errOut, code = run("status", "--json")
	var es []arsapi.Enrollment
	if code != 0 || json.Unmarshal([]byte(out), &es) != nil {
		t.Fatalf("status --json: exit %d\n%s\n%s", code, out, errOut)
	}
	if len(es) != 1 || es[0].Printer.Serial != "KMAB05301" || es[0].Printer.Model != "TS5320" || es[0].State != arsapi.StateActive {
		t.Errorf("enrollments = %+v, want the TS5300 series's alone, as a TS5320", es)
	}
}

// termCommand is arsctl with env in host h, ready for a pseudo-terminal
// (a session of its own, the terminal as its controlling one).
func termCommand(ctx context.Context, h *netns.Host, env []string, arsctl string, args ...string) *exec.Cmd {
	cmd := h.Command(ctx, "env", append(append(slices.Clone(env), arsctl), args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// pick chooses, in the printer picker on screen, the printer of the lab
// host named host: it finds the option lines (each shows the printer's
// address) in the order drawn and moves down to it.
func pick(t *testing.T, tm *term, ps []*labPrinter, host string) {
	t.Helper()
	shows := func(line, ip string) bool {
		return strings.Contains(line, " at "+ip+",") || strings.Contains(line, " at "+ip+":")
	}
	var want string
	for _, p := range ps {
		if p.host == host {
			want = p.h.IP4
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		txt := tm.text()
		screen := txt[strings.LastIndex(txt, "Select your printer"):]
		var options []string
		for l := range strings.SplitSeq(screen, "\n") {
			for _, p := range ps {
				if shows(l, p.h.IP4) && !slices.Contains(options, p.h.IP4) {
					options = append(options, p.h.IP4)
				}
			}
		}
		if i := slices.Index(options, want); len(options) == len(ps) && i >= 0 {
			for range i {
				tm.send(keyDown)
			}
			tm.send(keyEnter)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the picker does not show the %d printers:\n%s", len(ps), screen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exitStatus is a finished command's exit status.
func exitStatus(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}
