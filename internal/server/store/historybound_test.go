package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// TestReportReadsBoundedHistory: a client that reported a level going up
// and down at every report has thousands of level changes of a supply
// within the forecast's window; a level report reads only the latest
// MaxReadingsPerSupply of each supply (every report read them all into
// memory), and still orders.
func TestReportReadsBoundedHistory(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		s.Now = func() time.Time { return t0.Add(time.Hour) }
		e := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "BOUND1")
		const many = MaxReadingsPerSupply*2 + 500
		start := t0.Add(-100 * 24 * time.Hour)
		for i := 0; i < many; i += 500 {
			var b strings.Builder
			var args []any
			b.WriteString(`INSERT INTO level_history (enrollment_id, supply, read_at, level) VALUES `)
			for j := i; j < min(i+500, many); j++ {
				if j > i {
					b.WriteByte(',')
				}
				b.WriteString("(?, ?, ?, ?)")
				args = append(args, e.ID, "C", nanos(start.Add(time.Duration(j)*time.Minute)), 50+j%2)
			}
			if _, err := s.DB.Exec(ctx, b.String(), args...); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.DB.Exec(ctx, `INSERT INTO level_history (enrollment_id, supply, read_at, level) VALUES (?, ?, ?, ?)`,
			e.ID, "M", nanos(start), 70); err != nil {
			t.Fatal(err)
		}
		rows, err := s.DB.Query(ctx, readHistorySQL, e.ID, nanos(t0.Add(-forecastWindow)), MaxReadingsPerSupply)
		if err != nil {
			t.Fatal(err)
		}
		var sl storedLevels
		err = sl.scanHistory(rows)
		rows.Close()
		if err != nil {
			t.Fatal(err)
		}
		c := sl.history["C"]
		if len(c) != MaxReadingsPerSupply || len(sl.history["M"]) != 1 {
			t.Fatalf("read %d changes of C (of %d) and %d of M; want %d and 1", len(c), many, len(sl.history["M"]), MaxReadingsPerSupply)
		}
		if last := start.Add(time.Duration(many-1) * time.Minute); !c[len(c)-1].At.Equal(last) || !c[0].At.Before(c[1].At) {
			t.Fatalf("not the latest changes oldest first: %v … %v, want the last at %v", c[0].At, c[len(c)-1].At, last)
		}
		res, err := s.ReportLevels(ctx, "acct", e.ID, rep(0, "C=8/10", "M=70/10"))
		if err != nil || len(res.Orders) != 1 {
			t.Fatalf("report on the long history: %v %+v", err, res)
		}
	})
}

// TestLevelHistoryStaysBounded: a client that reports levels going up and
// down at every report, or new supply names at every report, added rows to
// level_history without bound (64 a report), and every later report read
// them all back. A supply keeps at most MaxReadingsPerSupply changes and
// the one just reported; the history of supplies the printer no longer
// has is dropped with them; the answers still show the latest changes.
func TestLevelHistoryStaysBounded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		const seeded, reports = MaxReadingsPerSupply + 100, MaxReadingsPerSupply + 120
		s.Now = func() time.Time { return t0.Add(reports * time.Minute) }
		names := []string{"PGBK", "BK", "C", "M", "Y", "GY"}
		flap := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "FLAPPER")
		// The first reports of the attack, written at once (the test would
		// take long report by report), then the rest as reports.
		for _, n := range names {
			var b strings.Builder
			var args []any
			b.WriteString(`INSERT INTO level_history (enrollment_id, supply, read_at, level) VALUES `)
			for r := range seeded {
				if r > 0 {
					b.WriteByte(',')
				}
				b.WriteString("(?, ?, ?, ?)")
				args = append(args, flap.ID, n, nanos(t0.Add(time.Duration(r)*time.Minute)), 60+r%2)
			}
			if _, err := d.Exec(ctx, b.String(), args...); err != nil {
				t.Fatal(err)
			}
		}
		for r := seeded; r < reports; r++ {
			items := make([]string, len(names))
			for i, n := range names {
				items[i] = fmt.Sprintf("%s=%d", n, 60+r%2)
			}
			if _, err := s.ReportLevels(ctx, "acct", flap.ID, rep(r, items...)); err != nil {
				t.Fatal(err)
			}
		}
		rowsOf := func(id string) (rows, supplies int) {
			t.Helper()
			if err := d.QueryRow(ctx, `SELECT COUNT(*), COUNT(DISTINCT supply) FROM level_history WHERE enrollment_id = ?`, id).Scan(&rows, &supplies); err != nil {
				t.Fatal(err)
			}
			return rows, supplies
		}
		if rows, _ := rowsOf(flap.ID); rows > len(names)*(MaxReadingsPerSupply+1) {
			t.Errorf("%d reports of %d supplies going up and down kept %d level_history rows, want at most %d",
				reports, len(names), rows, len(names)*(MaxReadingsPerSupply+1))
		}
		h, err := s.LevelHistory(ctx, "acct", flap.ID, t0)
		if err != nil {
			t.Fatal(err)
		}
		for _, sh := range h.Supplies {
			last := sh.Readings[len(sh.Readings)-1]
			if len(sh.Readings) < MaxReadingsPerSupply || !last.At.Equal(t0.Add((reports-1)*time.Minute)) || last.Level != 60+(reports-1)%2 {
				t.Errorf("%s: %d readings, the last %v at %v; want %d, the last reported", sh.Name, len(sh.Readings), last.Level, last.At, MaxReadingsPerSupply)
			}
		}

		rename := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "RENAMER2")
		for r := range 10 {
			items := make([]string, MaxSupplies)
			for i := range items {
				items[i] = fmt.Sprintf("r%d-s%d=50", r, i)
			}
			if _, err := s.ReportLevels(ctx, "acct", rename.ID, rep(r, items...)); err != nil {
				t.Fatal(err)
			}
		}
		if rows, supplies := rowsOf(rename.ID); rows != MaxSupplies || supplies != MaxSupplies {
			t.Errorf("10 reports of %d new names each kept %d level_history rows of %d supplies, want %d of the last report's",
				MaxSupplies, rows, supplies, MaxSupplies)
		}
	})
}
