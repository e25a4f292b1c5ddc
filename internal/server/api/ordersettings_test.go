package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// TestOrderSettingsJunk sends the order settings routes of the account and
// of an enrollment the values an attacker would: out of range, overflowing,
// of the wrong type, an unknown policy, and another account's enrollment.
// Each is refused with a 4xx (never a 500), and nothing is changed.
func TestOrderSettingsJunk(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ann := e.account("ann@example.com")
		bob := e.account("bob@example.com")
		var en arsapi.Enrollment
		e.mustDo("POST", "/v1/enrollments", ann, enrollReq("TS8320", "SET1"), 201, &en)
		paths := []string{"/v1/account/order-settings", "/v1/enrollments/" + en.ID + "/order-settings"}
		bodies := []string{
			`{"hold_minutes":-1}`,
			fmt.Sprintf(`{"hold_minutes":%d}`, arsapi.MaxHoldMinutes+1),
			`{"hold_minutes":9223372036854775807}`,
			`{"hold_minutes":9223372036854775808}`,
			`{"hold_minutes":-9223372036854775808}`,
			`{"hold_minutes":1e400}`,
			`{"hold_minutes":1.5}`,
			`{"hold_minutes":"60"}`,
			`{"policy":"always"}`,
			`{"policy":"Forecast"}`,
			`{"policy":"threshold\u0000"}`,
			`{"policy":"` + strings.Repeat("x", 1<<16) + `"}`,
			`{"policy":7}`,
			`{"policy":"threshold","policy":"nope"}`,
			`[]`,
			`null`,
			`{"hold_minutes":60}{"hold_minutes":61}`,
			`{"hold_minutes":60,"extra":1}`,
			`{"hold_minutes":60}`,
			`{"policy":"threshold"}`,
			`{}`,
		}
		for _, p := range paths {
			e.mustDo("PUT", p, ann, `{"policy":"threshold","hold_minutes":60}`, 200, nil)
			for _, b := range bodies {
				r := e.do("PUT", p, ann, b)
				if r.status < 400 || r.status >= 500 {
					t.Errorf("PUT %s %.80s = %d, want a 4xx: %s", p, b, r.status, r.body)
				}
			}
			var got arsapi.OrderSettings
			e.mustDo("GET", p, ann, nil, 200, &got)
			if got.Policy != "threshold" || got.HoldMinutes == nil || *got.HoldMinutes != 60 {
				t.Errorf("%s after junk: %+v, want threshold and 60 minutes", p, got)
			}
		}
		// Another account's enrollment, and ids that are no enrollment (ids
		// with NUL or bytes not UTF-8 are refused before the API: server tests).
		for _, id := range []string{en.ID, "nope", strings.Repeat("a", 4096), "..%2F..%2Faccount"} {
			p := "/v1/enrollments/" + id + "/order-settings"
			who := bob
			if id != en.ID {
				who = ann
			}
			if r := e.do("GET", p, who, nil); r.status != 404 && r.status != 400 {
				t.Errorf("GET %.80s = %d: %s", p, r.status, r.body)
			}
			if r := e.do("PUT", p, who, `{"hold_minutes":0}`); r.status != 404 && r.status != 400 {
				t.Errorf("PUT %.80s = %d: %s", p, r.status, r.body)
			}
		}
		var got arsapi.OrderSettings
		e.mustDo("GET", paths[1], ann, nil, 200, &got)
		if got.HoldMinutes == nil || *got.HoldMinutes != 60 {
			t.Errorf("ann's enrollment after bob's PUT: %+v", got)
		}
	})
}

// TestDuplicateFieldsRefused: a body naming a field twice (or in two
// cases, which encoding/json matches to one field) was taken with its last
// value, where a proxy or a log reading the same bytes may take the first;
// every JSON endpoint now refuses it (400) and changes nothing.
func TestDuplicateFieldsRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ann := e.account("ann@example.com")
		var en arsapi.Enrollment
		e.mustDo("POST", "/v1/enrollments", ann, enrollReq("TS8320", "DUP1"), 201, &en)
		e.mustDo("PUT", "/v1/account/order-settings", ann, `{"policy":"forecast","hold_minutes":60}`, 200, nil)
		for _, c := range []struct{ method, path, body string }{
			{"PUT", "/v1/account/order-settings", `{"policy":"forecast","hold_minutes":60,"policy":"threshold"}`},
			{"PUT", "/v1/account/order-settings", `{"policy":"forecast","hold_minutes":60,"POLICY":"threshold"}`},
			{"PUT", "/v1/enrollments/" + en.ID + "/order-settings", `{"policy":"","hold_minutes":0,"Hold_Minutes":null}`},
			{"POST", "/v1/enrollments/" + en.ID + "/levels", `{"supplies":[{"name":"BK","level":5,"name":"C"}]}`},
			{"POST", "/v1/enrollments", `{"provider":"canon","terms_version":"x","printer":{"model":"TS8320","serial":"DUP2","Serial":"DUP3"}}`},
		} {
			r := e.do(c.method, c.path, ann, c.body)
			if p := r.problem(t); r.status != 400 || !strings.Contains(p.Detail, "more than once") {
				t.Errorf("%s %s %s = %d %q, want 400 naming the field", c.method, c.path, c.body, r.status, p.Detail)
			}
		}
		var got arsapi.OrderSettings
		e.mustDo("GET", "/v1/account/order-settings", ann, nil, 200, &got)
		if got.Policy != "forecast" {
			t.Errorf("after the refused bodies: %+v", got)
		}
	})
}
