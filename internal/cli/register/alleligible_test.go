package register_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/netns"
)

func TestMain(m *testing.M) {
	code := m.Run()
	netns.RemoveBuilds()
	os.Exit(code)
}

// TestAllEligibleNetns runs `arsctl register --all-eligible` in a network
// namespace, where printers advertised over mDNS are found by multicast
// (never on the machine's own network): two eligible printers and one
// that is not, arsd on the client's loopback, real OAuth sign-in.
func TestAllEligibleNetns(t *testing.T) {
	netns.Require(t)
	arsctl := netns.Build(t, "./cmd/arsctl")
	arsd := netns.Build(t, "./cmd/arsd")
	sim := netns.Build(t, "./cmd/printersim")
	signin := netns.Build(t, "./bench/fleetsignin")

	lab := netns.NewLab(t)
	for i, args := range [][]string{
		{"--name", "Front desk", "--serial", "KNMC00001"},
		{"--name", "Back office", "--serial", "KNMC00002"},
		{"--name", "Old one", "--serial", "KNMC00003", "--model", "MG2500 series"},
	} {
		lab.AddHost("p"+string(rune('a'+i))).StartSim(sim, netns.Sim{Args: args})
	}
	client := lab.AddHost("client")
	dir := t.TempDir()
	client.Start("arsd", nil, arsd, "--listen", "127.0.0.1:8787", "--database", filepath.Join(dir, "arsd.db"), "--log-level", "warn")
	client.WaitTCP("127.0.0.1:8787", 20*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	token, stderr, err := client.Run(ctx, signin, "-server", "http://127.0.0.1:8787")
	if err != nil {
		t.Fatalf("sign in: %v\n%s", err, stderr)
	}
	run := func(args ...string) (string, string, error) {
		env := []string{"ARS_SERVER=http://127.0.0.1:8787", "ARS_TOKEN=" + strings.TrimSpace(token), "HOME=" + dir, "ARS_STATE_DIR=" + filepath.Join(dir, "state"), "ARS_KEYRING=off"}
		return client.Run(ctx, "env", append(append(env, arsctl), args...)...)
	}

	out, errOut, err := run("register", "--all-eligible", "--provider", "canon", "--agree-terms", "--timeout", "10s")
	if err != nil {
		t.Fatalf("register --all-eligible: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	if n := strings.Count(out, "enrolled\t10.66."); n != 2 || !strings.Contains(errOut, "1 printer(s) found are not eligible models") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	out, errOut, err = run("register", "--all-eligible", "--provider", "canon", "--agree-terms", "--timeout", "10s")
	if err != nil || strings.Count(out, "already-enrolled\t") != 2 {
		t.Fatalf("re-run: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	// A fleet file of serials: the printers are found over mDNS.
	csv := filepath.Join(dir, "serials.csv")
	if err := os.WriteFile(csv, []byte("serial,provider\nKNMC00001,canon\nKNMC00009,canon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = run("register", "--from", csv, "--agree-terms", "--timeout", "10s")
	if err == nil || !strings.Contains(out, "already-enrolled\t10.66.") || !strings.Contains(out, "failed\tserial ****0009\t-\tcanon\tno printer with serial ****0009 was found on the network") {
		t.Fatalf("serials: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	out, errOut, err = run("status", "--jq", ".[].printer.serial")
	if err != nil || !strings.Contains(out, "KNMC00001") || !strings.Contains(out, "KNMC00002") || strings.Contains(out, "KNMC00003") {
		t.Fatalf("status: %v\n%s\n%s", err, out, errOut)
	}
}
