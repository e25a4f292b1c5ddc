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

// TestRegisterAcrossRouterNetns enrolls printers that sit on a subnet
// behind a router, where mDNS does not reach: by serial with a fleet
// file's subnet column, then every eligible one with --all-eligible
// --subnet. Only the subnet the test created is swept.
func TestRegisterAcrossRouterNetns(t *testing.T) {
	netns.Require(t)
	arsctl := netns.Build(t, "./cmd/arsctl")
	arsd := netns.Build(t, "./cmd/arsd")
	sim := netns.Build(t, "./cmd/printersim")
	signin := netns.Build(t, "./bench/fleetsignin")

	lab := netns.NewLab(t)
	client := lab.AddHost("client")
	sub := lab.AddSubnet("vlan", "10.67.2.0/28")
	for i, args := range [][]string{
		{"--name", "Front desk", "--serial", "KNMR00001"},
		{"--name", "Back office", "--serial", "KNMR00002"},
		{"--name", "Old one", "--serial", "KNMR00003", "--model", "MG2500 series"},
	} {
		sub.AddHost("p"+string(rune('a'+i))).StartSim(sim, netns.Sim{Args: args})
	}
	dir := t.TempDir()
	client.Start("arsd", nil, arsd, "--listen", "127.0.0.1:8787", "--database", filepath.Join(dir, "arsd.db"), "--log-level", "warn")
	client.WaitTCP("127.0.0.1:8787", 20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	token, stderr, err := client.Run(ctx, signin, "-server", "http://127.0.0.1:8787")
	if err != nil {
		t.Fatalf("sign in: %v\n%s", err, stderr)
	}
	run := func(args ...string) (string, string, error) {
		env := []string{"ARS_SERVER=http://127.0.0.1:8787", "ARS_TOKEN=" + strings.TrimSpace(token), "HOME=" + dir, "ARS_STATE_DIR=" + filepath.Join(dir, "state"), "ARS_KEYRING=off"}
		return client.Run(ctx, "env", append(append(env, arsctl), args...)...)
	}

	// Over mDNS alone, nothing is found from the client.
	if out, errOut, err := run("register", "--all-eligible", "--provider", "canon", "--agree-terms", "--timeout", "3s"); err == nil {
		t.Fatalf("mDNS across the router found printers:\n%s\n%s", out, errOut)
	}

	csv := filepath.Join(dir, "fleet.csv")
	if err := os.WriteFile(csv, []byte("serial,provider,subnet\nKNMR00001,canon,"+sub.Prefix.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := run("register", "--from", csv, "--agree-terms", "--timeout", "3s")
	if err != nil || !strings.Contains(out, "enrolled\t10.67.2.") {
		t.Fatalf("--from with a subnet column: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	out, errOut, err = run("register", "--all-eligible", "--subnet", sub.Prefix.String(), "--provider", "canon", "--agree-terms", "--timeout", "3s")
	if err != nil || strings.Count(out, "already-enrolled\t10.67.2.") != 1 || strings.Count("\n"+out, "\nenrolled\t10.67.2.") != 1 ||
		!strings.Contains(errOut, "1 printer(s) found are not eligible models") {
		t.Fatalf("--all-eligible --subnet: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	out, errOut, err = run("status", "--jq", ".[].printer.serial")
	if err != nil || !strings.Contains(out, "KNMR00001") || !strings.Contains(out, "KNMR00002") || strings.Contains(out, "KNMR00003") {
		t.Fatalf("status: %v\n%s\n%s", err, out, errOut)
	}
	// monitor finds the enrolled printers by sweeping the subnet and
	// reports their levels.
	out, errOut, err = run("monitor", "--once", "--no-mdns", "--subnet", sub.Prefix.String(), "--json")
	if err != nil || strings.Count(out, `"reported"`) != 2 {
		t.Fatalf("monitor --subnet: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
}
