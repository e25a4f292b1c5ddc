package arsapi

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// NotServerError is returned when something answers at the client's
// address but it is not an ARS server: a printer's IPP port, a web site,
// plain HTTP asked for HTTPS or the other way round. Programs usually
// tell the user to check the server address.
type NotServerError struct {
	// Server is the address that was asked.
	Server string
	// Answer says what answered instead, e.g. "it answers like a printer (IPP)".
	Answer string
	// Hint says what to change, or is empty.
	Hint string
}

// Error implements error.
func (e *NotServerError) Error() string {
	s := fmt.Sprintf("%s is not an ARS server (arsd): %s", e.Server, e.Answer)
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s + ". Check --server, ARS_SERVER or the config file's server"
}

// NotServer returns a *NotServerError when the outcome of a request to
// server shows that what answered is not an ARS server, and nil
// otherwise. err is the request's error; resp and body, when err is nil,
// its answer. Every answer of an ARS server to its API paths is JSON (an
// RFC 9457 problem for errors), so a non-JSON answer with a success
// status, 400, 404 or 405 is another server's; a proxy's 502, 503 or 504
// is not taken for one.
func NotServer(server string, resp *http.Response, body []byte, err error) error {
	if err != nil {
		var rh tls.RecordHeaderError
		if errors.As(err, &rh) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
			return &NotServerError{Server: server, Answer: "it answers plain HTTP, not HTTPS", Hint: "use " + swapScheme(server, "http")}
		}
		return nil
	}
	if resp == nil {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	// CUPS and its ippeveprinter name themselves "CUPS/2.4.2" (some add
	// "IPP/2.1"), and 631 is IPP's port.
	sv := strings.ToUpper(resp.Header.Get("Server"))
	printer := mt == "application/ipp" || strings.Contains(sv, "CUPS") || strings.Contains(sv, "IPP/") ||
		(resp.Request != nil && resp.Request.URL.Port() == "631")
	switch {
	case printer:
		return &NotServerError{Server: server, Answer: "it answers like a printer (IPP)", Hint: "a printer's address goes to --host; the server is where arsd listens (http://127.0.0.1:8787 by default)"}
	case mt == "application/json" || mt == "application/problem+json":
		return nil
	case resp.StatusCode == http.StatusBadRequest && bytes.Contains(body, []byte("HTTP request to an HTTPS server")):
		return &NotServerError{Server: server, Answer: "it speaks HTTPS", Hint: "use " + swapScheme(server, "https")}
	case resp.StatusCode < 300, resp.StatusCode == http.StatusBadRequest, resp.StatusCode == http.StatusNotFound, resp.StatusCode == http.StatusMethodNotAllowed:
		what := mt
		switch {
		case mt == "text/html":
			what = "a web page (text/html)"
		case mt == "":
			what = "no content type"
		}
		return &NotServerError{Server: server, Answer: fmt.Sprintf("it answered HTTP %d with %s, not the ARS API's JSON", resp.StatusCode, what)}
	}
	return nil
}

// swapScheme returns server with scheme in place of its own.
func swapScheme(server, scheme string) string {
	_, rest, ok := strings.Cut(server, "://")
	if !ok {
		return server
	}
	return scheme + "://" + rest
}
