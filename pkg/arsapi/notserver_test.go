package arsapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestNotServer: --server pointing at something that is not arsd (a
// printer's IPP port, a web site, https against a plain server, http
// against an https one) is told as such, with what to change.
func TestNotServer(t *testing.T) {
	ipp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// What ippeveprinter (CUPS 2.4.2) sends: Server names CUPS, and a GET
		// of an unknown path is a 404.
		w.Header().Set("Server", "CUPS/2.4.2")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<html><title>Not Found</title></html>"))
	}))
	defer ipp.Close()
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>welcome</html>"))
	}))
	defer web.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"items":[]}`))
	}))
	defer tlsSrv.Close()

	for _, tt := range []struct {
		name, server string
		hc           *http.Client
		want         string
	}{
		{"printer", ipp.URL, nil, "it answers like a printer (IPP); a printer's address goes to --host"},
		{"web page", web.URL, nil, "it answered HTTP 200 with a web page (text/html), not the ARS API's JSON"},
		{"https on plain", strings.Replace(web.URL, "http://", "https://", 1), nil, "it answers plain HTTP, not HTTPS; use " + web.URL},
		{"http on https", strings.Replace(tlsSrv.URL, "https://", "http://", 1), nil, "it speaks HTTPS; use " + tlsSrv.URL},
	} {
		var opts []Option
		if tt.hc != nil {
			opts = append(opts, WithHTTPClient(tt.hc))
		}
		_, err := New(tt.server, opts...).Models(context.Background())
		var ns *NotServerError
		if !errors.As(err, &ns) || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), tt.server+" is not an ARS server (arsd): ") {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	// An ARS server's own answers, success or problem, are not flagged.
	if _, err := New(tlsSrv.URL, WithHTTPClient(tlsSrv.Client())).Models(context.Background()); err != nil {
		t.Errorf("JSON answer: %v", err)
	}
}
