package configcmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/iostreams"
)

// TestSNMPSettings: SNMP credentials are kept in the private config file,
// secrets may come from stdin, and get and list never show them.
func TestSNMPSettings(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"ARS_CONFIG_DIR": dir}
	for _, kv := range [][2]string{{"snmp.user", "arsmon"}, {"snmp.auth-protocol", "sha256"}, {"snmp.community", "c0mmunity"}} {
		if out, err := run(t, env, "set", kv[0], kv[1]); err != nil || strings.Contains(out, "c0mmunity") {
			t.Fatalf("set %s: %v %s", kv[0], err, out)
		}
	}
	// A secret from standard input.
	ios, in, out, _ := iostreams.Test()
	in.WriteString("auth-pass-phrase\n")
	getenv := func(k string) string { return env[k] }
	f := &cmdutil.Factory{IOStreams: ios, Getenv: getenv, Output: &cmdutil.OutputOptions{},
		Config: func() (*config.Config, error) { return config.Load(getenv) }}
	cmd := NewCmdConfig(f, nil)
	cmd.SetArgs([]string{"set", "snmp.auth-password", "-"})
	cmd.SetOut(out)
	cmd.SetErr(out)
	if err := cmd.Execute(); err != nil || strings.Contains(out.String(), "auth-pass-phrase") {
		t.Fatalf("set from stdin: %v %s", err, out)
	}
	cfg, err := config.Load(getenv)
	if err != nil || cfg.SNMP != (config.SNMP{User: "arsmon", AuthProtocol: "SHA256", AuthPassword: "auth-pass-phrase", Community: "c0mmunity"}) {
		t.Fatalf("saved %+v, %v", cfg.SNMP, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "config.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v", err)
	}
	if got, _ := run(t, env, "get", "snmp.auth-password"); got != "(set)\n" {
		t.Errorf("get secret = %q", got)
	}
	list, _ := run(t, env, "list")
	if strings.Contains(list, "auth-pass-phrase") || strings.Contains(list, "c0mmunity") || !strings.Contains(list, "snmp.user=arsmon") {
		t.Errorf("list = %q", list)
	}
	if _, err := run(t, env, "set", "snmp.priv-protocol", "ROT13"); err == nil {
		t.Error("unknown privacy protocol accepted")
	}
}
