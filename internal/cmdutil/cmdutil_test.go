package cmdutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/config"
	"github.com/arsctl/arsctl/internal/prompt"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{FlagErrorf("--provider required"), 2},
		{fmt.Errorf("wrapped: %w", NotFoundf("no printer")), 3},
		{AuthErrorf("not signed in"), 4},
		{ErrCancel, 5},
		{prompt.ErrAborted, 5},
		{context.Canceled, 5},
		{&arsapi.Problem{Status: 401, Title: "Unauthorized"}, 4},
		{&arsapi.Problem{Status: 404, Title: "Not found"}, 3},
		{&arsapi.Problem{Status: 500, Title: "Internal"}, 1},
		{SilentExit(3), 3},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestWriteJSONWithJQ(t *testing.T) {
	v := []map[string]any{{"id": "e1", "state": "active", "n": 3}, {"id": "e2", "state": "cancelled", "n": 4}}
	var b bytes.Buffer
	if err := WriteJSON(&b, v, `.[] | select(.state=="active") | .id`); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "e1\n" {
		t.Errorf("jq strings are printed raw: got %q", got)
	}
	b.Reset()
	if err := WriteJSON(&b, v, `map(.n) | add`); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "7\n" {
		t.Errorf("numbers: got %q", got)
	}
	if err := WriteJSON(&b, v, `.[`); ExitCode(err) != ExitUsage {
		t.Errorf("bad jq expression: %v (exit %d), want usage error", err, ExitCode(err))
	}
}

func TestRedact(t *testing.T) {
	in := "POST /token HTTP/1.1\r\nAuthorization: Bearer abc.def\r\nCookie: s=1\r\n\r\ngrant_type=refresh_token&refresh_token=r-123&client_id=arsctl\n{\"access_token\":\"a-456\",\"expires_in\":900}"
	out := Redact(in)
	for _, secret := range []string{"abc.def", "s=1", "r-123", "a-456"} {
		if strings.Contains(out, secret) {
			t.Errorf("Redact left %q in:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "client_id=arsctl") || !strings.Contains(out, "expires_in") {
		t.Errorf("Redact removed too much:\n%s", out)
	}

	// Serial numbers keep their last four characters.
	in = "GET /v1/enrollments?serial=KNMA55551234&limit=5 HTTP/1.1\n{\"printer\":{\"model\":\"TS8320\",\"serial\": \"KNMA55551234\"}}"
	out = Redact(in)
	if strings.Contains(out, "KNMA5555") || !strings.Contains(out, "?serial=****1234&limit=5") || !strings.Contains(out, `"serial": "****1234"`) {
		t.Errorf("Redact left a serial:\n%s", out)
	}
}

func TestPrintLineAndValidate(t *testing.T) {
	var b bytes.Buffer
	o := &OutputOptions{JSON: true}
	if err := o.PrintLine(&b, map[string]any{"serial": "****1234", "n": 1}); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != `{"n":1,"serial":"****1234"}`+"\n" {
		t.Errorf("NDJSON line = %q", got)
	}
	b.Reset()
	o.JQ = ".serial"
	if err := o.PrintLine(&b, map[string]any{"serial": "****1234"}); err != nil || b.String() != "****1234\n" {
		t.Errorf("jq line = %q, %v", b.String(), err)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("valid expression: %v", err)
	}
	o.JQ = ".["
	if err := o.Validate(); ExitCode(err) != ExitUsage {
		t.Errorf("bad expression: %v (exit %d), want usage error", err, ExitCode(err))
	}
	if err := (*OutputOptions)(nil).Validate(); err != nil {
		t.Errorf("nil options: %v", err)
	}
}

func TestServerURL(t *testing.T) {
	env := map[string]string{}
	f := &Factory{
		Getenv: func(k string) string { return env[k] },
		Config: func() (*config.Config, error) { return &config.Config{Server: env["ARS_SERVER"]}, nil },
	}
	tests := []struct {
		flag, envServer, want, wantErr string
	}{
		{"", "", arsapi.DefaultServer, ""},
		{"https://ars.example.com/", "", "https://ars.example.com", ""},
		{"", "http://127.0.0.1:9000", "http://127.0.0.1:9000", ""},
		{"localhost:8787", "", "", `--server "localhost:8787" is not a server URL`},
		{"ftp://x", "", "", `--server "ftp://x" is not a server URL`},
		{"", "127.0.0.1", "", `ARS_SERVER "127.0.0.1" is not a server URL`},
	}
	for _, tt := range tests {
		f.ServerFlag, env["ARS_SERVER"] = tt.flag, tt.envServer
		got, err := f.ServerURL()
		if tt.wantErr != "" {
			if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q/%q: %v, want usage error %q", tt.flag, tt.envServer, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q/%q = %q, %v; want %q", tt.flag, tt.envServer, got, err, tt.want)
		}
	}
}
