package doctor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/pkg/discovery"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/snmp"
)

// Check is the result of one test.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	// Hint says how to fix a failed check.
	Hint string `json:"hint,omitempty"`
	// Optional marks a failed check that does not stop arsctl from
	// working here (SNMP when IPP already gives the serial); it does not
	// make the report fail.
	Optional bool `json:"optional,omitempty"`
}

// Holder is a process that has a UDP socket on port 5353.
type Holder struct {
	PID  int    `json:"pid,omitempty"`
	Name string `json:"name"`
}

// udpPortInodes parses /proc/net/udp or /proc/net/udp6 and returns the
// socket inodes bound to port.
func udpPortInodes(r io.Reader, port int) []string {
	var inodes []string
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || int(p) != port {
			continue
		}
		if f[9] != "0" {
			inodes = append(inodes, f[9])
		}
	}
	return inodes
}

// mdnsHolders returns the processes other than this one that hold UDP
// port 5353 in the current network namespace.
func mdnsHolders(procRoot string) []Holder {
	var inodes []string
	for _, f := range []string{"net/udp", "net/udp6"} {
		fh, err := os.Open(filepath.Join(procRoot, f))
		if err != nil {
			continue
		}
		inodes = append(inodes, udpPortInodes(fh, discovery.MDNSPort)...)
		fh.Close()
	}
	if len(inodes) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, in := range inodes {
		want["socket:["+in+"]"] = true
	}
	self := os.Getpid()
	seen := map[int]bool{}
	var out []Holder
	pids, _ := os.ReadDir(procRoot)
	for _, d := range pids {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == self || seen[pid] {
			continue
		}
		fds, err := os.ReadDir(filepath.Join(procRoot, d.Name(), "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(procRoot, d.Name(), "fd", fd.Name()))
			if err != nil || !want[link] {
				continue
			}
			comm, _ := os.ReadFile(filepath.Join(procRoot, d.Name(), "comm"))
			out = append(out, Holder{PID: pid, Name: strings.TrimSpace(string(comm))})
			seen[pid] = true
			break
		}
	}
	if len(out) == 0 {
		// Sockets exist but belong to processes we cannot see.
		out = append(out, Holder{Name: "another process"})
	}
	return out
}

func holderNames(hs []Holder) string {
	var names []string
	for _, h := range hs {
		if h.PID > 0 {
			names = append(names, fmt.Sprintf("%s (pid %d)", h.Name, h.PID))
		} else {
			names = append(names, h.Name)
		}
	}
	return strings.Join(names, ", ")
}

// checkMDNSSocket binds UDP 5353 the way discover does and joins the mDNS
// group on every multicast interface.
func checkMDNSSocket(ctx context.Context, procRoot string) Check {
	c := Check{Name: "mDNS socket (5353/udp)"}
	holders := mdnsHolders(procRoot)
	ifaces, err := discovery.MulticastInterfaces(nil)
	if err != nil || len(ifaces) == 0 {
		c.Detail = "no multicast-capable network interface to join the mDNS group on"
		c.Hint = "connect to the printer's network (Wi-Fi or Ethernet) and run again"
		return c
	}
	pc, err := discovery.ListenMDNS(ctx, "udp4", discovery.MDNSPort)
	if err != nil {
		c.Detail = fmt.Sprintf("cannot bind UDP port 5353: %v", err)
		if len(holders) > 0 {
			c.Detail += "; held by " + holderNames(holders)
			c.Hint = "the program holding port 5353 does not share it; stop it, or use 'arsctl discover --host ADDRESS'"
		} else {
			c.Hint = "allow arsctl to use UDP port 5353, or use 'arsctl discover --host ADDRESS'"
		}
		return c
	}
	defer pc.Close()
	p := ipv4.NewPacketConn(pc)
	var joined, failed []string
	for i := range ifaces {
		if err := p.JoinGroup(&ifaces[i], &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251)}); err != nil {
			failed = append(failed, ifaces[i].Name)
			continue
		}
		joined = append(joined, ifaces[i].Name)
	}
	if len(joined) == 0 {
		c.Detail = "bound UDP 5353 but could not join 224.0.0.251 on " + strings.Join(failed, ", ")
		c.Hint = "check that the interface is up and multicast is enabled: ip link set IFACE multicast on"
		return c
	}
	c.OK = true
	c.Detail = "bound UDP 5353 and joined 224.0.0.251 on " + strings.Join(joined, ", ")
	if len(holders) > 0 {
		c.Detail += "; shared with " + holderNames(holders) + " (fine: both receive every answer)"
	}
	return c
}

// checkMulticastRoute checks that some interface can send to the mDNS
// group: an up, multicast-capable interface with an address, and a route
// for 224.0.0.251.
func checkMulticastRoute(ctx context.Context) Check {
	c := Check{Name: "multicast route"}
	ifaces, err := discovery.MulticastInterfaces(nil)
	if err != nil || len(ifaces) == 0 {
		c.Detail = "no network interface is up with multicast enabled"
		c.Hint = "connect to the printer's network; on Linux check 'ip link' shows MULTICAST and UP"
		return c
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp4", "224.0.0.251:5353")
	if err != nil {
		var names []string
		for _, i := range ifaces {
			names = append(names, i.Name)
		}
		c.Detail = fmt.Sprintf("no route to 224.0.0.251 (%v)", err)
		c.Hint = "add one: sudo ip route add 224.0.0.0/4 dev " + names[0]
		return c
	}
	local := conn.LocalAddr().(*net.UDPAddr).IP
	conn.Close()
	via := ""
	for _, ifi := range ifaces {
		addrs, _ := ifi.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(local) {
				via = ifi.Name
			}
		}
	}
	c.OK = true
	c.Detail = fmt.Sprintf("224.0.0.251 is routed from %s", local)
	if via != "" {
		c.Detail += " on " + via
	}
	return c
}

// checkMDNSAnswers browses briefly and reports the printers that answer.
func checkMDNSAnswers(ctx context.Context, timeout time.Duration) Check {
	c := Check{Name: "printers answering mDNS"}
	ps, err := discovery.Discover(ctx, discovery.Options{Timeout: timeout, EmptyWait: timeout}, nil)
	if err != nil {
		c.Detail = err.Error()
		c.Hint = "fix the checks above first"
		return c
	}
	if len(ps) == 0 {
		c.Detail = fmt.Sprintf("no printer answered within %s", timeout)
		c.Hint = "make sure the printer is on and on this network, and that security software allows incoming UDP 5353 (mDNS); or use 'arsctl discover --host ADDRESS'"
		return c
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	c.OK = true
	c.Detail = fmt.Sprintf("%d: %s", len(ps), strings.Join(names, ", "))
	return c
}

// splitHost returns host and the IPP host:port of an ADDR[:PORT] flag.
func splitHost(s string) (host, hostport string, err error) {
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h, s, nil
	}
	h := strings.Trim(s, "[]")
	if h == "" {
		return "", "", errors.New("empty address")
	}
	return h, net.JoinHostPort(h, "631"), nil
}

// checkTCP631 connects to the printer's IPP port.
func checkTCP631(ctx context.Context, hostport string, timeout time.Duration) Check {
	c := Check{Name: "IPP port (" + hostport + "/tcp)"}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		c.Detail = "cannot connect: " + netDetail(err, timeout)
		if strings.Contains(err.Error(), "refused") {
			// A firewall that rejects a connection looks the same as a
			// printer with IPP switched off.
			c.Hint = "the printer refuses IPP, or a firewall does: " + cmdutil.SecuritySoftwareNote("631/tcp (IPP)") +
				"; if nothing blocks it, turn IPP on in the printer's network settings"
		} else {
			c.Hint = "check the address, that the printer is awake, and that security software allows outgoing TCP 631"
		}
		return c
	}
	conn.Close()
	c.OK = true
	c.Detail = "connected"
	return c
}

// checkSNMP asks the printer's SNMP agent for sysDescr.
func checkSNMP(ctx context.Context, host string, timeout time.Duration, query func(context.Context, string) (*snmp.Info, error)) Check {
	c := Check{Name: "SNMP (" + net.JoinHostPort(host, "161") + "/udp)"}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := query(ctx, host)
	if err != nil {
		switch {
		case strings.Contains(err.Error(), "connection refused"):
			c.Detail = "no SNMP agent: the printer refused UDP 161"
		case ctx.Err() != nil:
			c.Detail = fmt.Sprintf("no answer within %s", timeout)
		default:
			c.Detail = fmt.Sprintf("no answer: %v", err)
		}
		c.Hint = "turn SNMP on in the printer's settings with community \"public\", and allow UDP 161"
		return c
	}
	c.OK = true
	c.Detail = "answered"
	if mk, model := info.MakeModel(); model != "" {
		c.Detail += ": " + strings.TrimSpace(mk+" "+model)
	}
	if info.Serial != "" {
		c.Detail += ", serial " + printer.MaskSerial(info.Serial)
	}
	return c
}

// checkIPP sends Get-Printer-Attributes; serial reports whether the
// answer carried a serial number (without one, arsctl needs SNMP).
func checkIPP(ctx context.Context, hostport string, timeout time.Duration, client discovery.IPPClient) (c Check, serial bool) {
	c = Check{Name: "IPP Get-Printer-Attributes"}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p, err := client.Probe(ctx, hostport)
	if err != nil {
		c.Detail = netDetail(err, timeout)
		c.Hint = "the printer's IPP service does not answer; restart the printer, or check IPP is enabled in its settings"
		return c, false
	}
	c.OK = true
	c.Detail = strings.TrimSpace(p.Make + " " + p.Model)
	if p.URI != "" {
		c.Detail += " at " + p.URI
	}
	if p.Serial == "" {
		c.Detail += "; no serial number over IPP, so SNMP is needed"
	} else {
		c.Detail += ", serial " + printer.MaskSerial(p.Serial)
	}
	return c, p.Serial != ""
}
