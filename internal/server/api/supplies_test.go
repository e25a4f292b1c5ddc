package api

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
	"github.com/arsctl/arsctl/pkg/printer"
)

// TestSupplyNamesOneRule: the same supplies are accepted or refused
// whether a report comes through the API or goes straight to the store:
// one rule (core.CheckSupplies), where the API took names of at most 128
// bytes and refused repeated ones while the store took 200 bytes and
// renamed repeats.
func TestSupplyNamesOneRule(t *testing.T) {
	ink := func(names ...string) []printer.Supply {
		var out []printer.Supply
		for _, n := range names {
			out = append(out, printer.Supply{Name: n, Type: "inkCartridge", Level: 50})
		}
		return out
	}
	tests := []struct {
		name string
		sups []printer.Supply
		ok   bool
	}{
		{"plain", ink("PGBK", "C", "M"), true},
		{"longest name", ink(strings.Repeat("n", core.MaxSupplyNameLen)), true},
		{"name one byte too long", ink(strings.Repeat("n", core.MaxSupplyNameLen+1)), false},
		{"200-byte name", ink(strings.Repeat("n", 200)), false},
		{"repeated name", ink("C", "C"), false},
		{"repeated once trimmed", ink("C", " C "), false},
		{"empty name", ink("PGBK", " "), false},
		{"name with a newline", ink("PG\nBK"), false},
		{"name ending in a line separator", ink("BK\u2028"), false},
		{"colour with a comma", []printer.Supply{{Name: "CL", Level: 40, Colors: []string{"#00FFFF,#FF00FF"}}}, false},
		{"no supplies", nil, false},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		tok := e.account("rule@example.com")
		acct := strings.TrimPrefix(tok, "test-")
		var en arsapi.Enrollment
		e.mustDo("POST", "/v1/enrollments", tok, enrollReq("TS8320", "RULE0001"), 201, &en)
		for _, tt := range tests {
			r := e.do("POST", "/v1/enrollments/"+en.ID+"/levels", tok, arsapi.LevelReport{Supplies: tt.sups})
			apiOK := r.status == 200
			if !apiOK && (r.status != 422 || r.problem(t).Code != arsapi.CodeInvalid) {
				t.Errorf("%s: API answered %d %s", tt.name, r.status, r.body)
			}
			_, err := e.st.ReportLevels(context.Background(), acct, en.ID, arsapi.LevelReport{Supplies: tt.sups})
			storeOK := err == nil
			if err != nil && !errors.Is(err, core.ErrInvalid) {
				t.Errorf("%s: store: %v", tt.name, err)
			}
			if apiOK != tt.ok || storeOK != tt.ok {
				t.Errorf("%s: accepted by the API %v, by the store %v; want %v", tt.name, apiOK, storeOK, tt.ok)
			}
		}
	})
}
