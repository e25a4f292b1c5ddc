package ipp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/arsctl/arsctl/pkg/printer"
)

// ProbePaths are the resource paths Probe tries, in order: what IPP
// Everywhere printers (and Canon PIXMAs) use, what some older printers
// use, and the root that CUPS-style servers answer on.
var ProbePaths = []string{"/ipp/print", "/ipp/printer", "/"}

// Probe finds the IPP service of one printer given only its address,
// "host", "host:port" or "[v6]:port" (port 631 when omitted). It tries
// ipp://hostport + each of ProbePaths in turn and returns the first
// printer that answers. When the printer answers only over TLS, it
// retries with ipps://. A connection error or the context's deadline ends
// the probe at once rather than trying further paths.
func (c *Client) Probe(ctx context.Context, hostport string) (*printer.Printer, error) {
	hp, err := normalizeHostPort(hostport)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, scheme := range []string{"ipp", "ipps"} {
		retryTLS, sawBadRequest := false, false
		for _, path := range ProbePaths {
			p, err := c.GetPrinterAttributes(ctx, scheme+"://"+uriHost(hp)+path)
			if err == nil {
				return p, nil
			}
			errs = append(errs, fmt.Errorf("%s://%s%s: %w", scheme, hp, path, lastCause(err)))
			var he *HTTPStatusError
			if errors.As(err, &he) && he.StatusCode == 400 {
				// Also what an HTTPS server says to plain HTTP.
				sawBadRequest = true
			}
			if wrongPath(err) {
				continue
			}
			if scheme == "ipp" && wantsTLS(err) && ctx.Err() == nil {
				retryTLS = true
				break
			}
			return nil, err
		}
		if !retryTLS && !sawBadRequest {
			break
		}
	}
	return nil, &Error{HostPort: hp, Err: fmt.Errorf("no IPP printer found at %s: %w", strings.Join(ProbePaths, ", "), errors.Join(errs...))}
}

// wrongPath reports whether err means the printer answered but not at this
// resource path.
func wrongPath(err error) bool {
	var se *StatusError
	var he *HTTPStatusError
	if errors.As(err, &he) {
		return he.StatusCode != 426 // 426 Upgrade Required: wants TLS
	}
	return errors.As(err, &se)
}

// wantsTLS reports whether a plain-HTTP attempt failed in a way that
// suggests the port speaks only TLS.
func wantsTLS(err error) bool {
	var he *HTTPStatusError
	if errors.As(err, &he) {
		return he.StatusCode == 426
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	var nh *notHTTPError
	if errors.As(err, &nh) {
		return true
	}
	if errors.Is(err, ErrMalformed) {
		return false
	}
	// A TLS-only server answers plain HTTP with a TLS alert (a malformed
	// HTTP response) or by closing the connection.
	return true
}

func lastCause(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e.Err
	}
	return err
}

func normalizeHostPort(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("ipp: no printer address given")
	}
	if host, port, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(port)
		if err != nil || n <= 0 || n > 65535 {
			return "", fmt.Errorf("ipp: invalid port in %q", s)
		}
		return net.JoinHostPort(strings.Trim(host, "[]"), port), nil
	}
	return net.JoinHostPort(strings.Trim(s, "[]"), strconv.Itoa(DefaultPort)), nil
}
