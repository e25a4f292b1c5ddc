package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// MDNSPort is the mDNS UDP port.
const MDNSPort = 5353

var (
	mdnsGroup4 = net.IPv4(224, 0, 0, 251)
	mdnsGroup6 = net.ParseIP("ff02::fb")
)

// mdnsConn sends mDNS queries and receives mDNS answers on the chosen
// interfaces, IPv4 and IPv6, over two pairs of sockets:
//
//   - shared sockets on port 5353, joined to the mDNS groups, shared with
//     any other responder or browser on the host (SO_REUSEADDR and
//     SO_REUSEPORT): they see every multicast answer, to anyone's query;
//   - sockets on an ephemeral port, whose queries are "legacy unicast"
//     (RFC 6762 section 6.7): responders answer them at once, directly,
//     and without the one-second limit on repeating a multicast answer, so
//     that back-to-back runs are as fast as the first.
type mdnsConn struct {
	ifaces  []net.Interface
	shared4 *ipv4.PacketConn
	shared6 *ipv6.PacketConn
	legacy4 *ipv4.PacketConn
	legacy6 *ipv6.PacketConn
}

// MulticastInterfaces returns the interfaces mDNS can use: up, multicast
// capable, not loopback, with at least one address. When names is not
// empty only those interfaces are considered (and loopback is allowed).
func MulticastInterfaces(names []string) ([]net.Interface, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
	}
	var out []net.Interface
	for _, ifi := range all {
		if len(names) > 0 && !slices.Contains(names, ifi.Name) {
			continue
		}
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagMulticast == 0 {
			continue
		}
		if len(names) == 0 && ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		if addrs, err := ifi.Addrs(); err != nil || len(addrs) == 0 {
			continue
		}
		out = append(out, ifi)
	}
	for _, n := range names {
		if !slices.ContainsFunc(out, func(i net.Interface) bool { return i.Name == n }) {
			return nil, fmt.Errorf("interface %q is not up or not multicast capable", n)
		}
	}
	return out, nil
}

// ListenMDNS binds a UDP socket ("udp4" or "udp6") on all addresses for
// mDNS: on port 5353 shared with other responders and browsers
// (SO_REUSEADDR, and SO_REUSEPORT where it exists), or on an ephemeral
// port when port is 0.
func ListenMDNS(ctx context.Context, network string, port int) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: reuseControl}
	addr := fmt.Sprintf("0.0.0.0:%d", port)
	if network == "udp6" {
		addr = fmt.Sprintf("[::]:%d", port)
	}
	pc, err := lc.ListenPacket(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// openMDNS opens the mDNS sockets on ifaces. It fails only when no socket
// at all can be opened.
func openMDNS(ctx context.Context, ifaces []net.Interface) (*mdnsConn, error) {
	if len(ifaces) == 0 {
		return nil, errors.New("no multicast-capable network interface is up")
	}
	m := &mdnsConn{ifaces: ifaces}
	var errs []error
	if u, err := ListenMDNS(ctx, "udp4", MDNSPort); err == nil {
		pc := ipv4.NewPacketConn(u)
		setup4(pc)
		if joinAll(pc.JoinGroup, ifaces, mdnsGroup4) > 0 {
			m.shared4 = pc
		} else {
			pc.Close()
			errs = append(errs, errors.New("udp4: could not join 224.0.0.251 on any interface"))
		}
	} else {
		errs = append(errs, fmt.Errorf("udp4 port %d: %w", MDNSPort, err))
	}
	if u, err := ListenMDNS(ctx, "udp6", MDNSPort); err == nil {
		pc := ipv6.NewPacketConn(u)
		setup6(pc)
		if joinAll(pc.JoinGroup, ifaces, mdnsGroup6) > 0 {
			m.shared6 = pc
		} else {
			pc.Close()
		}
	}
	if u, err := ListenMDNS(ctx, "udp4", 0); err == nil {
		m.legacy4 = ipv4.NewPacketConn(u)
		setup4(m.legacy4)
	} else {
		errs = append(errs, fmt.Errorf("udp4: %w", err))
	}
	if u, err := ListenMDNS(ctx, "udp6", 0); err == nil {
		m.legacy6 = ipv6.NewPacketConn(u)
		setup6(m.legacy6)
	}
	if m.shared4 == nil && m.shared6 == nil && m.legacy4 == nil && m.legacy6 == nil {
		return nil, fmt.Errorf("open mDNS socket: %w", errors.Join(errs...))
	}
	return m, nil
}

func setup4(pc *ipv4.PacketConn) {
	_ = pc.SetControlMessage(ipv4.FlagInterface, true)
	_ = pc.SetMulticastTTL(255)
	_ = pc.SetMulticastLoopback(true)
}

func setup6(pc *ipv6.PacketConn) {
	_ = pc.SetControlMessage(ipv6.FlagInterface, true)
	_ = pc.SetMulticastHopLimit(255)
	_ = pc.SetMulticastLoopback(true)
}

// joinAll joins group on every interface through join (an IPv4 or IPv6
// PacketConn's JoinGroup) and returns on how many it succeeded.
func joinAll(join func(*net.Interface, net.Addr) error, ifaces []net.Interface, group net.IP) int {
	n := 0
	for i := range ifaces {
		if join(&ifaces[i], &net.UDPAddr{IP: group}) == nil {
			n++
		}
	}
	return n
}

// close closes the sockets, which ends the read loops.
func (m *mdnsConn) close() {
	if m.shared4 != nil {
		m.shared4.Close()
	}
	if m.shared6 != nil {
		m.shared6.Close()
	}
	if m.legacy4 != nil {
		m.legacy4.Close()
	}
	if m.legacy6 != nil {
		m.legacy6.Close()
	}
}

// send multicasts a query on every interface, from the shared sockets and,
// asking for unicast answers, from the legacy ones.
func (m *mdnsConn) send(msg *dns.Msg) error {
	plain, err := msg.Pack()
	if err != nil {
		return err
	}
	qu := msg.Copy()
	for i := range qu.Question {
		qu.Question[i].Qclass |= 1 << 15 // QU: unicast response wanted
	}
	unicast, err := qu.Pack()
	if err != nil {
		return err
	}
	var sent int
	var lastErr error
	w4 := func(pc *ipv4.PacketConn, buf []byte, ifi net.Interface) {
		if pc == nil {
			return
		}
		cm := &ipv4.ControlMessage{IfIndex: ifi.Index}
		if _, err := pc.WriteTo(buf, cm, &net.UDPAddr{IP: mdnsGroup4, Port: MDNSPort}); err == nil {
			sent++
		} else {
			lastErr = err
		}
	}
	w6 := func(pc *ipv6.PacketConn, buf []byte, ifi net.Interface) {
		if pc == nil {
			return
		}
		cm := &ipv6.ControlMessage{IfIndex: ifi.Index}
		if _, err := pc.WriteTo(buf, cm, &net.UDPAddr{IP: mdnsGroup6, Port: MDNSPort, Zone: ifi.Name}); err == nil {
			sent++
		} else {
			lastErr = err
		}
	}
	for _, ifi := range m.ifaces {
		w4(m.shared4, plain, ifi)
		w4(m.legacy4, unicast, ifi)
		w6(m.shared6, plain, ifi)
		w6(m.legacy6, unicast, ifi)
	}
	if sent == 0 && lastErr != nil {
		return fmt.Errorf("send mDNS query: %w", lastErr)
	}
	return nil
}

// packet is one received mDNS message.
type packet struct {
	msg *dns.Msg
	// zone is the name of the interface it arrived on, for link-local
	// IPv6 addresses.
	zone string
}

// readLoop reads packets until the sockets are closed, delivering every
// response that parses. Malformed packets are dropped.
func (m *mdnsConn) readLoop(ctx context.Context, out chan<- packet) {
	zones := map[int]string{}
	for _, ifi := range m.ifaces {
		zones[ifi.Index] = ifi.Name
	}
	read := func(readFrom func([]byte) (int, int, error)) {
		buf := make([]byte, 9000)
		for {
			n, ifIndex, err := readFrom(buf)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			msg, err := parsePacket(buf[:n])
			if err != nil || msg == nil {
				continue
			}
			select {
			case out <- packet{msg: msg, zone: zones[ifIndex]}:
			case <-ctx.Done():
				return
			}
		}
	}
	for _, pc := range []*ipv4.PacketConn{m.shared4, m.legacy4} {
		if pc != nil {
			go read(func(b []byte) (int, int, error) {
				n, cm, _, err := pc.ReadFrom(b)
				if cm != nil {
					return n, cm.IfIndex, err
				}
				return n, 0, err
			})
		}
	}
	for _, pc := range []*ipv6.PacketConn{m.shared6, m.legacy6} {
		if pc != nil {
			go read(func(b []byte) (int, int, error) {
				n, cm, _, err := pc.ReadFrom(b)
				if cm != nil {
					return n, cm.IfIndex, err
				}
				return n, 0, err
			})
		}
	}
}

// parsePacket decodes an mDNS packet and returns it when it is a response.
func parsePacket(b []byte) (*dns.Msg, error) {
	msg := new(dns.Msg)
	if err := msg.Unpack(b); err != nil {
		return nil, err
	}
	if !msg.Response {
		return nil, nil
	}
	return msg, nil
}

// query builds an mDNS query with the given questions.
func query(qs ...dns.Question) *dns.Msg {
	m := new(dns.Msg)
	m.Id = 0
	m.RecursionDesired = false
	m.Question = qs
	return m
}
