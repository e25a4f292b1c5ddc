package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/internal/server/servertest"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// The crash test runs this test binary again as a child process that
// streams enrollments and level reports into a database, printing one line
// per acknowledged write, and kills it with SIGKILL in the middle of the
// stream. After each kill the database must hold every acknowledged write,
// and the orders must be exactly what the reports call for: none missing,
// none twice.

const (
	crashEnvDSN   = "ARS_CRASH_CHILD_DSN"
	crashAccount  = "crash"
	crashWorkers  = 4
	crashPerRound = 300 // acknowledged lines before the kill
)

var crashBase = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

// TestCrashChild is the child process of TestCrashSafety; it does nothing
// in a normal test run.
func TestCrashChild(t *testing.T) {
	dsn := os.Getenv(crashEnvDSN)
	if dsn == "" {
		t.Skip("child process of TestCrashSafety")
	}
	ctx := context.Background()
	d, err := db.Open(ctx, dsn)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	s := New(d)
	var mu sync.Mutex
	ack := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	fail := func(what string, err error) {
		ack("ERR %s: %v", what, err)
		os.Exit(1)
	}

	// Resume the enrollments of earlier rounds where the database says they
	// are, sending the last stored report again (a duplicate).
	type job struct {
		id string
		j  int
	}
	var resume []job
	rows, err := d.Query(ctx, `SELECT id, levels_read_at FROM enrollments WHERE account_id = ? ORDER BY created_at`, crashAccount)
	if err != nil {
		fail("list", err)
	}
	for rows.Next() {
		var (
			id string
			at *int64
		)
		if err := rows.Scan(&id, &at); err != nil {
			fail("list", err)
		}
		j := 0
		if at != nil {
			j = int((time.Duration(*at - nanos(crashBase))) / time.Minute)
		}
		resume = append(resume, job{id, j})
	}
	rows.Close()

	round := os.Getenv("ARS_CRASH_ROUND")
	var wg sync.WaitGroup
	for w := range crashWorkers {
		wg.Go(func() {
			var mine []job
			for i, jb := range resume {
				if i%crashWorkers == w {
					mine = append(mine, jb)
				}
			}
			for i := 0; i < 100000; i++ {
				if i%5 == 0 {
					serial := fmt.Sprintf("CRASH-%s-%d-%d", round, w, i)
					e, err := s.CreateEnrollment(ctx, crashAccount, arsapi.CreateEnrollmentRequest{
						Provider: arsapi.ProviderCanon, Printer: arsapi.Printer{Model: "TS8320", Serial: serial}, TermsVersion: "1",
					}, 15)
					if err != nil {
						fail("enroll", err)
					}
					ack("E %s %s", e.ID, serial)
					mine = append(mine, job{e.ID, -1})
				}
				jb := &mine[i%len(mine)]
				if jb.j < 0 {
					jb.j = 0
				}
				res, err := s.ReportLevels(ctx, crashAccount, jb.id, servertest.CrashReport(crashBase, jb.j))
				if err != nil {
					fail("report", err)
				}
				var ids []string
				for _, o := range res.Orders {
					ids = append(ids, o.ID)
				}
				ack("R %s %d %s", jb.id, jb.j, strings.Join(ids, " "))
				jb.j++
			}
		})
	}
	wg.Wait()
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "crash.db")
			if dialect == db.Postgres {
				dsn = dbtest.PostgresDSN(t)
			}
			check, err := db.Open(context.Background(), dsn) // migrates
			if err != nil {
				t.Fatal(err)
			}
			defer check.Close()

			enrolled := map[string]string{} // id -> serial
			reported := map[string]int{}    // id -> highest acknowledged j
			var orders []string
			for round := range 3 {
				lines := crashRound(t, dsn, round)
				for _, l := range lines {
					f := strings.Fields(l)
					switch f[0] {
					case "E":
						enrolled[f[1]] = f[2]
					case "R":
						j, _ := strconv.Atoi(f[2])
						if j > reported[f[1]] {
							reported[f[1]] = j
						}
						orders = append(orders, f[3:]...)
					}
				}
				verifyCrash(t, check, round, enrolled, reported, orders)
			}
			t.Logf("%d enrollments, %d acknowledged orders, over 3 kills", len(enrolled), len(orders))
		})
	}
}

// crashRound runs the child until it has acknowledged crashPerRound writes,
// kills it with SIGKILL and returns the acknowledged lines.
func crashRound(t *testing.T, dsn string, round int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnvDSN+"="+dsn, "ARS_CRASH_ROUND="+strconv.Itoa(round))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "ERR") {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("child: %s", l)
		}
		if strings.HasPrefix(l, "E ") || strings.HasPrefix(l, "R ") {
			lines = append(lines, l)
		}
		if len(lines) == crashPerRound {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	// Lines printed after the kill decision may be half written; they
	// are not counted as acknowledged.
	_ = cmd.Wait()
	if len(lines) < crashPerRound {
		t.Fatalf("child ended after %d acknowledged writes", len(lines))
	}
	return lines
}

func verifyCrash(t *testing.T, d *db.DB, round int, enrolled map[string]string, reported map[string]int, orders []string) {
	t.Helper()
	ctx := context.Background()
	for id, serial := range enrolled {
		var got string
		var readAt *int64
		if err := d.QueryRow(ctx, `SELECT serial, levels_read_at FROM enrollments WHERE id = ? AND account_id = ?`, id, crashAccount).Scan(&got, &readAt); err != nil || got != serial {
			t.Fatalf("round %d: acknowledged enrollment %s (%s): %q, %v", round, id, serial, got, err)
		}
		j, ok := reported[id]
		if !ok {
			continue
		}
		// The stored reading is the last acknowledged one or a later one:
		// the child keeps committing (and printing into the pipe buffer)
		// until the kill lands, so reports the parent never read may have
		// committed too. Orders are then checked against what is stored.
		if readAt == nil {
			t.Fatalf("round %d: enrollment %s: acknowledged report %d, none stored", round, id, j)
		}
		last := int((time.Duration(*readAt - nanos(crashBase))) / time.Minute)
		if last < j {
			t.Fatalf("round %d: enrollment %s: stored reading %d, but report %d was acknowledged", round, id, last, j)
		}
		for _, supply := range []string{"C", "M"} {
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM orders WHERE enrollment_id = ? AND supply = ?`, id, supply).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if want := servertest.CrashOrders(supply, last); n != want {
				t.Errorf("round %d: enrollment %s supply %s: %d orders after reports 0..%d, want %d", round, id, supply, n, last, want)
			}
		}
		if err := checkOrderInvariants(ctx, d, id); err != nil {
			t.Error(err)
		}
	}
	for _, id := range orders {
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM orders WHERE id = ?`, id).Scan(&n); err != nil || n != 1 {
			t.Fatalf("round %d: acknowledged order %s missing (%v)", round, id, err)
		}
	}
}
