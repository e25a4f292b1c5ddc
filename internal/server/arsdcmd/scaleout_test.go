package arsdcmd

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/errgroup"

	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/oauth/oauthtest"
	"github.com/arsctl/arsctl/internal/server/servertest"
	"github.com/arsctl/arsctl/internal/server/webhook"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// replica is one arsd process of the scale-out test.
type replica struct {
	cmd  *exec.Cmd
	addr string // host:port it listens on
	done chan error
}

// startReplica runs arsd in a child process with the configuration file
// cfg and the environment env, and returns once it listens.
func startReplica(t *testing.T, cfg string, env ...string) *replica {
	t.Helper()
	cmd := exec.Command(os.Args[0], "--listen", "127.0.0.1:0", "--config", cfg, "--log-level", "warn")
	cmd.Env = append(append(os.Environ(), childEnv+"=1", "XDG_DATA_HOME="+t.TempDir()), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{cmd: cmd, done: make(chan error, 1)}
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-r.done })
	u, ok := servertest.ArsdURL(t, stderr)
	go func() { r.done <- cmd.Wait() }()
	if !ok {
		t.Fatal("arsd exited without listening")
	}
	r.addr = strings.TrimPrefix(u, "http://")
	return r
}

// freePort returns a loopback address nothing listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// haproxyConfig balances over the replicas, checking /readyz every 200ms:
// a replica is out after two failed checks (SIGKILL: refused; SIGTERM:
// 503 while it drains). Requests that could not be sent to one replica
// are sent to another (retries + redispatch).
func haproxyConfig(listen string, backends []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
  maxconn 4096
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 10s
  retries 3
  option redispatch 1
frontend ars
  bind %s
  default_backend arsd
backend arsd
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 200ms fastinter 100ms downinter 500ms fall 2 rise 2
`, listen)
	for i, a := range backends {
		fmt.Fprintf(&b, "  server arsd%d %s check\n", i, a)
	}
	return b.String()
}

// receiver is a webhook back office: it checks each delivery's signature
// and counts deliveries by order ID.
type receiver struct {
	t      *testing.T
	secret []byte
	mu     sync.Mutex
	got    map[string]int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := webhook.Verify(rc.secret, r.Header.Get(webhook.HeaderTimestamp), body, r.Header.Get(webhook.HeaderSignature), time.Hour); err != nil {
		rc.t.Errorf("webhook signature: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev webhook.Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.Order.ID == "" || ev.ID != ev.Order.ID {
		rc.t.Errorf("webhook body %s: %v", body, err)
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.got[ev.Order.ID]++
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) snapshot() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	m := make(map[string]int, len(rc.got))
	for k, v := range rc.got {
		m[k] = v
	}
	return m
}

// TestScaleOut runs three arsd replicas on one fresh PostgreSQL database
// behind haproxy. 300 printers report their levels through haproxy, 5 %
// of the reports sent twice at once. A third of the way through one
// replica is killed with SIGKILL; two thirds through another gets SIGTERM
// and drains (/readyz fails, haproxy takes it out, requests under way
// finish, exit 0). The clients are arsapi clients with their default
// retries. Then: every report acknowledged is stored, each printer has
// exactly the orders its reports call for (none twice), every
// acknowledged order exists, and the webhook back office got every order
// and no other (counted once by order ID).
func TestScaleOut(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL databases, arsd processes and haproxy")
	}
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/haproxy"); serr != nil {
			t.Skip("haproxy is not installed (scripts/install-deps.sh installs it)")
		}
		haproxy = "/usr/sbin/haproxy"
	}
	dsn := dbtest.PostgresDSN(t)
	ctx := context.Background()

	rc := &receiver{t: t, secret: []byte("scale-out webhook secret"), got: map[string]int{}}
	hook := httptest.NewServer(rc)
	defer hook.Close()

	lbAddr := freePort(t)
	public := "http://" + lbAddr
	dir := t.TempDir()
	cfg := filepath.Join(dir, "arsd.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`public_url: %s
database: %s
trust_proxy: true
dispatch_interval: 200ms
dispatch_timeout: 2s
drain_delay: 2s
orders:
  hold: 0s
webhook:
  url: %s
`, public, dsn, hook.URL)), 0o600); err != nil {
		t.Fatal(err)
	}

	// Three replicas start at once on the fresh database.
	replicas := make([]*replica, 3)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { replicas[i] = startReplica(t, cfg, "ARSD_WEBHOOK_SECRET="+string(rc.secret)) })
	}
	wg.Wait()
	for _, r := range replicas {
		if r == nil {
			t.FailNow()
		}
	}
	backends := make([]string, len(replicas))
	for i, r := range replicas {
		backends[i] = r.addr
	}
	hcfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(hcfg, []byte(haproxyConfig(lbAddr, backends)), 0o600); err != nil {
		t.Fatal(err)
	}
	lb := exec.Command(haproxy, "-db", "-f", hcfg)
	var lbOut bytes.Buffer
	lb.Stdout, lb.Stderr = &lbOut, &lbOut
	if err := lb.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = lb.Process.Kill()
		_ = lb.Wait()
		if t.Failed() {
			t.Logf("haproxy:\n%s", lbOut.String())
		}
	}()
	waitFor(t, 20*time.Second, "haproxy and three ready replicas", func() bool {
		for range 3 { // round robin: three answers in a row
			res, err := http.Get(public + "/readyz")
			if err != nil {
				return false
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return false
			}
		}
		return true
	})

	// Sign up and sign in through haproxy (the device flow spans replicas).
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	plain := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	const email, password = "scale@example.com", "scale-out test password"
	if _, err := arsapi.New(public, arsapi.WithHTTPClient(plain)).CreateAccount(ctx, arsapi.CreateAccountRequest{Email: email, Password: password}); err != nil {
		t.Fatal(err)
	}
	tok, err := oauthtest.DeviceLogin(ctx, plain, public, email, password)
	if err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int64 // HTTP requests sent, retries included
	counting := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		attempts.Add(1)
		return tr.RoundTrip(r)
	})
	c := arsapi.New(public, arsapi.WithHTTPClient(&http.Client{
		Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(tok), Base: counting},
		Timeout:   30 * time.Second,
	}))
	terms, err := c.Terms(ctx)
	if err != nil {
		t.Fatal(err)
	}

	const printers, reports = 300, 30
	ids := make([]string, printers)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range printers {
		g.Go(func() error {
			serial := fmt.Sprintf("SCALE%04d", i)
			e, err := c.CreateEnrollment(gctx, arsapi.CreateEnrollmentRequest{
				Provider: arsapi.ProviderCanon, Printer: arsapi.Printer{Model: "TS8320", Serial: serial}, TermsVersion: terms.Version,
			}, "scale-"+serial)
			ids[i] = e.ID
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("enroll: %v", err)
	}

	// The stream: each worker owns printers and sends their reports in
	// order; 5 % are sent twice at once. acked[i] is the last report of
	// printer i that was answered 200.
	base := time.Now().UTC().Add(-48 * time.Hour)
	acked := make([]int, printers)
	for i := range acked {
		acked[i] = -1
	}
	var (
		mu          sync.Mutex
		ackedOrders = map[string]bool{}
		failures    []string
		sent        atomic.Int64
	)
	total := int64(printers * reports)
	killed, termed := make(chan struct{}), make(chan struct{})
	var killOnce, termOnce sync.Once
	const workers = 24
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 14))
			for j := range reports {
				for i := w; i < printers; i += workers {
					rep := servertest.CrashReport(base, j)
					n := 1
					if rng.Float64() < 0.05 {
						n = 2
					}
					var inner sync.WaitGroup
					for range n {
						inner.Go(func() {
							res, err := c.ReportLevels(ctx, ids[i], rep)
							mu.Lock()
							defer mu.Unlock()
							if err != nil {
								failures = append(failures, fmt.Sprintf("printer %d report %d: %v", i, j, err))
								return
							}
							acked[i] = max(acked[i], j)
							for _, o := range res.Orders {
								ackedOrders[o.ID] = true
							}
						})
					}
					inner.Wait()
					switch s := sent.Add(1); {
					case s == total/3:
						killOnce.Do(func() { _ = replicas[0].cmd.Process.Signal(syscall.SIGKILL); close(killed) })
					case s == 2*total/3:
						termOnce.Do(func() { _ = replicas[1].cmd.Process.Signal(syscall.SIGTERM); close(termed) })
					}
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	<-killed
	<-termed
	select {
	case err := <-replicas[1].done:
		if err != nil {
			t.Errorf("replica stopped with SIGTERM: %v, want a clean exit", err)
		}
	case <-time.After(60 * time.Second):
		t.Error("replica given SIGTERM did not exit within 60s")
	}
	if err := <-replicas[0].done; err == nil {
		t.Error("replica given SIGKILL exited cleanly?")
	}
	replicas[0].done <- nil // for the cleanup
	replicas[1].done <- nil
	mu.Lock()
	if len(failures) > 0 {
		t.Errorf("%d reports failed through the failover; first: %s", len(failures), failures[0])
	}
	mu.Unlock()
	t.Logf("%d reports (+5%% sent twice) in %s; %d HTTP requests in all (retries included)",
		total, elapsed.Round(time.Millisecond), attempts.Load())

	// What the database holds.
	pg, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	stored := map[string]int64{} // enrollment -> levels_read_at
	rows, err := pg.Query(`SELECT id, COALESCE(levels_read_at, 0) FROM enrollments`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			t.Fatal(err)
		}
		stored[id] = at
	}
	rows.Close()
	for i, id := range ids {
		if acked[i] < 0 {
			continue
		}
		if want := servertest.CrashReport(base, acked[i]).ReadAt.UnixNano(); stored[id] < want {
			t.Errorf("printer %d: acknowledged report %d (read %d) lost: stored reading %d", i, acked[i], want, stored[id])
		}
	}
	perSupply := map[string]int{} // enrollment/supply -> orders
	dbOrders := map[string]bool{}
	rows, err = pg.Query(`SELECT id, enrollment_id, supply FROM orders`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, en, supply string
		if err := rows.Scan(&id, &en, &supply); err != nil {
			t.Fatal(err)
		}
		dbOrders[id] = true
		perSupply[en+"/"+supply]++
	}
	rows.Close()
	for i, id := range ids {
		for _, s := range []string{"C", "M"} {
			if got, want := perSupply[id+"/"+s], servertest.CrashOrders(s, acked[i]); got != want {
				t.Errorf("printer %d supply %s: %d orders after reports 0..%d, want %d (no duplicate, none missing)", i, s, got, acked[i], want)
			}
		}
	}
	for id := range ackedOrders {
		if !dbOrders[id] {
			t.Errorf("acknowledged order %s is not in the database", id)
		}
	}

	// Every order reaches the back office; orders claimed by the killed
	// replica come due again when their lease (2 × 2s + 10s) runs out.
	// The hand-over is recorded in the database after the webhook answers.
	var undelivered int
	waitFor(t, 60*time.Second, "every order delivered to the webhook and recorded so", func() bool {
		got := rc.snapshot()
		for id := range dbOrders {
			if got[id] == 0 {
				return false
			}
		}
		err := pg.QueryRow(`SELECT count(*) FROM orders WHERE next_attempt_at IS NOT NULL OR fulfilment <> 'webhook'`).Scan(&undelivered)
		return err == nil && undelivered == 0
	})
	redelivered := 0
	for id, n := range rc.snapshot() {
		if !dbOrders[id] {
			t.Errorf("webhook got order %s, which is not in the database", id)
		}
		redelivered += n - 1
	}
	t.Logf("%d orders, each delivered to the webhook (%d deliveries repeated by order ID after the SIGKILL, deduplicated by the receiver)",
		len(dbOrders), redelivered)
	if len(dbOrders) == 0 {
		t.Error("no orders placed: the stream tested nothing")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
