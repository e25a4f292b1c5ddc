package store

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/forecast"
	"github.com/arsctl/arsctl/pkg/printer"
)

// TestHistoryCacheIsExact: two replicas (two Stores on one database) take turns with the reports of a printer whose levels fall,
// stay, are refilled, and whose supply leaves and comes back. Whenever a
// replica's history cache is used it holds exactly what the database
// query returns, it is used (most reports read no history), and the same
// reports with the cache off place the same orders for the same reasons.
func TestHistoryCacheIsExact(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := t0.Add(90 * 24 * time.Hour)
		replica := func(cache bool) *Store {
			s := New(d)
			s.Now = func() time.Time { return now }
			if !cache {
				s.HistoryRetention = 30 * 24 * time.Hour
			}
			return s
		}
		a, b, off := replica(true), replica(true), replica(false)
		on := mustEnroll(t, a, "acct", arsapi.ProviderCanon, "CACHE1")
		ref := mustEnroll(t, off, "acct", arsapi.ProviderCanon, "CACHE2")

		report := func(i int) arsapi.LevelReport {
			c := 100 - 3*i
			if i >= 45 {
				c = 100 - 3*(i-45) // a new cartridge
			}
			supplies := []printer.Supply{
				{Name: "C", Type: "inkCartridge", ColorName: "cyan", Level: max(c, 0), Low: 10},
				{Name: "Y", Type: "inkCartridge", ColorName: "yellow", Level: 90 - i/5*3, Low: 10},
			}
			if i < 20 || i >= 30 { // M leaves the printer for ten reports
				supplies = append(supplies, printer.Supply{Name: "M", Type: "inkCartridge", ColorName: "magenta", Level: 80 - i/10, Low: 10})
			}
			return arsapi.LevelReport{ReadAt: t0.Add(time.Duration(i) * 20 * time.Hour), Supplies: supplies}
		}
		var hits, orders int
		for i := range 100 {
			rep := report(i)
			s := a
			if i%4 == 3 {
				s = b
			}
			windowStart := nanos(rep.ReadAt) - int64(forecastWindow)
			if s.hist.get(on.ID, windowStart) != nil {
				hits++
			}
			got, err := s.ReportLevels(ctx, "acct", on.ID, rep)
			if err != nil {
				t.Fatalf("report %d: %v", i, err)
			}
			want, err := off.ReportLevels(ctx, "acct", ref.ID, rep)
			if err != nil {
				t.Fatalf("report %d, cache off: %v", i, err)
			}
			if len(got.Orders) != len(want.Orders) {
				t.Fatalf("report %d: %d orders with the cache, %d without", i, len(got.Orders), len(want.Orders))
			}
			orders += len(got.Orders)
			for j := range got.Orders {
				if got.Orders[j].Supply != want.Orders[j].Supply || got.Orders[j].Reason != want.Orders[j].Reason {
					t.Errorf("report %d: ordered %s (%s) with the cache, %s (%s) without", i,
						got.Orders[j].Supply, got.Orders[j].Reason, want.Orders[j].Supply, want.Orders[j].Reason)
				}
			}
			// What the replica now holds is what the next report reading
			// from the same window would read from the database.
			e := s.hist.get(on.ID, windowStart)
			if e == nil {
				t.Fatalf("report %d: the replica holds no history after it", i)
			}
			rows, err := d.Query(ctx, readHistorySQL, on.ID, windowStart, MaxReadingsPerSupply)
			if err != nil {
				t.Fatal(err)
			}
			db, err := scanReadings(rows)
			rows.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, sp := range rep.Supplies {
				if c, w := e.window(windowStart)[sp.Name], db[sp.Name]; !sameReadings(c, w) {
					t.Fatalf("report %d, %s: cached %v, database %v", i, sp.Name, c, w)
				}
			}
		}
		if off.historyCache() != nil || off.hist.get(ref.ID, 0) != nil {
			t.Error("the cache was used with a retention shorter than historyCacheMinRetention")
		}
		if orders < 2 {
			t.Errorf("%d orders placed; the reports should place one a cartridge of C", orders)
		}
		if hits < 50 {
			t.Errorf("a replica held the printer's history before %d reports of 100, want most", hits)
		}
	})
}

func sameReadings(a, b []forecast.Reading) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].At.Equal(b[i].At) || a[i].Level != b[i].Level {
			return false
		}
	}
	return true
}

// TestHistoryCacheBounded: the cache drops entries to stay within its
// number of readings, and keeps none larger than itself.
func TestHistoryCacheBounded(t *testing.T) {
	c := newHistoryCache(10)
	entry := func(n int) *historyEntry {
		rs := make([]forecast.Reading, n)
		return &historyEntry{supplies: map[string][]forecast.Reading{"C": rs}, readings: n}
	}
	for i := range 20 {
		c.put(fmt.Sprint(i), entry(3))
		if c.readings > 10 {
			t.Fatalf("after %d entries the cache holds %d readings", i+1, c.readings)
		}
	}
	if len(c.entries) != 3 {
		t.Errorf("%d entries of 3 readings in a cache of 10", len(c.entries))
	}
	c.put("big", entry(11))
	if c.get("big", 0) != nil {
		t.Error("an entry larger than the cache was kept")
	}
	c.put("19", entry(2))
	c.drop("19")
	if c.get("19", 0) != nil || !reflect.DeepEqual(len(c.entries), 2) {
		t.Errorf("after a drop: %d entries", len(c.entries))
	}
}
