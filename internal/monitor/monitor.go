// Package monitor is the agent behind `arsctl monitor`: it reads the supply
// levels of every enrolled printer it can reach and reports them to the
// ARS server, so that the server can order ink when a supply runs low.
//
// A printer that does not answer is retried with exponential backoff and
// reported as unreachable, keeping its last known levels and when they
// were read. A printer that moved to another address is found again by
// UUID, then serial, among the candidate hosts and (optionally) mDNS.
package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/atomicfile"
	"github.com/arsctl/arsctl/pkg/forecast"
	"github.com/arsctl/arsctl/pkg/printer"
	"github.com/arsctl/arsctl/pkg/provider"
)

// API is the part of the ARS API the agent uses (*arsapi.Client).
type API interface {
	FindEnrollments(ctx context.Context, opts arsapi.ListOptions) ([]arsapi.Enrollment, error)
	ReportLevels(ctx context.Context, id string, report arsapi.LevelReport) (arsapi.LevelReportResult, error)
}

// Agent reads and reports levels.
type Agent struct {
	API API
	// Probe queries one printer at "host[:port]" (IPP, then SNMP).
	Probe func(ctx context.Context, hostport string) (printer.Printer, error)
	// Browse lists printers found by mDNS; nil disables multicast.
	Browse func(ctx context.Context) ([]printer.Printer, error)
	// Hosts are candidate addresses given by the user (--host).
	Hosts []string
	// StatePath is the JSON file keeping addresses, last levels and
	// backoff between runs; empty keeps state in memory only.
	StatePath string
	// Interval is the normal time between reads; it caps the backoff.
	Interval time.Duration
	// MinBackoff is the first retry delay for an unreachable printer.
	MinBackoff time.Duration
	// Concurrency bounds simultaneous printer queries (default 8).
	Concurrency int
	Now         func() time.Time

	mu    sync.Mutex
	state State
}

// State is what the agent remembers between passes and runs.
type State struct {
	Printers map[string]*PrinterState `json:"printers"`
}

// PrinterState is the memory of one enrollment's printer.
type PrinterState struct {
	Address      string           `json:"address,omitempty"`
	UUID         string           `json:"uuid,omitempty"`
	Supplies     []printer.Supply `json:"supplies,omitempty"`
	LevelsReadAt *time.Time       `json:"levels_read_at,omitempty"`
	Failures     int              `json:"failures,omitempty"`
	NextAttempt  time.Time        `json:"next_attempt,omitzero"`
	LastError    string           `json:"last_error,omitempty"`
	// History is each ink or toner supply's level changes (the first
	// reading of every new level), oldest first, for the forecast.
	History map[string][]forecast.Reading `json:"history,omitempty"`
}

// Status of one printer after a pass.
const (
	StatusReported    = "reported"
	StatusUnreachable = "unreachable"
	StatusWaiting     = "waiting" // in backoff, not tried this pass
	StatusFailed      = "failed"  // read, but the server refused the report
)

// Result is one printer's outcome of a pass.
type Result struct {
	EnrollmentID string           `json:"enrollment_id"`
	Model        string           `json:"model"`
	Serial       string           `json:"serial"`
	Status       string           `json:"status"`
	Address      string           `json:"address,omitempty"`
	Moved        bool             `json:"moved,omitempty"`
	Supplies     []printer.Supply `json:"supplies,omitempty"`
	LevelsReadAt *time.Time       `json:"levels_read_at,omitempty"`
	Orders       []arsapi.Order   `json:"orders,omitempty"`
	Error        string           `json:"error,omitempty"`
	NextAttempt  *time.Time       `json:"next_attempt,omitempty"`
	// Forecasts are the ink and toner supplies' forecasts by supply name,
	// from the levels this agent has read (see PrinterState.History).
	Forecasts map[string]forecast.Forecast `json:"forecasts,omitempty"`
}

func (a *Agent) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// Load reads the state file, if any.
func (a *Agent) Load() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.state = State{Printers: map[string]*PrinterState{}}
	if a.StatePath == "" {
		return nil
	}
	b, err := os.ReadFile(a.StatePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &a.state); err != nil {
		return fmt.Errorf("monitor state %s is unreadable (%v); delete it to start afresh", a.StatePath, err)
	}
	if a.state.Printers == nil {
		a.state.Printers = map[string]*PrinterState{}
	}
	return nil
}

func (a *Agent) save() error {
	if a.StatePath == "" {
		return nil
	}
	a.mu.Lock()
	b, err := json.MarshalIndent(a.state, "", "  ")
	a.mu.Unlock()
	if err != nil {
		return err
	}
	return atomicfile.Write(a.StatePath, append(b, '\n'))
}

func (a *Agent) printerState(id string) *PrinterState {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state.Printers == nil {
		a.state.Printers = map[string]*PrinterState{}
	}
	ps, ok := a.state.Printers[id]
	if !ok {
		ps = &PrinterState{}
		a.state.Printers[id] = ps
	}
	return ps
}

// Pass reads every live enrollment's printer once and reports its levels.
func (a *Agent) Pass(ctx context.Context) ([]Result, error) {
	if a.state.Printers == nil {
		if err := a.Load(); err != nil {
			return nil, err
		}
	}
	all, err := a.API.FindEnrollments(ctx, arsapi.ListOptions{})
	if err != nil {
		return nil, err
	}
	var live []arsapi.Enrollment
	for _, e := range all {
		if provider.Live(e) {
			live = append(live, e)
		}
	}
	cands := &candidates{agent: a}
	results := make([]Result, len(live))
	conc := a.Concurrency
	if conc <= 0 {
		conc = 8
	}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i, e := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = a.one(ctx, e, cands)
		}()
	}
	wg.Wait()
	if err := a.save(); err != nil {
		return results, fmt.Errorf("save monitor state: %w", err)
	}
	return results, nil
}

func (a *Agent) one(ctx context.Context, e arsapi.Enrollment, cands *candidates) Result {
	ps := a.printerState(e.ID)
	r := Result{EnrollmentID: e.ID, Model: e.Printer.Model, Serial: e.Printer.Serial}
	now := a.now()
	a.mu.Lock()
	waiting := now.Before(ps.NextAttempt)
	a.mu.Unlock()
	if waiting {
		a.unreachable(&r, ps, "", false)
		r.Status = StatusWaiting
		return r
	}
	var p printer.Printer
	found := false
	a.mu.Lock()
	known := ps.Address
	a.mu.Unlock()
	var lastErr error
	if known != "" {
		got, err := a.Probe(ctx, known)
		if err == nil && matches(got, e) && printer.AnyLevel(got.Supplies) {
			p, found = got, true
			r.Address = known
		} else if err != nil {
			lastErr = err
		} else if !matches(got, e) {
			lastErr = fmt.Errorf("another printer now answers at %s", known)
		} else if len(got.Supplies) > 0 {
			lastErr = fmt.Errorf("printer at %s reports every supply level unknown, as a printer asleep does", known)
		} else {
			lastErr = fmt.Errorf("printer at %s reports no supply levels", known)
		}
	}
	if !found {
		if got, addr, ok := cands.find(ctx, e); ok {
			p, found = got, true
			r.Address = addr
			r.Moved = known != "" && addr != known
		}
	}
	if !found {
		if lastErr == nil {
			lastErr = errors.New("not found at any known address or candidate host")
		}
		a.unreachable(&r, ps, lastErr.Error(), true)
		return r
	}
	readAt := now
	if p.LevelsReadAt != nil {
		readAt = p.LevelsReadAt.UTC()
	}
	res, err := a.API.ReportLevels(ctx, e.ID, arsapi.LevelReport{ReadAt: readAt, Supplies: p.Supplies})
	a.mu.Lock()
	ps.Address, ps.UUID = r.Address, p.UUID
	ps.Supplies, ps.LevelsReadAt = p.Supplies, &readAt
	ps.Failures, ps.NextAttempt, ps.LastError = 0, time.Time{}, ""
	ps.recordHistory(p.Supplies, readAt)
	r.Forecasts = ps.forecasts(now)
	a.mu.Unlock()
	r.Supplies, r.LevelsReadAt = p.Supplies, &readAt
	if err != nil {
		r.Status, r.Error = StatusFailed, err.Error()
		return r
	}
	r.Status, r.Orders = StatusReported, res.Orders
	return r
}

// unreachable fills r from the last known state and, when count is set,
// records one more failure and schedules the next attempt.
func (a *Agent) unreachable(r *Result, ps *PrinterState, msg string, count bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if count {
		ps.Failures++
		ps.LastError = msg
		ps.NextAttempt = a.now().Add(a.backoff(ps.Failures))
	}
	r.Status = StatusUnreachable
	r.Error = ps.LastError
	r.Address = ps.Address
	r.Supplies, r.LevelsReadAt = ps.Supplies, ps.LevelsReadAt
	r.Forecasts = ps.forecasts(a.now())
	next := ps.NextAttempt
	r.NextAttempt = &next
}

// backoff is MinBackoff doubled per consecutive failure, capped at Interval.
func (a *Agent) backoff(failures int) time.Duration {
	d := a.MinBackoff
	if d <= 0 {
		d = 30 * time.Second
	}
	limit := a.Interval
	if limit <= 0 {
		limit = 15 * time.Minute
	}
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// matches reports whether p is the enrolled printer: same UUID when both
// are known, else same serial.
func matches(p printer.Printer, e arsapi.Enrollment) bool {
	if p.UUID != "" && e.Printer.UUID != "" {
		return strings.EqualFold(p.UUID, e.Printer.UUID)
	}
	return p.Serial != "" && strings.EqualFold(p.Serial, e.Printer.Serial)
}

// candidates probes the --host list and browses mDNS at most once per
// pass, when some printer is not at its known address.
type candidates struct {
	agent *Agent
	once  sync.Once
	list  []candidate
}

type candidate struct {
	p    printer.Printer
	addr string
}

func (c *candidates) load(ctx context.Context) {
	a := c.agent
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, h := range a.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := a.Probe(ctx, h)
			if err != nil {
				return
			}
			mu.Lock()
			c.list = append(c.list, candidate{p: p, addr: h})
			mu.Unlock()
		}()
	}
	wg.Wait()
	if a.Browse != nil {
		ps, _ := a.Browse(ctx)
		for _, p := range ps {
			addr := hostPort(p)
			if addr != "" {
				c.list = append(c.list, candidate{p: p, addr: addr})
			}
		}
	}
}

func (c *candidates) find(ctx context.Context, e arsapi.Enrollment) (printer.Printer, string, bool) {
	c.once.Do(func() { c.load(ctx) })
	for _, cand := range c.list {
		if matches(cand.p, e) && printer.AnyLevel(cand.p.Supplies) {
			return cand.p, cand.addr, true
		}
	}
	return printer.Printer{}, "", false
}

func hostPort(p printer.Printer) string {
	if len(p.Addrs) == 0 {
		return ""
	}
	port := p.Port
	if port == 0 {
		port = 631
	}
	return net.JoinHostPort(p.Addrs[0], strconv.Itoa(port))
}
