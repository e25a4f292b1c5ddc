package discovery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/arsctl/arsctl/pkg/printer"
)

// discoverAll runs mDNS, the sweep and the domain browses at once and
// merges what they find.
func discoverAll(ctx context.Context, opts Options, fn func(Event)) ([]printer.Printer, error) {
	if fn == nil {
		fn = func(Event) {}
	}
	if opts.NoMDNS && len(opts.Sweep.Ranges) == 0 && len(opts.Domains) == 0 {
		return nil, errors.New("nothing to search: mDNS is off and no subnet or domain was given")
	}
	sweep := opts.Sweep
	if len(sweep.Ranges) > 0 {
		if err := sweep.Validate(); err != nil {
			return nil, err
		}
		if sweep.IPP == nil {
			sweep.IPP = opts.IPP
		}
		if sweep.SNMP.Community == "" && sweep.SNMP.V3 == nil && sweep.SNMP.Port == 0 {
			sweep.SNMP = opts.SNMPOptions
		}
	}
	type result struct {
		part  string // "mdns:ID", "sweep:ADDR", "dns-sd:DOMAIN:N"
		ready bool
		p     printer.Printer
		err   error
		done  bool
	}
	ch := make(chan result)
	var wg sync.WaitGroup
	// The merge loop below reads until every source is done.
	send := func(r result) { ch <- r }
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(result{err: f(), done: true})
		}()
	}
	if !opts.NoMDNS {
		run(func() error {
			_, err := discoverMDNS(ctx, opts, func(e Event) {
				send(result{part: fmt.Sprintf("mdns:%d", e.ID), ready: e.Kind != Found, p: e.Printer})
			})
			if errors.Is(err, ErrNoMulticast) {
				return nil // the other ways still search
			}
			return err
		})
	}
	if len(sweep.Ranges) > 0 {
		run(func() error {
			_, err := Sweep(ctx, sweep, func(p printer.Printer) {
				send(result{part: "sweep:" + strings.Join(p.Addrs, ","), ready: true, p: p})
			})
			return err
		})
	}
	for _, d := range opts.Domains {
		run(func() error {
			n := 0
			_, err := BrowseDomain(ctx, d, opts, func(p printer.Printer) {
				n++
				send(result{part: fmt.Sprintf("dns-sd:%s:%d", d, n), ready: true, p: p})
			})
			return err
		})
	}
	go func() {
		wg.Wait()
		close(ch)
	}()
	m := &merger{fn: fn}
	var errs []error
	for r := range ch {
		if r.done {
			if r.err != nil {
				errs = append(errs, r.err)
			}
			continue
		}
		m.add(r.part, r.ready, r.p)
	}
	return m.printers(), errors.Join(errs...)
}

// merged is one printer as found by one or more ways.
type merged struct {
	id    int
	parts map[string]printer.Printer // by source part, e.g. "mdns:3"
	order []string                   // part keys, first seen first
	ready bool
	last  string // fingerprint of the last event's printer
}

// printer merges the parts: mDNS first (its instance name is the
// printer's own), then unicast DNS-SD, then the sweep.
func (m *merged) printer() printer.Printer {
	keys := slices.Clone(m.order)
	rank := func(k string) int {
		switch {
		case strings.HasPrefix(k, "mdns:"):
			return 0
		case strings.HasPrefix(k, "dns-sd:"):
			return 1
		}
		return 2
	}
	slices.SortStableFunc(keys, func(a, b string) int { return rank(a) - rank(b) })
	var p printer.Printer
	for i, k := range keys {
		if i == 0 {
			p = m.parts[k]
			p.Addrs = slices.Clone(p.Addrs)
			p.Sources = slices.Clone(p.Sources)
			p.Problems = slices.Clone(p.Problems)
			continue
		}
		p.Merge(m.parts[k])
	}
	return p
}

// merger reports each printer once however many ways found it.
type merger struct {
	fn      func(Event)
	printed []*merged
	next    int
}

// samePrinter reports whether a and b are one printer: the same UUID, or
// else the same serial number, or, when neither tells, a shared address.
func samePrinter(a, b printer.Printer) bool {
	if a.UUID != "" && b.UUID != "" {
		return strings.EqualFold(a.UUID, b.UUID)
	}
	if a.Serial != "" && b.Serial != "" {
		return strings.EqualFold(a.Serial, b.Serial)
	}
	for _, x := range a.Addrs {
		if slices.Contains(b.Addrs, x) {
			return true
		}
	}
	return false
}

func (m *merger) add(part string, ready bool, p printer.Printer) {
	var e *merged
	for _, c := range m.printed {
		if _, ok := c.parts[part]; ok {
			e = c
			break
		}
	}
	if e == nil {
		for _, c := range m.printed {
			if samePrinter(c.printer(), p) {
				e = c
				break
			}
		}
	}
	isNew := e == nil
	if isNew {
		m.next++
		e = &merged{id: m.next, parts: map[string]printer.Printer{}}
		m.printed = append(m.printed, e)
	}
	if _, ok := e.parts[part]; !ok {
		e.order = append(e.order, part)
	}
	e.parts[part] = p
	// What was just learned (a serial, a UUID) may show another entry to
	// be the same printer: fold it in.
	for i := 0; i < len(m.printed); i++ {
		o := m.printed[i]
		if o == e || !samePrinter(e.printer(), o.printer()) {
			continue
		}
		for _, k := range o.order {
			if _, ok := e.parts[k]; !ok {
				e.order = append(e.order, k)
			}
			e.parts[k] = o.parts[k]
		}
		e.ready = e.ready || o.ready
		m.printed = slices.Delete(m.printed, i, i+1)
		i--
	}
	if isNew {
		m.emit(Found, e)
	}
	switch {
	case ready && !e.ready:
		e.ready = true
		m.emit(Ready, e)
	case e.ready:
		m.emit(Updated, e)
	}
}

func (m *merger) emit(kind EventKind, e *merged) {
	p := e.printer()
	fp := fmt.Sprintf("%v", p)
	if kind == Updated && fp == e.last {
		return
	}
	e.last = fp
	m.fn(Event{Kind: kind, ID: e.id, Printer: p})
}

// printers returns every printer found, sorted by name, then address.
func (m *merger) printers() []printer.Printer {
	out := make([]printer.Printer, 0, len(m.printed))
	for _, e := range m.printed {
		out = append(out, e.printer())
	}
	slices.SortStableFunc(out, func(a, b printer.Printer) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(strings.Join(a.Addrs, ","), strings.Join(b.Addrs, ","))
	})
	return out
}
