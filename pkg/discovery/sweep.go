package discovery

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/arsctl/arsctl/pkg/ipp"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/snmp"
)

// Defaults for SweepOptions. A /24 takes about 2.5 seconds at these
// settings (the rate bounds it: 254 addresses at 200 a second, plus one
// probe timeout for the last); they start at most DefaultSweepRate probes
// (one TCP connection attempt and one SNMP request, sent twice, each) a
// second, a load no network notices.
const (
	// DefaultSweepRate is how many addresses a sweep starts probing per
	// second.
	DefaultSweepRate = 200
	// DefaultSweepConcurrency is how many addresses a sweep probes at once.
	DefaultSweepConcurrency = 128
	// DefaultProbeTimeout is how long a sweep waits for an address to
	// accept a TCP connection on the IPP port or answer SNMP.
	DefaultProbeTimeout = time.Second
	// MaxSweep is the most addresses (a /16) a sweep probes unless
	// SweepOptions.AllowLarge is set.
	MaxSweep = 1 << 16
	// MaxLargeSweep is the most addresses (a /8, a day at the default
	// rate) a sweep probes even with SweepOptions.AllowLarge.
	MaxLargeSweep = 1 << 24
)

// Range is an inclusive range of IP addresses of one family.
type Range struct {
	// From and To are the first and last address; From <= To.
	From, To netip.Addr
}

// ParseRange parses a range to sweep: a CIDR prefix ("10.1.2.0/24"), two
// addresses joined by a dash ("10.1.2.10-10.1.2.60"), or one address.
// An IPv4 prefix of /30 or wider leaves out its network and broadcast
// addresses.
func ParseRange(s string) (Range, error) {
	s = strings.TrimSpace(s)
	if from, to, ok := strings.Cut(s, "-"); ok {
		a, err1 := netip.ParseAddr(strings.TrimSpace(from))
		b, err2 := netip.ParseAddr(strings.TrimSpace(to))
		if err1 != nil || err2 != nil {
			return Range{}, fmt.Errorf("invalid address range %q: want FIRST-LAST, e.g. 10.1.2.10-10.1.2.60", s)
		}
		a, b = a.Unmap(), b.Unmap()
		if a.Is4() != b.Is4() {
			return Range{}, fmt.Errorf("invalid address range %q: both ends must be IPv4 or both IPv6", s)
		}
		if b.Less(a) {
			return Range{}, fmt.Errorf("invalid address range %q: %s comes after %s", s, a, b)
		}
		if a.Zone() != "" || b.Zone() != "" {
			return Range{}, fmt.Errorf("invalid address range %q: addresses with a zone cannot be swept", s)
		}
		return Range{From: a, To: b}, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Range{}, fmt.Errorf("invalid subnet %q: want a CIDR prefix like 10.1.2.0/24 or a range FIRST-LAST", s)
		}
		p = p.Masked()
		r := Range{From: p.Addr(), To: lastAddr(p)}
		if p.Addr().Is4() && p.Bits() <= 30 {
			r.From, r.To = r.From.Next(), r.To.Prev()
		}
		return r, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return Range{}, fmt.Errorf("invalid subnet %q: want a CIDR prefix like 10.1.2.0/24, a range FIRST-LAST or an address", s)
	}
	return Range{From: a.Unmap(), To: a.Unmap()}, nil
}

// lastAddr returns the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// Size returns the number of addresses in the range, or MaxLargeSweep+1
// when there are more than MaxLargeSweep (an IPv6 prefix may hold 2^64).
func (r Range) Size() uint64 {
	from, to := new(big.Int).SetBytes(r.From.AsSlice()), new(big.Int).SetBytes(r.To.AsSlice())
	n := new(big.Int).Sub(to, from)
	n.Add(n, big.NewInt(1))
	if n.Sign() <= 0 {
		return 0
	}
	if !n.IsUint64() || n.Uint64() > MaxLargeSweep {
		return MaxLargeSweep + 1
	}
	return n.Uint64()
}

// String returns the range as FIRST-LAST, or one address.
func (r Range) String() string {
	if r.From == r.To {
		return r.From.String()
	}
	return r.From.String() + "-" + r.To.String()
}

// ErrRangeTooLarge is returned (wrapped) by Sweep when the ranges hold
// more than MaxSweep addresses and SweepOptions.AllowLarge is not set.
var ErrRangeTooLarge = errors.New("too many addresses to sweep")

// SweepOptions configures Sweep.
type SweepOptions struct {
	// Ranges are the addresses to probe. Nothing else is ever probed.
	Ranges []Range
	// AllowLarge allows sweeping more than MaxSweep addresses.
	AllowLarge bool
	// Rate is how many addresses are started per second;
	// DefaultSweepRate when zero.
	Rate float64
	// Concurrency is how many addresses are probed at once;
	// DefaultSweepConcurrency when zero.
	Concurrency int
	// ProbeTimeout bounds the first contact with an address: the TCP
	// connection to the IPP port and the first SNMP answer (sent twice
	// within it). DefaultProbeTimeout when zero.
	ProbeTimeout time.Duration
	// IPPTimeout bounds reading a printer that answered, over IPP and
	// over SNMP each; DefaultIPPTimeout when zero.
	IPPTimeout time.Duration
	// IPPPort is the port probed for IPP; 631 when zero.
	IPPPort int
	// SNMP holds the SNMP community or v3 credentials and port; its
	// Timeout and Retries are set from ProbeTimeout.
	SNMP snmp.Options
	// IPP is the IPP client; a new *ipp.Client when nil.
	IPP IPPClient
	// Progress, when not nil, is called after each address is done with
	// the number done and the total, from one goroutine at a time.
	Progress func(done, total int)
}

func (o *SweepOptions) defaults() {
	if o.Rate <= 0 {
		o.Rate = DefaultSweepRate
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultSweepConcurrency
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = DefaultProbeTimeout
	}
	if o.IPPTimeout <= 0 {
		o.IPPTimeout = DefaultIPPTimeout
	}
	if o.IPPPort <= 0 {
		o.IPPPort = 631
	}
	if o.IPP == nil {
		o.IPP = &ipp.Client{}
	}
}

// Validate checks the ranges' total size against MaxSweep (and
// MaxLargeSweep) and the SNMP
// credentials, so that a caller can refuse a sweep before starting it.
func (o *SweepOptions) Validate() error {
	if len(o.Ranges) == 0 {
		return errors.New("no address range to sweep")
	}
	var total uint64
	for _, r := range o.Ranges {
		total += r.Size()
	}
	if total > MaxLargeSweep {
		return fmt.Errorf("%w: %s holds more than %d addresses (a /8), more than any sweep probes", ErrRangeTooLarge, rangesString(o.Ranges), MaxLargeSweep)
	}
	if total > MaxSweep && !o.AllowLarge {
		return fmt.Errorf("%w: %s holds more than %d addresses (a /16)", ErrRangeTooLarge, rangesString(o.Ranges), MaxSweep)
	}
	if o.SNMP.V3 != nil {
		if err := o.SNMP.V3.Validate(); err != nil {
			return err
		}
	}
	return nil
}

func rangesString(rs []Range) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// Sweep probes every address of opts.Ranges for a printer, and only those:
// it tries a TCP connection to the IPP port and an SNMP request at once,
// then reads a printer that answers over IPP (model, UUID, supplies) and
// SNMP (serial, supplies). An address whose SNMP agent answers but is not
// a printer's (no hrDevicePrinter row, no Printer-MIB serial or supplies)
// and that does not speak IPP is skipped. At most opts.Rate addresses are
// started a second and opts.Concurrency are probed at once.
//
// fn, when not nil, is called with each printer as it answers, from one
// goroutine at a time. Sweep returns the printers found in address order;
// an error only when the options are invalid (see Validate) or ctx ended.
func Sweep(ctx context.Context, opts SweepOptions, fn func(printer.Printer)) ([]printer.Printer, error) {
	opts.defaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	total := 0
	for _, r := range opts.Ranges {
		total += int(r.Size())
	}
	addrs := make(chan netip.Addr)
	go func() {
		defer close(addrs)
		lim := rate.NewLimiter(rate.Limit(opts.Rate), max(1, min(opts.Concurrency, int(opts.Rate))))
		for _, r := range opts.Ranges {
			for a := r.From; a.IsValid() && !r.To.Less(a); a = a.Next() {
				if lim.Wait(ctx) != nil {
					return
				}
				select {
				case addrs <- a:
				case <-ctx.Done():
					return
				}
				if a == r.To {
					break
				}
			}
		}
	}()
	var (
		mu    sync.Mutex
		found = map[netip.Addr]printer.Printer{}
		done  int
		wg    sync.WaitGroup
	)
	for range min(opts.Concurrency, max(total, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range addrs {
				p, ok := probeAddr(ctx, opts, a)
				mu.Lock()
				done++
				if ok {
					found[a] = p
					if fn != nil {
						fn(p)
					}
				}
				if opts.Progress != nil {
					opts.Progress(done, total)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	out := make([]printer.Printer, 0, len(found))
	for _, r := range opts.Ranges {
		for a, p := range found {
			if !a.Less(r.From) && !r.To.Less(a) {
				out = append(out, p)
				delete(found, a)
			}
		}
	}
	sortByAddr(out)
	return out, ctx.Err()
}

// sortByAddr orders printers by their first address.
func sortByAddr(ps []printer.Printer) {
	key := func(p printer.Printer) netip.Addr {
		if len(p.Addrs) > 0 {
			if a, err := netip.ParseAddr(p.Addrs[0]); err == nil {
				return a
			}
		}
		return netip.Addr{}
	}
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && key(ps[j]).Less(key(ps[j-1])); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// probeAddr asks one address for a printer over IPP and SNMP at once.
func probeAddr(ctx context.Context, opts SweepOptions, a netip.Addr) (printer.Printer, bool) {
	host := a.String()
	hostport := net.JoinHostPort(host, strconv.Itoa(opts.IPPPort))
	type snmpResult struct {
		info *snmp.Info
		err  error
	}
	snmpc := make(chan snmpResult, 1)
	go func() {
		so := opts.SNMP
		// Two tries within ProbeTimeout: a dead address costs no more
		// than the TCP attempt, a lost datagram is sent again.
		so.Timeout, so.Retries = opts.ProbeTimeout/2, 1
		sctx, cancel := context.WithTimeout(ctx, opts.ProbeTimeout+opts.IPPTimeout)
		defer cancel()
		info, err := snmp.Query(sctx, host, so)
		snmpc <- snmpResult{info, err}
	}()

	var p printer.Printer
	ippOK := false
	d := net.Dialer{Timeout: opts.ProbeTimeout}
	if c, err := d.DialContext(ctx, "tcp", hostport); err == nil {
		c.Close()
		ictx, cancel := context.WithTimeout(ctx, opts.IPPTimeout)
		got, err := opts.IPP.Probe(ictx, hostport)
		cancel()
		if err == nil && got != nil {
			p, ippOK = *got, true
		}
	}
	s := <-snmpc
	if !ippOK && (s.err != nil || !s.info.IsPrinter()) {
		return printer.Printer{}, false
	}
	p.Host = ""
	p.Addrs = []string{host}
	if p.Port == 0 && ippOK {
		p.Port = opts.IPPPort
	}
	if !ippOK {
		p.Problems = append(p.Problems, "IPP: "+hostport+" does not answer IPP")
	}
	if s.err == nil {
		mergeSNMP(&p, s.info)
	} else if needsSNMP(&p) {
		p.Problems = append(p.Problems, "SNMP: "+describe(s.err, net.JoinHostPort(host, strconv.Itoa(snmpPort(opts.SNMP))), opts.ProbeTimeout))
	}
	if p.Name == "" {
		p.Name = strings.TrimSpace(p.Make + " " + p.Model)
	}
	if p.Name == "" {
		p.Name = host
	}
	return p, true
}

func snmpPort(o snmp.Options) int {
	if o.Port == 0 {
		return snmp.DefaultPort
	}
	return int(o.Port)
}
