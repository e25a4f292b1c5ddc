//go:build linux

// Package netns builds throw-away networks of Linux network namespaces for
// tests and benchmarks that need multicast: a "lan" namespace with a
// bridge, and hosts (one namespace each) joined to it by veth pairs, on
// private addresses (10.66.0.0/16, fd00:66::/64). It starts real printers
// and daemons inside them (avahi-daemon with a private D-Bus, CUPS
// ippeveprinter, snmpd, the printer simulator) and removes everything,
// processes and namespaces, when the test ends, also on failure.
//
// Nothing here touches the machine's own interfaces: every address,
// route and daemon lives in namespaces the Lab created. It needs root and
// iproute2's ip; Available says why it cannot run.
package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// TB is the part of testing.TB the harness uses, so that benchmarks
// outside `go test` can use it too.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Logf(format string, args ...any)
	TempDir() string
}

// Available returns "" when network namespace tests can run, or the
// reason they cannot.
func Available() string {
	if os.Geteuid() != 0 {
		return "network namespace tests need root (CI runs them as root)"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "network namespace tests need iproute2's ip"
	}
	return ""
}

// Require skips the test unless namespaces are available and every
// program in progs is installed.
func Require(t TB, progs ...string) {
	t.Helper()
	if why := Available(); why != "" {
		t.Skipf("skipping: %s", why)
	}
	for _, p := range progs {
		if _, err := lookPath(p); err != nil {
			t.Skipf("skipping: %s is not installed (scripts/install-deps.sh installs it)", p)
		}
	}
}

func lookPath(p string) (string, error) {
	if path, err := exec.LookPath(p); err == nil {
		return path, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			return filepath.Join(dir, p), nil
		}
	}
	return "", fmt.Errorf("%s not found", p)
}

var labSeq atomic.Int64

// Lab is one private network.
type Lab struct {
	t      TB
	id     string
	lan    string
	dir    string
	mu     sync.Mutex
	hosts  []*Host
	procs  []*Proc
	closed bool

	subnets []*Subnet
	extraNS []string // routers and subnet bridges, deleted by Close
}

// NewLab creates the lan namespace with its bridge. Everything is removed
// in t.Cleanup.
func NewLab(t TB) *Lab {
	t.Helper()
	Require(t)
	l := &Lab{
		t:   t,
		id:  fmt.Sprintf("%d-%d", os.Getpid(), labSeq.Add(1)),
		dir: t.TempDir(),
	}
	l.lan = "arsT" + l.id + "-lan"
	removeStale()
	t.Cleanup(l.Close)
	l.must("ip", "netns", "add", l.lan)
	l.must("ip", "-n", l.lan, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
	l.must("ip", "-n", l.lan, "link", "set", "br0", "up")
	l.must("ip", "-n", l.lan, "link", "set", "lo", "up")
	return l
}

// removeStale deletes namespaces left by labs whose process died without
// cleaning up (e.g. killed by a test timeout); their names carry the pid.
func removeStale() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, "arsT")
		if !ok {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
			continue // its lab is still running
		}
		_ = exec.Command("ip", "netns", "del", name).Run()
	}
}

func (l *Lab) must(args ...string) {
	l.t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Close kills every process started in the lab and deletes its
// namespaces. It is called by t.Cleanup; calling it twice is harmless.
func (l *Lab) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	procs := l.procs
	hosts := l.hosts
	l.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop()
	}
	for _, h := range hosts {
		_ = exec.Command("ip", "netns", "del", h.NS).Run()
	}
	for _, ns := range l.extraNS {
		_ = exec.Command("ip", "netns", "del", ns).Run()
	}
	_ = exec.Command("ip", "netns", "del", l.lan).Run()
}

// Host is one namespace on the lab's network with a single interface,
// eth0.
type Host struct {
	Lab *Lab
	// Name is the host's short name, unique in the lab; it is also its
	// avahi host name.
	Name string
	// NS is the namespace name.
	NS string
	// IP4 and IP6 are the host's addresses on eth0.
	IP4, IP6 string
	// Dir holds the host's configuration and logs.
	Dir string

	dbus   string  // D-Bus system bus address once StartAvahi ran
	subnet *Subnet // nil on the lab's lan
}

// Iface is the host's network interface name.
const Iface = "eth0"

// AddHost creates a namespace joined to the lab's bridge, with addresses
// 10.66.<n/250>.<n%250+2>/16 and fd00:66::<n>/64 and a multicast route.
func (l *Lab) AddHost(name string) *Host {
	l.t.Helper()
	l.mu.Lock()
	n := len(l.hosts) + 1
	h := &Host{
		Lab:  l,
		Name: name,
		NS:   fmt.Sprintf("arsT%s-%d", l.id, n),
		IP4:  fmt.Sprintf("10.66.%d.%d", n/250, n%250+2),
		IP6:  fmt.Sprintf("fd00:66::%x", n+1),
		Dir:  filepath.Join(l.dir, name),
	}
	l.hosts = append(l.hosts, h)
	l.mu.Unlock()
	l.join(h, l.lan, fmt.Sprintf("p%d", n), h.IP4+"/16", h.IP6+"/64")
	l.must("ip", "-n", h.NS, "route", "add", "224.0.0.0/4", "dev", Iface)
	l.mu.Lock()
	subnets := slices.Clone(l.subnets)
	l.mu.Unlock()
	for _, s := range subnets {
		l.must("ip", "-n", h.NS, "route", "add", s.Prefix.String(), "via", s.Router.IP4)
	}
	return h
}

// join creates the host's namespace and its eth0, a veth pair whose other
// end (port) is on the bridge br0 of the namespace bridgeNS, with the
// addresses given (CIDR notation; empty ones are skipped).
func (l *Lab) join(h *Host, bridgeNS, port string, addrs ...string) {
	l.t.Helper()
	if err := os.MkdirAll(h.Dir, 0o755); err != nil {
		l.t.Fatalf("%v", err)
	}
	l.must("ip", "netns", "add", h.NS)
	// No duplicate address detection: addresses are usable at once.
	for _, k := range []string{"all", "default"} {
		l.must("ip", "netns", "exec", h.NS, "sysctl", "-q", "-w", "net.ipv6.conf."+k+".accept_dad=0")
	}
	l.must("ip", "-n", h.NS, "link", "add", "name", Iface, "type", "veth", "peer", "name", port, "netns", bridgeNS)
	l.must("ip", "-n", bridgeNS, "link", "set", port, "master", "br0", "up")
	l.must("ip", "-n", h.NS, "link", "set", "lo", "up")
	for _, a := range addrs {
		switch {
		case a == "" || strings.HasPrefix(a, "/"):
		case strings.Contains(a, ":"):
			l.must("ip", "-n", h.NS, "addr", "add", a, "dev", Iface, "nodad")
		default:
			l.must("ip", "-n", h.NS, "addr", "add", a, "dev", Iface)
		}
	}
	l.must("ip", "-n", h.NS, "link", "set", Iface, "up")
}

// Command returns a command that runs inside the host's namespace.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if h.dbus != "" {
		cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+h.dbus)
	}
	return cmd
}

// Proc is a background process in a host.
type Proc struct {
	Name string
	Log  string // path of its combined stdout and stderr
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start runs a program in the background inside the host, logging to
// Dir/<logName>.log. It is killed when the lab closes.
func (h *Host) Start(logName string, env []string, name string, args ...string) *Proc {
	h.Lab.t.Helper()
	return h.start(logName, env, h.Command(context.Background(), name, args...))
}

func (h *Host) start(logName string, env []string, cmd *exec.Cmd) *Proc {
	h.Lab.t.Helper()
	logPath := filepath.Join(h.Dir, logName+".log")
	f, err := os.Create(logPath)
	if err != nil {
		h.Lab.t.Fatalf("%v", err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if len(env) > 0 {
		if cmd.Env == nil {
			cmd.Env = os.Environ()
		}
		cmd.Env = append(cmd.Env, env...)
	}
	p := &Proc{Name: logName, Log: logPath, cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		f.Close()
		h.Lab.t.Fatalf("start %s in %s: %v", cmd.Args, h.Name, err)
	}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	h.Lab.mu.Lock()
	h.Lab.procs = append(h.Lab.procs, p)
	h.Lab.mu.Unlock()
	return p
}

// Stop kills the process group and waits for it.
func (p *Proc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(2 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// Exited reports whether the process has ended, and its error.
func (p *Proc) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Output returns what the process has logged so far.
func (p *Proc) Output() string {
	b, _ := os.ReadFile(p.Log)
	return string(b)
}

// WaitLog waits until the process's log contains want.
func (p *Proc) WaitLog(t TB, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(p.Output(), want) {
			return
		}
		if exited, err := p.Exited(); exited {
			t.Fatalf("%s exited (%v) before logging %q:\n%s", p.Name, err, want, p.Output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not log %q within %s:\n%s", p.Name, want, timeout, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitTCP waits until something in the host accepts connections on
// addr (run from inside the namespace).
func (h *Host) WaitTCP(addr string, timeout time.Duration) {
	h.Lab.t.Helper()
	deadline := time.Now().Add(timeout)
	host, port, _ := net.SplitHostPort(addr)
	for {
		// bash's /dev/tcp avoids depending on nc.
		err := h.Command(context.Background(), "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%s", host, port)).Run()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			h.Lab.t.Fatalf("%s: nothing accepts connections on %s within %s", h.Name, addr, timeout)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Run runs a command in the host and returns its stdout, stderr and
// error.
func (h *Host) Run(ctx context.Context, name string, args ...string) (stdout, stderr string, err error) {
	cmd := h.Command(ctx, name, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

var errNoModule = errors.New("not inside the arsctl module")
