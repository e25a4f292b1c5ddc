package discover

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/cli/clitest"
	"github.com/arsctl/arsctl/internal/cli/eligibility"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/discovery"
	"github.com/arsctl/arsctl/pkg/ipp"
)

// sim starts a simulated printer that names itself as given (whatever the
// simulator's defaults are) and returns its address.
func sim(t *testing.T, mk, model string, serial string) string {
	return clitest.Printer(t, printersim.Config{Make: mk, Model: model, Name: mk + " " + model, Serial: serial}).Addr()
}

func clients(c *arsapi.Client, signed *arsapi.Client) eligibility.Clients {
	cl := eligibility.Clients{PublicClient: func() (eligibility.Catalogue, error) { return c, nil }}
	if signed != nil {
		cl.Client = func(context.Context) (eligibility.Account, error) { return signed, nil }
	}
	return cl
}

func runHostsJSON(t *testing.T, hosts []string, cl eligibility.Clients, wait time.Duration, pipe bool) (map[string]eligibility.Status, string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	opts := &Options{IO: ios, Output: &cmdutil.OutputOptions{JSON: !pipe}, Timeout: 10 * time.Second, Hosts: hosts,
		IPP: &ipp.Client{}, Probe: discovery.ProbeHost, Eligibility: cl, EligibilityWait: wait}
	if err := discoverRun(context.Background(), opts); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if pipe {
		return nil, out.String()
	}
	var rows []Row
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := map[string]eligibility.Status{}
	for _, r := range rows {
		got[r.Serial] = r.Eligibility
	}
	return got, out.String()
}

// TestDiscoverEligibility: discover --host against simulated printers on
// 127.0.0.1 and a real API server shows per printer eligible (as which
// model), not eligible (why: another make, not on the list) or already
// enrolled in your account.
func TestDiscoverEligibility(t *testing.T) {
	api := clitest.StartAPI(t)
	tok := api.Account(t, "owner@example.com")
	hosts := []string{
		sim(t, "Canon", "TS5300 series", "KNMA00201"),
		sim(t, "Canon", "TS9500 series", "KNMA00202"),
		sim(t, "EPSON", "ET-2850 Series", "X5EP00203"),
		sim(t, "Canon", "MX490 series", "KNMA00204"),
		sim(t, "Canon", "TS8300 series", "KNMA00205"),
	}
	enr, err := api.Client(tok).CreateEnrollment(context.Background(), arsapi.CreateEnrollmentRequest{
		Provider: arsapi.ProviderCanon, Printer: arsapi.Printer{Model: "TS8320", Series: "TS8300 series", Serial: "KNMA00205"}, TermsVersion: "2026-01"}, "")
	if err != nil {
		t.Fatal(err)
	}

	got, raw := runHostsJSON(t, hosts, clients(api.Client(""), api.Client(tok)), time.Minute, false)
	want := map[string]string{
		"KNMA00201": "eligible (TS5320)",
		"KNMA00202": "eligible (TS9520 or TS9521C)",
		"X5EP00203": "not eligible: this service does not serve EPSON printers; it serves Canon printers",
		"KNMA00204": "not eligible: the Canon MX490 series is not an eligible model",
		"KNMA00205": "enrolled (yours, canon)",
	}
	for serial, w := range want {
		if got[serial].String() != w {
			t.Errorf("%s: %q, want %q\n%s", serial, got[serial], w, raw)
		}
	}
	if got["KNMA00205"].EnrollmentID != enr.ID {
		t.Errorf("enrolled printer: %+v", got["KNMA00205"])
	}

	// Not signed in: eligibility still shows; enrollments cannot.
	got, _ = runHostsJSON(t, hosts[4:], clients(api.Client(""), nil), time.Minute, false)
	if got["KNMA00205"].String() != "eligible (TS8320)" {
		t.Errorf("signed out: %q", got["KNMA00205"])
	}

	// Piped: the last column.
	_, out := runHostsJSON(t, hosts[2:3], clients(api.Client(""), nil), time.Minute, true)
	if !strings.HasSuffix(strings.TrimSpace(out), "\tnot eligible: this service does not serve EPSON printers; it serves Canon printers") {
		t.Errorf("piped row %q", out)
	}
}

// TestDiscoverEligibilityNoServer: with nothing listening where the server
// should be, or a server that never answers, every printer is "unknown"
// and discover ends without waiting for the server.
func TestDiscoverEligibilityNoServer(t *testing.T) {
	host := sim(t, "Canon", "TS5300 series", "KNMA00211")

	down := arsapi.New("http://127.0.0.1:1")
	got, _ := runHostsJSON(t, []string{host}, clients(down, down), time.Minute, false)
	if st := got["KNMA00211"]; st.State != eligibility.Unknown {
		t.Errorf("server down: %+v", st)
	}

	// A server that holds every request until the test ends: the row is
	// printed "unknown" and Run returns while the server still holds them.
	release := make(chan struct{})
	held := make(chan struct{}, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	defer close(release)
	slow := arsapi.New(srv.URL)
	_, out := runHostsJSON(t, []string{host}, clients(slow, slow), 50*time.Millisecond, true)
	if !strings.HasSuffix(strings.TrimSpace(out), "\tunknown") {
		t.Errorf("row with a silent server: %q", out)
	}
	select {
	case <-held:
	default:
		t.Error("the server was never asked")
	}
}
