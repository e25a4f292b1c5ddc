// Package ipp is a small IPP client for reading what a printer says about
// itself: Get-Printer-Attributes over ipp:// (HTTP) and ipps:// (HTTPS), on
// github.com/OpenPrinting/goipp.
//
// Printers use self-signed certificates, so ipps:// connections are
// trusted on first use: the SHA-256 fingerprint of each printer's
// certificate is pinned per host:port in a PinStore, and a later,
// different certificate is refused with a *CertChangedError.
package ipp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/arsctl/arsctl/pkg/printer"
)

// DefaultPort is the IANA port of IPP and IPPS.
const DefaultPort = 631

// DefaultTimeout bounds a request whose context has no deadline.
const DefaultTimeout = 10 * time.Second

// maxResponse bounds the size of a response body.
const maxResponse = 4 << 20

// Client sends IPP requests. The zero value is usable: it pins
// certificates in memory only and logs nothing. A Client is safe for
// concurrent use and reuses connections.
type Client struct {
	// Pins records printers' certificate fingerprints. Nil means an
	// in-memory store private to this Client.
	Pins PinStore
	// Timeout bounds a request whose context has no deadline; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// Logger receives debug messages; nil discards them. The raw
	// printer-device-id is never logged.
	Logger *slog.Logger
	// Dialer, when set, opens TCP connections (e.g. to bind a source
	// address in tests).
	Dialer *net.Dialer

	once      sync.Once
	transport *http.Transport
	mem       MemPinStore
	reqID     atomic.Uint32
}

// Error is an error about one printer, shown as "ipp: HOST:PORT: ...".
type Error struct {
	// HostPort is the printer address.
	HostPort string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *Error) Error() string { return "ipp: " + e.HostPort + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatusError is an HTTP response other than 200 OK, e.g. 404 when the
// resource path is wrong.
type HTTPStatusError struct {
	// StatusCode is the HTTP status code.
	StatusCode int
}

// Error implements error.
func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

func (c *Client) init() {
	c.once.Do(func() {
		c.transport = &http.Transport{
			DialContext:         c.dial,
			DialTLSContext:      c.dialTLS,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		}
	})
}

func (c *Client) pins() PinStore {
	if c.Pins != nil {
		return c.Pins
	}
	return &c.mem
}

func (c *Client) log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := c.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	return d.DialContext(ctx, network, addr)
}

func (c *Client) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	raw, err := c.dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Printers present self-signed certificates that no CA vouches
		// for; VerifyConnection checks them against the pin instead.
		InsecureSkipVerify: true, //nolint:gosec // verified by pin below
		VerifyConnection: func(cs tls.ConnectionState) error {
			return c.verifyPin(addr, cs)
		},
	}
	if net.ParseIP(host) == nil {
		cfg.ServerName = host
	}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return tc, nil
}

func (c *Client) verifyPin(hostport string, cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("printer presented no TLS certificate")
	}
	got := Fingerprint(cs.PeerCertificates[0])
	store := c.pins()
	pinned, ok, err := store.Lookup(hostport)
	if err != nil {
		return err
	}
	if !ok {
		c.log().Info("pinned printer certificate on first use", "printer", hostport, "fingerprint", got)
		return store.Save(hostport, got)
	}
	if pinned != got {
		e := &CertChangedError{HostPort: hostport, Pinned: pinned, Got: got}
		if fs, ok := store.(*FilePinStore); ok {
			e.StorePath = fs.Path()
		}
		return e
	}
	return nil
}

// target is a parsed printer URI.
type target struct {
	ippURI   string // the URI as sent in printer-uri (ipp:// or ipps://)
	httpURL  string // the URL the request is posted to
	hostport string
	host     string
	port     int
}

func parseURI(uri string) (target, error) {
	var t target
	u, err := url.Parse(uri)
	if err != nil {
		return t, fmt.Errorf("invalid printer URI %q: %w", uri, err)
	}
	var httpScheme, ippScheme string
	switch u.Scheme {
	case "ipp", "http":
		httpScheme, ippScheme = "http", "ipp"
	case "ipps", "https":
		httpScheme, ippScheme = "https", "ipps"
	default:
		return t, fmt.Errorf("invalid printer URI %q: scheme must be ipp or ipps", uri)
	}
	if u.Hostname() == "" {
		return t, fmt.Errorf("invalid printer URI %q: no host", uri)
	}
	t.host = u.Hostname()
	t.port = DefaultPort
	if p := u.Port(); p != "" {
		t.port, err = strconv.Atoi(p)
		if err != nil || t.port <= 0 || t.port > 65535 {
			return t, fmt.Errorf("invalid printer URI %q: bad port", uri)
		}
	}
	t.hostport = net.JoinHostPort(t.host, strconv.Itoa(t.port))
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	t.ippURI = ippScheme + "://" + uriHost(t.hostport) + path
	t.httpURL = httpScheme + "://" + uriHost(t.hostport) + path
	return t, nil
}

// GetPrinterAttributes asks the printer at uri (ipp://host[:port]/path or
// ipps://...) for the attributes arsctl uses and maps them to a Printer,
// with URI, Port, Addrs (when the host is an IP address) or Host,
// TLSFingerprint (over ipps) and Sources ["ipp"] set.
//
// Errors are *Error values naming the printer, wrapping a *StatusError, a
// *HTTPStatusError, ErrMalformed, a *CertChangedError or the context's
// error. With no deadline on ctx, Client.Timeout applies.
func (c *Client) GetPrinterAttributes(ctx context.Context, uri string) (*printer.Printer, error) {
	t, err := parseURI(uri)
	if err != nil {
		return nil, err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	p, err := c.get(ctx, t)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = ctxErr
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s: %w", roundDuration(timeout), context.DeadlineExceeded)
		}
		return nil, &Error{HostPort: t.hostport, Err: err}
	}
	return p, nil
}

func (c *Client) get(ctx context.Context, t target) (*printer.Printer, error) {
	c.init()
	req := goipp.NewRequest(goipp.DefaultVersion, goipp.OpGetPrinterAttributes, c.reqID.Add(1))
	req.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	req.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	req.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(t.ippURI)))
	req.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String("arsctl")))
	ra := goipp.Attribute{Name: "requested-attributes"}
	for _, a := range RequestedAttributes {
		ra.Values.Add(goipp.TagKeyword, goipp.String(a))
	}
	req.Operation.Add(ra)
	body, err := req.EncodeBytes()
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}

	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, t.httpURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", goipp.ContentType)
	hreq.Header.Set("Accept", goipp.ContentType)
	hreq.Header.Set("User-Agent", "arsctl")
	start := time.Now()
	resp, err := c.transport.RoundTrip(hreq)
	if err != nil {
		err = unwrapURLError(err)
		if strings.Contains(err.Error(), "malformed HTTP") {
			return nil, &notHTTPError{err: err}
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, &HTTPStatusError{StatusCode: resp.StatusCode}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: truncated: %w", ErrMalformed, err)
	}
	if len(data) > maxResponse {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, maxResponse)
	}
	p, err := DecodeResponse(data)
	if err != nil {
		return nil, err
	}
	c.log().Debug("ipp get-printer-attributes", "printer", t.hostport,
		"bytes", len(data), "took", time.Since(start), "make", p.Make, "model", p.Model,
		"serial", printer.MaskSerial(p.Serial), "supplies", len(p.Supplies))

	p.URI = t.ippURI
	p.Port = t.port
	if ip, err := netip.ParseAddr(t.host); err == nil {
		p.Addrs = []string{ip.String()}
	} else {
		p.Host = t.host
	}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		p.TLSFingerprint = Fingerprint(resp.TLS.PeerCertificates[0])
	}
	return p, nil
}

// uriHost escapes an IPv6 zone ("[fe80::1%eth0]:631") for use in a URI
// (RFC 6874: "[fe80::1%25eth0]:631").
func uriHost(hostport string) string {
	return strings.ReplaceAll(hostport, "%", "%25")
}

// notHTTPError is an answer that is not HTTP at all, e.g. a TLS alert from
// a port that speaks only TLS.
type notHTTPError struct{ err error }

func (e *notHTTPError) Error() string   { return "malformed response: not HTTP: " + e.err.Error() }
func (e *notHTTPError) Unwrap() []error { return []error{ErrMalformed, e.err} }

// unwrapURLError drops the *url.Error wrapper, whose text repeats the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}

// CloseIdleConnections closes connections kept for reuse.
func (c *Client) CloseIdleConnections() {
	c.init()
	c.transport.CloseIdleConnections()
}
