package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"syscall"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// MDNSPort is the mDNS UDP port.
const MDNSPort = 5353

var (
	mdnsGroup4 = net.IPv4(224, 0, 0, 251)
	mdnsGroup6 = net.ParseIP("ff02::fb")
)

// mdnsConn sends mDNS queries and receives every mDNS packet on the
// chosen interfaces, IPv4 and IPv6. Its sockets share port 5353 with any
// other responder or browser on the host (SO_REUSEADDR/SO_REUSEPORT), so
// it sees the multicast answers to anyone's queries too.
type mdnsConn struct {
	ifaces []net.Interface
	c4     *ipv4.PacketConn
	c6     *ipv6.PacketConn
	// unicast is set when port 5353 could not be bound: queries then ask
	// for unicast answers to the ephemeral port.
	unicast bool
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

func reuseControl(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// listenMDNS binds a UDP socket for mDNS on port 5353 (shared), or on an
// ephemeral port when port is 0.
func listenMDNS(ctx context.Context, network string, port int) (*net.UDPConn, error) {
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

// openMDNS opens the mDNS sockets on ifaces.
func openMDNS(ctx context.Context, ifaces []net.Interface) (*mdnsConn, error) {
	if len(ifaces) == 0 {
		return nil, errors.New("no multicast-capable network interface is up")
	}
	m := &mdnsConn{ifaces: ifaces}
	var errs []error
	for _, port := range []int{MDNSPort, 0} {
		if u, err := listenMDNS(ctx, "udp4", port); err == nil {
			pc := ipv4.NewPacketConn(u)
			_ = pc.SetControlMessage(ipv4.FlagInterface, true)
			_ = pc.SetMulticastTTL(255)
			_ = pc.SetMulticastLoopback(true)
			joined := 0
			for i := range ifaces {
				if pc.JoinGroup(&ifaces[i], &net.UDPAddr{IP: mdnsGroup4}) == nil {
					joined++
				}
			}
			if joined > 0 || port == 0 {
				m.c4 = pc
			} else {
				pc.Close()
				errs = append(errs, errors.New("udp4: could not join 224.0.0.251 on any interface"))
			}
		} else {
			errs = append(errs, fmt.Errorf("udp4 port %d: %w", port, err))
		}
		if u, err := listenMDNS(ctx, "udp6", port); err == nil {
			pc := ipv6.NewPacketConn(u)
			_ = pc.SetControlMessage(ipv6.FlagInterface, true)
			_ = pc.SetMulticastHopLimit(255)
			_ = pc.SetMulticastLoopback(true)
			joined := 0
			for i := range ifaces {
				if pc.JoinGroup(&ifaces[i], &net.UDPAddr{IP: mdnsGroup6}) == nil {
					joined++
				}
			}
			if joined > 0 || port == 0 {
				m.c6 = pc
			} else {
				pc.Close()
			}
		}
		if m.c4 != nil || m.c6 != nil {
			m.unicast = port == 0
			return m, nil
		}
	}
	return nil, fmt.Errorf("open mDNS socket: %w", errors.Join(errs...))
}

// close closes the sockets, which ends the read loops.
func (m *mdnsConn) close() {
	if m.c4 != nil {
		m.c4.Close()
	}
	if m.c6 != nil {
		m.c6.Close()
	}
}

// send multicasts a query on every interface.
func (m *mdnsConn) send(msg *dns.Msg) error {
	if m.unicast {
		for i := range msg.Question {
			msg.Question[i].Qclass |= 1 << 15 // QU: unicast response wanted
		}
	}
	buf, err := msg.Pack()
	if err != nil {
		return err
	}
	var sent int
	var lastErr error
	for _, ifi := range m.ifaces {
		if m.c4 != nil {
			cm := &ipv4.ControlMessage{IfIndex: ifi.Index}
			if _, err := m.c4.WriteTo(buf, cm, &net.UDPAddr{IP: mdnsGroup4, Port: MDNSPort}); err == nil {
				sent++
			} else {
				lastErr = err
			}
		}
		if m.c6 != nil {
			cm := &ipv6.ControlMessage{IfIndex: ifi.Index}
			if _, err := m.c6.WriteTo(buf, cm, &net.UDPAddr{IP: mdnsGroup6, Port: MDNSPort, Zone: ifi.Name}); err == nil {
				sent++
			} else {
				lastErr = err
			}
		}
	}
	if sent == 0 && lastErr != nil {
		return fmt.Errorf("send mDNS query: %w", lastErr)
	}
	return nil
}

// packet is one received mDNS message.
type packet struct {
	msg *dns.Msg
}

// readLoop reads packets until the sockets are closed, delivering every
// response that parses. Malformed packets are dropped.
func (m *mdnsConn) readLoop(ctx context.Context, out chan<- packet) {
	read := func(readFrom func([]byte) (int, error)) {
		buf := make([]byte, 9000)
		for {
			n, err := readFrom(buf)
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
			case out <- packet{msg: msg}:
			case <-ctx.Done():
				return
			}
		}
	}
	if m.c4 != nil {
		go read(func(b []byte) (int, error) { n, _, _, err := m.c4.ReadFrom(b); return n, err })
	}
	if m.c6 != nil {
		go read(func(b []byte) (int, error) { n, _, _, err := m.c6.ReadFrom(b); return n, err })
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
