package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addr := filepath.Join(t.TempDir(), "url")
	var out, errb bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-addr-file", addr, "-auto-approve", "-device-model", "m1=a,b"}, &out, &errb)
	}()
	var url string
	deadline := time.Now().Add(30 * time.Second)
	for url == "" {
		b, _ := os.ReadFile(addr)
		url = strings.TrimSpace(string(b))
		if time.Now().After(deadline) {
			t.Fatalf("no URL written; stderr: %s", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.Get(url + "/_emu/state")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var st map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(body, &st) != nil {
		t.Errorf("state: %d %s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if !strings.HasPrefix(out.String(), "http://127.0.0.1:") {
		t.Errorf("stdout %q", out.String())
	}
}

func TestRunRefusesNonLoopback(t *testing.T) {
	err := run(context.Background(), []string{"-listen", "0.0.0.0:0"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("err = %v", err)
	}
	if err := run(context.Background(), []string{"-device-model", "nomodel"}, io.Discard, io.Discard); err == nil {
		t.Error("bad -device-model accepted")
	}
}
