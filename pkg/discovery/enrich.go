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
	"time"

	"github.com/arsctl/arsctl/pkg/ipp"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/snmp"
)

// enrich completes a printer seen over mDNS with its IPP answer and, when
// that lacks a serial number or supply levels, with SNMP. It never fails:
// what could not be read is described in Problems.
func enrich(ctx context.Context, opts Options, base printer.Printer) printer.Printer {
	p := base
	if base.URI == "" {
		p.Problems = append(p.Problems, "IPP: not queried: the printer's address is unknown")
		return p
	}
	ictx, cancel := context.WithTimeout(ctx, opts.IPPTimeout)
	got, err := opts.IPP.GetPrinterAttributes(ictx, base.URI)
	if rest, ok := strings.CutPrefix(base.URI, "ipps://"); ok && err != nil && ictx.Err() == nil {
		// Printers that advertise IPPS also serve plain IPP on the same
		// port almost always; a failed TLS handshake need not hide them.
		if g, err2 := opts.IPP.GetPrinterAttributes(ictx, "ipp://"+rest); err2 == nil {
			got, err = g, nil
		}
	}
	cancel()
	switch {
	case err != nil && ctx.Err() != nil:
		p.Problems = append(p.Problems, fmt.Sprintf("IPP: no answer from %s before the time limit", hostOf(base.URI)))
	case err != nil:
		p.Problems = append(p.Problems, "IPP: "+describe(err, hostOf(base.URI), opts.IPPTimeout))
	default:
		mergeIPP(&p, got)
	}
	if needsSNMP(&p) && ctx.Err() == nil {
		if host := snmpHost(&p); host != "" {
			snmpFallback(ctx, opts, &p, host)
		}
	}
	return p
}

// mergeIPP fills p with a printer's IPP answer, which is more precise than
// its mDNS advertisement for make, model and UUID.
func mergeIPP(p *printer.Printer, got *printer.Printer) {
	if got == nil {
		return
	}
	g := *got
	// Keep the mDNS name, URI (service URI) and addresses; take identity
	// from IPP.
	g.Name = ""
	if g.Make != "" {
		p.Make = g.Make
	}
	if g.Model != "" {
		p.Model = g.Model
	}
	if g.UUID != "" {
		p.UUID = g.UUID
	}
	p.Merge(g)
}

// needsSNMP reports whether the IPP answer lacks a serial or levels.
func needsSNMP(p *printer.Printer) bool {
	return p.Serial == "" || !slices.ContainsFunc(p.Supplies, printer.Supply.Known)
}

// snmpFallback reads serial, model and supplies over SNMP for what IPP did
// not give.
func snmpFallback(ctx context.Context, opts Options, p *printer.Printer, host string) {
	sctx, cancel := context.WithTimeout(ctx, opts.IPPTimeout)
	defer cancel()
	info, err := opts.SNMP(sctx, host)
	if err != nil {
		what := "serial number"
		if p.Serial != "" {
			what = "supply levels"
		}
		p.Problems = append(p.Problems, fmt.Sprintf("SNMP: %s (needed for the %s)",
			describe(err, net.JoinHostPort(host, strconv.Itoa(snmp.DefaultPort)), opts.IPPTimeout), what))
		return
	}
	mergeSNMP(p, info)
}

// mergeSNMP fills the gaps of p from an SNMP answer.
func mergeSNMP(p *printer.Printer, info *snmp.Info) {
	if info == nil {
		return
	}
	used := false
	if p.Serial == "" && info.Serial != "" {
		p.Serial = info.Serial
		used = true
	}
	if p.Make == "" || p.Model == "" {
		mk, model := info.MakeModel()
		if p.Make == "" && mk != "" {
			p.Make, used = mk, true
		}
		if p.Model == "" && model != "" {
			p.Model, used = model, true
		}
	}
	if !slices.ContainsFunc(p.Supplies, printer.Supply.Known) && len(info.Supplies) > 0 {
		p.Supplies = info.Supplies
		now := time.Now().UTC()
		p.LevelsReadAt = &now
		used = true
	}
	if used {
		p.Sources = append(p.Sources, "snmp")
	}
}

// snmpHost picks the address to ask over SNMP.
func snmpHost(p *printer.Printer) string {
	for _, a := range p.Addrs {
		if ip, err := netip.ParseAddr(a); err == nil && !(ip.Is6() && ip.IsLinkLocalUnicast()) {
			return ip.String()
		}
	}
	return ""
}

// hostOf returns the host:port of an URI.
func hostOf(uri string) string {
	_, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return uri
	}
	hp, _, _ := strings.Cut(rest, "/")
	return hp
}

// describe turns an error into words a person can act on.
func describe(err error, addr string, timeout time.Duration) string {
	// *ipp.Error repeats the address; addr says it already.
	var ierr *ipp.Error
	if errors.As(err, &ierr) && ierr.Err != nil {
		err = ierr.Err
	}
	var nerr net.Error
	switch {
	case strings.Contains(err.Error(), "connection refused"):
		return fmt.Sprintf("%s refused the connection", addr)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout():
		return fmt.Sprintf("no answer from %s within %s", addr, timeout.Round(time.Millisecond))
	case errors.Is(err, snmp.ErrNoAnswer):
		return fmt.Sprintf("no answer from %s", addr)
	}
	return err.Error()
}
