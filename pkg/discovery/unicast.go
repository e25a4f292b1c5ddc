package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sync/errgroup"

	"github.com/arsctl/arsctl/pkg/printer"
)

// DefaultResolvConf is where the system's DNS resolvers are read from when
// Options.DNSServer is empty.
const DefaultResolvConf = "/etc/resolv.conf"

// ErrNoDNSServer is returned (wrapped) when no DNS server is configured.
var ErrNoDNSServer = errors.New("no DNS server to ask")

// BrowseDomain finds the printers published with DNS-SD in a unicast DNS
// domain (RFC 6763 §11): the PTR records of _ipp._tcp.<domain> and
// _ipps._tcp.<domain> (opts.Services) name service instances, whose SRV
// and TXT records give host, port and what the printer advertises, and
// whose host's A and AAAA records give its addresses. Records a server
// adds to an answer (RFC 6763 §12) are used without asking again.
//
// It asks opts.DNSServer, or the servers of opts.ResolvConf
// (DefaultResolvConf), within opts.Timeout. With opts.Enrich each printer
// is then asked for its model, serial and levels over IPP and SNMP, like
// Discover does. fn, when not nil, is called with each printer as it is
// complete, from one goroutine at a time. It returns the printers sorted
// by name; an error when no DNS server could be asked at all.
func BrowseDomain(ctx context.Context, domain string, opts Options, fn func(printer.Printer)) ([]printer.Printer, error) {
	opts.defaults()
	domain = strings.Trim(strings.TrimSpace(domain), ".")
	if _, ok := dns.IsDomainName(domain); !ok || domain == "" {
		return nil, fmt.Errorf("invalid DNS domain %q", domain)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	servers, err := dnsServers(opts)
	if err != nil {
		return nil, err
	}
	r := &unicastBrowser{servers: servers, domain: domain, cache: newCache(opts.Services, domain)}
	if err := r.browse(ctx, opts.Services, domain); err != nil {
		return nil, err
	}
	bases := domainPrinters(r.cache)
	out := make([]printer.Printer, len(bases))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, base := range bases {
		g.Go(func() error {
			p := base
			if opts.Enrich {
				p = enrich(gctx, opts, base)
			}
			mu.Lock()
			defer mu.Unlock()
			out[i] = p
			if fn != nil {
				fn(p)
			}
			return nil
		})
	}
	_ = g.Wait()
	slices.SortStableFunc(out, func(a, b printer.Printer) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// dnsServers returns the "host:port" of the DNS servers to ask.
func dnsServers(opts Options) ([]string, error) {
	if s := strings.TrimSpace(opts.DNSServer); s != "" {
		if _, _, err := net.SplitHostPort(s); err == nil {
			return []string{s}, nil
		}
		if _, err := netip.ParseAddr(strings.Trim(s, "[]")); err != nil && strings.ContainsAny(s, ":[]") {
			return nil, fmt.Errorf("invalid DNS server %q: want HOST or HOST:PORT", s)
		}
		return []string{net.JoinHostPort(strings.Trim(s, "[]"), "53")}, nil
	}
	path := opts.ResolvConf
	if path == "" {
		path = DefaultResolvConf
	}
	conf, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %w; give one with --dns-server", ErrNoDNSServer, path, err)
	}
	if len(conf.Servers) == 0 {
		return nil, fmt.Errorf("%w: %s names none; give one with --dns-server", ErrNoDNSServer, path)
	}
	out := make([]string, len(conf.Servers))
	for i, s := range conf.Servers {
		out[i] = net.JoinHostPort(s, conf.Port)
	}
	return out, nil
}

// unicastBrowser asks DNS servers for DNS-SD records and merges the
// answers in a cache.
type unicastBrowser struct {
	servers []string
	domain  string
	mu      sync.Mutex
	cache   *cache
	asked   int
}

// maxUnicastQueries bounds the queries of one BrowseDomain, whatever the
// records say.
const maxUnicastQueries = 4 * maxInstances

// browse asks for the services' PTR records, then for what the instances
// still lack, twice at most (a SRV answer may name a host whose
// addresses need a third query).
func (u *unicastBrowser) browse(ctx context.Context, services []string, domain string) error {
	var qs []dns.Question
	for _, s := range services {
		qs = append(qs, dns.Question{Name: dns.Fqdn(s + "." + domain), Qtype: dns.TypePTR, Qclass: dns.ClassINET})
	}
	answered, errs := u.ask(ctx, qs)
	if answered == 0 {
		return fmt.Errorf("DNS-SD browse of %s: no DNS server answered (%s): %w", domain, strings.Join(u.servers, ", "), errors.Join(errs...))
	}
	for range 3 {
		qs = u.missing()
		if len(qs) == 0 || ctx.Err() != nil {
			break
		}
		u.ask(ctx, qs)
	}
	return nil
}

// missing returns the questions for the SRV, TXT and address records the
// cache still lacks.
func (u *unicastBrowser) missing() []dns.Question {
	u.mu.Lock()
	defer u.mu.Unlock()
	var qs []dns.Question
	seenHost := map[string]bool{}
	for _, key := range u.cache.order {
		in := u.cache.instances[key]
		name := in.label + "." + in.service + "." + u.domain + "."
		if in.srv == nil {
			qs = append(qs, dns.Question{Name: name, Qtype: dns.TypeSRV, Qclass: dns.ClassINET})
		}
		if !in.hasTXT {
			qs = append(qs, dns.Question{Name: name, Qtype: dns.TypeTXT, Qclass: dns.ClassINET})
		}
		if in.srv != nil && len(u.cache.addrs[in.srv.target]) == 0 && !seenHost[in.srv.target] {
			seenHost[in.srv.target] = true
			qs = append(qs,
				dns.Question{Name: in.srv.target, Qtype: dns.TypeA, Qclass: dns.ClassINET},
				dns.Question{Name: in.srv.target, Qtype: dns.TypeAAAA, Qclass: dns.ClassINET})
		}
	}
	return qs
}

// ask sends the questions (16 at a time) and merges the answers. It
// returns how many were answered and the errors of the others.
func (u *unicastBrowser) ask(ctx context.Context, qs []dns.Question) (int, []error) {
	u.mu.Lock()
	if room := maxUnicastQueries - u.asked; len(qs) > room {
		qs = qs[:max(room, 0)]
	}
	u.asked += len(qs)
	u.mu.Unlock()
	var (
		mu       sync.Mutex
		answered int
		errs     []error
	)
	g := new(errgroup.Group)
	g.SetLimit(16)
	for _, q := range qs {
		g.Go(func() error {
			msg, err := u.exchange(ctx, q)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			answered++
			u.mu.Lock()
			u.cache.add(unicastAnswer(msg), "", time.Now())
			u.mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	return answered, errs
}

// exchange asks the servers in turn for one question, over UDP and, when
// the answer is truncated, over TCP.
func (u *unicastBrowser) exchange(ctx context.Context, q dns.Question) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.Id = dns.Id()
	m.RecursionDesired = true
	m.Question = []dns.Question{q}
	m.SetEdns0(4096, false)
	var errs []error
	for _, s := range u.servers {
		r, _, err := (&dns.Client{Net: "udp"}).ExchangeContext(ctx, m, s)
		if err == nil && r.Truncated {
			r, _, err = (&dns.Client{Net: "tcp"}).ExchangeContext(ctx, m, s)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		return r, nil
	}
	return nil, errors.Join(errs...)
}

// unicastAnswer prepares a unicast DNS answer for the cache, which was
// made for mDNS: a record with TTL 0 is valid in unicast DNS (do not
// cache), not a goodbye.
func unicastAnswer(msg *dns.Msg) *dns.Msg {
	if msg == nil || msg.Rcode != dns.RcodeSuccess {
		return nil
	}
	for _, sec := range [][]dns.RR{msg.Answer, msg.Ns, msg.Extra} {
		for _, rr := range sec {
			if rr.Header().Ttl == 0 {
				rr.Header().Ttl = 1
			}
		}
	}
	return msg
}

// domainPrinters builds one Printer per printer from the cache of a
// unicast browse: instances with the same TXT UUID, or else the same SRV
// target, are one printer.
func domainPrinters(c *cache) []printer.Printer {
	var groups [][]*instance
	keys := map[string]int{}
	for _, key := range c.order {
		in := c.instances[key]
		if in.srv == nil && !in.hasTXT {
			continue
		}
		k := ""
		if u := printer.ParseTXT(unescapeTXT(in.txt)).UUID; u != "" {
			k = "uuid:" + strings.ToLower(u)
		} else if in.srv != nil {
			k = "host:" + in.srv.target
		} else {
			k = "inst:" + key
		}
		i, ok := keys[k]
		if !ok {
			i = len(groups)
			keys[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], in)
	}
	out := make([]printer.Printer, 0, len(groups))
	for _, g := range groups {
		out = append(out, instancesPrinter(c, g, "dns-sd"))
	}
	return out
}
