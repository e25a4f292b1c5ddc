package models

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/cli/clitest"
	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

func run(t *testing.T, tty bool, out cmdutil.OutputOptions, c *arsapi.Client) (string, error) {
	t.Helper()
	ios, _, o, _ := iostreams.Test()
	ios.SetTTY(tty)
	err := modelsRun(context.Background(), &Options{IO: ios, Output: &out, PublicClient: func() (*arsapi.Client, error) { return c, nil }})
	return o.String(), err
}

func TestModels(t *testing.T) {
	api := clitest.StartAPI(t)
	c := api.Client("")

	out, err := run(t, true, cmdutil.OutputOptions{}, c)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 14 || !strings.HasPrefix(lines[0], "MODEL") || !strings.Contains(lines[0], "SERIES") {
		t.Fatalf("table:\n%s", out)
	}
	for _, want := range []string{"TS5320  ", "TS5300 series", "TS9521C", "TS9500 series", "Canon", "TS8320a"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	out, err = run(t, false, cmdutil.OutputOptions{}, c)
	if err != nil || !strings.Contains(out, "TS8320\tTS8300 series\tCanon\tTS8320a\n") {
		t.Errorf("piped: %v\n%s", err, out)
	}

	out, err = run(t, false, cmdutil.OutputOptions{JSON: true}, c)
	var models []arsapi.Model
	if err != nil || json.Unmarshal([]byte(out), &models) != nil || len(models) != 13 {
		t.Fatalf("json: %v\n%s", err, out)
	}
	out, err = run(t, false, cmdutil.OutputOptions{JQ: `.[] | select(.series | index("TS9500 series")) | .name`}, c)
	if err != nil || out != "TS9520\nTS9521C\n" {
		t.Errorf("jq: %v %q", err, out)
	}

	// No server: the error says so.
	if _, err := run(t, false, cmdutil.OutputOptions{}, arsapi.New("http://127.0.0.1:1")); err == nil {
		t.Error("no error without a server")
	}
}
