package status

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/auth"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

func TestNewCmdStatus(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Output: &cmdutil.OutputOptions{}}
	var got *Options
	cmd := NewCmdStatus(f, func(_ context.Context, o *Options) error { got = o; return nil })
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil || got == nil || got.IO != ios || got.Output != f.Output {
		t.Fatalf("options %+v, %v", got, err)
	}
	cmd.SetArgs([]string{"extra"})
	cmd.SetErr(&strings.Builder{})
	if err := cmd.Execute(); err == nil {
		t.Error("an argument was accepted")
	}
}

func TestStatusRun(t *testing.T) {
	store := &auth.FileStore{Path: filepath.Join(t.TempDir(), "tokens.json")}
	refused := &arsapi.Problem{Status: 401, Detail: "the access token is invalid"}
	for _, tt := range []struct {
		name     string
		stored   bool
		env      bool
		account  error
		json     bool
		exit     int
		stdout   string
		errorStr string
	}{
		{name: "not signed in", exit: cmdutil.ExitAuth, errorStr: "not signed in to http://ars.test: run `arsctl auth login` (or set ARS_TOKEN)"},
		{name: "not signed in json", json: true, exit: cmdutil.ExitAuth, stdout: `"signed_in": false`},
		{name: "signed in", stored: true, stdout: "  account: owner@example.com (a1)\n  token:   " + store.Where()},
		{name: "env", env: true, stdout: "token:   ARS_TOKEN"},
		{name: "env refused", env: true, account: refused, exit: cmdutil.ExitAuth, errorStr: "ARS_TOKEN is expired or revoked"},
		{name: "env refused json", env: true, account: refused, json: true, exit: cmdutil.ExitAuth, stdout: `"error": "ARS_TOKEN is expired or revoked`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_ = store.Delete("http://ars.test")
			if tt.stored {
				_ = store.Save("http://ars.test", &oauth2.Token{AccessToken: "a"})
			}
			ios, _, out, _ := iostreams.Test()
			opts := &Options{
				IO:         ios,
				Output:     &cmdutil.OutputOptions{JSON: tt.json},
				ServerURL:  func() (string, error) { return "http://ars.test", nil },
				TokenStore: func() auth.Store { return store },
				EnvToken:   func() bool { return tt.env },
				Account: func(context.Context) (arsapi.Account, error) {
					return arsapi.Account{ID: "a1", Email: "owner@example.com"}, tt.account
				},
				CheckServer: func(context.Context, string) error { return nil },
				Explain: func(err error) error {
					if tt.env {
						return cmdutil.EnvTokenRefused("http://ars.test")
					}
					return err
				},
			}
			err := statusRun(context.Background(), opts)
			if code := cmdutil.ExitCode(err); code != tt.exit {
				t.Errorf("exit %d (%v), want %d", code, err, tt.exit)
			}
			if tt.errorStr != "" && (err == nil || !strings.Contains(err.Error(), tt.errorStr)) {
				t.Errorf("error %v, want %q", err, tt.errorStr)
			}
			if !strings.Contains(out.String(), tt.stdout) {
				t.Errorf("stdout %q, want %q", out.String(), tt.stdout)
			}
			if tt.json && !json.Valid(out.Bytes()) {
				t.Errorf("not JSON: %q", out.String())
			}
		})
	}
}
