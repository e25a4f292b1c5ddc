package server

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// TestMetricsBounded sends 10,000 requests with random methods (some of
// them long) and random paths, as a client trying to blow up /metrics
// would, and checks that /metrics stays small and labels only known
// methods and routes.
func TestMetricsBounded(t *testing.T) {
	ctx := context.Background()
	s, err := New(ctx, Config{Addr: "127.0.0.1:0", Database: filepath.Join(t.TempDir(), "a.db"), DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rnd := rand.New(rand.NewPCG(1, 2))
	word := func(n int) string {
		const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-"
		b := make([]byte, n)
		for i := range b {
			b[i] = letters[rnd.IntN(len(letters))]
		}
		return string(b)
	}
	prefixes := []string{"/", "/v1/enrollments/", "/v1/orders/", "/oauth/", "/printers/", "/v1/", "/static/"}
	h := s.Handler()
	for i := range 10000 {
		method := word(1 + rnd.IntN(12))
		switch {
		case i%10 == 0:
			method = word(4096)
		case i%7 == 0:
			method = http.MethodGet
		}
		path := prefixes[rnd.IntN(len(prefixes))] + word(rnd.IntN(40))
		r, err := http.NewRequestWithContext(ctx, method, "http://127.0.0.1"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK || len(body) >= 100<<10 {
		t.Fatalf("/metrics answered %d with %d bytes, want 200 and under 100 KB", rec.Code, len(body))
	}
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "arsd_http_requests_total{") {
			continue
		}
		if !strings.Contains(line, `method="GET"`) && !strings.Contains(line, `method="other"`) {
			t.Errorf("unexpected method label: %s", line)
		}
	}
	if !strings.Contains(string(body), `method="other"`) {
		t.Error(`no request was counted under method="other"`)
	}
}

// TestRequestLogHidesLinkTokens: the request log (debug, and warn for a
// 5xx) names the path; a one-click link's path is its token, which acts on
// an order for whoever holds it, so the log shows the route instead.
func TestRequestLogHidesLinkTokens(t *testing.T) {
	ctx := context.Background()
	var logs strings.Builder
	s, err := New(ctx, Config{Addr: "127.0.0.1:0", Database: filepath.Join(t.TempDir(), "a.db"), DataDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const token = "AQEAAAAAaXb5gNzbK8Gq1secretTOKENpartXyZ"
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, "/l/"+token, nil))
	}
	if !strings.Contains(logs.String(), "msg=request") {
		t.Fatalf("no request was logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "secretTOKEN") {
		t.Errorf("the log holds a link token:\n%s", logs.String())
	}
}
