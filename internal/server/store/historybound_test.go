package store

import (
	"context"
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
