package printersim

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/grandcat/zeroconf"
)

// MDNSConfig says where and how to advertise a simulated printer.
type MDNSConfig struct {
	// Interfaces are the interface names to advertise on, e.g. ["veth-p1"].
	// Required: advertising on every interface is refused, so that tests
	// never send multicast on the machine's real network.
	Interfaces []string
	// Host is the host name without ".local", default derived from the
	// model and serial, e.g. "Canon-TS8320-01234".
	Host string
	// TXT replaces the TXT record (for malformed-record tests); default
	// TXT(false) for _ipp._tcp and TXT(true) for _ipps._tcp.
	TXT []string
}

// TXT returns the DNS-SD TXT record a Canon PIXMA advertises for
// _ipp._tcp (tls false) or _ipps._tcp (tls true).
func (p *Printer) TXT(tls bool) []string {
	c := p.cfg
	host := p.addr
	if _, port, err := net.SplitHostPort(p.addr); err == nil && p.mdnsHost() != "" {
		host = p.mdnsHost() + ".local.:" + port
	}
	txt := []string{
		"txtvers=1",
		"qtotal=1",
		"rp=" + strings.TrimPrefix(c.Path, "/"),
		"ty=" + c.Make + " " + c.Model,
		"product=(" + c.Make + " " + c.Model + ")",
		"usb_MFG=" + c.Make,
		"usb_MDL=" + c.Model,
		"pdl=application/octet-stream,image/urf,image/pwg-raster,image/jpeg",
		"UUID=" + c.UUID,
		"adminurl=http://" + host + "/index.html",
		"note=",
		"priority=50",
		"Color=T",
		"Duplex=T",
		"URF=CP1,IS1-5-7,MT1-3-5-8-10-11-12,OB10,PQ4-5,RS300-600,SRGB24,W8,DM3,OFU0",
		"mopria-certified=2.0",
		"kind=document,envelope,photo,postcard",
		"PaperMax=legal-A4",
		"printer-state=3",
		"printer-type=0x80901E",
	}
	if tls {
		txt = append(txt, "TLS=1.2")
	}
	return txt
}

func (p *Printer) mdnsHost() string {
	s := p.cfg.Serial
	if len(s) > 5 {
		s = s[len(s)-5:]
	}
	h := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			return r
		case r == ' ':
			return '-'
		}
		return -1
	}, p.cfg.Make+"-"+strings.TrimSuffix(p.cfg.Model, " series")+"-"+s)
	return h
}

// Advertise announces the printer over mDNS as _ipp._tcp (and _ipps._tcp
// when it serves TLS) on the given interfaces only, until StopAdvertising
// or Close. Call it after Start. Use it only inside a network namespace.
func (p *Printer) Advertise(cfg MDNSConfig) error {
	if len(cfg.Interfaces) == 0 {
		return errors.New("printersim: mDNS needs explicit interfaces (never advertise on the host's network)")
	}
	if p.addr == "" {
		return errors.New("printersim: Advertise before Start")
	}
	var ifaces []net.Interface
	var ips []string
	for _, name := range cfg.Interfaces {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return fmt.Errorf("printersim: interface %s: %w", name, err)
		}
		ifaces = append(ifaces, *ifi)
		addrs, err := ifi.Addrs()
		if err != nil {
			return fmt.Errorf("printersim: interface %s: %w", name, err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
				ips = append(ips, n.IP.String())
			}
		}
	}
	if len(ips) == 0 {
		return fmt.Errorf("printersim: no address to advertise on %v", cfg.Interfaces)
	}
	host := cfg.Host
	if host == "" {
		host = p.mdnsHost()
	}
	services := []struct {
		svc string
		tls bool
	}{{"_ipp._tcp", false}}
	if p.cfg.TLS {
		services = append(services, struct {
			svc string
			tls bool
		}{"_ipps._tcp", true})
	}
	p.mdnsMu.Lock()
	defer p.mdnsMu.Unlock()
	for _, s := range services {
		txt := cfg.TXT
		if txt == nil {
			txt = p.TXT(s.tls)
		}
		srv, err := zeroconf.RegisterProxy(p.cfg.Name, s.svc, "local.", p.Port(), host, ips, txt, ifaces)
		if err != nil {
			for _, m := range p.mdns {
				m.Shutdown()
			}
			p.mdns = nil
			return fmt.Errorf("printersim: mDNS register %s: %w", s.svc, err)
		}
		p.mdns = append(p.mdns, srv)
	}
	return nil
}

// StopAdvertising withdraws the mDNS adverts (sending goodbye packets).
func (p *Printer) StopAdvertising() {
	p.mdnsMu.Lock()
	defer p.mdnsMu.Unlock()
	for _, m := range p.mdns {
		m.Shutdown()
	}
	p.mdns = nil
}
