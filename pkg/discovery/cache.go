package discovery

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Services browsed by default.
const (
	// ServiceIPP is IPP over plain HTTP.
	ServiceIPP = "_ipp._tcp"
	// ServiceIPPS is IPP over TLS.
	ServiceIPPS = "_ipps._tcp"
)

// Bounds on what one browse keeps, whatever the network sends.
const (
	maxInstances = 1024
	maxHosts     = 4096
)

// srvInfo is an SRV record's data.
type srvInfo struct {
	target string // lower-cased host name with trailing dot
	port   int
}

// instance is what is known about one service instance
// (e.g. `Canon\ TS8320\ series._ipp._tcp.local.`), merged over all the
// packets and records that mentioned it.
type instance struct {
	key       string // lower-cased FQDN
	label     string // raw instance label, presentation format
	service   string // "_ipp._tcp" or "_ipps._tcp"
	srv       *srvInfo
	txt       []string
	hasTXT    bool
	firstSeen time.Time
	changed   time.Time
	removed   bool
}

// cache merges mDNS records from any number of packets into per-instance
// state. Records may arrive in any order and in separate packets: a PTR
// first, the SRV and TXT later, the host's addresses later still.
// It is not safe for concurrent use.
type cache struct {
	services  map[string]string // lower-cased "_ipp._tcp.local." -> "_ipp._tcp"
	instances map[string]*instance
	addrs     map[string][]netip.Addr // lower-cased host FQDN -> addresses
	order     []string                // instance keys in order of appearance
}

func newCache(services []string, domain string) *cache {
	c := &cache{
		services:  map[string]string{},
		instances: map[string]*instance{},
		addrs:     map[string][]netip.Addr{},
	}
	for _, s := range services {
		c.services[strings.ToLower(dns.Fqdn(s+"."+domain))] = s
	}
	return c
}

// instanceFor returns the instance named by a record owner name, creating
// it when the name belongs to a browsed service.
func (c *cache) instanceFor(name string, now time.Time) *instance {
	key := strings.ToLower(name)
	if in, ok := c.instances[key]; ok {
		return in
	}
	label, svc, ok := splitInstance(name)
	if !ok || label == "" {
		return nil
	}
	service, ok := c.services[strings.ToLower(svc)]
	if !ok || len(c.instances) >= maxInstances {
		return nil
	}
	in := &instance{key: key, label: label, service: service, firstSeen: now, changed: now}
	c.instances[key] = in
	c.order = append(c.order, key)
	return in
}

// add merges the records of one mDNS response. It returns the keys of the
// instances whose state changed (including instances whose host got a new
// address).
func (c *cache) add(msg *dns.Msg, zone string, now time.Time) []string {
	if msg == nil || !msg.Response {
		return nil
	}
	var changed []string
	mark := func(in *instance) {
		in.changed = now
		if !slices.Contains(changed, in.key) {
			changed = append(changed, in.key)
		}
	}
	rrs := make([]dns.RR, 0, len(msg.Answer)+len(msg.Ns)+len(msg.Extra))
	rrs = append(rrs, msg.Answer...)
	rrs = append(rrs, msg.Ns...)
	rrs = append(rrs, msg.Extra...)
	var hostsChanged []string
	for _, rr := range rrs {
		h := rr.Header()
		switch rr := rr.(type) {
		case *dns.PTR:
			if _, ok := c.services[strings.ToLower(h.Name)]; !ok {
				continue
			}
			known := c.instances[strings.ToLower(rr.Ptr)] != nil
			in := c.instanceFor(rr.Ptr, now)
			if in == nil {
				continue
			}
			if !known {
				mark(in)
			}
			if h.Ttl == 0 {
				if !in.removed {
					in.removed = true
					mark(in)
				}
				continue
			}
			if in.removed {
				in.removed = false
				mark(in)
			}
		case *dns.SRV:
			in := c.instanceFor(h.Name, now)
			if in == nil || h.Ttl == 0 {
				continue
			}
			s := &srvInfo{target: strings.ToLower(dns.Fqdn(rr.Target)), port: int(rr.Port)}
			if in.srv == nil || *in.srv != *s {
				in.srv = s
				mark(in)
			}
		case *dns.TXT:
			in := c.instanceFor(h.Name, now)
			if in == nil || h.Ttl == 0 {
				continue
			}
			if !in.hasTXT || !slices.Equal(in.txt, rr.Txt) {
				in.txt = slices.Clone(rr.Txt)
				in.hasTXT = true
				mark(in)
			}
		case *dns.A:
			if c.addAddr(h.Name, rr.A, "", h.Ttl) {
				hostsChanged = append(hostsChanged, strings.ToLower(h.Name))
			}
		case *dns.AAAA:
			if c.addAddr(h.Name, rr.AAAA, zone, h.Ttl) {
				hostsChanged = append(hostsChanged, strings.ToLower(h.Name))
			}
		}
	}
	if len(hostsChanged) > 0 {
		for _, key := range c.order {
			in := c.instances[key]
			if in.srv != nil && slices.Contains(hostsChanged, in.srv.target) {
				mark(in)
			}
		}
	}
	return changed
}

// addAddr records an address of host (with zone, the interface it was
// seen on, when it is link-local IPv6); a zero TTL removes it. It reports
// whether anything changed.
func (c *cache) addAddr(host string, ip net.IP, zone string, ttl uint32) bool {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	a = a.Unmap()
	if a.Is6() && a.IsLinkLocalUnicast() && zone != "" {
		a = a.WithZone(zone)
	}
	host = strings.ToLower(host)
	cur := c.addrs[host]
	// The same address may be seen with and without its zone (zeroconf
	// entries carry none): keep one, with the zone.
	i := slices.IndexFunc(cur, func(x netip.Addr) bool { return x.WithZone("") == a.WithZone("") })
	if i >= 0 && ttl != 0 && cur[i].Zone() == "" && a.Zone() != "" {
		cur[i] = a
		return true
	}
	if ttl == 0 {
		if i < 0 {
			return false
		}
		c.addrs[host] = slices.Delete(cur, i, i+1)
		return true
	}
	if i >= 0 || len(cur) >= 16 || (cur == nil && len(c.addrs) >= maxHosts) {
		return false
	}
	c.addrs[host] = append(cur, a)
	return true
}

// hostAddrs returns the addresses of an instance's host, IPv4 first.
func (c *cache) hostAddrs(in *instance) []netip.Addr {
	if in.srv == nil {
		return nil
	}
	out := slices.Clone(c.addrs[in.srv.target])
	slices.SortStableFunc(out, func(a, b netip.Addr) int {
		switch {
		case a.Is4() && !b.Is4():
			return -1
		case !a.Is4() && b.Is4():
			return 1
		}
		return 0
	})
	return out
}

// missing says which parts of an instance are still unknown: "SRV",
// "TXT", "address". An empty result means the instance is complete.
func (c *cache) missing(in *instance) []string {
	var m []string
	if in.srv == nil {
		m = append(m, "SRV")
	}
	if !in.hasTXT {
		m = append(m, "TXT")
	}
	if in.srv != nil && len(c.addrs[in.srv.target]) == 0 {
		m = append(m, "address")
	}
	return m
}

// complete reports whether an instance has SRV target and port, TXT and an
// IPv4 address (an IPv6 address alone is usually link-local, and IPv4
// usually follows in the next packet).
func (c *cache) complete(in *instance) bool {
	return in.srv != nil && in.hasTXT && slices.ContainsFunc(c.addrs[in.srv.target], netip.Addr.Is4)
}

// usable reports whether an instance can be reported at all: it has an
// SRV record and an address of any family.
func (c *cache) usable(in *instance) bool {
	return in.srv != nil && len(c.addrs[in.srv.target]) > 0
}
