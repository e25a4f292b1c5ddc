package cmdutil

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/pkg/browser"

	"github.com/arsctl/arsctl/internal/auth"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/prompt"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/ipp"
	"github.com/arsctl/arsctl/pkg/printer"
)

// Browser opens URLs in the user's web browser.
type Browser interface {
	Browse(url string) error
}

// SystemBrowser opens URLs with github.com/pkg/browser, refusing when no
// graphical session is likely to exist (SSH without display), so the
// caller prints the URL instead.
type SystemBrowser struct {
	Getenv config.Env
}

// ErrNoBrowser means no browser can be opened here.
var ErrNoBrowser = fmt.Errorf("no web browser available")

// Browse implements Browser.
func (b SystemBrowser) Browse(url string) error {
	if b.Getenv("ARS_NO_BROWSER") != "" {
		return ErrNoBrowser
	}
	if b.Getenv("DISPLAY") == "" && b.Getenv("WAYLAND_DISPLAY") == "" && b.Getenv("BROWSER") == "" && isLinux {
		return ErrNoBrowser
	}
	if b.Getenv("SSH_CONNECTION") != "" && b.Getenv("DISPLAY") == "" && b.Getenv("BROWSER") == "" {
		return ErrNoBrowser
	}
	browser.Stdout, browser.Stderr = nil, nil
	if err := browser.OpenURL(url); err != nil {
		return fmt.Errorf("%w: %v", ErrNoBrowser, err)
	}
	return nil
}

// Factory holds what commands need from the outside world. main builds one
// and hands it to every command; tests build their own.
type Factory struct {
	IOStreams *iostreams.IOStreams
	Getenv    config.Env
	Config    func() (*config.Config, error)
	Prompter  prompt.Prompter
	Browser   Browser
	// Output holds the global --json / --jq flags.
	Output *OutputOptions
	// ServerFlag is the global --server flag.
	ServerFlag string
	// Debug is the global --debug flag: HTTP tracing on stderr, secrets redacted.
	Debug bool
	// Version is the build version.
	Version string
	// Transport is the base HTTP transport (nil: http.DefaultTransport).
	Transport http.RoundTripper

	tokenStore auth.Store
	ippClient  *ipp.Client
}

// ServerURL is the ARS API server to talk to: --server, else ARS_SERVER,
// else the config file, else a local arsd at arsapi.DefaultServer.
func (f *Factory) ServerURL() (string, error) {
	if f.ServerFlag != "" {
		return checkServer(f.ServerFlag, "--server")
	}
	cfg, err := f.Config()
	if err != nil {
		return "", err
	}
	if cfg.Server != "" {
		source := "the config file's server"
		if f.Getenv != nil && f.Getenv("ARS_SERVER") != "" {
			source = "ARS_SERVER"
		}
		return checkServer(cfg.Server, source)
	}
	return arsapi.DefaultServer, nil
}

// checkServer returns raw without trailing slashes when it is an http or
// https URL with a host, else a usage error naming where it came from.
func checkServer(raw, source string) (string, error) {
	s := strings.TrimRight(raw, "/")
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", FlagErrorf("%s %q is not a server URL: want http://HOST[:PORT] or https://HOST[:PORT]", source, raw)
	}
	return s, nil
}

// HTTPClient returns an HTTP client that traces requests on stderr with
// --debug (Authorization, cookies and token fields redacted).
func (f *Factory) HTTPClient() *http.Client {
	rt := f.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if f.Debug {
		rt = &debugTransport{next: rt, io: f.IOStreams}
	}
	return &http.Client{Transport: rt, Timeout: 60 * time.Second}
}

type debugTransport struct {
	next http.RoundTripper
	io   *iostreams.IOStreams
}

var secretFields = regexp.MustCompile(`(?i)("?(access_token|refresh_token|id_token|password|client_secret|code_verifier|device_code|token)"?\s*[:=]\s*"?)[^"&,\s}]+`)

// serialFields are serial numbers in JSON bodies and query strings:
// debug traces get pasted into bug reports, and a Canon printer's serial
// doubles as its admin password.
var serialFields = regexp.MustCompile(`(?i)("serial"\s*:\s*"|[?&]serial=)([^"&\s]+)`)

// Redact removes credentials from a dumped HTTP message and masks serial
// numbers (printer.MaskSerial).
func Redact(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lower := strings.ToLower(l)
		if strings.HasPrefix(lower, "authorization:") || strings.HasPrefix(lower, "cookie:") || strings.HasPrefix(lower, "set-cookie:") {
			name, _, _ := strings.Cut(l, ":")
			lines[i] = name + ": [redacted]"
			continue
		}
		l = secretFields.ReplaceAllString(l, "${1}[redacted]")
		lines[i] = serialFields.ReplaceAllStringFunc(l, func(m string) string {
			sub := serialFields.FindStringSubmatch(m)
			return sub[1] + printer.MaskSerial(sub[2])
		})
	}
	return strings.Join(lines, "\n")
}

func (d *debugTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	if dump, err := httputil.DumpRequestOut(r, true); err == nil {
		fmt.Fprintf(d.io.ErrOut, "* request\n%s\n", Redact(string(dump)))
	}
	resp, err := d.next.RoundTrip(r)
	if err != nil {
		fmt.Fprintf(d.io.ErrOut, "* %s %s failed after %s: %v\n", r.Method, r.URL.Redacted(), time.Since(start).Round(time.Millisecond), err)
		return nil, err
	}
	if dump, err := httputil.DumpResponse(resp, true); err == nil {
		fmt.Fprintf(d.io.ErrOut, "* response in %s\n%s\n", time.Since(start).Round(time.Millisecond), Redact(string(dump)))
	}
	return resp, nil
}
