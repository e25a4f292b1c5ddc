package arsapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
)

func TestUnreachable(t *testing.T) {
	// A port nothing listens on: bind one, close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()
	_, err = New(addr).Terms(context.Background())
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Server != addr {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"no arsd answering at " + addr, "connection refused", "start one with `arsd`", "--server / ARS_SERVER"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	// A cancelled request is not "unreachable".
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(addr).Terms(ctx); errors.As(err, &ue) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestUnreachableHelper(t *testing.T) {
	const server = "http://127.0.0.1:1"
	refused := fmt.Errorf("Get %q: %w", server, syscall.ECONNREFUSED)
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("no route")}
	dns := &net.DNSError{Name: "ars.invalid", Err: "no such host", IsNotFound: true}
	for _, err := range []error{refused, dial, dns} {
		var ue *UnreachableError
		if u := Unreachable(server, err); !errors.As(u, &ue) || ue.Server != server || !errors.Is(u, err) {
			t.Errorf("Unreachable(%v) = %v", err, u)
		}
	}
	for _, err := range []error{nil, context.Canceled, fmt.Errorf("dial: %w", context.DeadlineExceeded), errors.New("EOF after headers")} {
		if u := Unreachable(server, err); u != nil {
			t.Errorf("Unreachable(%v) = %v, want nil", err, u)
		}
	}
}

func TestBadBaseURL(t *testing.T) {
	for _, u := range []string{"127.0.0.1:8787", "ftp://x", "http://", "http://[::1"} {
		if _, err := New(u).Terms(context.Background()); err == nil || !strings.Contains(err.Error(), "server address") {
			t.Errorf("%q: %v", u, err)
		}
	}
}

func TestProblems(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/enrollments":
			if r.Header.Get("Idempotency-Key") != "key-1" || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("headers = %v", r.Header)
			}
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(409)
			fmt.Fprint(w, `{"title":"Conflict","status":409,"code":"already_enrolled","detail":"already","enrollment_id":"e1"}`)
		case "/v1/terms":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			fmt.Fprint(w, "<html>Bad Gateway</html>")
		case "/v1/models":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>not an API</html>")
		case "/v1/account":
			w.WriteHeader(401)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := New(srv.URL+"/", WithUserAgent("test/1"))
	ctx := context.Background()

	_, err := c.CreateEnrollment(ctx, CreateEnrollmentRequest{Provider: ProviderCanon}, "key-1")
	var p *Problem
	if !errors.As(err, &p) || p.Code != CodeAlreadyEnrolled || p.EnrollmentID != "e1" || p.Status != 409 || err.Error() != "already" {
		t.Errorf("409: %v %+v", err, p)
	}
	_, err = c.Terms(ctx)
	if !errors.As(err, &p) || p.Status != 502 || p.Title != "Bad Gateway" {
		t.Errorf("502: %v", err)
	}
	// Answers that are not the API's JSON come from another server.
	_, err = c.Models(ctx)
	var ns *NotServerError
	if !errors.As(err, &ns) || ns.Server != srv.URL || !strings.Contains(err.Error(), "a web page (text/html)") {
		t.Errorf("html 200: %v", err)
	}
	_, err = c.Account(ctx)
	if !errors.As(err, &p) || p.Code != CodeUnauthenticated {
		t.Errorf("bare 401: %v", err)
	}
	_, err = c.GetEnrollment(ctx, "x")
	if !errors.As(err, &ns) || !strings.Contains(err.Error(), "is not an ARS server (arsd): it answered HTTP 404 with text/plain") {
		t.Errorf("plain 404: %v", err)
	}
}

func TestPagination(t *testing.T) {
	pages := map[string]string{
		"":   `{"items":[{"id":"a"},{"id":"b"}],"next_cursor":"c1"}`,
		"c1": `{"items":[{"id":"c"}],"next_cursor":"c2"}`,
		"c2": `{"items":[]}`,
	}
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		seen = append(seen, r.URL.Path+"?"+q.Encode())
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, pages[q.Get("cursor")])
	}))
	defer srv.Close()
	c := New(srv.URL)
	es, err := c.FindEnrollments(context.Background(), ListOptions{State: StateActive, Serial: "S 1"})
	if err != nil || len(es) != 3 || es[2].ID != "c" {
		t.Fatalf("enrollments = %+v, %v", es, err)
	}
	if seen[0] != "/v1/enrollments?serial=S+1&state=active" || seen[1] != "/v1/enrollments?cursor=c1&serial=S+1&state=active" {
		t.Errorf("requests = %v", seen)
	}
	// Stopping early fetches no more pages.
	seen = nil
	for e, err := range c.Enrollments(context.Background(), ListOptions{}) {
		if err != nil || e.ID != "a" {
			t.Fatalf("first = %+v %v", e, err)
		}
		break
	}
	if len(seen) != 1 {
		t.Errorf("early stop fetched %d pages", len(seen))
	}
	os, err := c.ListOrders(context.Background(), "e/1")
	if err != nil || len(os) != 3 || !strings.HasPrefix(seen[len(seen)-1], "/v1/enrollments/e/1/orders") {
		t.Errorf("orders = %v %v %v", os, err, seen)
	}
}

// A problem's message is what the person can act on: the detail, after a
// title of the server's own, never after a bare HTTP status text.
func TestProblemError(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{Status: 422, Title: "Unprocessable Entity", Detail: "read_at is more than 30 days ago"}, "read_at is more than 30 days ago"},
		{Problem{Status: 409, Title: "Conflict", Detail: "already"}, "already"},
		{Problem{Status: 422, Title: "Invalid level report", Detail: "supply 2 has no name"}, "Invalid level report: supply 2 has no name"},
		{Problem{Status: 422, Detail: "no title"}, "no title"},
		{Problem{Status: 500, Title: "Internal Server Error"}, "Internal Server Error"},
	}
	for _, tt := range tests {
		if got := tt.p.Error(); got != tt.want {
			t.Errorf("%+v.Error() = %q, want %q", tt.p, got, tt.want)
		}
	}
}
