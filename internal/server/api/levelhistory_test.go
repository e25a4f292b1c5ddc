package api

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// TestLevelHistoryRoute reports a week of falling levels and reads them
// back through GET /v1/enrollments/{id}/levels (answers checked against the
// OpenAPI document by the test transport): changes only, since= honoured,
// a forecast with a rate, a bad since refused and another account's
// enrollment not found.
func TestLevelHistoryRoute(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ann := e.account("ann@example.com")
		bob := e.account("bob@example.com")
		var en arsapi.Enrollment
		e.mustDo("POST", "/v1/enrollments", ann, enrollReq("TS8320", "HIST1"), 201, &en)
		levels := "/v1/enrollments/" + en.ID + "/levels"
		start := time.Now().UTC().Add(-7 * 24 * time.Hour).Truncate(time.Second)
		for day := range 7 {
			for _, at := range []time.Time{start.Add(time.Duration(day) * 24 * time.Hour), start.Add(time.Duration(day)*24*time.Hour + time.Hour)} {
				e.mustDo("POST", levels, ann, arsapi.LevelReport{ReadAt: at, Supplies: []printer.Supply{
					{Name: "BK", Type: "inkCartridge", Level: 90 - 3*day},
					{Name: "C", Type: "inkCartridge", Level: printer.LevelSomeRemaining},
				}}, 200, nil)
			}
		}
		var h arsapi.LevelHistory
		e.mustDo("GET", levels+"?since="+url.QueryEscape(start.Add(-time.Minute).Format(time.RFC3339)), ann, nil, 200, &h)
		if len(h.Supplies) != 2 || h.Supplies[0].Name != "BK" {
			t.Fatalf("supplies %+v", h.Supplies)
		}
		bk := h.Supplies[0]
		// Seven changes, then the last report's reading.
		if len(bk.Readings) != 8 || bk.Readings[0].Level != 90 || bk.Readings[7].Level != 72 {
			t.Fatalf("BK readings %+v", bk.Readings)
		}
		if f := bk.Forecast; !f.Known || f.Rate < 2.9 || f.Rate > 3.1 || f.DaysToEmpty < 20 || f.DaysToEmpty > 28 {
			t.Fatalf("BK forecast %+v, want 3 points a day, about 24 days", f)
		}
		if f := h.Supplies[1].Forecast; f.Known || f.Level != printer.LevelSomeRemaining {
			t.Fatalf("C forecast %+v, want unknown", f)
		}
		// Without since: the last 30 days, the same here. With a later
		// since: fewer readings, the same forecast.
		var all, late arsapi.LevelHistory
		e.mustDo("GET", levels, ann, nil, 200, &all)
		e.mustDo("GET", levels+"?since="+url.QueryEscape(start.Add(5*24*time.Hour).Format(time.RFC3339)), ann, nil, 200, &late)
		if len(all.Supplies[0].Readings) != 8 || len(late.Supplies[0].Readings) != 3 {
			t.Fatalf("readings: %d without since, %d since day 5", len(all.Supplies[0].Readings), len(late.Supplies[0].Readings))
		}
		if late.Supplies[0].Forecast.Rate != bk.Forecast.Rate {
			t.Fatalf("since changed the forecast: %+v vs %+v", late.Supplies[0].Forecast, bk.Forecast)
		}
		if r := e.do("GET", levels+"?since=yesterday", ann, nil); r.status != 400 {
			t.Fatalf("since=yesterday: %d %s", r.status, r.body)
		}
		// A since at the ends of what RFC 3339 parses, in a zone that puts
		// it outside years 0-9999 in UTC, is read as the earliest or the
		// latest time there is (the answer's since could not be written).
		for _, v := range []string{"0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"} {
			var got arsapi.LevelHistory
			e.mustDo("GET", levels+"?since="+url.QueryEscape(v), ann, nil, 200, &got)
			if wantAll := strings.HasPrefix(v, "0000"); wantAll != (len(got.Supplies[0].Readings) == len(all.Supplies[0].Readings)) {
				t.Errorf("since=%s: %d readings, %d without since", v, len(got.Supplies[0].Readings), len(all.Supplies[0].Readings))
			}
		}
		if r := e.do("GET", levels, bob, nil); r.status != 404 {
			t.Fatalf("bob reads ann's history: %d %s", r.status, r.body)
		}
	})
}
