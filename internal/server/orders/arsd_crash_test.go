package orders_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
	"github.com/arsctl/arsctl/internal/server/servertest"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// TestArsdCrash runs the real arsd binary, streams enrollments and level
// reports at it over HTTP from several clients, kills it with SIGKILL in
// the middle of the stream, restarts it on the same database and goes on
// (re-sending the last report of every printer), three times. At the end
// every acknowledged enrollment, report and order is there, and every
// printer has exactly the orders its reports call for: none lost, none
// twice.
func TestArsdCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("arsd crash test skipped in -short mode")
	}
	bin := filepath.Join(t.TempDir(), "arsd")
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("arsd crash test needs the go command to build arsd: %v", err)
	}
	if out, err := exec.Command(gocmd, "build", "-o", bin, "github.com/arsctl/arsctl/cmd/arsd").CombinedOutput(); err != nil {
		t.Fatalf("build arsd: %v\n%s", err, out)
	}
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			home := t.TempDir()
			dsn := filepath.Join(home, "arsd.db")
			if dialect == db.Postgres {
				dsn = dbtest.PostgresDSN(t)
			}
			runCrashRounds(t, bin, home, dsn)
		})
	}
}

var crashBase = time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)

// arsd is one run of the binary.
type arsd struct {
	cmd *exec.Cmd
	url string
}

func startArsd(t *testing.T, bin, home, dsn string) *arsd {
	t.Helper()
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--database", dsn, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(home, "data"), "XDG_CONFIG_HOME="+filepath.Join(home, "config"), "HOME="+home)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if url, ok := servertest.ArsdURL(t, stderr); ok {
		return &arsd{cmd: cmd, url: url}
	}
	_ = cmd.Wait()
	t.Fatal("arsd exited before listening")
	return nil
}

func (a *arsd) kill() {
	_ = a.cmd.Process.Kill() // SIGKILL
	_ = a.cmd.Wait()
}

// ledger is what the clients saw acknowledged.
type ledger struct {
	mu       sync.Mutex
	enrolled []string       // enrollment IDs
	reported map[string]int // enrollment -> highest acknowledged report
	orders   map[string]string
	acks     int
}

func signIn(t *testing.T, url, email, password string) *arsapi.Client {
	t.Helper()
	tok := oauthtest.Token(t, url, email, password)
	hc := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(tok), Base: &http.Transport{MaxIdleConnsPerHost: 16}}}
	return arsapi.New(url, arsapi.WithHTTPClient(hc))
}

func runCrashRounds(t *testing.T, bin, home, dsn string) {
	const (
		email    = "crash@example.com"
		password = "crash test password 1"
		workers  = 4
		perRound = 120 // acknowledged writes before the kill
	)
	l := &ledger{reported: map[string]int{}, orders: map[string]string{}}
	for round := range 3 {
		a := startArsd(t, bin, home, dsn)
		if round == 0 {
			if _, err := arsapi.New(a.url).CreateAccount(context.Background(), arsapi.CreateAccountRequest{Email: email, Password: password}); err != nil {
				a.kill()
				t.Fatalf("sign up: %v", err)
			}
		}
		c := signIn(t, a.url, email, password)
		terms, err := c.Terms(context.Background())
		if err != nil {
			a.kill()
			t.Fatal(err)
		}

		// Each worker resumes its share of the known printers at their
		// last acknowledged report (sent again) and enrolls new ones.
		l.mu.Lock()
		known := append([]string(nil), l.enrolled...)
		next := map[string]int{}
		for _, id := range known {
			next[id] = l.reported[id]
		}
		l.acks = 0
		l.mu.Unlock()
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				var mine []string
				for i, id := range known {
					if i%workers == w {
						mine = append(mine, id)
					}
				}
				for i := 0; ctx.Err() == nil; i++ {
					if i%5 == 0 || len(mine) == 0 {
						serial := fmt.Sprintf("ARSDCRASH-%d-%d-%d", round, w, i)
						e, err := c.CreateEnrollment(ctx, arsapi.CreateEnrollmentRequest{
							Provider: arsapi.ProviderCanon, Printer: arsapi.Printer{Model: "TS8320", Serial: serial}, TermsVersion: terms.Version,
						}, "crash-"+serial)
						if err != nil {
							return // arsd is gone: not acknowledged
						}
						l.mu.Lock()
						l.enrolled = append(l.enrolled, e.ID)
						l.reported[e.ID] = -1
						l.acks++
						l.mu.Unlock()
						mine = append(mine, e.ID)
						continue
					}
					id := mine[i%len(mine)]
					l.mu.Lock()
					j := max(next[id], 0)
					l.mu.Unlock()
					res, err := c.ReportLevels(ctx, id, servertest.CrashReport(crashBase, j))
					if err != nil {
						return
					}
					l.mu.Lock()
					l.reported[id] = max(l.reported[id], j)
					next[id] = j + 1
					for _, o := range res.Orders {
						l.orders[o.ID] = id
					}
					l.acks++
					if l.acks >= perRound {
						stop()
					}
					l.mu.Unlock()
				}
			})
		}
		// Kill arsd as soon as the round's writes are acknowledged, with
		// requests still in flight.
		<-ctx.Done()
		a.kill()
		wg.Wait()
		stop()
	}

	// Restart once more and check everything through the API.
	a := startArsd(t, bin, home, dsn)
	defer a.kill()
	c := signIn(t, a.url, email, password)
	ctx := context.Background()
	seenOrders := map[string]bool{}
	for _, id := range l.enrolled {
		e, err := c.GetEnrollment(ctx, id)
		if err != nil {
			t.Fatalf("acknowledged enrollment %s: %v", id, err)
		}
		j := l.reported[id]
		if j < 0 {
			continue
		}
		if e.LevelsReadAt == nil {
			t.Fatalf("enrollment %s: acknowledged report %d, no levels stored", id, j)
		}
		last := int(e.LevelsReadAt.Sub(crashBase) / time.Minute)
		if last < j || last > j+1 {
			t.Fatalf("enrollment %s: stored reading %d, acknowledged %d", id, last, j)
		}
		orders, err := c.ListOrders(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		per := map[string]int{}
		for _, o := range orders {
			per[o.Supply]++
			seenOrders[o.ID] = true
		}
		for _, supply := range []string{"C", "M"} {
			if want := servertest.CrashOrders(supply, last); per[supply] != want {
				t.Errorf("enrollment %s supply %s: %d orders after reports 0..%d, want %d", id, supply, per[supply], last, want)
			}
		}
	}
	for id := range l.orders {
		if !seenOrders[id] {
			t.Errorf("acknowledged order %s is missing", id)
		}
	}
	if len(l.orders) == 0 {
		t.Error("the stream placed no orders: the test checks nothing")
	}
	t.Logf("%d enrollments, %d acknowledged orders, 3 kills", len(l.enrolled), len(l.orders))
}
