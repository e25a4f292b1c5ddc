package discover

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/pkg/discovery"
	"github.com/arsctl/arsctl/pkg/printer"
)

// runSearch runs `discover ARGS --json` with a fake Discover that records
// the options it gets.
func runSearch(t *testing.T, env map[string]string, cfg *config.Config, args ...string) (discovery.Options, string, string, error) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := &cmdutil.Factory{
		IOStreams: ios, Output: &cmdutil.OutputOptions{JSON: true},
		Getenv: func(k string) string { return env[k] },
		Config: func() (*config.Config, error) {
			if cfg == nil {
				return &config.Config{}, nil
			}
			return cfg, nil
		},
	}
	var got discovery.Options
	cmd := NewCmdDiscover(f, func(ctx context.Context, o *Options) error {
		o.Discover = func(_ context.Context, do discovery.Options, fn func(discovery.Event)) ([]printer.Printer, error) {
			got = do
			p := printer.Printer{Name: "P", Addrs: []string{"10.9.0.5"}}
			fn(discovery.Event{Kind: discovery.Ready, ID: 1, Printer: p})
			return []printer.Printer{p}, nil
		}
		return discoverRun(ctx, o)
	})
	cmd.SetArgs(args)
	cmd.SetOut(&strings.Builder{})
	cmd.SetErr(&strings.Builder{})
	err := cmd.Execute()
	return got, out.String(), errOut.String(), err
}

func TestSearchFlags(t *testing.T) {
	got, out, _, err := runSearch(t, nil, nil, "--subnet", "10.9.0.0/24", "--subnet", "10.9.1.10-10.9.1.20,10.9.2.7",
		"--domain", "corp.example", "--dns-server", "10.9.0.53", "--sweep-rate", "50", "--sweep-concurrency", "8", "--snmp-community", "printers")
	if err != nil {
		t.Fatal(err)
	}
	if r := got.Sweep.Ranges; len(r) != 3 || r[0].String() != "10.9.0.1-10.9.0.254" || r[1].String() != "10.9.1.10-10.9.1.20" || r[2].String() != "10.9.2.7" {
		t.Fatalf("ranges %v", r)
	}
	if got.Sweep.Rate != 50 || got.Sweep.Concurrency != 8 || got.SNMPOptions.Community != "printers" ||
		strings.Join(got.Domains, ",") != "corp.example" || got.DNSServer != "10.9.0.53" || got.Sweep.Progress == nil {
		t.Fatalf("options %+v", got)
	}
	if !strings.Contains(out, `"10.9.0.5"`) {
		t.Fatalf("stdout %s", out)
	}
}

func TestSearchFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--subnet", "10.0.0.0/15"}, "--allow-large-sweep"},
		{[]string{"--subnet", "printers"}, "invalid subnet"},
		{[]string{"--subnet", "10.0.0.0/24", "--host", "10.0.0.5"}, "--host cannot be combined"},
		{[]string{"--dns-server", "10.0.0.53"}, "--dns-server needs --domain"},
		{[]string{"--subnet", "10.0.0.0/24", "--sweep-rate", "0"}, "must be positive"},
		{[]string{"--subnet", "10.0.0.0/24", "--snmp-auth", "SHA"}, "need --snmp-user"},
		{[]string{"--subnet", "10.0.0.0/24", "--snmp-user", "ars", "--snmp-auth", "SHA"}, "at least 8"},
		{[]string{"--subnet", "10.0.0.0/24", "--snmp-user", "ars", "--snmp-auth", "ROT13"}, "unknown SNMPv3 authentication"},
	} {
		_, _, _, err := runSearch(t, nil, nil, tc.args...)
		var ee *cmdutil.ExitError
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &ee) || ee.Code != cmdutil.ExitUsage {
			t.Errorf("%v: err = %v, want a flag error with %q", tc.args, err, tc.want)
		}
	}
}

// TestSNMPSecrets: SNMPv3 passwords come from the environment or the
// config, the environment first, and never show in output or errors.
func TestSNMPSecrets(t *testing.T) {
	cfg := &config.Config{SNMP: config.SNMP{User: "cfguser", AuthProtocol: "SHA", AuthPassword: "cfg-auth-secret", PrivProtocol: "AES", PrivPassword: "cfg-priv-secret"}}
	env := map[string]string{"ARS_SNMP_AUTH_PASSWORD": "env-auth-secret"}
	got, out, errOut, err := runSearch(t, env, cfg, "--subnet", "10.0.0.0/30", "--snmp-user", "flaguser", "--snmp-auth", "SHA256")
	if err != nil {
		t.Fatal(err)
	}
	v3 := got.SNMPOptions.V3
	if v3 == nil || v3.User != "flaguser" || v3.AuthProtocol != "SHA256" || v3.AuthPassword != "env-auth-secret" ||
		v3.PrivProtocol != "AES" || v3.PrivPassword != "cfg-priv-secret" {
		t.Fatalf("v3 %+v", v3)
	}
	for _, s := range []string{out, errOut, fmt.Sprintf("%v %+v %#v", got, got, got.SNMPOptions)} {
		if strings.Contains(s, "secret") {
			t.Fatalf("a secret is shown: %s", s)
		}
	}
}
