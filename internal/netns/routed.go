//go:build linux

package netns

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
)

// Subnet is a network segment of its own (a bridge in a namespace) behind
// a router: a namespace joined to the lab's lan and to the subnet by two
// veth links, with IPv4 forwarding on and no multicast routing. Hosts of
// the lan reach the subnet's hosts by unicast through it; mDNS, which is
// link-local, stays on each side, as across any office router.
type Subnet struct {
	Lab *Lab
	// Name is the subnet's short name, unique in the lab.
	Name string
	// NS is the namespace of the subnet's bridge.
	NS string
	// Prefix is the subnet's IPv4 prefix, e.g. 10.67.1.0/24.
	Prefix netip.Prefix
	// Router is the router's namespace; its IP4 is its address on the
	// lab's lan, Gateway its address on the subnet.
	Router *Host
	// Gateway is the router's address on the subnet: the prefix's first.
	Gateway string

	hosts []*Host
}

// AddSubnet creates a subnet with the IPv4 prefix cidr (at most a /16,
// private, not overlapping the lan's 10.66.0.0/16 or another subnet) and
// its router, and routes it from every lan host, present and future.
func (l *Lab) AddSubnet(name, cidr string) *Subnet {
	l.t.Helper()
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || !p.Addr().IsPrivate() || p.Bits() < 16 || p.Bits() > 29 {
		l.t.Fatalf("AddSubnet %q: want a private IPv4 prefix between /16 and /29", cidr)
	}
	p = p.Masked()
	l.mu.Lock()
	lanPrefix := netip.MustParsePrefix("10.66.0.0/16")
	if p.Overlaps(lanPrefix) || slices.ContainsFunc(l.subnets, func(s *Subnet) bool { return s.Prefix.Overlaps(p) }) {
		l.mu.Unlock()
		l.t.Fatalf("AddSubnet %s: overlaps the lan or another subnet", p)
	}
	k := len(l.subnets) + 1
	s := &Subnet{
		Lab:     l,
		Name:    name,
		NS:      fmt.Sprintf("arsT%s-s%d", l.id, k),
		Prefix:  p,
		Gateway: p.Addr().Next().String(),
	}
	s.Router = &Host{
		Lab:  l,
		Name: "router-" + name,
		NS:   fmt.Sprintf("arsT%s-r%d", l.id, k),
		IP4:  fmt.Sprintf("10.66.250.%d", k),
		Dir:  filepath.Join(l.dir, "router-"+name),
	}
	l.extraNS = append(l.extraNS, s.NS, s.Router.NS)
	hosts := slices.Clone(l.hosts)
	l.mu.Unlock()

	l.must("ip", "netns", "add", s.NS)
	l.must("ip", "-n", s.NS, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
	l.must("ip", "-n", s.NS, "link", "set", "br0", "up")
	l.must("ip", "-n", s.NS, "link", "set", "lo", "up")

	// The router: eth0 on the lan, eth1 on the subnet.
	r := s.Router
	l.join(r, l.lan, fmt.Sprintf("r%d", k), r.IP4+"/16")
	l.must("ip", "-n", r.NS, "link", "add", "name", "eth1", "type", "veth", "peer", "name", "r0", "netns", s.NS)
	l.must("ip", "-n", s.NS, "link", "set", "r0", "master", "br0", "up")
	l.must("ip", "-n", r.NS, "addr", "add", fmt.Sprintf("%s/%d", s.Gateway, p.Bits()), "dev", "eth1")
	l.must("ip", "-n", r.NS, "link", "set", "eth1", "up")
	l.must("ip", "netns", "exec", r.NS, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")

	for _, h := range hosts {
		if h.subnet == nil {
			l.must("ip", "-n", h.NS, "route", "add", p.String(), "via", r.IP4)
		}
	}
	l.mu.Lock()
	l.subnets = append(l.subnets, s)
	l.mu.Unlock()
	return s
}

// AddHost creates a namespace on the subnet with the next free address of
// its prefix (the gateway's successors), a default route through the
// router and a multicast route on its own link.
func (s *Subnet) AddHost(name string) *Host {
	l := s.Lab
	l.t.Helper()
	l.mu.Lock()
	n := len(s.hosts) + 1
	a := netip.MustParseAddr(s.Gateway)
	for range n {
		a = a.Next()
	}
	if !s.Prefix.Contains(a) || !s.Prefix.Contains(a.Next()) {
		l.mu.Unlock()
		l.t.Fatalf("subnet %s is full", s.Prefix)
	}
	h := &Host{
		Lab:  l,
		Name: name,
		NS:   fmt.Sprintf("%s-%d", s.NS, n),
		IP4:  a.String(),
		Dir:  filepath.Join(l.dir, name),

		subnet: s,
	}
	s.hosts = append(s.hosts, h)
	l.hosts = append(l.hosts, h)
	l.mu.Unlock()
	l.join(h, s.NS, fmt.Sprintf("h%d", n), fmt.Sprintf("%s/%d", h.IP4, s.Prefix.Bits()))
	l.must("ip", "-n", h.NS, "route", "add", "default", "via", s.Gateway)
	l.must("ip", "-n", h.NS, "route", "add", "224.0.0.0/4", "dev", Iface)
	return h
}

// Hosts returns the subnet's hosts in the order they were added.
func (s *Subnet) Hosts() []*Host {
	s.Lab.mu.Lock()
	defer s.Lab.mu.Unlock()
	return slices.Clone(s.hosts)
}

// SetResolver makes server (an IPv4 or IPv6 address) the host's DNS
// resolver: `ip netns exec` mounts /etc/netns/<NS>/resolv.conf over
// /etc/resolv.conf for the host's commands. The file and the directory
// named after the host's namespace (and /etc/netns, when this made it)
// are removed when the test ends.
func (h *Host) SetResolver(server string) {
	t := h.Lab.t
	t.Helper()
	if _, err := netip.ParseAddr(server); err != nil {
		t.Fatalf("SetResolver %q: not an address", server)
	}
	_, err := os.Stat("/etc/netns")
	created := os.IsNotExist(err)
	dir := filepath.Join("/etc/netns", h.NS)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		_ = os.RemoveAll(dir)
		if created {
			_ = os.Remove("/etc/netns") // only when empty
		}
	})
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte("nameserver "+server+"\n"), 0o644); err != nil {
		t.Fatalf("%v", err)
	}
}
