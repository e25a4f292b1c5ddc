package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGracefulShutdownDrains stops a server with a drain delay while a
// request is under way: /readyz fails at once while /healthz and the
// request under way still succeed, and the server exits only after the
// request got its answer.
func TestGracefulShutdownDrains(t *testing.T) {
	ctx := context.Background()
	base, stop, err := Start(ctx, Config{
		Database:   filepath.Join(t.TempDir(), "ars.db"),
		DrainDelay: Duration(time.Second),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	get := func(path string) int {
		t.Helper()
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if code := get("/readyz"); code != http.StatusOK {
		t.Fatalf("readyz before shutdown: %d", code)
	}

	// A request under way: its headers are sent in two parts.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /v1/terms HTTP/1.1\r\nHost: arsd\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the server reads the first part

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	deadline := time.Now().Add(10 * time.Second)
	for get("/readyz") != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("readyz still ready after shutdown began")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := get("/healthz"); code != http.StatusOK {
		t.Errorf("healthz while draining: %d, want 200 (the replica still serves)", code)
	}
	select {
	case err := <-stopped:
		t.Fatalf("server stopped with a request under way: %v", err)
	default:
	}
	if _, err := io.WriteString(conn, "\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("request under way got no answer: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("request under way: %d", res.StatusCode)
	}
	if !res.Close {
		t.Error("answer while draining keeps the connection open; want Connection: close so clients reconnect elsewhere")
	}
	if err := <-stopped; err != nil {
		t.Errorf("stop: %v", err)
	}
}
