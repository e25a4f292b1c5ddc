package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/snmp"
)

// ErrNoPrinter is returned (wrapped) by ProbeHost when neither IPP nor SNMP
// answers at the address.
var ErrNoPrinter = errors.New("no printer answered")

// ProbeHost queries one printer directly at "addr[:port]" (port 631 when
// omitted), with no multicast: IPP first, then SNMP for what IPP did not
// tell (serial, levels) or when IPP does not answer. It returns an error
// wrapping ErrNoPrinter only when nothing answers; a printer that answers
// partly is returned with Problems.
func ProbeHost(ctx context.Context, hostport string, opts Options) (printer.Printer, error) {
	opts.defaults()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.Trim(hostport, "[]")
		if _, err := strconv.Atoi(host); host == "" || err == nil {
			return printer.Printer{}, fmt.Errorf("invalid address %q: want HOST or HOST:PORT", hostport)
		}
	}
	ictx, icancel := context.WithTimeout(ctx, opts.IPPTimeout)
	got, ipperr := opts.IPP.Probe(ictx, hostport)
	icancel()
	var p printer.Printer
	if ipperr == nil && got != nil {
		p = *got
		if p.Name == "" {
			p.Name = strings.TrimSpace(p.Make + " " + p.Model)
		}
		if len(p.Addrs) == 0 && p.Host == "" {
			p.Host = host
		}
		if needsSNMP(&p) {
			snmpFallback(ctx, opts, &p, host)
		}
		return p, nil
	}
	ippProblem := "IPP: " + describe(ipperr, hostport, opts.IPPTimeout)
	sctx, scancel := context.WithTimeout(ctx, opts.IPPTimeout)
	info, snmperr := opts.SNMP(sctx, host)
	scancel()
	if snmperr != nil {
		return printer.Printer{}, fmt.Errorf("%w at %s: %s; SNMP: %s", ErrNoPrinter, hostport, ippProblem,
			describe(snmperr, net.JoinHostPort(host, strconv.Itoa(snmp.DefaultPort)), opts.IPPTimeout))
	}
	p.Host = host
	if ip := net.ParseIP(host); ip != nil {
		p.Host = ""
		p.Addrs = []string{ip.String()}
	}
	p.Problems = append(p.Problems, ippProblem)
	mergeSNMP(&p, info)
	p.Name = strings.TrimSpace(p.Make + " " + p.Model)
	if p.Name == "" {
		p.Name = host
	}
	return p, nil
}
