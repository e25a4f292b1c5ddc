package status

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/cmdutil"
	"github.com/arsctl/arsctl/internal/iostreams"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// hostile is an ARS server (an old one, or one taken over) whose answers
// carry text that would act on the owner's terminal: a label with the
// right-to-left override (U+202E makes "Office\u202Etxt.exe" read
// "Officeexe.txt"), a model that clears the screen, a supply name that
// sets the window title, an order supply with a carriage return.
const hostile = `{"items":[{"id":"e1","provider":"canon","state":"active",
  "printer":{"model":"TS8320\u001b[2J","serial":"KMAA00001","label":"Office\u202etxt.exe"},
  "terms_version":"2026-01","threshold":15,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z",
  "supplies":[{"name":"BK\u001b]0;pwned\u0007","level":40}],"levels_read_at":"2026-01-01T00:00:00Z"}]}`

const hostileOrders = `{"items":[{"id":"o1","enrollment_id":"e1","supply":"BK\rFAKE","level_at_order":5,"state":"placed",
  "fulfilment":"none","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}]}`

// TestStatusEscapesServerText prints `arsctl status` (table and detail,
// on a terminal and piped) from a hostile server: no control or bidi
// character reaches the terminal, each is shown as an escape.
func TestStatusEscapesServerText(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/orders") {
			_, _ = w.Write([]byte(hostileOrders))
			return
		}
		_, _ = w.Write([]byte(hostile))
	}))
	defer srv.Close()
	c := arsapi.New(srv.URL)
	for _, tc := range []struct {
		name    string
		tty     bool
		printer string
	}{{"table", true, ""}, {"piped", false, ""}, {"detail", true, "e1"}} {
		ios, _, out, _ := iostreams.Test()
		ios.SetTTY(tc.tty)
		ios.SetTerminalWidth(300) // wide enough for every value whole
		opts := &StatusOptions{IO: ios, Output: &cmdutil.OutputOptions{}, Orders: 5, Printer: tc.printer,
			Client: func(context.Context) (*arsapi.Client, error) { return c, nil }, Now: time.Now}
		if err := statusRun(context.Background(), opts); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		s := out.String()
		if i := strings.IndexFunc(s, func(r rune) bool { return r != '\n' && r != '\t' && arsapi.UnsafeRune(r) }); i >= 0 {
			t.Errorf("%s: %q reached the terminal in:\n%q", tc.name, []rune(s[i:])[0], s)
		}
		for _, want := range []string{`Office\u202etxt.exe`, `TS8320\x1b[2J`, `BK\x1b]0;pwned\x07`} {
			if !strings.Contains(s, want) {
				t.Errorf("%s: output lacks %s:\n%s", tc.name, want, s)
			}
		}
		if tc.name == "detail" && !strings.Contains(s, `BK\x0dFAKE`) {
			t.Errorf("detail: the order's supply is not escaped:\n%s", s)
		}
	}
}
