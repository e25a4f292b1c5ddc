package ipp_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/printersim"
	"github.com/arsctl/arsctl/internal/printersim/simtest"
	"github.com/arsctl/arsctl/pkg/ipp"
)

// rawServer accepts TCP connections on 127.0.0.1 and hands each to serve.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// readRequest consumes one HTTP request so that the reply is not a reset.
func readRequest(c net.Conn) {
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err == nil {
		_, _ = io.Copy(io.Discard, req.Body)
	}
}

func TestMalformedResponses(t *testing.T) {
	ippHeader := "HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nConnection: close\r\n"
	tests := []struct {
		name  string
		serve func(net.Conn)
		check func(t *testing.T, err error)
	}{
		{
			name: "not HTTP",
			serve: func(c net.Conn) {
				readRequest(c)
				io.WriteString(c, "\x00\x01garbage that is not HTTP\r\n\r\n")
			},
			check: wantMalformed,
		},
		{
			name: "HTTP 200 with HTML body",
			serve: func(c net.Conn) {
				readRequest(c)
				body := "<html><body>Remote UI</body></html>"
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\nContent-Length: 35\r\n\r\n"+body)
			},
			check: wantMalformed,
		},
		{
			name: "truncated body",
			serve: func(c net.Conn) {
				readRequest(c)
				io.WriteString(c, ippHeader+"Content-Length: 1000\r\n\r\n\x02\x00\x00\x00")
			},
			check: wantMalformed,
		},
		{
			name: "oversize body",
			serve: func(c net.Conn) {
				readRequest(c)
				io.WriteString(c, ippHeader+"\r\n\x02\x00\x00\x00\x00\x00\x00\x01\x04")
				chunk := strings.Repeat("\x41", 64<<10)
				for range 80 {
					if _, err := io.WriteString(c, chunk); err != nil {
						return
					}
				}
			},
			check: wantMalformed,
		},
		{
			name: "HTTP 500",
			serve: func(c net.Conn) {
				readRequest(c)
				io.WriteString(c, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			},
			check: func(t *testing.T, err error) {
				var he *ipp.HTTPStatusError
				if !errors.As(err, &he) || he.StatusCode != 500 {
					t.Errorf("err = %v, want HTTP 500", err)
				}
			},
		},
		{
			name:  "closes at once",
			serve: func(c net.Conn) {},
			check: func(t *testing.T, err error) {
				if err == nil {
					t.Error("no error")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := rawServer(t, tt.serve)
			var c ipp.Client
			_, err := c.GetPrinterAttributes(t.Context(), "ipp://"+addr+"/ipp/print")
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "ipp: "+addr+": ") {
				t.Errorf("error %q does not start with the printer address", err)
			}
			tt.check(t, err)
		})
	}
}

func wantMalformed(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ipp.ErrMalformed) {
		t.Errorf("err = %v, want ErrMalformed", err)
	}
	if !strings.Contains(err.Error(), "malformed response") {
		t.Errorf("err %q lacks 'malformed response'", err)
	}
}

// A server that accepts and never answers: the client gives up within the
// context's deadline instead of hanging.
func TestDeadlineSilentServer(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c) // read forever, answer nothing
	})
	var c ipp.Client
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.GetPrinterAttributes(ctx, "ipp://"+addr+"/ipp/print")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within") {
			t.Errorf("err = %v", err)
		}
	case <-t.Context().Done():
		t.Fatal("GetPrinterAttributes ignored its context deadline")
	}
	// Probe stops at the first timeout instead of trying every path.
	ctx2, cancel2 := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel2()
	if _, err := c.Probe(ctx2, addr); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Probe err = %v", err)
	}
}

// The client's own Timeout applies when the context has no deadline.
func TestClientTimeout(t *testing.T) {
	sim := simtest.Start(t, printersim.Config{Mode: printersim.ModeHang})
	c := ipp.Client{Timeout: 150 * time.Millisecond}
	_, err := c.GetPrinterAttributes(context.Background(), sim.URL())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
}

func TestBadURIs(t *testing.T) {
	var c ipp.Client
	for _, uri := range []string{"", "http//x", "ftp://host/", "ipp:///ipp/print", "ipp://host:99999/", "ipp://host:abc/"} {
		if _, err := c.GetPrinterAttributes(t.Context(), uri); err == nil {
			t.Errorf("%q: no error", uri)
		}
	}
	for _, hp := range []string{"", "  ", "host:0", "host:x"} {
		if _, err := c.Probe(t.Context(), hp); err == nil {
			t.Errorf("Probe(%q): no error", hp)
		}
	}
}

func BenchmarkGetPrinterAttributesLoopback(b *testing.B) {
	sim := simtest.Start(b, printersim.Config{})
	var c ipp.Client
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetPrinterAttributes(ctx, sim.URL()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProbeLoopback(b *testing.B) {
	sim := simtest.Start(b, printersim.Config{})
	ctx := context.Background()
	for b.Loop() {
		var c ipp.Client // new connection every time, like `discover --host`
		if _, err := c.Probe(ctx, sim.Addr()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetPrinterAttributesTLSLoopback(b *testing.B) {
	sim := simtest.Start(b, printersim.Config{TLS: true})
	var c ipp.Client
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.GetPrinterAttributes(ctx, sim.URL()); err != nil {
			b.Fatal(err)
		}
	}
}
