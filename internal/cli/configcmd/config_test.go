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

func run(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	ios, _, out, _ := iostreams.Test()
	getenv := func(k string) string { return env[k] }
	f := &cmdutil.Factory{
		IOStreams: ios, Getenv: getenv, Output: &cmdutil.OutputOptions{},
		Config: func() (*config.Config, error) { return config.Load(getenv) },
	}
	cmd := NewCmdConfig(f, nil)
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(out)
	err := cmd.Execute()
	return out.String(), err
}

func TestSetGetList(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"ARS_CONFIG_DIR": dir}
	if _, err := run(t, env, "set", "server", "https://ars.example.com/"); err != nil {
		t.Fatal(err)
	}
	if out, _ := run(t, env, "get", "server"); out != "https://ars.example.com\n" {
		t.Errorf("get server = %q", out)
	}
	fi, err := os.Stat(filepath.Join(dir, "config.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config file: %v, mode %v", err, fi.Mode())
	}
	// The environment overrides what is read, but is never written.
	env["ARS_SERVER"] = "http://127.0.0.1:9"
	if out, _ := run(t, env, "get", "server"); out != "http://127.0.0.1:9\n" {
		t.Errorf("ARS_SERVER override: %q", out)
	}
	if _, err := run(t, env, "set", "provider", "canon"); err != nil {
		t.Fatal(err)
	}
	delete(env, "ARS_SERVER")
	if out, _ := run(t, env, "get", "server"); out != "https://ars.example.com\n" {
		t.Errorf("ARS_SERVER leaked into the file: %q", out)
	}
	out, _ := run(t, env, "list")
	if !strings.Contains(out, "provider=canon") || !strings.Contains(out, "server=https://ars.example.com") {
		t.Errorf("list = %q", out)
	}
}

func TestRejectsBadValues(t *testing.T) {
	env := map[string]string{"ARS_CONFIG_DIR": t.TempDir()}
	for _, args := range [][]string{
		{"set", "provider", "epson"},
		{"set", "server", "ftp://x"},
		{"set", "output", "yaml"},
		{"set", "colour", "red"},
		{"get", "nope"},
	} {
		_, err := run(t, env, args...)
		if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}

// TestNewCmdConfigOptions: get and set parse their arguments into
// Options; set reads a secret given as "-" from stdin and validates the
// value before anything runs.
func TestNewCmdConfigOptions(t *testing.T) {
	for _, tt := range []struct {
		args           []string
		stdin          string
		setting, value string
		wantErr        string
	}{
		{args: []string{"get", "server"}, setting: "server"},
		{args: []string{"set", "provider", "amazon"}, setting: "provider", value: "amazon"},
		{args: []string{"set", "snmp.auth-password", "-"}, stdin: "s3cret\n", setting: "snmp.auth-password", value: "s3cret"},
		{args: []string{"set", "provider", "epson"}, wantErr: "provider must be"},
		{args: []string{"get", "colour"}, wantErr: "unknown setting"},
		{args: []string{"list"}},
		{args: []string{"path"}},
	} {
		ios, in, _, _ := iostreams.Test()
		in.WriteString(tt.stdin)
		f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}, Getenv: func(string) string { return "" }}
		var got *Options
		cmd := NewCmdConfig(f, func(o *Options) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		cmd.SetOut(&strings.Builder{})
		cmd.SetErr(&strings.Builder{})
		err := cmd.Execute()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || got != nil {
				t.Errorf("%v: err = %v, ran = %v; want %q before running", tt.args, err, got != nil, tt.wantErr)
			}
			continue
		}
		if err != nil || got == nil || got.Setting != tt.setting || got.Value != tt.value {
			t.Errorf("%v: err %v, options %+v", tt.args, err, got)
		}
	}
}
