package arsapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// flaky answers each path's first failures with the given outcomes (a
// status, or 0 to cut the connection without an answer), then 200, and
// counts the requests per path and the bodies it was sent.
type flaky struct {
	mu       sync.Mutex
	fails    map[string][]int
	requests map[string]int
	bodies   map[string][]string
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	key := r.Method + " " + r.URL.Path
	n := f.requests[key]
	f.requests[key]++
	f.bodies[key] = append(f.bodies[key], string(body))
	var fail = -1
	if n < len(f.fails[key]) {
		fail = f.fails[key][n]
	}
	f.mu.Unlock()
	switch fail {
	case -1:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"version":"1","orders":[],"id":"e1","state":"active"}`)
	case 0:
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	default:
		w.Header().Set("Retry-After", "0")
		http.Error(w, "backend down", fail)
	}
}

// TestRetriesCarryThroughFailover: requests safe to repeat (reads, level
// reports, keyed writes) are sent again after a lost answer or a load
// balancer's 502/503/504, with the same body; others are sent once.
func TestRetriesCarryThroughFailover(t *testing.T) {
	ctx := context.Background()
	f := &flaky{requests: map[string]int{}, bodies: map[string][]string{}, fails: map[string][]int{
		"GET /v1/terms":                  {http.StatusBadGateway, 0, http.StatusServiceUnavailable},
		"POST /v1/enrollments/e1/levels": {0, http.StatusGatewayTimeout},
		"POST /v1/enrollments":           {0},
		"POST /v1/accounts":              {http.StatusBadGateway},
		"POST /v1/enrollments/e2/levels": {502, 502, 502, 502, 502},
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := New(srv.URL)

	if _, err := c.Terms(ctx); err != nil {
		t.Errorf("terms after 3 failures: %v", err)
	}
	rep := LevelReport{Supplies: nil}
	if _, err := c.ReportLevels(ctx, "e1", rep); err != nil {
		t.Errorf("levels after 2 failures: %v", err)
	}
	if _, err := c.CreateEnrollment(ctx, CreateEnrollmentRequest{Provider: ProviderCanon}, "key-1"); err != nil {
		t.Errorf("keyed enrollment after a lost answer: %v", err)
	}
	var p *Problem
	if _, err := c.CreateAccount(ctx, CreateAccountRequest{Email: "a@example.com"}); !errors.As(err, &p) || p.Status != http.StatusBadGateway {
		t.Errorf("sign-up (no key) = %v, want the 502 as it is", err)
	}
	if _, err := c.ReportLevels(ctx, "e2", rep); !errors.As(err, &p) || p.Status != http.StatusBadGateway {
		t.Errorf("levels failing every time = %v, want the last 502", err)
	}
	for key, want := range map[string]int{
		"GET /v1/terms":                  4,
		"POST /v1/enrollments/e1/levels": 3,
		"POST /v1/enrollments":           2,
		"POST /v1/accounts":              1,
		"POST /v1/enrollments/e2/levels": 1 + DefaultRetries,
	} {
		if got := f.requests[key]; got != want {
			t.Errorf("%s sent %d times, want %d", key, got, want)
		}
	}
	for key, bodies := range f.bodies {
		for _, b := range bodies[1:] {
			if b != bodies[0] {
				t.Errorf("%s: retry sent %q, first attempt %q", key, b, bodies[0])
			}
		}
	}

	// WithRetries(0) sends once.
	f.requests = map[string]int{}
	f.fails["GET /v1/models"] = []int{http.StatusServiceUnavailable}
	if _, err := New(srv.URL, WithRetries(0)).Models(ctx); !errors.As(err, &p) {
		t.Errorf("models without retries = %v", err)
	}
	if f.requests["GET /v1/models"] != 1 {
		t.Errorf("sent %d times with WithRetries(0)", f.requests["GET /v1/models"])
	}
}

// TestRetryAfterHuge: a server's Retry-After so large that it wrapped
// around to a negative wait made the client retry at once; it waits the
// most it ever waits.
func TestRetryAfterHuge(t *testing.T) {
	for v, want := range map[string]time.Duration{"9223372036854775807": 10 * time.Second, "9223372036": 10 * time.Second,
		"3": 3 * time.Second, "0": 0} {
		resp := &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {v}}}
		if got, ok := retryAfter(context.Background(), resp, nil, 0); !ok || got != want {
			t.Errorf("Retry-After %s: wait %v, %v; want %v", v, got, ok, want)
		}
	}
}
