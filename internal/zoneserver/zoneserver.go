// Package zoneserver is a small authoritative DNS server for one zone,
// built on github.com/miekg/dns, for tests and labs that publish printers
// with unicast DNS-SD. It answers from the records of a zone file and
// adds to each answer the records a DNS-SD client asks for next (RFC 6763
// §12): the SRV and TXT records of the instances a PTR names, and the
// address records of the hosts an SRV names.
package zoneserver

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Server serves one zone over UDP and TCP on one address.
type Server struct {
	records map[key][]dns.RR
	udp     *dns.Server
	tcp     *dns.Server
	addr    string
	wg      sync.WaitGroup
}

type key struct {
	name  string
	rtype uint16
}

// parse reads a zone in RFC 1035 master file format; origin is the
// default origin ($ORIGIN may change it).
func parse(zone, origin string) (map[key][]dns.RR, error) {
	recs := map[key][]dns.RR{}
	zp := dns.NewZoneParser(strings.NewReader(zone), dns.Fqdn(origin), "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		k := key{strings.ToLower(h.Name), h.Rrtype}
		recs[k] = append(recs[k], rr)
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("zone: %w", err)
	}
	return recs, nil
}

// Start serves zone on addr ("host:port"; port 0 picks a free one, the
// same for UDP and TCP) until Close.
func Start(addr, zone, origin string) (*Server, error) {
	recs, err := parse(zone, origin)
	if err != nil {
		return nil, err
	}
	pc, l, err := listen(addr)
	if err != nil {
		return nil, err
	}
	s := &Server{records: recs, addr: pc.LocalAddr().String()}
	h := dns.HandlerFunc(s.serve)
	s.udp = &dns.Server{PacketConn: pc, Handler: h}
	s.tcp = &dns.Server{Listener: l, Handler: h}
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = srv.ActivateAndServe()
		}()
	}
	return s, nil
}

// listen opens UDP and TCP on the same port; with port 0 it tries free
// UDP ports until the TCP port of the same number is free too.
func listen(addr string) (net.PacketConn, net.Listener, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	for try := 0; ; try++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		if port != "0" || try == 20 {
			return nil, nil, err
		}
	}
}

// Addr is the "host:port" the server answers on.
func (s *Server) Addr() string { return s.addr }

// Close stops the server.
func (s *Server) Close() {
	_ = s.udp.ShutdownContext(context.Background())
	_ = s.tcp.ShutdownContext(context.Background())
	s.wg.Wait()
}

func (s *Server) lookup(name string, t uint16) []dns.RR {
	return s.records[key{strings.ToLower(dns.Fqdn(name)), t}]
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	m.Answer = append(m.Answer, s.lookup(q.Name, q.Qtype)...)
	if len(m.Answer) == 0 && !s.exists(q.Name) {
		m.Rcode = dns.RcodeNameError
	}
	var hosts []string
	for _, rr := range m.Answer {
		switch rr := rr.(type) {
		case *dns.PTR:
			for _, t := range []uint16{dns.TypeSRV, dns.TypeTXT} {
				m.Extra = append(m.Extra, s.lookup(rr.Ptr, t)...)
			}
			for _, srv := range s.lookup(rr.Ptr, dns.TypeSRV) {
				hosts = append(hosts, srv.(*dns.SRV).Target)
			}
		case *dns.SRV:
			hosts = append(hosts, rr.Target)
		}
	}
	for _, h := range hosts {
		m.Extra = append(m.Extra, s.lookup(h, dns.TypeA)...)
		m.Extra = append(m.Extra, s.lookup(h, dns.TypeAAAA)...)
	}
	if req.IsEdns0() != nil {
		m.SetEdns0(4096, false)
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if o := req.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// exists reports whether the zone has any record named name.
func (s *Server) exists(name string) bool {
	n := strings.ToLower(dns.Fqdn(name))
	for k := range s.records {
		if k.name == n {
			return true
		}
	}
	return false
}
