// Package discovery finds IPP printers on the local network with mDNS /
// DNS-SD (_ipp._tcp and _ipps._tcp) and completes what they advertise with
// their own answers over IPP, falling back to SNMP.
//
// Discover browses with github.com/grandcat/zeroconf and, next to it,
// listens to every mDNS answer on the link itself: records that arrive in
// separate packets are merged per service instance, missing SRV, TXT and
// address records are asked for at once (zeroconf alone waits four
// seconds before asking again), and a printer seen over several services
// and addresses is reported once. Discover returns as soon as every
// printer seen is complete and the network has gone quiet.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arsctl/arsctl/pkg/ipp"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/snmp"
	"github.com/grandcat/zeroconf"
	"github.com/miekg/dns"
)

// Defaults for Options.
const (
	// DefaultTimeout bounds a whole Discover or ProbeHost run.
	DefaultTimeout = 5 * time.Second
	// DefaultIPPTimeout bounds one printer's IPP (and SNMP) query.
	DefaultIPPTimeout = 3 * time.Second
)

// IPPClient reads a printer's attributes over IPP; *ipp.Client is one.
type IPPClient interface {
	// GetPrinterAttributes queries the printer at an ipp:// or ipps:// URI.
	GetPrinterAttributes(ctx context.Context, uri string) (*printer.Printer, error)
	// Probe finds the IPP service at "host[:port]".
	Probe(ctx context.Context, hostport string) (*printer.Printer, error)
}

// SNMPFunc reads a printer's identity and supplies over SNMP from host (an
// IP address); snmp.Query with default options is used when nil.
type SNMPFunc func(ctx context.Context, host string) (*snmp.Info, error)

// Options configures Discover and ProbeHost.
type Options struct {
	// Timeout bounds the whole run; DefaultTimeout when zero. Discover
	// usually returns much earlier: once every printer seen is complete
	// and no new answer has arrived for Quiet.
	Timeout time.Duration
	// Services are the DNS-SD service types to browse; _ipp._tcp and
	// _ipps._tcp when empty.
	Services []string
	// Interfaces restricts mDNS to the named interfaces; all up,
	// multicast-capable, non-loopback interfaces when empty.
	Interfaces []string
	// Enrich asks every printer found for its model, serial and supply
	// levels over IPP, falling back to SNMP.
	Enrich bool
	// IPPTimeout bounds one printer's IPP query; DefaultIPPTimeout when
	// zero. The SNMP fallback gets the same budget.
	IPPTimeout time.Duration
	// IPP is the IPP client; a new *ipp.Client when nil.
	IPP IPPClient
	// SNMP reads the SNMP fallback; snmp.Query with SNMPOptions when nil.
	SNMP SNMPFunc
	// SNMPOptions holds the SNMP community or v3 credentials (and port)
	// of the SNMP fallback and of the sweep; their Timeout and Retries
	// are chosen by Discover.
	SNMPOptions snmp.Options
	// Quiet is how long no new record must have arrived before Discover
	// returns early; 250ms when zero.
	Quiet time.Duration
	// MinWait is the shortest browse when printers were found; 400ms when
	// zero.
	MinWait time.Duration
	// EmptyWait is how long Discover browses when no printer at all
	// answers; 2s (or Timeout when shorter) when zero.
	EmptyWait time.Duration

	// NoMDNS leaves out the mDNS browse: Discover then only sweeps
	// Sweep.Ranges and browses Domains.
	NoMDNS bool
	// Sweep, when it has Ranges, makes Discover also probe those
	// addresses with SNMP and IPP (see Sweep), which finds printers on
	// other subnets, beyond the reach of mDNS. The sweep is bounded by
	// the context, not by Timeout. Its IPP client defaults to IPP.
	Sweep SweepOptions
	// Domains are DNS domains in which Discover also browses for printers
	// published with unicast DNS-SD (see BrowseDomain).
	Domains []string
	// DNSServer is the "host[:port]" of the DNS server asked for Domains;
	// the servers of ResolvConf when empty.
	DNSServer string
	// ResolvConf is the resolver configuration read when DNSServer is
	// empty; DefaultResolvConf when empty.
	ResolvConf string
}

func (o *Options) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if len(o.Services) == 0 {
		o.Services = []string{ServiceIPP, ServiceIPPS}
	}
	if o.IPPTimeout <= 0 {
		o.IPPTimeout = DefaultIPPTimeout
	}
	if o.IPP == nil {
		o.IPP = &ipp.Client{}
	}
	if o.SNMP == nil {
		so := o.SNMPOptions
		so.Timeout, so.Retries = 700*time.Millisecond, 1
		o.SNMP = func(ctx context.Context, host string) (*snmp.Info, error) {
			return snmp.Query(ctx, host, so)
		}
	}
	if o.Quiet <= 0 {
		o.Quiet = 250 * time.Millisecond
	}
	if o.MinWait <= 0 {
		o.MinWait = 400 * time.Millisecond
	}
	if o.EmptyWait <= 0 {
		o.EmptyWait = 2 * time.Second
	}
}

// EventKind says what an Event reports.
type EventKind int

const (
	// Found: a printer was seen over mDNS; enrichment may still be running.
	Found EventKind = iota
	// Ready: the printer is as complete as it will get in this run.
	Ready
	// Updated: a printer already reported Ready changed (e.g. another of
	// its services or addresses was merged in).
	Updated
)

// String returns the kind in words: "found", "ready" or "updated".
func (k EventKind) String() string {
	switch k {
	case Found:
		return "found"
	case Ready:
		return "ready"
	case Updated:
		return "updated"
	}
	return "event-" + strconv.Itoa(int(k))
}

// Event reports progress of Discover.
type Event struct {
	Kind EventKind
	// ID identifies the printer within one Discover run.
	ID int
	// Printer is a copy of what is known now.
	Printer printer.Printer
}

// ErrNoMulticast is returned (wrapped) when no interface can do mDNS.
var ErrNoMulticast = errors.New("no usable multicast interface")

// device is one physical printer: the service instances that belong to it
// and what enrichment learned.
type device struct {
	id        int
	instances []*instance
	uuid      string
	host      string
	enriched  *printer.Printer // result of IPP/SNMP, nil until done
	ready     bool
	lastSent  string // fingerprint of the last event's printer
}

// Discover browses for printers until every printer seen is complete and
// the network has been quiet for opts.Quiet, or opts.Timeout passes, or
// ctx ends. fn, when not nil, is called from one goroutine for every
// Event as printers are found and completed. It returns every printer
// found, sorted by name; an error only when mDNS could not be used
// at all. Printers that answered only partly are returned with Problems.
//
// When opts.Sweep has Ranges or opts.Domains is set, Discover also sweeps
// those addresses and browses those domains, at the same time as mDNS
// (unless opts.NoMDNS), and reports a printer found in several ways
// once: results are merged when they have the same UUID or serial
// number. mDNS being unusable is then no error; the error reports a
// sweep or domain that could not be searched at all, next to the
// printers the other ways found.
func Discover(ctx context.Context, opts Options, fn func(Event)) ([]printer.Printer, error) {
	if len(opts.Sweep.Ranges) > 0 || len(opts.Domains) > 0 || opts.NoMDNS {
		return discoverAll(ctx, opts, fn)
	}
	return discoverMDNS(ctx, opts, fn)
}

// discoverMDNS is Discover with mDNS alone.
func discoverMDNS(ctx context.Context, opts Options, fn func(Event)) ([]printer.Printer, error) {
	opts.defaults()
	if fn == nil {
		fn = func(Event) {}
	}
	start := time.Now()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	ifaces, err := MulticastInterfaces(opts.Interfaces)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoMulticast, err)
	}
	if len(ifaces) == 0 {
		return nil, fmt.Errorf("%w: no network interface is up with multicast enabled", ErrNoMulticast)
	}
	conn, err := openMDNS(ctx, ifaces)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoMulticast, err)
	}
	defer conn.close()

	pkts := make(chan packet, 256)
	conn.readLoop(ctx, pkts)

	// zeroconf browses alongside; its entries are merged like packets.
	zc := make(chan *zeroconf.ServiceEntry, 64)
	var zcWG sync.WaitGroup
	for _, svc := range opts.Services {
		r, err := zeroconf.NewResolver(zeroconf.SelectIfaces(ifaces))
		if err != nil {
			continue // our own socket still browses
		}
		entries := make(chan *zeroconf.ServiceEntry)
		if err := r.Browse(ctx, svc, "local.", entries); err != nil {
			continue
		}
		zcWG.Add(1)
		go func() {
			defer zcWG.Done()
			for e := range entries {
				select {
				case zc <- e:
				case <-ctx.Done():
				}
			}
		}()
	}

	// Enrichment outlives the browse (which ends when ctx does) but not
	// the caller's cancellation or the overall timeout.
	enrichCtx, enrichCancel := context.WithDeadline(parent, start.Add(opts.Timeout))
	defer enrichCancel()
	r := newRun(enrichCtx, opts, conn, fn, start)

	r.browse()
	requery := []time.Duration{120 * time.Millisecond, 350 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case p := <-pkts:
			r.handle(p.msg, p.zone, time.Now())
		case e := <-zc:
			r.handle(entryMsg(e), "", time.Now())
		case res := <-r.results:
			r.enrichDone(res)
		case now := <-tick.C:
			if len(requery) > 0 && now.Sub(start) >= requery[0] {
				requery = requery[1:]
				r.browse()
			}
			if r.step(now) {
				break loop
			}
		}
	}
	// Time is up (or everything is done): report what is known. Running
	// enrichments end by the enrichment deadline.
	r.settle(time.Now().Add(time.Hour))
	for r.pending > 0 {
		res := <-r.results
		r.enrichDone(res)
	}
	cancel()
	zcWG.Wait()
	return r.printers(), nil
}

// sender sends mDNS queries; *mdnsConn is one.
type sender interface {
	send(*dns.Msg) error
}

func newRun(enrichCtx context.Context, opts Options, conn sender, fn func(Event), start time.Time) *run {
	return &run{
		opts:      opts,
		conn:      conn,
		cache:     newCache(opts.Services, "local"),
		fn:        fn,
		start:     start,
		enrichCtx: enrichCtx,
		results:   make(chan enrichResult, 16),
		follow:    map[string]*followUp{},
		byInst:    map[string]*device{},
	}
}

// step does the periodic work: report settled complete instances, ask
// for missing records, give up on stale ones. It reports whether
// discovery is done.
func (r *run) step(now time.Time) bool {
	r.attachComplete(now)
	r.followUps(now)
	r.settle(now)
	return r.done(now)
}

// followUp tracks targeted queries for one incomplete instance.
type followUp struct {
	attempts int
	last     time.Time
}

type enrichResult struct {
	dev *device
	p   printer.Printer
}

// run is the state of one Discover call; only its loop goroutine uses it.
type run struct {
	opts      Options
	conn      sender
	cache     *cache
	fn        func(Event)
	start     time.Time
	enrichCtx context.Context

	devices    []*device
	byInst     map[string]*device
	follow     map[string]*followUp
	lastChange time.Time
	pending    int
	results    chan enrichResult
}

// browse sends one PTR query for every service.
func (r *run) browse() {
	var qs []dns.Question
	for _, s := range r.opts.Services {
		qs = append(qs, dns.Question{Name: s + ".local.", Qtype: dns.TypePTR, Qclass: dns.ClassINET})
	}
	_ = r.conn.send(query(qs...))
}

// handle merges one mDNS response.
func (r *run) handle(msg *dns.Msg, zone string, now time.Time) {
	changed := r.cache.add(msg, zone, now)
	if len(changed) > 0 {
		r.lastChange = now
	}
	for _, key := range changed {
		if d := r.byInst[key]; d != nil && !r.cache.instances[key].removed {
			r.emitUpdate(d)
		}
	}
}

// settleDelay lets the other packets of a burst (an IPv4 answer after an
// IPv6 one, an announcement's second packet) arrive before a complete
// instance is reported and queried.
const settleDelay = 15 * time.Millisecond

// waitForIPP reports whether a complete _ipps._tcp instance should wait a
// little for its _ipp._tcp sibling (same name) to be reported: plain IPP is
// the faster and more widely working way to read the printer.
func (r *run) waitForIPP(in *instance, now time.Time) bool {
	if in.service != ServiceIPPS || now.Sub(in.firstSeen) >= 150*time.Millisecond {
		return false
	}
	for _, key := range r.cache.order {
		o := r.cache.instances[key]
		if o.service == ServiceIPP && o.label == in.label && !o.removed && r.byInst[key] == nil {
			return true
		}
	}
	return false
}

// siblingWait is how long an incomplete sibling service is given to
// complete before it is merged into its printer as it is.
const siblingWait = 250 * time.Millisecond

// attachComplete reports complete instances that have not changed for
// settleDelay.
func (r *run) attachComplete(now time.Time) {
	for _, key := range r.cache.order {
		in := r.cache.instances[key]
		if in.removed || r.byInst[key] != nil || now.Sub(in.changed) < settleDelay {
			continue
		}
		if r.cache.complete(in) {
			if !r.waitForIPP(in, now) {
				r.attach(in)
			}
			continue
		}
		// A sibling service of a printer already found (same host) needs
		// no more than an address to be merged into it.
		if in.srv != nil && r.cache.usable(in) && now.Sub(in.firstSeen) >= siblingWait &&
			slices.ContainsFunc(r.devices, func(d *device) bool { return d.host == in.srv.target }) {
			r.attach(in)
		}
	}
}

// followUpDelay is how long an instance may stay incomplete before its
// missing records are asked for, then the gap between further attempts.
var followUpDelay = []time.Duration{20 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}

// followUps asks for the missing records of incomplete instances.
func (r *run) followUps(now time.Time) {
	var qs []dns.Question
	for _, key := range r.cache.order {
		in := r.cache.instances[key]
		if in.removed || r.byInst[key] != nil || r.cache.complete(in) {
			continue
		}
		f := r.follow[key]
		if f == nil {
			f = &followUp{last: in.firstSeen}
			r.follow[key] = f
		}
		if f.attempts >= len(followUpDelay) || now.Sub(f.last) < followUpDelay[f.attempts] {
			continue
		}
		f.attempts++
		f.last = now
		name := in.label + "." + in.service + ".local."
		if in.srv == nil {
			qs = append(qs, dns.Question{Name: name, Qtype: dns.TypeSRV, Qclass: dns.ClassINET})
		}
		if !in.hasTXT {
			qs = append(qs, dns.Question{Name: name, Qtype: dns.TypeTXT, Qclass: dns.ClassINET})
		}
		if in.srv != nil && !slices.ContainsFunc(r.cache.addrs[in.srv.target], netip.Addr.Is4) {
			qs = append(qs,
				dns.Question{Name: in.srv.target, Qtype: dns.TypeA, Qclass: dns.ClassINET},
				dns.Question{Name: in.srv.target, Qtype: dns.TypeAAAA, Qclass: dns.ClassINET})
		}
	}
	for len(qs) > 0 {
		n := min(len(qs), 24)
		_ = r.conn.send(query(qs[:n]...))
		qs = qs[n:]
	}
}

// giveUpAfter is how long an instance may stay incomplete before it is
// reported with what is known.
const giveUpAfter = 1200 * time.Millisecond

// settle attaches instances that stayed incomplete too long, so they are
// listed with what is known.
func (r *run) settle(now time.Time) {
	for _, key := range r.cache.order {
		in := r.cache.instances[key]
		if in.removed || r.byInst[key] != nil {
			continue
		}
		if now.Sub(in.firstSeen) >= giveUpAfter {
			r.attach(in)
		}
	}
}

// done reports whether Discover can return: every instance is attached to
// a device, every device is ready, and nothing changed for Quiet.
func (r *run) done(now time.Time) bool {
	elapsed := now.Sub(r.start)
	if len(r.cache.instances) == 0 {
		return elapsed >= min(r.opts.EmptyWait, r.opts.Timeout)
	}
	if elapsed < r.opts.MinWait || now.Sub(r.lastChange) < r.opts.Quiet || r.pending > 0 {
		return false
	}
	for key, in := range r.cache.instances {
		if !in.removed && r.byInst[key] == nil {
			return false
		}
	}
	for _, d := range r.devices {
		if !d.ready && d.live() {
			return false
		}
	}
	return true
}

// live reports whether any of the device's instances is still advertised.
func (d *device) live() bool {
	return slices.ContainsFunc(d.instances, func(in *instance) bool { return !in.removed })
}

// attach assigns an instance to the device it belongs to (same UUID, or
// same host when either lacks a UUID) or to a new device, and starts
// enrichment of new devices.
func (r *run) attach(in *instance) {
	uuid := printer.ParseTXT(unescapeTXT(in.txt)).UUID
	host := ""
	if in.srv != nil {
		host = in.srv.target
	}
	var d *device
	for _, cand := range r.devices {
		if uuid != "" && cand.uuid != "" {
			if uuid == cand.uuid {
				d = cand
				break
			}
			continue
		}
		if host != "" && host == cand.host {
			d = cand
			break
		}
	}
	isNew := d == nil
	if isNew {
		d = &device{id: len(r.devices) + 1, uuid: uuid, host: host}
		r.devices = append(r.devices, d)
	}
	if d.uuid == "" {
		d.uuid = uuid
	}
	if d.host == "" {
		d.host = host
	}
	d.instances = append(d.instances, in)
	r.byInst[in.key] = d
	if isNew {
		r.emit(Found, d)
		r.startEnrich(d)
		return
	}
	r.emitUpdate(d)
}

// emitUpdate reports a change of a device already reported Ready.
func (r *run) emitUpdate(d *device) {
	if d.ready {
		r.emit(Updated, d)
	}
}

func (r *run) emit(kind EventKind, d *device) {
	p := r.printerOf(d)
	fp := fmt.Sprintf("%v", p)
	if kind == Updated && fp == d.lastSent {
		return
	}
	d.lastSent = fp
	r.fn(Event{Kind: kind, ID: d.id, Printer: p})
}

// startEnrich queries a device over IPP (and SNMP) in the background, or
// marks it ready at once when enrichment is off.
func (r *run) startEnrich(d *device) {
	if !r.opts.Enrich {
		d.ready = true
		r.emit(Ready, d)
		return
	}
	base := r.mdnsPrinter(d)
	if r.enrichCtx.Err() != nil {
		base.Problems = append(base.Problems, "IPP: not queried: the time limit was reached")
		d.enriched = &base
		d.ready = true
		r.emit(Ready, d)
		return
	}
	r.pending++
	go func() {
		p := enrich(r.enrichCtx, r.opts, base)
		r.results <- enrichResult{dev: d, p: p}
	}()
}

func (r *run) enrichDone(res enrichResult) {
	r.pending--
	d := res.dev
	d.enriched = &res.p
	// Another device may turn out to be the same printer (its TXT lacked
	// the UUID IPP now reports): merge into the earlier one.
	if other := r.sameAs(d); other != nil {
		other.instances = append(other.instances, d.instances...)
		for _, in := range d.instances {
			r.byInst[in.key] = other
		}
		other.enriched.Merge(res.p) // sameAs only answers enriched devices
		r.devices = slices.DeleteFunc(r.devices, func(x *device) bool { return x == d })
		r.emitUpdate(other)
		return
	}
	d.ready = true
	r.emit(Ready, d)
}

// sameAs returns an earlier ready, enriched device that enrichment shows
// to be the same printer as d (whose enrichment is done).
func (r *run) sameAs(d *device) *device {
	key := d.enriched.Key()
	if key == "" || strings.HasPrefix(key, "addr:") {
		return nil
	}
	for _, o := range r.devices {
		if o == d || !o.ready || o.enriched == nil {
			continue
		}
		if o.enriched.Key() == key {
			return o
		}
	}
	return nil
}

// printers returns the final list, sorted by name, then address.
func (r *run) printers() []printer.Printer {
	out := make([]printer.Printer, 0, len(r.devices))
	for _, d := range r.devices {
		if !d.live() {
			continue
		}
		out = append(out, r.printerOf(d))
	}
	slices.SortStableFunc(out, func(a, b printer.Printer) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(strings.Join(a.Addrs, ","), strings.Join(b.Addrs, ","))
	})
	return out
}

// printerOf returns what is known of a device now.
func (r *run) printerOf(d *device) printer.Printer {
	p := r.mdnsPrinter(d)
	if d.enriched != nil {
		e := *d.enriched
		e.Name = p.Name
		e.Merge(p)
		// mDNS may have added addresses since enrichment.
		p = e
	}
	return p // Merge keeps Addrs sorted
}

// mdnsPrinter builds a Printer from a device's mDNS records.
func (r *run) mdnsPrinter(d *device) printer.Printer {
	return instancesPrinter(r.cache, d.instances, "mdns")
}

// instancesPrinter builds a Printer from the DNS-SD records of the
// service instances of one printer; source ("mdns" or "dns-sd") names
// where they came from.
func instancesPrinter(c *cache, instances []*instance, source string) printer.Printer {
	var p printer.Printer
	// Prefer the _ipp._tcp instance for the URI: plain IPP answers fastest.
	ins := slices.Clone(instances)
	slices.SortStableFunc(ins, func(a, b *instance) int {
		return strings.Compare(a.service, b.service)
	})
	for _, in := range ins {
		if in.removed {
			continue
		}
		var q printer.Printer
		q.Name = UnescapeInstance(in.label)
		txt := printer.ParseTXT(unescapeTXT(in.txt))
		if in.hasTXT {
			q = txt.Printer()
			q.Name = UnescapeInstance(in.label)
		}
		q.Sources = []string{source}
		addrs := c.hostAddrs(in)
		for _, a := range addrs {
			q.Addrs = append(q.Addrs, a.String())
		}
		if in.srv != nil {
			q.Host = strings.TrimSuffix(in.srv.target, ".")
			q.Port = in.srv.port
			if len(addrs) > 0 {
				q.URI = serviceURI(in.service, addrs[0], in.srv.port, txt.RP)
			}
		}
		if m := c.missing(in); len(m) > 0 {
			if source == "mdns" {
				q.Problems = append(q.Problems, fmt.Sprintf("mDNS: no %s record for %q (%s) after %s",
					strings.Join(m, ", "), q.Name, in.service, giveUpAfter))
			} else {
				q.Problems = append(q.Problems, fmt.Sprintf("DNS: no %s record for %q (%s)",
					strings.Join(m, ", "), q.Name, in.service))
			}
		}
		p.Merge(q)
	}
	if p.Name == "" && len(instances) > 0 {
		p.Name = UnescapeInstance(instances[0].label)
	}
	return p
}

// serviceURI returns the IPP URI of a service instance at an address. A
// link-local IPv6 address carries its zone, escaped as RFC 6874 says.
func serviceURI(service string, addr netip.Addr, port int, rp string) string {
	scheme := "ipp"
	if service == ServiceIPPS {
		scheme = "ipps"
	}
	host := strings.Replace(addr.String(), "%", "%25", 1)
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/" + strings.TrimLeft(rp, "/")
}

// entryMsg turns a zeroconf entry into the records it was built from.
func entryMsg(e *zeroconf.ServiceEntry) *dns.Msg {
	m := new(dns.Msg)
	m.Response = true
	if e == nil || e.Instance == "" {
		return m
	}
	svc := strings.Trim(e.Service, ".") + "." + strings.Trim(e.Domain, ".") + "."
	name := e.Instance + "." + svc
	hdr := func(n string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: n, Rrtype: t, Class: dns.ClassINET, Ttl: max(e.TTL, 1)}
	}
	m.Answer = append(m.Answer, &dns.PTR{Hdr: hdr(svc, dns.TypePTR), Ptr: name})
	if e.HostName != "" {
		m.Answer = append(m.Answer, &dns.SRV{Hdr: hdr(name, dns.TypeSRV), Target: e.HostName, Port: uint16(e.Port)})
		for _, a := range e.AddrIPv4 {
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr(e.HostName, dns.TypeA), A: a})
		}
		for _, a := range e.AddrIPv6 {
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr(e.HostName, dns.TypeAAAA), AAAA: a})
		}
	}
	if e.Text != nil {
		m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr(name, dns.TypeTXT), Txt: e.Text})
	}
	return m
}
