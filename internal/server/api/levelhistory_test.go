package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/authn"
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

// TestLevelHistoryReadsBounded: a level history answer holds up to 64
// supplies of 1000 changes (3 MB, and about 10 MB of memory while it is
// built); the per-account gate let every account build four at once, so
// accounts asking together grew memory with their number (8 accounts: 360
// MB). Only HistoryReads answers are built at once, over all accounts;
// the others wait, then get 503 with Retry-After, and nothing breaks.
func TestLevelHistoryReadsBounded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, func(o *Options) { o.HistoryReads, o.HistoryWait = 1, time.Millisecond })
		type owner struct{ tok, levels string }
		var owners []owner
		for i := range 4 {
			tok := e.account(fmt.Sprintf("o%d@example.com", i))
			var en arsapi.Enrollment
			e.mustDo("POST", "/v1/enrollments", tok, enrollReq("TS8320", fmt.Sprintf("BUSY%d", i)), 201, &en)
			sup := make([]printer.Supply, 64)
			for j := range sup {
				sup[j] = printer.Supply{Name: fmt.Sprintf("S%02d", j), Type: "inkCartridge", Level: 50}
			}
			now := time.Now().UTC()
			levels := "/v1/enrollments/" + en.ID + "/levels"
			e.mustDo("POST", levels, tok, arsapi.LevelReport{ReadAt: now.Add(-time.Minute), Supplies: sup}, 200, nil)
			dbtest.FillLevelHistory(t, d, en.ID, sup, 300, now.Add(-time.Minute))
			owners = append(owners, owner{tok, levels})
		}
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			codes = map[int]int{}
		)
		start := make(chan struct{})
		for _, o := range owners {
			for range 3 {
				wg.Go(func() {
					<-start
					r := e.do("GET", o.levels, o.tok, nil)
					mu.Lock()
					defer mu.Unlock()
					codes[r.status]++
					if r.status == 503 && (r.header.Get("Retry-After") == "" || r.problem(t).Code != arsapi.CodeRateLimited) {
						t.Errorf("busy answer without Retry-After or code: %s", r.body)
					}
				})
			}
		}
		close(start)
		wg.Wait()
		if codes[503] == 0 || codes[200] == 0 || codes[200]+codes[503] != 12 {
			t.Errorf("12 level histories asked at once by 4 accounts: %v; want some 200 and the rest 503", codes)
		}
		for _, o := range owners {
			var h arsapi.LevelHistory
			e.mustDo("GET", o.levels, o.tok, nil, 200, &h)
			if len(h.Supplies) != 64 || len(h.Supplies[0].Readings) != 301 {
				t.Fatalf("history: %d supplies, %d readings", len(h.Supplies), len(h.Supplies[0].Readings))
			}
		}
	})
}

// stalledWriter is a client that does not read its answer: Write blocks
// until release is closed.
type stalledWriter struct {
	header           http.Header
	writing, release chan struct{}
}

func (s *stalledWriter) Header() http.Header { return s.header }
func (s *stalledWriter) WriteHeader(int)     {}
func (s *stalledWriter) Write(b []byte) (int, error) {
	close(s.writing)
	<-s.release
	return len(b), nil
}

// TestLevelHistoryTurnEndsBeforeSending: a client that asks for a level
// history and never reads the answer held one of the few turns of every
// account for as long as it kept the connection open; the turn ends once
// the answer is built, so another account's history is answered.
func TestLevelHistoryTurnEndsBeforeSending(t *testing.T) {
	d := dbtest.SQLite(t)
	e := newEnv(t, d)
	a, err := New(Options{Store: e.st, Catalogue: e.cat, Auth: testAuth{e.st}, HistoryReads: 1, HistoryWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ask := func(acct, id string) *http.Request {
		r := httptest.NewRequest("GET", "/v1/enrollments/"+id+"/levels", nil).WithContext(authn.WithAccount(ctx, acct))
		r.SetPathValue("id", id)
		return r
	}
	var ids []string
	for i, acct := range []string{"stall", "other"} {
		en, err := e.st.CreateEnrollment(ctx, acct, enrollReq("TS8320", fmt.Sprintf("STALL%d", i)), 15)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, en.ID)
	}
	w1 := &stalledWriter{header: http.Header{}, writing: make(chan struct{}), release: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.levelHistory(w1, ask("stall", ids[0]))
	}()
	<-w1.writing
	w2 := httptest.NewRecorder()
	a.levelHistory(w2, ask("other", ids[1]))
	close(w1.release)
	<-done
	if w2.Code != http.StatusOK {
		t.Errorf("another account's history while a client does not read its own: HTTP %d %s", w2.Code, w2.Body)
	}
}
