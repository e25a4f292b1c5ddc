package printersim_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grandcat/zeroconf"

	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/pkg/ipp"
	"github.com/arsctl/arsctl/pkg/printer"
)

// browseResult is what the browsing helper reports for one service type.
type browseResult struct {
	Service  string   `json:"service"`
	Instance string   `json:"instance"`
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	IPv4     []string `json:"ipv4"`
	Text     []string `json:"text"`
	Serial   string   `json:"serial"`
	Model    string   `json:"model"`
	TLS      string   `json:"tls_fingerprint"`
	Err      string   `json:"error,omitempty"`
}

// TestHelperProcess is not a test: the namespace test runs this test
// binary inside network namespaces to advertise or browse there.
func TestHelperProcess(t *testing.T) {
	switch os.Getenv("PRINTERSIM_HELPER") {
	case "advertise":
		helperAdvertise()
	case "browse":
		helperBrowse()
	default:
		return
	}
	os.Exit(0)
}

func helperAdvertise() {
	p := printersim.New(printersim.Config{Serial: "KNMA31337", TLS: true,
		MDNS: &printersim.MDNSConfig{Interfaces: []string{os.Getenv("IFACE")}}})
	if err := p.Start(context.Background(), os.Getenv("LISTEN")); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("ready", p.URL())
	// Run until the parent closes stdin.
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	p.Close()
}

func helperBrowse() {
	ifi, err := net.InterfaceByName(os.Getenv("IFACE"))
	if err != nil {
		fmt.Println(`{"error":"no interface"}`)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	for _, svc := range []string{"_ipp._tcp", "_ipps._tcp"} {
		res := browseResult{Service: svc}
		r, err := zeroconf.NewResolver(zeroconf.SelectIfaces([]net.Interface{*ifi}), zeroconf.SelectIPTraffic(zeroconf.IPv4))
		if err != nil {
			res.Err = err.Error()
			enc.Encode(res)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		entries := make(chan *zeroconf.ServiceEntry, 8)
		if err := r.Browse(ctx, svc, "local.", entries); err != nil {
			res.Err = err.Error()
		}
		for e := range entries {
			if len(e.AddrIPv4) == 0 {
				continue
			}
			res.Instance, res.Host, res.Port, res.Text = e.Instance, e.HostName, e.Port, e.Text
			for _, ip := range e.AddrIPv4 {
				res.IPv4 = append(res.IPv4, ip.String())
			}
			txt := printer.ParseTXT(e.Text)
			scheme := "ipp"
			if svc == "_ipps._tcp" {
				scheme = "ipps"
			}
			var c ipp.Client
			uri := fmt.Sprintf("%s://%s/%s", scheme, net.JoinHostPort(res.IPv4[0], strconv.Itoa(e.Port)), txt.RP)
			p, err := c.GetPrinterAttributes(ctx, uri)
			if err != nil {
				res.Err = err.Error()
			} else {
				res.Serial, res.Model, res.TLS = p.Serial, p.Model, p.TLSFingerprint
			}
			break
		}
		cancel()
		enc.Encode(res)
	}
}

// TestAdvertiseInNetns advertises a simulated printer over mDNS inside one
// network namespace and browses for it from another, joined by a veth
// pair. Nothing is sent on the host's interfaces.
func TestAdvertiseInNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) not installed")
	}
	id := strconv.Itoa(os.Getpid() % 100000)
	nsA, nsB := "psimA"+id, "psimB"+id
	vA, vB := "psa"+id, "psb"+id
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, ns := range []string{nsA, nsB} {
		ip("netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		ip("-n", ns, "link", "set", "lo", "up")
	}
	ip("link", "add", vA, "netns", nsA, "type", "veth", "peer", "name", vB, "netns", nsB)
	ip("-n", nsA, "addr", "add", "10.77.0.1/24", "dev", vA)
	ip("-n", nsB, "addr", "add", "10.77.0.2/24", "dev", vB)
	ip("-n", nsA, "link", "set", vA, "up")
	ip("-n", nsB, "link", "set", vB, "up")

	adv := exec.Command("ip", "netns", "exec", nsA, os.Args[0], "-test.run=^TestHelperProcess$")
	adv.Env = append(os.Environ(), "PRINTERSIM_HELPER=advertise", "IFACE="+vA, "LISTEN=10.77.0.1:631")
	stdin, err := adv.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := adv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	adv.Stderr = os.Stderr
	if err := adv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { adv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			adv.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready ipps://10.77.0.1:631/") {
		t.Fatalf("advertiser: %q %v", line, err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	br := exec.CommandContext(ctx, "ip", "netns", "exec", nsB, os.Args[0], "-test.run=^TestHelperProcess$")
	br.Env = append(os.Environ(), "PRINTERSIM_HELPER=browse", "IFACE="+vB)
	br.Stderr = os.Stderr
	out, err := br.Output()
	if err != nil {
		t.Fatalf("browser: %v\n%s", err, out)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	got := map[string]browseResult{}
	for dec.More() {
		var r browseResult
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("browser output %q: %v", out, err)
		}
		got[r.Service] = r
	}
	for _, svc := range []string{"_ipp._tcp", "_ipps._tcp"} {
		r, ok := got[svc]
		if !ok || r.Err != "" {
			t.Errorf("%s: %+v", svc, r)
			continue
		}
		// zeroconf v1.0.0 leaves DNS escapes in instance names.
		if inst := strings.ReplaceAll(r.Instance, `\ `, " "); inst != "Canon TS8300 series" || r.Port != 631 || len(r.IPv4) == 0 || r.IPv4[0] != "10.77.0.1" {
			t.Errorf("%s: %+v", svc, r)
		}
		txt := printer.ParseTXT(r.Text)
		if mk, model := txt.MakeModel(); mk != "Canon" || model != "TS8300 series" || txt.RP != "ipp/print" || txt.UUID == "" {
			t.Errorf("%s TXT: %q", svc, r.Text)
		}
		if r.Serial != "KNMA31337" || r.Model != "TS8300 series" {
			t.Errorf("%s IPP: serial %q model %q", svc, r.Serial, r.Model)
		}
		if (svc == "_ipps._tcp") != (r.TLS != "") {
			t.Errorf("%s: TLS fingerprint %q", svc, r.TLS)
		}
	}
}
