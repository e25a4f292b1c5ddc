package web_test

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/web"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// cancellations reads arsd_cancellations_total{reason} from /metrics.
func (e *env) cancellations(reason string) int {
	e.t.Helper()
	res, err := e.hc.Get(e.url + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		e.t.Fatalf("GET /metrics: HTTP %d", res.StatusCode)
	}
	m := regexp.MustCompile(`(?m)^arsd_cancellations_total\{reason="` + regexp.QuoteMeta(reason) + `"\} (\d+)$`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestCancelSameOnBothPaths: a plan cancelled on the Cancel Plan page and
// one cancelled through the API go through the same rule: each counts in
// arsd_cancellations_total, and both refuse a cancellation without a
// reason, on a whole arsd.
func TestCancelSameOnBothPaths(t *testing.T) {
	fn := func(t *testing.T, e *env) {
		c := e.client()
		c.register("both@example.com", pw)
		token := e.token("both@example.com", pw)
		byWeb := e.enroll(token, "TS8320", "KMBOTH001", "Web")
		byAPI := e.enroll(token, "TS8320", "KMBOTH002", "API")
		path := web.PrinterPath(byWeb.ID)
		tok := c.csrf(path + "/plan")

		// No reason: refused by both, nothing counted.
		if r := c.post(path+"/cancel", url.Values{"csrf_token": {tok}}); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("web cancel without reason: HTTP %d", r.status)
		}
		if st := e.api(http.MethodPost, "/v1/enrollments/"+byAPI.ID+"/cancel", token, arsapi.CancelRequest{}, nil); st != http.StatusUnprocessableEntity {
			t.Fatalf("API cancel without reason: HTTP %d", st)
		}
		if n := e.cancellations("too-expensive"); n != 0 {
			t.Fatalf("refused cancellations counted: %d", n)
		}

		if r := c.post(path+"/cancel", url.Values{"csrf_token": {tok}, "reason": {"too-expensive"}}); r.status != http.StatusSeeOther {
			t.Fatalf("web cancel: HTTP %d: %s", r.status, trim(r.body))
		}
		if n := e.cancellations("too-expensive"); n != 1 {
			t.Errorf("after the web page's cancel: arsd_cancellations_total{reason=too-expensive} = %d, want 1", n)
		}
		var got arsapi.Enrollment
		if st := e.api(http.MethodPost, "/v1/enrollments/"+byAPI.ID+"/cancel", token,
			arsapi.CancelRequest{Reasons: []string{"too-expensive"}}, &got); st != http.StatusOK || got.State != arsapi.StateCancelled {
			t.Fatalf("API cancel: HTTP %d, %+v", st, got)
		}
		if n := e.cancellations("too-expensive"); n != 2 {
			t.Errorf("after the API's cancel: arsd_cancellations_total{reason=too-expensive} = %d, want 2", n)
		}
		if got := e.enrollment(token, byWeb.ID); got.State != arsapi.StateCancelled || got.Cancellation == nil ||
			len(got.Cancellation.Reasons) != 1 || got.Cancellation.Reasons[0] != "too-expensive" {
			t.Errorf("web-cancelled enrollment: %+v", got)
		}
	}
	t.Run("sqlite", func(t *testing.T) { fn(t, newServerEnv(t, filepath.Join(t.TempDir(), "arsd.db"))) })
	t.Run("postgres", func(t *testing.T) { fn(t, newServerEnv(t, dbtest.PostgresDSN(t))) })
}
