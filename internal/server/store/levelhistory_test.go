package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// TestLevelHistory reports levels over days and checks that only changes
// are kept, with their read times, that duplicate and older reports add
// nothing, that another account sees nothing, that the forecast follows the
// history, and that the purge deletes old rows only.
func TestLevelHistory(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		now := t0.Add(30 * 24 * time.Hour)
		s.Now = func() time.Time { return now }
		e := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "HIST")
		day := 24 * 60
		reports := []arsapi.LevelReport{
			rep(0, "BK=80", "C=50"),
			rep(day, "BK=78", "C=50"),
			rep(day, "BK=78", "C=50"), // duplicate
			rep(2*day, "BK=76", "C=50"),
			rep(day+1, "BK=10", "C=10"), // older than the last: ignored
			rep(3*day, "BK=74", "C=50"),
			rep(4*day, "BK=72", "C=49"),
		}
		for _, r := range reports {
			if _, err := s.ReportLevels(ctx, "acct", e.ID, r); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM level_history WHERE enrollment_id = ?`, e.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 7 { // BK: 80 78 76 74 72; C: 50 49
			t.Fatalf("%d history rows, want 7 (changes only)", n)
		}
		h, err := s.LevelHistory(ctx, "acct", e.ID, t0.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Supplies) != 2 || h.Supplies[0].Name != "BK" || h.Supplies[1].Name != "C" {
			t.Fatalf("supplies %+v", h.Supplies)
		}
		bk := h.Supplies[0]
		if len(bk.Readings) != 5 || bk.Readings[0].Level != 80 || !bk.Readings[0].At.Equal(t0) || bk.Readings[4].Level != 72 {
			t.Fatalf("BK readings %+v", bk.Readings)
		}
		if f := bk.Forecast; !f.Known || f.Rate < 1.99 || f.Rate > 2.01 {
			t.Fatalf("BK forecast %+v, want 2 points a day", f)
		}
		// The cyan level stayed 50 for days: its last reading is the last
		// report's time, from the stored current level.
		c := h.Supplies[1]
		if last := c.Readings[len(c.Readings)-1]; last.Level != 49 || !last.At.Equal(t0.Add(4*24*time.Hour)) {
			t.Fatalf("C readings %+v", c.Readings)
		}
		// since= cuts older readings.
		h2, err := s.LevelHistory(ctx, "acct", e.ID, t0.Add(2*24*time.Hour))
		if err != nil || len(h2.Supplies[0].Readings) != 3 {
			t.Fatalf("since: %v %+v", err, h2.Supplies)
		}
		// Another account gets not found.
		if _, err := s.LevelHistory(ctx, "other", e.ID, t0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other account: %v, want ErrNotFound", err)
		}
		// The purge deletes rows read before the cut only.
		gone, err := s.PurgeLevelHistory(ctx, t0.Add(2*24*time.Hour))
		if err != nil || gone != 3 { // BK 80, 78; C 50
			t.Fatalf("purge: %v, %d rows, want 3", err, gone)
		}
		h3, _ := s.LevelHistory(ctx, "acct", e.ID, t0.Add(-time.Hour))
		if len(h3.Supplies[0].Readings) != 3 {
			t.Fatalf("after purge %+v", h3.Supplies[0].Readings)
		}
	})
}

// TestLevelHistoryReadsBoundedRows: a client reporting a level that goes
// up and down at every report keeps adding history; LevelHistory reads
// only the latest MaxReadingsPerSupply changes of each supply the printer
// reports now, not every row kept (nor those of names it reported once).
func TestLevelHistoryReadsBoundedRows(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d)
		s.Now = func() time.Time { return t0.Add(time.Hour) }
		e := mustEnroll(t, s, "acct", arsapi.ProviderCanon, "FLIPFLOP")
		if _, err := s.ReportLevels(ctx, "acct", e.ID, rep(0, "K=50")); err != nil {
			t.Fatal(err)
		}
		insert := func(supply string, from, n int) {
			var b strings.Builder
			args := []any{}
			b.WriteString(`INSERT INTO level_history (enrollment_id, supply, read_at, level) VALUES `)
			for i := range n {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString("(?,?,?,?)")
				args = append(args, e.ID, supply, nanos(t0.Add(-time.Duration(from+i+1)*time.Second)), 60+i%2)
			}
			if _, err := d.Exec(ctx, b.String(), args...); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			insert("K", i*500, 500)
			insert("OLD NAME", i*500, 500)
		}
		h, err := s.LevelHistory(ctx, "acct", e.ID, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Supplies) != 1 || h.Supplies[0].Name != "K" {
			t.Fatalf("supplies %+v, want K only", h.Supplies)
		}
		rs := h.Supplies[0].Readings
		if len(rs) != MaxReadingsPerSupply {
			t.Fatalf("%d readings of K, want the latest %d", len(rs), MaxReadingsPerSupply)
		}
		if last := rs[len(rs)-1]; !last.At.Equal(t0) || last.Level != 50 {
			t.Errorf("last reading %+v, want the report's 50 at %v", last, t0)
		}
	})
}
