package root

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/cli/clitest"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// complete runs `arsctl __complete args...` (what the shell scripts run
// at each Tab) and returns the values offered (without descriptions),
// the descriptions, and stderr.
func complete(t *testing.T, env map[string]string, args ...string) (values, descs []string, stderr string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	getenv := func(k string) string { return env[k] }
	f := &cmdutil.Factory{
		IOStreams: ios, Output: &cmdutil.OutputOptions{}, Version: "test", Getenv: getenv,
		Config: func() (*config.Config, error) { return config.Load(getenv) },
	}
	cmd := NewCmdRoot(f)
	cmd.SetArgs(append([]string{"__complete"}, args...))
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("__complete %v: %v", args, err)
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if strings.HasPrefix(l, ":") {
			continue // the directive
		}
		v, d, _ := strings.Cut(l, "\t")
		values = append(values, v)
		descs = append(descs, d)
	}
	return values, descs, errOut.String()
}

// quiet reports whether completion printed nothing but cobra's directive
// line on stderr (which the shell scripts discard).
func quiet(stderr string) bool {
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasPrefix(l, "Completion ended with directive") {
			return false
		}
	}
	return true
}

func baseEnv(t *testing.T, server string) map[string]string {
	return map[string]string{"ARS_SERVER": server, "ARS_KEYRING": "off",
		"ARS_STATE_DIR": t.TempDir(), "ARS_CONFIG_DIR": t.TempDir(), "HOME": t.TempDir()}
}

// TestCompletionValues: flags and arguments complete with values, not
// file names.
func TestCompletionValues(t *testing.T) {
	api := clitest.StartAPI(t)
	env := baseEnv(t, api.URL)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"cancel", "--reason", ""}, []string{"too-expensive", "prefer-buying-myself", "printing-less", "replacing-printer", "delivery-problems", "other"}},
		{[]string{"cancel", "--reason", "pr"}, []string{"prefer-buying-myself", "printing-less"}},
		{[]string{"register", "--provider", ""}, []string{"canon", "amazon"}},
		{[]string{"register", "--provider", "am"}, []string{"amazon"}},
		{[]string{"config", "set", ""}, []string{"output", "provider", "server", "snmp.auth-password", "snmp.auth-protocol", "snmp.community", "snmp.priv-password", "snmp.priv-protocol", "snmp.user"}},
		{[]string{"config", "get", "snmp.c"}, []string{"snmp.community"}},
		{[]string{"config", "set", "provider", ""}, []string{"canon", "amazon"}},
		{[]string{"config", "set", "output", ""}, []string{"table", "json"}},
		{[]string{"orders", "list", "--state", "unf"}, []string{"unfulfilled"}},
	} {
		got, _, stderr := complete(t, env, tc.args...)
		if !slices.Equal(got, tc.want) || !quiet(stderr) {
			t.Errorf("%v: %q (stderr %q), want %q", tc.args, got, stderr, tc.want)
		}
	}
	// Models come from the server, with what they are.
	got, descs, _ := complete(t, env, "register", "--model", "TS83")
	if !slices.Contains(got, "TS8320") || !strings.Contains(descs[slices.Index(got, "TS8320")], "TS8300 series") {
		t.Errorf("--model TS83: %q %q", got, descs)
	}
	// The description of a reason is its label.
	got, descs, _ = complete(t, env, "cancel", "--reason", "too")
	if len(got) != 1 || descs[0] == "" || descs[0] == "too-expensive" {
		t.Errorf("--reason too: %q %q", got, descs)
	}
}

// TestCompletionEnrollments: signed in, status and cancel complete the
// account's enrollment IDs and labels; a serial only once its first
// characters are typed; cancel offers only plans that can be cancelled.
func TestCompletionEnrollments(t *testing.T) {
	api := clitest.StartAPI(t)
	tok := api.Account(t, "owner@example.com")
	c := api.Client(tok)
	ctx := context.Background()
	enroll := func(serial, label string) arsapi.Enrollment {
		e, err := c.CreateEnrollment(ctx, arsapi.CreateEnrollmentRequest{Provider: "canon",
			Printer: arsapi.Printer{Model: "TS8320", Serial: serial, Label: label}, TermsVersion: "2026-01"}, "")
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	office := enroll(clitest.Serial(1), "office")
	old := enroll(clitest.Serial(2), "old")
	if _, err := c.CancelEnrollment(ctx, old.ID, arsapi.CancelRequest{Reasons: []string{"printing-less"}}, ""); err != nil {
		t.Fatal(err)
	}
	env := baseEnv(t, api.URL)
	env["ARS_TOKEN"] = tok

	got, descs, stderr := complete(t, env, "status", "")
	if !slices.Contains(got, office.ID) || !slices.Contains(got, "office") || !slices.Contains(got, old.ID) || !quiet(stderr) {
		t.Errorf("status: %q (stderr %q)", got, stderr)
	}
	for _, v := range append(got, descs...) {
		if strings.Contains(v, clitest.Serial(1)) {
			t.Errorf("a serial was listed unasked: %q", v)
		}
	}
	if d := descs[slices.Index(got, office.ID)]; !strings.Contains(d, "TS8320") || !strings.Contains(d, "office") {
		t.Errorf("description %q", d)
	}
	got, _, _ = complete(t, env, "cancel", "")
	if !slices.Contains(got, office.ID) || slices.Contains(got, old.ID) || slices.Contains(got, "old") {
		t.Errorf("cancel offers %q; want live plans only", got)
	}
	prefix := clitest.Serial(1)[:4]
	got, _, _ = complete(t, env, "cancel", prefix)
	if !slices.Contains(got, clitest.Serial(1)) {
		t.Errorf("cancel %s: %q", prefix, got)
	}
	got, _, _ = complete(t, env, "status", office.ID, "")
	if len(got) != 0 {
		t.Errorf("a second argument: %q", got)
	}
}

// TestCompletionSilentWhenUnavailable: not signed in, or with a server
// that is down or never answers, completion offers nothing, prints no
// error and does not wait for long.
func TestCompletionSilentWhenUnavailable(t *testing.T) {
	api := clitest.StartAPI(t)
	// Not signed in: no token anywhere.
	got, _, stderr := complete(t, baseEnv(t, api.URL), "status", "")
	if len(got) != 0 || !quiet(stderr) {
		t.Errorf("not signed in: %q, stderr %q", got, stderr)
	}
	// A server that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	env := baseEnv(t, "http://"+ln.Addr().String())
	env["ARS_TOKEN"] = "tok"
	for _, args := range [][]string{{"status", ""}, {"cancel", "--reason", ""}, {"register", "--model", ""}} {
		start := time.Now()
		got, _, stderr := complete(t, env, args...)
		if len(got) != 0 || !quiet(stderr) {
			t.Errorf("%v with a silent server: %q, stderr %q", args, got, stderr)
		}
		// Bounded by the completion timeout, not the HTTP client's minute.
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("%v took %s", args, d)
		}
	}
}

// TestCompletionInboxOrders: `orders bought` completes the IDs of the
// orders waiting in the inbox, and not one already given.
func TestCompletionInboxOrders(t *testing.T) {
	ctx := context.Background()
	api := clitest.StartAPI(t)
	tok := api.Account(t, "owner@example.com")
	c := api.Client(tok)
	e, err := c.CreateEnrollment(ctx, arsapi.CreateEnrollmentRequest{Provider: arsapi.ProviderCanon,
		Printer: arsapi.Printer{Model: "TS8320", Serial: clitest.Serial(1)}, TermsVersion: "2026-01"}, "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.ReportLevels(ctx, e.ID, arsapi.LevelReport{Supplies: []printer.Supply{
		{Name: "PGBK", Level: 3, Type: "inkCartridge"}, {Name: "C", Level: 2, Type: "inkCartridge"}}})
	if err != nil || len(res.Orders) != 2 {
		t.Fatalf("ReportLevels = %+v, %v", res, err)
	}
	for _, o := range res.Orders {
		if err := api.Store.RecordDispatch(ctx, o.ID, arsapi.FulfilmentInbox,
			fulfil.Result{State: string(arsapi.OrderUnfulfilled)}, nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	env := baseEnv(t, api.URL)
	env["ARS_TOKEN"] = tok
	got, descs, stderr := complete(t, env, "orders", "bought", "")
	if len(got) != 2 || !slices.Contains(got, res.Orders[0].ID) || !quiet(stderr) || !strings.Contains(strings.Join(descs, " "), "PGBK ink") {
		t.Errorf("orders bought: %q %q (stderr %q)", got, descs, stderr)
	}
	got, _, _ = complete(t, env, "orders", "bought", res.Orders[0].ID, "")
	if len(got) != 1 || got[0] != res.Orders[1].ID {
		t.Errorf("after one ID: %q, want %s", got, res.Orders[1].ID)
	}
}
