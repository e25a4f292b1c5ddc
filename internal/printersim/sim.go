// Package printersim is a simulated network printer for tests, benchmarks
// and `arsd demo`: an IPP server answering Get-Printer-Attributes the way
// a Canon PIXMA does (make and model, printer-device-id with the serial in
// PSE, printer-uuid, marker-* and printer-supply levels that can change
// while it runs), optionally over TLS with a self-signed certificate, and
// optionally advertised over mDNS.
//
// mDNS advertising must only be used inside network namespaces created by
// tests; it refuses to run without an explicit interface list.
package printersim

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/OpenPrinting/goipp"
	"github.com/grandcat/zeroconf"

	"github.com/arsctl/arsctl/pkg/ipp"
)

// Mode says how the simulated printer treats IPP requests.
type Mode int32

const (
	// ModeNormal answers IPP requests.
	ModeNormal Mode = iota
	// ModeHang accepts connections and reads requests but never answers,
	// like a printer in deep sleep whose network chip is still up.
	ModeHang
	// ModeClose accepts connections and closes them at once.
	ModeClose
)

// Supply is one simulated consumable.
type Supply struct {
	// Name is the marker-names value, e.g. "PGBK".
	Name string
	// Description is the printer-supply-description value.
	Description string
	// Color is the marker-colors value, e.g. "#000000" or
	// "#39D2E7#D945DD#DFD31D" for a tri-colour cartridge.
	Color string
	// Colorant is the printer-supply colorantname, e.g. "cyan".
	Colorant string
	// Type is the marker-types value; Canon sends "inkCartridge". A
	// "waste..." type makes it a receptacle in printer-supply.
	Type string
	// Level is the level in percent (or a special level -1, -2, -3).
	Level int
	// Says is what the printer says of the supply in
	// printer-state-reasons besides its level: printer.StateLow or
	// printer.StateEmpty, as a printer that reports only "some
	// remaining" says its ink is low. Empty: the level speaks (a
	// percentage at or below the low mark of 15 is said low, 0 empty).
	Says string
}

// DefaultSupplies are the six ink tanks of a Canon PIXMA TS8320 (which
// reports itself as "TS8300 series"), named by the codes on the tanks.
// Real Canons name them in marker-names as NamedInkSupplies does
// ("Black(PGBK)"); tests and examples use the codes for brevity.
func DefaultSupplies() []Supply {
	return []Supply{
		{Name: "PGBK", Description: "Black(PGBK)", Color: "#000000", Colorant: "black", Type: "inkCartridge", Level: 80},
		{Name: "BK", Description: "Black(BK)", Color: "#000000", Colorant: "black", Type: "inkCartridge", Level: 70},
		{Name: "C", Description: "Cyan", Color: "#00FFFF", Colorant: "cyan", Type: "inkCartridge", Level: 60},
		{Name: "M", Description: "Magenta", Color: "#FF00FF", Colorant: "magenta", Type: "inkCartridge", Level: 50},
		{Name: "Y", Description: "Yellow", Color: "#FFFF00", Colorant: "yellow", Type: "inkCartridge", Level: 40},
		{Name: "PB", Description: "Photo Blue", Color: "#0080FF", Colorant: "blue", Type: "inkCartridge", Level: 30},
	}
}

// NamedInkSupplies are the five ink tanks of a PIXMA TS6320 ("TS6300
// series") under the names real Canons give their inks in marker-names:
// Black(PGBK), Black(BK), Cyan, Magenta, Yellow (testdata/canon-series:
// a real TS6300 series' and MX920 series' names, a G4080's marker lines).
// The colours are the plain ones; what a TS6300 series reports is not
// known.
func NamedInkSupplies() []Supply {
	s := DefaultSupplies()[:5]
	for i := range s {
		s[i].Name = s[i].Description
	}
	return s
}

// TriColourSupplies are the two FINE cartridges of a PIXMA such as the
// TS5320 ("TS5300 series") or the MX490 series: a black one and a colour
// one holding cyan, magenta and yellow, which the printer reports as one
// supply with three colours.
func TriColourSupplies() []Supply {
	return []Supply{
		{Name: "Black", Description: "Black", Color: "#000000", Colorant: "black", Type: "inkCartridge", Level: 80},
		{Name: "Color", Description: "Color", Color: "#00FFFF#FF00FF#FFFF00", Colorant: "unknown", Type: "inkCartridge", Level: 60},
	}
}

// TankSupplies are the ink bottles of a MegaTank printer such as the PIXMA
// G620 ("G600 series") and its maintenance cartridge, the receptacle that
// collects waste ink: its level is how full it is, and it is never
// ordered.
func TankSupplies() []Supply {
	return []Supply{
		{Name: "BK", Description: "Black", Color: "#000000", Colorant: "black", Type: "ink", Level: 80},
		{Name: "C", Description: "Cyan", Color: "#00FFFF", Colorant: "cyan", Type: "ink", Level: 70},
		{Name: "M", Description: "Magenta", Color: "#FF00FF", Colorant: "magenta", Type: "ink", Level: 60},
		{Name: "Y", Description: "Yellow", Color: "#FFFF00", Colorant: "yellow", Type: "ink", Level: 50},
		{Name: "R", Description: "Red", Color: "#FF0000", Colorant: "red", Type: "ink", Level: 40},
		{Name: "GY", Description: "Gray", Color: "#808080", Colorant: "gray", Type: "ink", Level: 30},
		{Name: "MC", Description: "Maintenance Cartridge", Color: "none", Colorant: "unknown", Type: "wasteInk", Level: 34},
	}
}

// suppliesOf are the supplies of series the simulator knows beyond the
// six tanks of DefaultSupplies.
var suppliesOf = map[string]func() []Supply{
	"TS6300 series": NamedInkSupplies,
	"TS5300 series": TriColourSupplies,
	"TS3300 series": TriColourSupplies,
	"TR4500 series": TriColourSupplies,
	"MX490 series":  TriColourSupplies,
	"G600 series":   TankSupplies,
	"G3010 series":  TankSupplies,
}

// SuppliesFor returns the supplies of a printer of the given series (as
// it reports itself, e.g. "TS5300 series"): two cartridges, one of them
// tri-colour, for FINE cartridge models; bottles and a maintenance
// cartridge for MegaTank models; Canon's own ink names for the TS6300
// series; DefaultSupplies otherwise.
func SuppliesFor(model string) []Supply {
	if f, ok := suppliesOf[model]; ok {
		return f()
	}
	return DefaultSupplies()
}

// Config describes a simulated printer. Zero fields get Canon TS8320
// defaults.
type Config struct {
	// Make is the manufacturer; default "Canon".
	Make string
	// Model is the model without the make, as the printer reports it:
	// the series, never the regional model number; default "TS8300
	// series" (what a PIXMA TS8320 reports).
	Model string
	// Serial is the serial number sent as PSE in printer-device-id;
	// default "KNMA01234".
	Serial string
	// SerialOverSNMPOnly leaves PSE out of printer-device-id, as on
	// printers whose serial only their SNMP agent tells.
	SerialOverSNMPOnly bool
	// UUID is printer-uuid without "urn:uuid:"; default derived from the
	// serial.
	UUID string
	// Name is printer-info and the DNS-SD instance name; default
	// "<Make> <Model>".
	Name string
	// Supplies are the consumables; default SuppliesFor(Model).
	Supplies []Supply
	// Levels overrides supply levels by supply name, e.g. {"C": 10}.
	Levels map[string]int
	// Says sets what the printer says of supplies by name (Supply.Says),
	// e.g. {"PGBK": "low"}.
	Says map[string]string
	// Capture is a Get-Printer-Attributes response of a real printer, a
	// file of testdata/ipp: the raw IPP body or the text ipptool printed
	// (see ipp.CaptureResponse). When set the simulator answers with that
	// printer's attributes, as the hardware sent them, instead of a
	// Canon's: only printer-uri-supported (this simulator's address) and
	// marker-levels (Levels, SetLevel, by marker-names) change. Make,
	// Model, Serial, UUID and Name default to the capture's. A capture
	// that was published without the printer's identity (no
	// printer-device-id nor printer-make-and-model) is completed with the
	// simulator's: make and model, device ID with the serial in PSE, UUID.
	Capture []byte
	// Path is the IPP resource path; default "/ipp/print". Other paths
	// get HTTP 404.
	Path string
	// Delay makes every IPP answer wait this long.
	Delay time.Duration
	// Mode is how IPP requests are treated; default ModeNormal.
	Mode Mode
	// TLS serves ipps:// with a self-signed certificate (plain ipp:// is
	// still answered on the same port, as CUPS and many printers do).
	TLS bool
	// TLSOnly, with TLS, refuses plain ipp:// connections on the port.
	TLSOnly bool
	// MDNS, when set, makes Start advertise the printer (see Advertise).
	// Only for use inside network namespaces.
	MDNS *MDNSConfig
	// Logger receives debug messages; nil discards them.
	Logger *slog.Logger
}

// Printer is a running (or not yet started) simulated printer.
type Printer struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	supplies []Supply

	mode atomic.Int32

	cert      atomic.Pointer[tls.Certificate]
	ln        net.Listener
	srv       *http.Server
	addr      string
	closing   chan struct{}
	closeOnce sync.Once
	done      chan struct{}

	mdnsMu sync.Mutex
	mdns   []*zeroconf.Server

	captured   goipp.Attributes // Config.Capture's printer attributes
	captureErr error
}

// New returns a simulated printer described by cfg. Call Start to serve;
// it fails if cfg.Capture is not a Get-Printer-Attributes response.
func New(cfg Config) *Printer {
	var captured goipp.Attributes
	var captureErr error
	if cfg.Capture != nil {
		captured, captureErr = fromCapture(&cfg)
	}
	if cfg.Make == "" {
		cfg.Make = "Canon"
	}
	if cfg.Model == "" {
		cfg.Model = "TS8300 series"
	}
	if cfg.Serial == "" {
		cfg.Serial = "KNMA01234"
	}
	if cfg.UUID == "" {
		cfg.UUID = uuidFrom(cfg.Make + "/" + cfg.Model + "/" + cfg.Serial)
	}
	if cfg.Name == "" {
		cfg.Name = cfg.Make + " " + cfg.Model
	}
	if cfg.Supplies == nil {
		cfg.Supplies = SuppliesFor(cfg.Model)
	}
	if cfg.Path == "" {
		cfg.Path = "/ipp/print"
	}
	if !strings.HasPrefix(cfg.Path, "/") {
		cfg.Path = "/" + cfg.Path
	}
	p := &Printer{cfg: cfg, log: cfg.Logger, closing: make(chan struct{}), done: make(chan struct{}),
		captured: captured, captureErr: captureErr}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.supplies = append([]Supply(nil), cfg.Supplies...)
	for i := range p.supplies {
		for name, lvl := range cfg.Levels {
			if strings.EqualFold(p.supplies[i].Name, name) {
				p.supplies[i].Level = lvl
			}
		}
		for name, st := range cfg.Says {
			if strings.EqualFold(p.supplies[i].Name, name) {
				p.supplies[i].Says = st
			}
		}
	}
	p.mode.Store(int32(cfg.Mode))
	return p
}

// uuidFrom derives a stable version-5-shaped UUID from s.
func uuidFrom(s string) string {
	h := sha256.Sum256([]byte(s))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// Config returns the configuration with defaults filled in.
func (p *Printer) Config() Config { return p.cfg }

// Start listens on addr (e.g. "127.0.0.1:0" or an address inside a network
// namespace) and serves until ctx is done or Close is called.
func (p *Printer) Start(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("printersim: listen %s: %w", addr, err)
	}
	return p.Serve(ctx, ln)
}

// Serve serves on ln, which it takes ownership of, until ctx is done or
// Close is called. It returns once the printer accepts connections.
func (p *Printer) Serve(ctx context.Context, ln net.Listener) error {
	if p.ln != nil {
		ln.Close()
		return errors.New("printersim: already started")
	}
	if p.captureErr != nil {
		ln.Close()
		return p.captureErr
	}
	if p.cfg.TLS {
		if err := p.RotateCertificate(); err != nil {
			ln.Close()
			return err
		}
		ln = newSniffListener(ln, p.cfg.TLSOnly, &tls.Config{
			MinVersion: tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
				return p.cert.Load(), nil
			},
		})
	}
	p.ln = ln
	p.addr = ln.Addr().String()
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         p.connState,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(p.done)
		_ = p.srv.Serve(ln)
	}()
	if p.cfg.MDNS != nil {
		if err := p.Advertise(*p.cfg.MDNS); err != nil {
			_ = p.Close()
			return err
		}
	}
	go func() {
		select {
		case <-ctx.Done():
			_ = p.Close()
		case <-p.closing:
		}
	}()
	return nil
}

// connState closes new connections in ModeClose.
func (p *Printer) connState(c net.Conn, st http.ConnState) {
	if st == http.StateNew && Mode(p.mode.Load()) == ModeClose {
		c.Close()
	}
}

// Close stops serving and advertising. It is safe to call more than once.
func (p *Printer) Close() error {
	p.StopAdvertising()
	var err error
	p.closeOnce.Do(func() {
		close(p.closing)
		if p.srv != nil {
			err = p.srv.Close()
			<-p.done
		}
	})
	return err
}

// Addr returns the host:port the printer listens on ("" before Start).
func (p *Printer) Addr() string { return p.addr }

// Port returns the TCP port the printer listens on (0 before Start).
func (p *Printer) Port() int {
	_, port, _ := net.SplitHostPort(p.addr)
	n, _ := strconv.Atoi(port)
	return n
}

// URL returns the printer URI: ipps://ADDR/ipp/print with TLS, else
// ipp://ADDR/ipp/print.
func (p *Printer) URL() string {
	if p.cfg.TLS {
		return "ipps://" + p.addr + p.cfg.Path
	}
	return "ipp://" + p.addr + p.cfg.Path
}

// SetLevel sets the level of the named supply (case-insensitive) while the
// printer runs.
func (p *Printer) SetLevel(supply string, level int) error {
	return p.setSupply(supply, func(s *Supply) { s.Level = level })
}

// SetSays sets what the printer says of the named supply
// (case-insensitive) in printer-state-reasons: printer.StateLow,
// printer.StateEmpty, or "" for nothing beyond its level.
func (p *Printer) SetSays(supply, state string) error {
	return p.setSupply(supply, func(s *Supply) { s.Says = state })
}

// setSupply changes the named supply (case-insensitive) with set.
func (p *Printer) setSupply(name string, set func(*Supply)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.supplies {
		if strings.EqualFold(p.supplies[i].Name, name) {
			set(&p.supplies[i])
			return nil
		}
	}
	return fmt.Errorf("printersim: no supply %q", name)
}

// Levels returns the current level of every supply by name.
func (p *Printer) Levels() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := make(map[string]int, len(p.supplies))
	for _, s := range p.supplies {
		m[s.Name] = s.Level
	}
	return m
}

// SetMode changes how IPP requests are treated.
func (p *Printer) SetMode(m Mode) { p.mode.Store(int32(m)) }

// Fingerprint returns the SHA-256 fingerprint of the current TLS
// certificate as "SHA256:<hex>", or "" without TLS.
func (p *Printer) Fingerprint() string {
	c := p.cert.Load()
	if c == nil || len(c.Certificate) == 0 {
		return ""
	}
	sum := sha256.Sum256(c.Certificate[0])
	return "SHA256:" + hex.EncodeToString(sum[:])
}

// RotateCertificate replaces the TLS certificate with a new self-signed
// one, as a factory reset or firmware update does. New connections get the
// new certificate.
func (p *Printer) RotateCertificate() error {
	cert, err := selfSigned(p.cfg.Make+" "+p.cfg.Model, p.cfg.Serial)
	if err != nil {
		return fmt.Errorf("printersim: certificate: %w", err)
	}
	p.cert.Store(cert)
	return nil
}

// snapshot returns a copy of the supplies.
func (p *Printer) snapshot() []Supply {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Supply(nil), p.supplies...)
}

// fromCapture decodes cfg.Capture, fills cfg's empty identity fields and
// its supplies (names and levels of marker-*) from it, and returns its
// printer attributes.
func fromCapture(cfg *Config) (goipp.Attributes, error) {
	body, err := ipp.CaptureResponse(cfg.Capture)
	if err != nil {
		return nil, fmt.Errorf("printersim: %w", err)
	}
	var msg goipp.Message
	if err := msg.DecodeBytesEx(body, goipp.DecoderOptions{EnableWorkarounds: true}); err != nil {
		return nil, fmt.Errorf("printersim: capture: %w", err)
	}
	if len(msg.Printer) == 0 {
		return nil, errors.New("printersim: capture: no printer attributes")
	}
	p := ipp.FromAttributes(msg.Printer)
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&cfg.Make, p.Make)
	fill(&cfg.Model, p.Model)
	fill(&cfg.Serial, p.Serial)
	fill(&cfg.UUID, p.UUID)
	fill(&cfg.Name, p.Name)
	if cfg.Supplies == nil {
		cfg.Supplies = []Supply{}
		for _, a := range msg.Printer {
			if a.Name != "marker-names" {
				continue
			}
			for _, v := range a.Values {
				name := v.V.String()
				if t, ok := v.V.(goipp.TextWithLang); ok {
					name = t.Text
				}
				cfg.Supplies = append(cfg.Supplies, Supply{Name: name, Level: printerLevelUnknown})
			}
		}
		for _, a := range msg.Printer {
			if a.Name != "marker-levels" {
				continue
			}
			for i, v := range a.Values {
				if n, ok := v.V.(goipp.Integer); ok && i < len(cfg.Supplies) {
					cfg.Supplies[i].Level = int(n)
				}
			}
		}
	}
	return msg.Printer, nil
}

// printerLevelUnknown is IPP's "unknown" marker level.
const printerLevelUnknown = -2
