package arsdcmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// TestSignInFlood runs arsd as its own process and floods POST /login:
// first 400 wrong passwords at once for one account from one address,
// of which at most 5 (the limit) get a password check, counted by
// arsd_password_hashes_total; then 400 sign-ins at once from 400
// loopback addresses for 400 accounts, which pass every limit, so only
// the bound on concurrent hashing (19 MiB each) keeps arsd's memory in
// check. arsd's peak resident memory (VmHWM) stays under 300 MiB.
func TestSignInFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("starts arsd processes")
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			database := filepath.Join(t.TempDir(), "arsd.db")
			if dialect == "postgres" {
				database = dbtest.PostgresDSN(t)
			}
			testSignInFlood(t, database)
		})
	}
}

func testSignInFlood(t *testing.T, database string) {
	ctx := context.Background()
	child, base := startChild(t, "127.0.0.1:0", database)
	const email, password = "victim@example.com", "the victim's password"
	if _, err := arsapi.New(base).CreateAccount(ctx, arsapi.CreateAccountRequest{Email: email, Password: password}); err != nil {
		t.Fatal(err)
	}

	// One account, one address, 400 guesses at once.
	before := passwordHashes(t, base)
	got := floodLogin(t, base, 400, func(i int) (string, string, string) {
		return "127.0.0.1", email, fmt.Sprintf("guess number %d", i)
	})
	hashes := passwordHashes(t, base) - before
	t.Logf("400 guesses for one account from one address: %v; %d passwords hashed", got, hashes)
	if hashes > 5 {
		t.Errorf("%d passwords hashed for 400 guesses; the limit is 5", hashes)
	}
	if got[http.StatusUnauthorized] > 5 || got[http.StatusUnauthorized]+got[http.StatusTooManyRequests]+got[http.StatusServiceUnavailable] != 400 {
		t.Errorf("answers %v: want at most 5 × 401, the rest 429 (or 503)", got)
	}

	// 400 accounts from 400 addresses at once: every one is within its
	// limits, and each costs a hash.
	before = passwordHashes(t, base)
	got = floodLogin(t, base, 400, func(i int) (string, string, string) {
		return fmt.Sprintf("127.0.%d.%d", 1+i/200, 1+i%200), fmt.Sprintf("user%d@example.com", i), "not the password"
	})
	hashes = passwordHashes(t, base) - before
	hwm := peakRSS(t, child.Process.Pid)
	t.Logf("400 sign-ins from 400 addresses: %v; %d passwords hashed; arsd peak RSS %d MiB", got, hashes, hwm>>20)
	if got[http.StatusUnauthorized]+got[http.StatusServiceUnavailable] != 400 || got[http.StatusUnauthorized] == 0 {
		t.Errorf("answers %v: want 401 (or 503 when busy) for all", got)
	}
	if hwm >= 300<<20 {
		t.Errorf("arsd peaked at %d MiB resident, want under 300 MiB", hwm>>20)
	}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// floodLogin gets a sign-in form for each of n clients, then sends all
// their sign-ins at once; who(i) gives client i's source address, email
// and password. It returns the answers' status codes, counted.
func floodLogin(t *testing.T, base string, n int, who func(i int) (addr, email, password string)) map[int]int {
	t.Helper()
	type prepared struct {
		hc   *http.Client
		form url.Values
	}
	clients := make([]prepared, n)
	transports := map[string]*http.Transport{}
	for i := range clients {
		addr, email, password := who(i)
		tr := transports[addr]
		if tr == nil {
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}, Timeout: time.Minute}
			tr = &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: n}
			transports[addr] = tr
			t.Cleanup(tr.CloseIdleConnections)
		}
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Transport: tr, Jar: jar, Timeout: 2 * time.Minute,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := hc.Get(base + "/login")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		m := csrfField.FindSubmatch(b)
		if m == nil {
			t.Fatalf("no sign-in form: HTTP %d", res.StatusCode)
		}
		clients[i] = prepared{hc, url.Values{"csrf_token": {string(m[1])}, "email": {email}, "password": {password}}}
	}
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		wg     sync.WaitGroup
		start  = make(chan struct{})
	)
	for _, c := range clients {
		wg.Go(func() {
			<-start
			status := 0
			res, err := c.hc.PostForm(base+"/login", c.form)
			if err != nil {
				t.Errorf("POST /login: %v", err)
			} else {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				status = res.StatusCode
				if (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) && res.Header.Get("Retry-After") == "" {
					t.Errorf("HTTP %d without Retry-After", status)
				}
			}
			mu.Lock()
			counts[status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return counts
}

// passwordHashes reads arsd_password_hashes_total from /metrics.
func passwordHashes(t *testing.T, base string) int64 {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "arsd_password_hashes_total "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("arsd_password_hashes_total %q: %v", v, err)
			}
			return int64(f)
		}
	}
	t.Fatal("no arsd_password_hashes_total in /metrics")
	return 0
}

// peakRSS is the peak resident memory of process pid, in bytes (VmHWM).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("peak memory not readable: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}
