package arsdcmd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
	"github.com/arsctl/arsctl/internal/server/servertest"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// childEnv makes the test binary run arsd instead of the tests, so that
// the crash test can kill -9 a real arsd process.
const childEnv = "ARSD_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(Main(context.Background(), "test", os.Args[1:], os.Getenv, os.Stderr))
	}
	os.Exit(m.Run())
}

// startChild runs arsd in a child process and returns its URL.
// Restarting on the same address keeps the OAuth issuer, so tokens stay
// valid, as for a real server restarted in place.
func startChild(t *testing.T, listen, database string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "--listen", listen, "--database", database, "--log-level", "warn")
	cmd.Env = append(os.Environ(), childEnv+"=1", "XDG_DATA_HOME="+t.TempDir())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if url, ok := servertest.ArsdURL(t, stderr); ok {
		return cmd, url
	}
	t.Fatal("arsd exited without listening")
	return nil, ""
}

// TestCrashRecovery kills arsd with SIGKILL in the middle of a stream of
// enrollments and level reports, restarts it on the same database, and
// checks that every acknowledged write is there and that no order was
// placed twice.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts arsd processes")
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			database := filepath.Join(t.TempDir(), "arsd.db")
			if dialect == "postgres" {
				database = dbtest.PostgresDSN(t)
			}
			testCrash(t, database)
		})
	}
}

type ack struct {
	mu          sync.Mutex
	enrollments map[string]bool   // acknowledged enrollment IDs
	orders      map[string]string // acknowledged order ID -> enrollment ID
}

func testCrash(t *testing.T, database string) {
	ctx := context.Background()
	child, base := startChild(t, "127.0.0.1:0", database)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	const email, password = "crash@example.com", "crash test password"
	if _, err := arsapi.New(base, arsapi.WithHTTPClient(hc)).CreateAccount(ctx, arsapi.CreateAccountRequest{Email: email, Password: password}); err != nil {
		t.Fatal(err)
	}
	tok, err := oauthtest.DeviceLogin(ctx, hc, base, email, password)
	if err != nil {
		t.Fatal(err)
	}
	client := func(base string) *arsapi.Client {
		return arsapi.New(base, arsapi.WithHTTPClient(&http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(tok), Base: hc.Transport}}))
	}
	c := client(base)
	terms, err := c.Terms(ctx)
	if err != nil {
		t.Fatal(err)
	}

	a := &ack{enrollments: map[string]bool{}, orders: map[string]string{}}
	var acked atomic.Int64
	killAt := int64(400)
	killed := make(chan struct{})
	var once sync.Once
	kill := func() {
		once.Do(func() {
			_ = child.Process.Kill() // SIGKILL: no shutdown, no flush
			close(killed)
		})
	}
	t0 := time.Now().UTC().Add(-time.Hour)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			var ids []string
			for i := 0; ; i++ {
				select {
				case <-killed:
					return
				default:
				}
				if len(ids) < 3 || i%4 == 0 {
					serial := fmt.Sprintf("CRASH-%d-%d", w, i)
					e, err := c.CreateEnrollment(ctx, arsapi.CreateEnrollmentRequest{
						Provider: arsapi.ProviderCanon, Printer: arsapi.Printer{Model: "TS8320", Serial: serial}, TermsVersion: terms.Version,
					}, "crash-"+serial)
					if err != nil {
						continue // not acknowledged
					}
					a.mu.Lock()
					a.enrollments[e.ID] = true
					a.mu.Unlock()
					ids = append(ids, e.ID)
				} else {
					id := ids[i%len(ids)]
					level := max(0, 40-i) // falls below the threshold quickly
					res, err := c.ReportLevels(ctx, id, arsapi.LevelReport{ReadAt: t0.Add(time.Duration(i) * time.Second), Supplies: []printer.Supply{
						{Name: "BK", Level: level, Low: 10}, {Name: "C", Level: level / 2, Low: 10},
					}})
					if err != nil {
						continue
					}
					a.mu.Lock()
					for _, o := range res.Orders {
						a.orders[o.ID] = id
					}
					a.mu.Unlock()
				}
				if acked.Add(1) == killAt {
					kill()
				}
			}
		})
	}
	wg.Wait()
	_ = child.Wait()

	_, base2 := startChild(t, strings.TrimPrefix(base, "http://"), database)
	c2 := client(base2)
	all, err := c2.ListEnrollments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for _, e := range all {
		present[e.ID] = true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for id := range a.enrollments {
		if !present[id] {
			t.Errorf("acknowledged enrollment %s lost in the crash", id)
		}
	}
	orders := map[string]bool{}
	for _, e := range all {
		os, err := c2.ListOrders(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		per := map[string]int{}
		for _, o := range os {
			orders[o.ID] = true
			per[o.Supply]++
		}
		for supply, n := range per {
			if n > 1 {
				t.Errorf("enrollment %s: %d orders for %s, want at most 1", e.ID, n, supply)
			}
		}
	}
	for id := range a.orders {
		if !orders[id] {
			t.Errorf("acknowledged order %s lost in the crash", id)
		}
	}
	if len(a.enrollments) == 0 || len(a.orders) == 0 {
		t.Errorf("the stream acknowledged %d enrollments and %d orders before the crash; want some of each", len(a.enrollments), len(a.orders))
	}
	t.Logf("%d enrollments and %d orders acknowledged before SIGKILL, all present after restart", len(a.enrollments), len(a.orders))
	// The restarted server keeps taking reports.
	for id := range a.enrollments {
		if _, err := c2.ReportLevels(ctx, id, arsapi.LevelReport{Supplies: []printer.Supply{{Name: "BK", Level: 1}}}); err != nil && !errors.As(err, new(*arsapi.Problem)) {
			t.Errorf("report after restart: %v", err)
		}
		break
	}
}
