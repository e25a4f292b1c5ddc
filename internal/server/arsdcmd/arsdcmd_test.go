package arsdcmd

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// TestZeroConfig starts arsd with no database setting: it keeps its data
// under $XDG_DATA_HOME/arsd, prints its URL on stderr, serves, and shuts
// down cleanly when its context ends (as on SIGINT/SIGTERM).
func TestZeroConfig(t *testing.T) {
	home := t.TempDir()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, "test", []string{"--listen", "127.0.0.1:0"}, envMap(map[string]string{"XDG_DATA_HOME": home}), pw)
		pw.Close()
	}()
	// Warnings (a provider with no fulfiller, say) may come first.
	sc := bufio.NewScanner(pr)
	listening := regexp.MustCompile(`^arsd listening on (http://127\.0\.0\.1:\d+)$`)
	var m, seen []string
	for m == nil && sc.Scan() {
		seen = append(seen, sc.Text())
		m = listening.FindStringSubmatch(sc.Text())
	}
	if m == nil {
		t.Fatalf("arsd never said where it listens; it printed %q", seen)
	}
	go io.Copy(io.Discard, pr)
	res, err := http.Get(m[1] + "/readyz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", res, err)
	}
	res.Body.Close()
	if _, err := os.Stat(filepath.Join(home, "arsd", "arsd.db")); err != nil {
		t.Errorf("database not under XDG_DATA_HOME: %v", err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit code %d after shutdown", code)
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "arsd.yaml")
	os.WriteFile(cfgFile, []byte("listen: 127.0.0.1:1111\npublic_url: https://file.example.com\ndatabase: /file.db\nlog_level: warn\n"), 0o600)
	var got []string
	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--config", cfgFile}, nil},
		{[]string{"--config", cfgFile}, map[string]string{"ARSD_LISTEN": "127.0.0.1:2222", "ARSD_DATABASE": "postgres://env/db"}},
		{[]string{"--config", cfgFile, "--listen", "127.0.0.1:3333"}, map[string]string{"ARSD_LISTEN": "127.0.0.1:2222"}},
		{nil, map[string]string{"ARSD_CONFIG": cfgFile, "ARSD_ACCESS_TOKEN_TTL": "1m", "ARSD_WEBHOOK_SECRET": "s3cret"}},
	} {
		cmd := NewCommand("test", envMap(tc.env), io.Discard)
		cmd.SetArgs(tc.args)
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		if err := applyEnv(cmd.Flags(), envMap(tc.env)); err != nil {
			t.Fatal(err)
		}
		var o options
		f := cmd.Flags()
		o.listen, _ = f.GetString("listen")
		o.publicURL, _ = f.GetString("public-url")
		o.database, _ = f.GetString("database")
		o.config, _ = f.GetString("config")
		o.logLevel, _ = f.GetString("log-level")
		o.logFormat, _ = f.GetString("log-format")
		o.accessTokenTTL, _ = f.GetDuration("access-token-ttl")
		cfg, err := buildConfig(f, o, envMap(tc.env))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Join([]string{cfg.Addr, cfg.PublicURL, cfg.Database, cfg.LogLevel, time.Duration(cfg.AccessTokenTTL).String(), cfg.Webhook.Secret}, " "))
	}
	want := []string{
		"127.0.0.1:1111 https://file.example.com /file.db warn 15m0s ",
		"127.0.0.1:2222 https://file.example.com postgres://env/db warn 15m0s ",
		"127.0.0.1:3333 https://file.example.com /file.db warn 15m0s ",
		"127.0.0.1:1111 https://file.example.com /file.db warn 1m0s s3cret",
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("case %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	newer := filepath.Join(dir, "newer.db")
	d, err := db.Open(context.Background(), newer)
	if err != nil {
		t.Fatal(err)
	}
	d.Exec(context.Background(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)`)
	d.Close()
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--bogus"}, 2, "unknown flag"},
		{[]string{"--log-level", "loud", "--database", filepath.Join(dir, "a.db")}, 2, "--log-level"},
		{[]string{"--tls-cert", "x.pem", "--listen", "127.0.0.1:0", "--database", filepath.Join(dir, "b.db")}, 1, "--tls-key"},
		{[]string{"--config", filepath.Join(dir, "missing.yaml")}, 2, "missing.yaml"},
		{[]string{"--listen", "127.0.0.1:0", "--database", newer}, 1, "newer than this arsd"},
		{[]string{"extra"}, 2, "unknown command"},
	} {
		var out strings.Builder
		code := Main(context.Background(), "test", tc.args, envMap(nil), &out)
		if code != tc.code || !strings.Contains(out.String(), tc.msg) {
			t.Errorf("%v: exit %d, want %d; output %q should contain %q", tc.args, code, tc.code, out.String(), tc.msg)
		}
	}
}
