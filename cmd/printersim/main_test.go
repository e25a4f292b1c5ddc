package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/pkg/ipp"
)

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := filepath.Join(t.TempDir(), "ready")
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--serial", "KNMA00777", "--levels", "Color=10, Black=3",
			"--model", "TS5300 series", "--ready-file", ready}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	if !ok || !strings.HasPrefix(url, "ipp://127.0.0.1:") {
		t.Fatalf("ready line %q", line)
	}
	if b, err := os.ReadFile(ready); err != nil || string(b) != line {
		t.Errorf("ready file %q %v, want %q", b, err, line)
	}
	var c ipp.Client
	p, err := c.GetPrinterAttributes(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if p.Serial != "KNMA00777" || p.Model != "TS5300 series" || len(p.Supplies) != 2 || p.Supplies[1].Level != 10 || p.Supplies[0].Level != 3 {
		t.Errorf("got %+v", p)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestRunFleet(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--count", "3"}, pw, io.Discard)
		pw.Close()
	}()
	br := bufio.NewReader(pr)
	var c ipp.Client
	serials := map[string]bool{}
	for range 3 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.GetPrinterAttributes(ctx, strings.TrimPrefix(strings.TrimSpace(line), "ready "))
		if err != nil {
			t.Fatal(err)
		}
		serials[p.Serial] = true
	}
	if len(serials) != 3 {
		t.Errorf("serials %v", serials)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestRunBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--levels", "C"},
		{"--levels", "C=x"},
		{"--says", "PGBK=nearly"},
		{"--says", "PGBK"},
		{"--no-ipp", "sleep"},
		{"--bogus"},
		{"--listen", "256.0.0.1:1"},
		{"--count", "2", "--mdns-iface", "lo"},
	} {
		if err := run(t.Context(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// TestRunCapture answers as a captured real printer, its identity unless
// flags give another.
func TestRunCapture(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--capture", filepath.Join("..", "..", "testdata", "ipp", "epson-xp-6000.ipp"),
			"--levels", "Cyan ink=7"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url, _ := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	var c ipp.Client
	p, err := c.GetPrinterAttributes(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if p.Make != "EPSON" || p.Model != "XP-6000 Series" || p.Serial != "583434593035343012" || len(p.Supplies) != 5 || p.Supplies[1].Level != 7 {
		t.Errorf("got %+v", p)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
