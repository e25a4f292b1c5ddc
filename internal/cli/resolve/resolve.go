// Package resolve is what register, status and cancel share: finding
// printers (discovery or direct probes), choosing one from a command-line
// argument or a prompt, matching enrollments to a PRINTER|ENROLLMENT
// argument, and the providers speaking to the configured server.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/prompt"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/discovery"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/provider"
)

// Client returns the signed-in ARS API client.
func Client(ctx context.Context, f *cmdutil.Factory) (*arsapi.Client, error) {
	return f.APIClient(ctx)
}

// PublicClient returns an ARS API client that sends no credentials.
func PublicClient(f *cmdutil.Factory) (*arsapi.Client, error) {
	return f.PublicAPIClient()
}

// Serial is how a serial number is shown to people: masked to its last
// four characters by printer.MaskSerial (Canon's serial doubles as the
// printer's admin password), or "-" when the printer reported none.
func Serial(s string) string {
	if s == "" {
		return "-"
	}
	return printer.MaskSerial(s)
}

// FindOptions say where to look for printers.
type FindOptions struct {
	// Hosts are addresses to probe directly ("addr[:port]"); when empty,
	// printers are discovered with mDNS.
	Hosts []string
	// Timeout bounds discovery and each probe.
	Timeout time.Duration
	// IPP queries printers.
	IPP discovery.IPPClient
	// Discovery holds what else to search (Sweep ranges, Domains) and
	// the SNMP credentials; FindPrinters sets its Timeout, Enrich and IPP.
	Discovery discovery.Options
}

// portsHint names the ports that firewalls and security software must let
// through for a printer to be found.
const portsHint = "make sure the printer is on and on this network, and that UDP 5353 (mDNS), TCP 631 (IPP) and UDP 161 (SNMP) are not blocked; `arsctl doctor` tests each; or give its address with --host"

// FindPrinters probes opts.Hosts, or discovers printers with mDNS (and
// the sweeps and domains of opts.Discovery, with a progress bar).
// Printers that do not answer a probe are reported on io and skipped.
// Finding none is a not-found error (exit 3) saying what to check.
func FindPrinters(ctx context.Context, io *iostreams.IOStreams, opts FindOptions) ([]printer.Printer, error) {
	dopts := opts.Discovery
	dopts.Timeout, dopts.Enrich, dopts.IPP = opts.Timeout, true, opts.IPP
	var found []printer.Printer
	if len(opts.Hosts) > 0 {
		io.StartProgress("Asking the printer…")
		var errs []string
		for _, h := range opts.Hosts {
			p, err := discovery.ProbeHost(ctx, h, dopts)
			if err != nil {
				if ctx.Err() != nil {
					io.StopProgress()
					return nil, ctx.Err()
				}
				errs = append(errs, err.Error())
				continue
			}
			if p.Port == 0 {
				if _, port, err := net.SplitHostPort(h); err == nil {
					p.Port, _ = strconv.Atoi(port)
				}
			}
			found = append(found, p)
		}
		io.StopProgress()
		if len(found) == 0 {
			// Each error names its address already.
			return nil, cmdutil.NotFoundf("%s (`arsctl doctor --host ADDR --no-mdns` checks each port)", strings.Join(errs, "; "))
		}
		for _, e := range errs {
			io.Warning("%s", e)
		}
		return found, nil
	}
	io.StartProgress("Looking for printers on the network…")
	if len(dopts.Sweep.Ranges) > 0 {
		dopts.Sweep.Progress = func(done, total int) {
			io.UpdateProgress("Looking for printers on the network… sweep " + iostreams.ProgressBar(done, total, 24))
		}
	}
	found, err := discovery.Discover(ctx, dopts, nil)
	io.StopProgress()
	if err != nil && len(found) > 0 && ctx.Err() == nil {
		// Another way of searching found printers.
		io.Warning("%v", err)
		err = nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, discovery.ErrNoMulticast) {
			return nil, fmt.Errorf("cannot search the network for printers (%w); give the printer's address with --host", err)
		}
		return nil, fmt.Errorf("searching for printers: %w", err)
	}
	if len(found) == 0 {
		return nil, cmdutil.NotFoundf("no printer found on the network: %s", portsHint)
	}
	return found, nil
}

// Address returns the printer's first address as "addr:port" (or host).
func Address(p printer.Printer) string {
	h := p.Host
	if len(p.Addrs) > 0 {
		h = p.Addrs[0]
	}
	if h == "" {
		return "-"
	}
	if p.Port != 0 && p.Port != 631 {
		return net.JoinHostPort(h, strconv.Itoa(p.Port))
	}
	return h
}

// Label describes a printer in one line: model, name, address, masked serial.
func Label(p printer.Printer) string {
	model := strings.TrimSpace(p.Make + " " + p.Model)
	if model == "" {
		model = "unknown model"
	}
	s := model
	if p.Name != "" && p.Name != model {
		s += " \"" + p.Name + "\""
	}
	return iostreams.Safe(fmt.Sprintf("%s at %s, serial %s", s, Address(p), Serial(p.Serial)))
}

// MatchPrinter returns the printers that q names: by name, host, address
// (with or without port), serial or UUID, ignoring case.
func MatchPrinter(ps []printer.Printer, q string) []printer.Printer {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil
	}
	lq := strings.ToLower(strings.TrimPrefix(strings.ToLower(q), "urn:uuid:"))
	var out []printer.Printer
	for _, p := range ps {
		if printerMatches(p, lq) {
			out = append(out, p)
		}
	}
	return out
}

func printerMatches(p printer.Printer, lq string) bool {
	eq := func(s string) bool { return s != "" && strings.ToLower(s) == lq }
	if eq(p.Name) || eq(p.Serial) || eq(p.UUID) || eq(p.Host) || eq(strings.TrimSuffix(p.Host, ".")) {
		return true
	}
	for _, a := range p.Addrs {
		if eq(a) || (p.Port != 0 && eq(net.JoinHostPort(a, strconv.Itoa(p.Port)))) {
			return true
		}
	}
	if p.Host != "" && p.Port != 0 && eq(net.JoinHostPort(p.Host, strconv.Itoa(p.Port))) {
		return true
	}
	return false
}

// SelectPrinter picks the printer to work on: the one arg names, the only
// one found, or the user's choice. With no terminal and several printers,
// arg is required (exit 2).
func SelectPrinter(io *iostreams.IOStreams, pr prompt.Prompter, found []printer.Printer, arg string, mark Marker) (printer.Printer, error) {
	if arg != "" {
		m := MatchPrinter(found, arg)
		switch len(m) {
		case 0:
			return printer.Printer{}, cmdutil.NotFoundf("no printer named %q was found; found: %s", arg, names(found))
		case 1:
			return m[0], nil
		}
		found = m
	}
	if len(found) == 1 {
		return found[0], nil
	}
	if !io.CanPrompt() {
		return printer.Printer{}, cmdutil.FlagErrorf("several printers found (%s): name one with the PRINTER argument (name, address, serial or UUID) or --host", names(found))
	}
	opts := make([]prompt.Option, len(found))
	for i, p := range found {
		opts[i] = prompt.Option{Label: Label(p), Value: strconv.Itoa(i)}
		if mark != nil {
			if note := mark(p); note != "" {
				opts[i].Label += " — " + note
			}
		}
	}
	v, err := pr.Select("Select your printer", "model, name, address and serial (last digits)", opts)
	if err != nil {
		return printer.Printer{}, err
	}
	i, _ := strconv.Atoi(v)
	return found[i], nil
}

// Marker says what to show next to a printer in the picker, e.g.
// "not eligible: …"; "" for nothing.
type Marker func(p printer.Printer) string

func names(ps []printer.Printer) string {
	var s []string
	for _, p := range ps {
		s = append(s, fmt.Sprintf("%s (%s)", OrDash(p.Name), Address(p)))
	}
	return strings.Join(s, ", ")
}

// OrDash returns s, or "-" when s is empty (an empty column in a table).
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// MatchEnrollments returns the enrollments that q names: enrollment ID,
// printer serial, UUID, label, the start of an enrollment ID (at least
// MinIDPrefix characters, as the status table shows it: ShortID) or
// model, ignoring case. The start of several enrollment IDs is a usage
// error (exit 2) naming them, rather than several matches.
func MatchEnrollments(es []arsapi.Enrollment, q string) ([]arsapi.Enrollment, error) {
	lq := strings.ToLower(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(q)), "urn:uuid:"))
	if lq == "" {
		return nil, nil
	}
	for _, e := range es {
		if strings.ToLower(e.ID) == lq {
			return []arsapi.Enrollment{e}, nil
		}
	}
	var out []arsapi.Enrollment
	for _, e := range es {
		for _, s := range []string{e.Printer.Serial, e.Printer.UUID, e.Printer.Label} {
			if s != "" && strings.ToLower(s) == lq {
				out = append(out, e)
				break
			}
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if IsIDPrefix(lq) {
		for _, e := range es {
			if strings.HasPrefix(strings.ToLower(e.ID), lq) {
				out = append(out, e)
			}
		}
		switch {
		case len(out) == 1:
			return out, nil
		case len(out) > 1:
			n := ShortIDLen(EnrollmentIDs(out))
			s := make([]string, len(out))
			for i, e := range out {
				s[i] = ShortID(e.ID, n) + " (" + EnrollmentLabel(e) + ")"
			}
			return nil, cmdutil.FlagErrorf("%q is the start of several enrollment IDs: %s; give more of the ID", q, strings.Join(s, ", "))
		}
	}
	for _, e := range es {
		if arsapi.ModelKey(e.Printer.Model) == arsapi.ModelKey(q) {
			out = append(out, e)
		}
	}
	return out, nil
}

// MinIDPrefix is the fewest characters of an enrollment ID that name it.
const MinIDPrefix = 4

// shortIDMin is the fewest characters ShortID shows.
const shortIDMin = 8

// MatchIDPrefix returns the IDs that q (ignoring case) is the start of,
// when q may be the start of an ID (IsIDPrefix); q itself when it is one
// of ids.
func MatchIDPrefix(ids []string, q string) []string {
	lq := strings.ToLower(strings.TrimSpace(q))
	var out []string
	for _, id := range ids {
		if strings.ToLower(id) == lq {
			return []string{id}
		}
		if IsIDPrefix(lq) && strings.HasPrefix(strings.ToLower(id), lq) {
			out = append(out, id)
		}
	}
	return out
}

// IsIDPrefix reports whether q may be the start of an ID: hex digits
// and dashes, MinIDPrefix characters or more.
func IsIDPrefix(q string) bool {
	lq := strings.ToLower(q)
	if len(lq) < MinIDPrefix {
		return false
	}
	for _, r := range lq {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r == '-') {
			return false
		}
	}
	return true
}

// ShortIDLen returns how many characters of each ID (enrollments',
// orders') tell ids apart: the fewest, at least 8, at which no two IDs
// start alike (the whole IDs when some are equal).
func ShortIDLen(ids []string) int {
	ids = slices.Clone(ids)
	longest := 0
	for i := range ids {
		ids[i] = strings.ToLower(ids[i])
		longest = max(longest, len(ids[i]))
	}
	slices.Sort(ids)
	n := shortIDMin
	// Sorted, the longest common start is between neighbours.
	for i := 1; i < len(ids); i++ {
		a, b := ids[i-1], ids[i]
		k := 0
		for k < len(a) && k < len(b) && a[k] == b[k] {
			k++
		}
		n = max(n, k+1)
	}
	return min(n, longest)
}

// EnrollmentIDs returns the IDs of es.
func EnrollmentIDs(es []arsapi.Enrollment) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}

// ShortID returns the first n characters of an ID (ShortIDLen), which
// MatchEnrollments and MatchIDPrefix accept for the whole ID.
func ShortID(id string, n int) string {
	if n <= 0 || n >= len(id) {
		return id
	}
	return id[:n]
}

// LooksLikeAddress reports whether s is an IP address or host:port, which
// a PRINTER argument may be.
func LooksLikeAddress(s string) bool {
	if net.ParseIP(strings.Trim(s, "[]")) != nil {
		return true
	}
	if h, p, err := net.SplitHostPort(s); err == nil && h != "" {
		_, perr := strconv.Atoi(p)
		return perr == nil
	}
	return strings.HasSuffix(s, ".local") || strings.HasSuffix(s, ".local.")
}

// ListEnrollments returns the account's enrollments with every provider
// (provider.Names), newest first. The list is read from the server once,
// all pages (c.FindEnrollments), rather than once per provider.
func ListEnrollments(ctx context.Context, c provider.Client) ([]arsapi.Enrollment, error) {
	all, err := c.FindEnrollments(ctx, arsapi.ListOptions{})
	if err != nil {
		return nil, err
	}
	// Grouped by provider in registry order before the stable sort, so that
	// enrollments created at the same instant keep the order they had when
	// each provider's list was read in turn.
	var es []arsapi.Enrollment
	for _, name := range provider.Names() {
		for _, e := range all {
			if string(e.Provider) == name {
				es = append(es, e)
			}
		}
	}
	SortEnrollments(es)
	return es, nil
}

// Live keeps the enrollments that are pending, active or paused.
func Live(es []arsapi.Enrollment) []arsapi.Enrollment {
	var out []arsapi.Enrollment
	for _, e := range es {
		if provider.Live(e) {
			out = append(out, e)
		}
	}
	return out
}

// SortEnrollments orders enrollments newest first.
func SortEnrollments(es []arsapi.Enrollment) {
	slices.SortStableFunc(es, func(a, b arsapi.Enrollment) int { return b.CreatedAt.Compare(a.CreatedAt) })
}

// EnrollmentLabel describes an enrollment's printer in one line.
func EnrollmentLabel(e arsapi.Enrollment) string {
	s := e.Printer.Model
	if e.Printer.Label != "" {
		s += " \"" + e.Printer.Label + "\""
	}
	return iostreams.Safe(fmt.Sprintf("%s, serial %s", s, Serial(e.Printer.Serial)))
}

// Prober reads one printer at "addr[:port]" (discovery.ProbeHost).
type Prober func(ctx context.Context, hostport string) (printer.Printer, error)

// NewProber returns a Prober using the IPP client ipp.
func NewProber(ipp discovery.IPPClient, timeout time.Duration) Prober {
	return func(ctx context.Context, hostport string) (printer.Printer, error) {
		return discovery.ProbeHost(ctx, hostport, discovery.Options{Timeout: timeout, IPP: ipp})
	}
}

// FindEnrollments returns the enrollments q names (see MatchEnrollments);
// when none matches and q is a printer address, the printer is asked for
// its serial and matched by that.
func FindEnrollments(ctx context.Context, es []arsapi.Enrollment, q string, probe Prober) ([]arsapi.Enrollment, error) {
	if m, err := MatchEnrollments(es, q); err != nil || len(m) > 0 || probe == nil || !LooksLikeAddress(q) {
		return m, err
	}
	p, err := probe(ctx, q)
	if err != nil {
		return nil, cmdutil.NotFoundf("no enrollment matches %q and the printer there did not answer: %v", q, err)
	}
	if p.Serial == "" {
		return nil, cmdutil.NotFoundf("the printer at %s did not report a serial number, so its enrollment cannot be found; give the enrollment ID (see `arsctl status`)", q)
	}
	return MatchEnrollments(es, p.Serial)
}
